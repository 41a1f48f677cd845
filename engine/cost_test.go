package engine

import (
	"path/filepath"
	"testing"

	"github.com/memwall/memwall/internal/testdata"
)

// The cost model's weight bytes are what the loaded matrices occupy, for
// fp32 and Q8_0, tied and untied.
func TestCostModelMatchesModel(t *testing.T) {
	for _, shared := range []bool{true, false} {
		for _, v := range []int{V1, V2} {
			c, _ := Shape("stories260K")
			c.Shared, c.Version = shared, v
			if v == V2 {
				c.GroupSize = DefaultGroupSize(c)
			}
			p := filepath.Join(t.TempDir(), "m.bin")
			if err := WriteCheckpoint(p, c, Synthetic(1)); err != nil {
				t.Fatal(err)
			}
			m := mustOpen(t, p)
			_, wb := TokenCost(m.Config, EncodingOf(m), 0)
			if wb != m.WeightBytes() {
				t.Errorf("shared=%v %v: cost model %d weight bytes, model %d", shared, v, wb, m.WeightBytes())
			}
			if v == V1 { // converted at load: every matrix f16 or bf16
				for _, wt := range []WeightType{WeightF16, WeightBF16} {
					mc := mustOpen(t, p)
					if err := mc.Convert(wt, wt); err != nil {
						t.Fatal(err)
					}
					if _, wb := TokenCost(mc.Config, EncodingOf(mc), 0); wb != mc.WeightBytes() {
						t.Errorf("shared=%v %v: cost model %d weight bytes, model %d", shared, wt, wb, mc.WeightBytes())
					}
				}
			}
			var f int64
			for _, l := range m.W.Layers {
				for _, mx := range []*Matrix{&l.Wq, &l.Wk, &l.Wv, &l.Wo, &l.W1, &l.W2, &l.W3} {
					f += 2 * int64(mx.Rows) * int64(mx.Cols)
				}
			}
			f += 2 * int64(m.W.Cls.Rows) * int64(m.W.Cls.Cols)
			if m.MatFlops() != f {
				t.Errorf("MatFlops %d, matrices %d", m.MatFlops(), f)
			}
		}
	}
}

// Grouped-query attention: heads sharing a key/value head share its
// reads, so stories260K (8 heads, 4 kv heads) reads KVDim = Dim/2 per
// key and value, not Dim.
func TestAttentionCostGroupedQuery(t *testing.T) {
	c, _ := Shape("stories260K")
	a := attentionCost(c, 9, 0)
	if want := int64(2 * 4 * 10 * c.Dim / 2); a.Bytes != want {
		t.Errorf("attention bytes %d, want %d", a.Bytes, want)
	}
	if a.Flops != int64(4*10*c.Dim) {
		t.Errorf("attention flops %d", a.Flops)
	}
	// The profiler charges the same: decode 10 positions and compare.
	m := openModel(t, "stories260K.bin")
	s, err := NewState(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Profile = NewProfile()
	for pos := 0; pos < 10; pos++ {
		if _, err := s.Forward(t.Context(), BOS, pos); err != nil {
			t.Fatal(err)
		}
	}
	var want Cost
	for pos := 0; pos < 10; pos++ {
		want = want.Add(attentionCost(c, pos, 0).Scale(int64(c.Layers)))
	}
	for _, o := range s.Profile.Ops() {
		if o.Name == "attention" && (o.Bytes != want.Bytes || o.Flops != want.Flops) {
			t.Errorf("profiled attention %d B %d FLOP, cost model %d B %d FLOP", o.Bytes, o.Flops, want.Bytes, want.Flops)
		}
	}
}

func TestDefaultGroupSizeLlama2c(t *testing.T) {
	for shape, want := range map[string]int{"stories15M": 32, "stories260K": 4, "stories42M": 32, "stories110M": 64} {
		c, _ := Shape(shape)
		if got := DefaultGroupSize(c); got != want {
			t.Errorf("%s: group size %d, want %d", shape, got, want)
		}
	}
}

// Beam search counts the cache copies of its reordering.
func TestBeamCountsCacheCopies(t *testing.T) {
	m := openModel(t, "stories260K.bin")
	tok := openTok(t, "tok512.bin", 512)
	d, err := BeamSearch(t.Context(), m, tok, "Once upon a time", 4, 12, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Traffic.CopyBytes <= 0 {
		t.Errorf("beam search reported no cache copies: %+v", d.Traffic)
	}
	if d.Traffic.CopyBytes%int64(4*m.KVDim()*m.Layers) != 0 {
		t.Errorf("copy bytes %d not whole positions", d.Traffic.CopyBytes)
	}
}

// The profiler's per-op bytes and FLOPs for one decoded token are the
// cost model's, op by op (Q8_0, so quantize is included).
func TestProfileMatchesTokenCosts(t *testing.T) {
	m := openModel(t, "tiny-q8.bin")
	s, err := NewState(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Profile = NewProfile()
	if _, err := s.Forward(t.Context(), BOS, 0); err != nil {
		t.Fatal(err)
	}
	prof := map[string]OpStat{}
	for _, o := range s.Profile.Ops() {
		prof[o.Name] = o
	}
	for _, o := range TokenCosts(m.Config, EncodingOf(m), 0) {
		if o.Name == "norm weights" { // read inside rmsnorm, not an op of their own
			continue
		}
		if p := prof[o.Name]; p.Bytes != o.Bytes || p.Flops != o.Flops || p.Calls != o.Count {
			t.Errorf("%s: profiled %d calls %d B %d FLOP, cost model %d calls %d B %d FLOP", o.Name, p.Calls, p.Bytes, p.Flops, o.Count, o.Bytes, o.Flops)
		}
	}
}

func TestTopK(t *testing.T) {
	x := []float32{0.1, 0.5, 0.3, 0.5, 0.2}
	if got := TopK(x, 3); len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 2 {
		t.Errorf("TopK %v (ties by lower index)", got)
	}
	if got := TopK(x, 10); len(got) != 5 {
		t.Errorf("k past the length: %v", got)
	}
	if TopK(x, 0) != nil || TopK([]float64{}, 3) != nil {
		t.Error("k = 0 or empty input should give nothing")
	}
}

// A GGUF file that mixes types per tensor (llama.cpp keeps ffn_down in f16
// in its q8_0 and q4_0 files) is counted as stored, op by op, and the
// mixed op is counted in f16, not in the first query matrix's type.
func TestCostModelMixedGGUF(t *testing.T) {
	for _, name := range []string{"stories260K-q8_0.gguf", "stories260K-q4_0.gguf"} {
		m, err := Open(testdata.GGUF(name), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if m.W.Layers[0].W2.kind() == m.W.Layers[0].Wq.kind() {
			t.Fatalf("%s: ffn_down is %v like attn_q; the test needs a mixed file", name, m.W.Layers[0].W2.kind())
		}
		e := EncodingOf(m)
		if _, wb := TokenCost(m.Config, e, 0); wb != m.WeightBytes() {
			t.Errorf("%s: cost model %d weight bytes, model %d", name, wb, m.WeightBytes())
		}
		var w2 int64
		for _, o := range TokenCosts(m.Config, e, 0) {
			if o.Name == "w2" {
				w2 = o.Bytes
			}
		}
		if want := 2 * int64(m.Layers) * int64(m.Dim) * int64(m.HiddenDim); w2 != want {
			t.Errorf("%s: w2 counted as %d bytes, its f16 storage is %d", name, w2, want)
		}
	}
}
