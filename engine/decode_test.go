package engine

import (
	"context"
	"slices"
	"testing"

	"github.com/memwall/memwall/asm"
)

func TestBatchStepMatchesForward(t *testing.T) {
	for _, name := range []string{"stories260K.bin", "tiny-q8.bin", "tiny-untied.bin"} {
		m := openModel(t, name)
		ops := asm.MustNew("auto", 2)
		b, err := NewBatch(m, ops, 3)
		if err != nil {
			t.Fatal(err)
		}
		seqs := [][]int{{1, 403, 407, 261}, {1, 50, 60, 70}, {1, 403, 9, 300}}
		ctx := context.Background()
		for pos := 0; pos < 4; pos++ {
			tokens := []int{seqs[0][pos], seqs[1][pos], seqs[2][pos]}
			if err := b.Step(ctx, tokens, pos); err != nil {
				t.Fatal(err)
			}
		}
		for i, sq := range seqs {
			s, _ := NewState(m, ops)
			var want []float32
			for pos, tk := range sq {
				want, _ = s.Forward(ctx, tk, pos)
			}
			got := b.Logits(i)
			for j := range want {
				if got[j] != want[j] {
					t.Fatalf("%s seq %d logit %d: batch %g forward %g", name, i, j, got[j], want[j])
				}
			}
		}
		// Each step reads every matrix and norm once, whatever the batch
		// size, and an embedding row per sequence.
		var mats int64
		for _, l := range m.W.Layers {
			for _, mx := range []*Matrix{&l.Wq, &l.Wk, &l.Wv, &l.Wo, &l.W1, &l.W2, &l.W3} {
				mats += mx.Bytes()
			}
			mats += 4 * int64(len(l.AttNorm)+len(l.FFNNorm))
		}
		mats += m.W.Cls.Bytes() + 4*int64(len(m.W.FinalNorm))
		mats += 3 * m.W.Embed.Bytes() / int64(m.Vocab)
		if b.Traffic.Steps != 4 || b.Traffic.WeightBytes != 4*mats {
			t.Errorf("%s: traffic %+v, want 4 steps of %d weight bytes", name, b.Traffic, mats)
		}
	}
}

func TestBeamSearch(t *testing.T) {
	m := openModel(t, "stories260K.bin")
	tok := openTok(t, "tok512.bin", m.Vocab)
	ctx := context.Background()
	// Width 1 is greedy decoding.
	d1, err := BeamSearch(ctx, m, tok, "Once upon a time", 1, 30, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewState(m, nil)
	g, _ := s.Generate(ctx, tok, "Once upon a time", GenerateOptions{Steps: len(d1.IDs) - 1}, nil)
	if !slices.Equal(d1.IDs, g.IDs) {
		t.Fatalf("beam width 1 %v != greedy %v", d1.IDs, g.IDs)
	}
	// Batched and sequential beams choose the same sequence; batching
	// reads the weights once per step instead of once per beam.
	a, err := BeamSearch(ctx, m, tok, "Once upon a time", 4, 30, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := BeamSearch(ctx, m, tok, "Once upon a time", 4, 30, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.IDs, b.IDs) || a.Score != b.Score {
		t.Fatalf("batched %v (%g) != sequential %v (%g)", a.IDs, a.Score, b.IDs, b.Score)
	}
	if a.Score < d1.Score-1e-9 && len(a.IDs) == len(d1.IDs) {
		t.Errorf("beam 4 score %g below greedy %g", a.Score, d1.Score)
	}
	ratio := float64(b.Traffic.WeightBytes) / float64(a.Traffic.WeightBytes)
	if ratio < 3.5 || ratio > 4.5 {
		t.Errorf("sequential/batched weight traffic = %.2f, want about the beam width 4", ratio)
	}
	if a.Traffic.KVBytes == 0 || a.Traffic.KVBytes != b.Traffic.KVBytes {
		t.Errorf("kv traffic batched %d sequential %d", a.Traffic.KVBytes, b.Traffic.KVBytes)
	}
	// A batch passed in again counts the new search alone.
	reuse, err := NewBatch(m, nil, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		r, err := BeamSearch(ctx, m, tok, "Once upon a time", 4, 30, true, reuse)
		if err != nil {
			t.Fatal(err)
		}
		if r.Traffic != a.Traffic || !slices.Equal(r.IDs, a.IDs) {
			t.Fatalf("run %d on a reused batch: traffic %+v ids %v, want %+v %v", i, r.Traffic, r.IDs, a.Traffic, a.IDs)
		}
	}
}

func TestContrastiveSearch(t *testing.T) {
	m := openModel(t, "stories260K.bin")
	tok := openTok(t, "tok512.bin", m.Vocab)
	ctx := context.Background()
	// alpha 0 scores by probability alone: greedy.
	d0, err := ContrastiveSearch(ctx, m, tok, "Once upon a time", 4, 0, 25, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewState(m, nil)
	g, _ := s.Generate(ctx, tok, "Once upon a time", GenerateOptions{Steps: len(d0.IDs) - 1}, nil)
	if !slices.Equal(d0.IDs, g.IDs) {
		t.Fatalf("contrastive alpha=0 %v != greedy %v", d0.IDs, g.IDs)
	}
	a, err := ContrastiveSearch(ctx, m, tok, "Once upon a time", 4, 0.6, 25, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ContrastiveSearch(ctx, m, tok, "Once upon a time", 4, 0.6, 25, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.IDs, b.IDs) {
		t.Fatalf("batched %v != sequential %v", a.IDs, b.IDs)
	}
	if slices.Equal(a.IDs, d0.IDs) {
		t.Errorf("alpha 0.6 changed nothing: %q", a.Text)
	}
	if r := float64(b.Traffic.WeightBytes) / float64(a.Traffic.WeightBytes); r < 3.5 || r > 4.5 {
		t.Errorf("weight traffic ratio %.2f, want about k=4", r)
	}
	if _, err := ContrastiveSearch(ctx, m, tok, "x", 0, 0.5, 5, true, nil); err == nil {
		t.Errorf("k=0 accepted")
	}
}

func TestReferenceAndPerplexity(t *testing.T) {
	m := openModel(t, "stories260K.bin")
	tok := openTok(t, "tok512.bin", m.Vocab)
	ids := tok.Encode("Once upon a time, there was a little girl named Lily.", true, false)
	ref := NewReference(m)
	s, _ := NewState(m, asm.MustNew("scalar", 1))
	ctx := context.Background()
	var worst float64
	for pos, id := range ids {
		want, err := ref.Forward(id, pos)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.Forward(ctx, id, pos)
		for i := range want {
			worst = max(worst, abs64(float64(got[i])-want[i]))
		}
	}
	// fp32 against float64: rounding only, far below a logit's scale.
	if worst > 1e-3 || worst == 0 {
		t.Errorf("max |fp32 - float64| logit difference %g", worst)
	}
	if _, err := ref.Forward(1, 99); err == nil {
		t.Errorf("out-of-order position accepted")
	}
	s2, _ := NewState(m, nil)
	ppl, nll, err := s2.Perplexity(ctx, ids)
	if err != nil || len(nll) != len(ids)-1 || ppl < 1 || ppl > 20 {
		t.Errorf("perplexity of the model's own favourite sentence: %g (%d nlls), %v", ppl, len(nll), err)
	}
}

func abs64(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
