package engine

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/internal/testdata"
)

func TestShapeSizes(t *testing.T) {
	// The real files' sizes, from their headers: stories110M's v0 export
	// is 438,381,596 bytes.
	c := Shapes["stories110M"]
	n, err := c.FileSize()
	if err != nil || n != 438381596 {
		t.Fatalf("stories110M v0 size = %d, %v; want 438381596", n, err)
	}
	written := writeShape(t, tiny, 1)
	if st, err := os.Stat(written); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("written checkpoint mode %v, %v; want 0644 so other users can map it", st.Mode(), err)
	}
	st, err := os.Stat(testdata.Model("stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := Shapes["stories260K"].FileSize(); n != st.Size() {
		t.Errorf("stories260K shape implies %d bytes, the real file has %d", n, st.Size())
	}
	// Tensor offsets: v0 starts right after the 28-byte header, so the
	// embedding is 4-byte but not 64-byte aligned.
	ts, _ := c.Tensors()
	if ts[0].Name != "tok_embeddings" || ts[0].Offset != 28 || ts[0].Alignment() != 4 {
		t.Errorf("first tensor %+v", ts[0])
	}
	if p := c.Params(); p < 109e6 || p > 111e6 {
		t.Errorf("stories110M params %d", p)
	}
}

func writeShape(t testing.TB, c Config, seed uint64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model.bin")
	if err := WriteCheckpoint(p, c, Synthetic(seed)); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustOpen(t testing.TB, p string) *Model {
	t.Helper()
	m, err := Open(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func greedy(t testing.TB, m *Model, ops *asm.Ops, tokens []int, n int) ([]int, []float32) {
	t.Helper()
	s, err := NewState(m, ops)
	if err != nil {
		t.Fatal(err)
	}
	var logits []float32
	out := append([]int(nil), tokens...)
	for pos := 0; pos < n; pos++ {
		if logits, err = s.Forward(context.Background(), out[pos], pos); err != nil {
			t.Fatal(err)
		}
		if pos+1 >= len(out) {
			out = append(out, Argmax(logits))
		}
	}
	return out, append([]float32(nil), logits...)
}

func TestFormatsAgree(t *testing.T) {
	// The same synthetic model written as v0, v1 (tied and untied) and
	// v2 computes the same thing (v2 to quantization error).
	for _, shared := range []bool{true, false} {
		c := tiny
		c.Shared = shared
		c.SeqLen = 16
		m0 := mustOpen(t, writeShape(t, c, 7))
		if m0.Shared != shared {
			t.Fatalf("v0 shared=%v read back as %v", shared, m0.Shared)
		}
		c.Version = V1
		m1 := mustOpen(t, writeShape(t, c, 7))
		ops := asm.MustNew("scalar", 1)
		ids0, l0 := greedy(t, m0, ops, []int{1, 5}, 12)
		ids1, l1 := greedy(t, m1, ops, []int{1, 5}, 12)
		if !slices.Equal(ids0, ids1) {
			t.Errorf("shared=%v: v0 %v != v1 %v", shared, ids0, ids1)
		}
		for i := range l0 {
			if l0[i] != l1[i] {
				t.Fatalf("shared=%v: logit %d: v0 %g v1 %g", shared, i, l0[i], l1[i])
			}
		}
		c.Version, c.GroupSize = V2, 8
		m2 := mustOpen(t, writeShape(t, c, 7))
		_, l2 := greedy(t, m2, ops, ids0[:12], 12)
		var maxd, scale float64
		for i := range l0 {
			maxd = math.Max(maxd, math.Abs(float64(l0[i]-l2[i])))
			scale = math.Max(scale, math.Abs(float64(l0[i])))
		}
		if maxd > 0.1*scale {
			t.Errorf("shared=%v: q8 logits differ by %g (scale %g)", shared, maxd, scale)
		}
	}
}

func TestQuantizeRoundTrip(t *testing.T) {
	m := openModel(t, "stories260K.bin")
	c := m.Config
	c.Version, c.GroupSize = V2, DefaultGroupSize(c)
	if c.GroupSize != 4 {
		t.Fatalf("group size for dim 64, hidden 172 = %d, want 4", c.GroupSize)
	}
	p := filepath.Join(t.TempDir(), "q8.bin")
	if err := WriteCheckpoint(p, c, FromModel(m)); err != nil {
		t.Fatal(err)
	}
	q := mustOpen(t, p)
	tok := openTok(t, "tok512.bin", 512)
	prompt := tok.Encode("Once upon a time", true, false)
	a, _ := greedy(t, m, nil, prompt, 40)
	b, _ := greedy(t, q, nil, prompt, 40)
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	if same < 30 {
		t.Errorf("q8 greedy agrees on %d/40 tokens only\nfp32 %v\nq8   %v", same, a, b)
	}
}

func TestPrefillMatchesForward(t *testing.T) {
	defer func(old int) { attnSplitMin = old }(attnSplitMin)
	for _, name := range []string{"stories260K.bin", "tiny-untied.bin", "tiny-q8.bin"} {
		m := openModel(t, name)
		for _, v := range asm.Variants() {
			if !v.Available {
				continue
			}
			// Attention split between the threads (by position in the
			// prefill, by head in decoding) or not.
			attnSplitMin = 1 << 12
			if v.Rank%2 == 0 {
				attnSplitMin = 0
			}
			ops := asm.MustNew(v.Name, 2)
			tokens := []int{1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267}
			a, _ := NewState(m, ops)
			var want []float32
			for i, tk := range tokens[:10] {
				l, err := a.Forward(context.Background(), tk, i)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want[:0], l...)
			}
			b, _ := NewState(m, ops)
			got, err := b.Prefill(context.Background(), tokens[:10], 0)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s %s: prefill logit %d = %g, forward %g", name, v.Name, i, got[i], want[i])
				}
			}
			// A second chunk continues from the cache.
			for i, tk := range tokens[10:] {
				l, _ := a.Forward(context.Background(), tk, 10+i)
				want = append(want[:0], l...)
			}
			got, err = b.Prefill(context.Background(), tokens[10:], 10)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s %s: second prefill logit %d = %g, forward %g", name, v.Name, i, got[i], want[i])
				}
			}
		}
	}
}

func TestHooks(t *testing.T) {
	m := openModel(t, "stories260K.bin")
	s, _ := NewState(m, nil)
	seen := map[string][]int{}
	var order []string
	remove, err := s.AddHook("*", func(ev *HookEvent) {
		if _, ok := seen[ev.Name]; !ok {
			order = append(order, ev.Name)
		}
		seen[ev.Name] = ev.Shape
		if n := ev.Shape[0] * max(1, shapeAt(ev.Shape, 1)); n != len(ev.Data) {
			t.Errorf("%s: shape %v but %d values", ev.Name, ev.Shape, len(ev.Data))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.Forward(ctx, 1, 0)
	s.Forward(ctx, 403, 1)
	names := HookNames(m.Layers)
	if len(order) != len(names) {
		t.Fatalf("fired %d hook points, want %d", len(order), len(names))
	}
	for i := range names {
		if order[i] != names[i] {
			t.Fatalf("hook %d fired %s, want %s", i, order[i], names[i])
		}
	}
	if sh := seen["blocks.2.attn.hook_pattern"]; sh[0] != 8 || sh[1] != 2 {
		t.Errorf("pattern shape at pos 1 = %v, want [8 2]", sh)
	}
	remove()

	// Pattern rows sum to 1; zeroing the residual stream changes logits.
	var rowSum float32
	rm, _ := s.AddHook("blocks.0.attn.hook_pattern", func(ev *HookEvent) {
		rowSum = 0
		for _, v := range ev.Data[:ev.Shape[1]] {
			rowSum += v
		}
	})
	base, _ := s.Forward(ctx, 407, 2)
	base = append([]float32(nil), base...)
	rm()
	if math.Abs(float64(rowSum)-1) > 1e-5 {
		t.Errorf("attention row sums to %g", rowSum)
	}
	rm, _ = s.AddHook("blocks.4.hook_mlp_out", func(ev *HookEvent) { clear(ev.Data) })
	ablated, _ := s.Forward(ctx, 407, 2)
	rm()
	if Argmax(ablated) == Argmax(base) && ablated[Argmax(base)] == base[Argmax(base)] {
		t.Errorf("ablating the last MLP changed nothing")
	}
	if s.Hooked() {
		t.Errorf("hooks left registered")
	}
	if _, err := s.AddHook("[", nil); err == nil {
		t.Errorf("bad pattern accepted")
	}
}

func shapeAt(s []int, i int) int {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func TestForwardAllocatesNothing(t *testing.T) {
	m := openModel(t, "stories260K.bin")
	s, _ := NewState(m, asm.MustNew("auto", 1))
	ctx := context.Background()
	allocs := testing.AllocsPerRun(20, func() { s.Forward(ctx, 300, 3) })
	if allocs != 0 {
		t.Errorf("Forward with no hooks allocates %v times per call", allocs)
	}
}

func TestGenerateCancel(t *testing.T) {
	m := openModel(t, "stories260K.bin")
	tok := openTok(t, "tok512.bin", m.Vocab)
	s, _ := NewState(m, nil)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	g, err := s.Generate(ctx, tok, "Once upon a time", GenerateOptions{Temperature: 1, Seed: 3}, func(tk Token) error {
		n++
		if n == 20 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || g.Stopped != "cancelled" || n != 20 {
		t.Fatalf("err %v stopped %q after %d tokens", err, g.Stopped, n)
	}
	stop := errors.New("enough")
	_, err = s.Generate(context.Background(), tok, "Hi", GenerateOptions{}, func(Token) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("callback error not returned: %v", err)
	}
}

func TestGenerateBatchedPrefill(t *testing.T) {
	m := openModel(t, "stories260K.bin")
	tok := openTok(t, "tok512.bin", m.Vocab)
	run := func(batched bool) (*Generation, string) {
		s, _ := NewState(m, nil)
		var sb strings.Builder
		g, err := s.Generate(context.Background(), tok, "Lily and Tom went to the park. They saw a big dog", GenerateOptions{Steps: 60, BatchedPrefill: batched}, func(tk Token) error {
			sb.WriteString(tk.Piece)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return g, sb.String()
	}
	a, ta := run(false)
	b, tb := run(true)
	if !slices.Equal(a.IDs, b.IDs) || ta != tb {
		t.Fatalf("batched prefill changed the output:\n%v\n%v", a.IDs, b.IDs)
	}
	if !strings.HasPrefix(ta, "Lily and Tom went to the park.") {
		t.Errorf("streamed text %q does not start with the prompt", ta)
	}
}

func TestTruncatedWhileMapped(t *testing.T) {
	c := tiny
	c.Dim, c.HiddenDim, c.Vocab = 256, 512, 2048 // several pages
	p := writeShape(t, c, 3)
	m := mustOpen(t, p)
	s, _ := NewState(m, nil)
	if _, err := s.Forward(context.Background(), 1, 0); err != nil {
		t.Fatal(err)
	}
	if !m.Mapped() {
		t.Skip("file is not memory-mapped here")
	}
	m.Evict()
	if err := os.Truncate(p, 4096); err != nil {
		t.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		s.SetOps(asm.MustNew("auto", threads))
		_, err := s.Forward(context.Background(), 5, 1)
		var fe *FaultError
		if !errors.As(err, &fe) {
			t.Fatalf("threads %d: forward on a truncated mapping: %v, want a FaultError", threads, err)
		}
	}
	if err := m.Prefault(); err == nil {
		t.Errorf("prefault of a truncated mapping succeeded")
	}
}

func TestLoadIsZeroCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 438 MB file")
	}
	p := writeShape(t, Shapes["stories110M"], 1)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	m := mustOpen(t, p)
	load := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("stories110M: file %d bytes, heap in use grew by %d bytes on load, load took %v", m.Load.FileBytes, grew, load)
	if grew > m.Load.FileBytes/100 {
		t.Errorf("loading grew the heap by %d bytes for a %d-byte file: weights were copied", grew, m.Load.FileBytes)
	}
	if m.Load.CopiedBytes != 0 || m.Load.MappedBytes != m.Load.FileBytes {
		t.Errorf("load info %+v", m.Load)
	}
	res, err := m.Resident()
	if err != nil || res < 0 || res > m.Load.FileBytes {
		t.Errorf("resident %d, %v", res, err)
	}
	if err := m.Prefault(); err != nil {
		t.Fatal(err)
	}
	if res, _ = m.Resident(); res != m.Load.FileBytes {
		t.Errorf("after prefault resident %d of %d", res, m.Load.FileBytes)
	}
}

func TestDecode(t *testing.T) {
	tok := openTok(t, "tokenizer.bin", 32000)
	if got := tok.Decode(BOS, tok.Lookup(" Once")); got != "Once" {
		t.Errorf("leading space after BOS: %q", got)
	}
	if got := tok.Decode(5, tok.Lookup(" Once")); got != " Once" {
		t.Errorf("leading space elsewhere: %q", got)
	}
	ids := tok.Encode("emoji 🙂", true, false)
	if got := tok.DecodeAll(BOS, ids[1:]); got != "emoji 🙂" {
		t.Errorf("byte fallback round trip: %q (ids %v)", got, ids)
	}
	if Printable("\xf0") || !Printable("a") || !Printable("\n") || Printable("") {
		t.Errorf("Printable follows llama2.c's safe_printf")
	}
}

func TestSamplerTopK(t *testing.T) {
	s, err := NewSampler(1, 0, 2, 42)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int{}
	for i := 0; i < 2000; i++ {
		counts[s.Sample([]float32{0, 3, 1, 2.9, -1})]++
	}
	if len(counts) != 2 || counts[1] == 0 || counts[3] == 0 {
		t.Errorf("top-2 sampled %v", counts)
	}
	for _, bad := range []struct {
		t, p float32
		k    int
	}{{-1, 0.9, 0}, {1, 1.5, 0}, {1, 0.9, -1}, {float32(math.NaN()), 0.9, 0}} {
		if _, err := NewSampler(bad.t, bad.p, bad.k, 1); err == nil {
			t.Errorf("sampler %+v accepted", bad)
		}
	}
	// llama2.c's xorshift: first value for seed 1.
	r := NewRNG(1)
	if v := r.Uint32(); v == 0 {
		t.Errorf("rng")
	}
}

func TestTensorValues(t *testing.T) {
	m := openModel(t, "tiny-q8.bin") // Q8_0, tied
	v, shape, err := m.TensorValues("layers.1.feed_forward.w2")
	if err != nil || len(shape) != 2 || shape[0] != 64 || shape[1] != 192 || len(v) != 64*192 {
		t.Fatalf("w2: shape %v, %d values, %v", shape, len(v), err)
	}
	row := make([]float32, 192)
	if got := m.W.Layers[1].W2.Row(3, row); got[5] != v[3*192+5] {
		t.Errorf("dequantized value %g, row gives %g", v[3*192+5], got[5])
	}
	if v, shape, err := m.TensorValues("norm"); err != nil || len(shape) != 1 || len(v) != 64 {
		t.Errorf("norm: %v %d %v", shape, len(v), err)
	}
	for _, bad := range []string{"output", "layers.2.attention.wq", "layers.01.ffn_norm", "layers.x", "nope"} {
		if _, _, err := m.TensorValues(bad); !errors.Is(err, ErrNoTensor) {
			t.Errorf("%q: %v, want ErrNoTensor", bad, err)
		}
	}
}

// Decoding splits attention's heads between threads once a layer's key
// cache is large; forced on here from the first position, two threads must
// give the logits of one, bit for bit, for fp32 and int8 models, and with
// grouped-query attention (stories260K has 8 query heads on 4 kv heads).
//
// The same goes for attention taken in blocks of positions: blocks of a
// few positions (every head's scores and sums cut several times) must give
// the logits of one block.
func TestAttentionSplitBitIdentical(t *testing.T) {
	defer func(old, oldBlock int) { attnSplitMin, attnBlockBytes = old, oldBlock }(attnSplitMin, attnBlockBytes)
	ctx := context.Background()
	for _, name := range []string{"stories260K.bin", "tiny-q8.bin"} {
		m := openModel(t, name)
		logits := map[int][][]float32{}
		// 1: one thread, one block; 2: two threads, split from the
		// first position; 3: two threads and blocks of 3 positions.
		for _, run := range []int{1, 2, 3} {
			threads := min(run, 2)
			attnSplitMin = 0
			attnBlockBytes = 1 << 30
			if run == 3 {
				attnBlockBytes = 3 * 4 * m.Config.KVDim()
			}
			ops := asm.MustNew("auto", threads)
			s, err := NewState(m, ops)
			if err != nil {
				t.Fatal(err)
			}
			steps := min(40, m.Config.SeqLen)
			for pos := 0; pos < steps; pos++ {
				out, err := s.Forward(ctx, (pos*7+1)%m.Config.Vocab, pos)
				if err != nil {
					t.Fatal(err)
				}
				logits[run] = append(logits[run], append([]float32(nil), out...))
			}
			ops.Close()
		}
		for _, run := range []int{2, 3} {
			for pos := range logits[1] {
				for i, v := range logits[1][pos] {
					if math.Float32bits(v) != math.Float32bits(logits[run][pos][i]) {
						t.Fatalf("%s run %d position %d logit %d: %v, want %v (one thread, one block)", name, run, pos, i, logits[run][pos][i], v)
					}
				}
			}
		}
	}
}
