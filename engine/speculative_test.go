package engine

import (
	"context"
	"fmt"
	"testing"
)

// Speculative decoding produces exactly plain greedy decoding's tokens:
// for several prompts, k values, both kinds of draft (the first layers,
// the weights converted to Q8_0 and Q4_0 blocks), fp32 and f16 caches,
// and up to the end of the context. A draft identical to the model is
// always accepted, which checks the bookkeeping of the caches.
func TestSpeculateGreedyIdentical(t *testing.T) {
	for _, name := range []string{"stories260K.bin", "tiny-q8.bin"} {
		m := openModel(t, name)
		tok := openTok(t, "tok512.bin", m.Vocab)
		drafts := []string{"layers:1", "q8_0,f16", "q4_0,f16"}
		if m.Layers > 2 {
			drafts = append(drafts, fmt.Sprintf("layers:%d", m.Layers-1))
		}
		for _, kv := range []KVType{KVF32, KVF16} {
			for pi, prompt := range []string{"Once upon a time", "The little dog", ""} {
				steps := 60
				if pi == 0 {
					steps = m.SeqLen // across the context's end
				}
				ref := newStateKV(t, m, "auto", kv)
				want, err := ref.Generate(context.Background(), tok, prompt, GenerateOptions{Steps: steps}, nil)
				if err != nil {
					t.Fatal(err)
				}
				ids := tok.Encode(prompt, true, false)
				for _, spec := range drafts {
					dm, err := m.DraftModel(spec)
					if err != nil {
						t.Fatal(err)
					}
					ks := []int{1, 2, 4, 7}
					if pi == 0 || testing.Short() {
						ks = []int{4} // the long run (and -short): one k
					}
					for _, k := range ks {
						s := newStateKV(t, m, "auto", kv)
						d := newStateKV(t, dm, "auto", kv)
						got, err := Speculate(context.Background(), s, d, tok, ids, SpecOptions{K: k, Steps: steps}, nil)
						if err != nil {
							t.Fatal(err)
						}
						where := fmt.Sprintf("%s %s cache, prompt %q, draft %s, k=%d", name, kv, prompt, spec, k)
						checkSame(t, where, got, want)
						if got.Accepted > got.Drafted || got.Generated() > got.Passes+got.Accepted {
							t.Errorf("%s: %d generated from %d passes, %d of %d drafts accepted", where, got.Generated(), got.Passes, got.Accepted, got.Drafted)
						}
						if pi == 0 && k == 4 {
							t.Logf("%s: acceptance %.2f, %.2f tokens per full-model pass", where, got.AcceptanceRate(), got.TokensPerPass())
						}
					}
				}
				// The model as its own draft: every drafted token accepted.
				s, d := newStateKV(t, m, "auto", kv), newStateKV(t, m, "auto", kv)
				got, err := Speculate(context.Background(), s, d, tok, ids, SpecOptions{K: 3, Steps: steps}, nil)
				if err != nil {
					t.Fatal(err)
				}
				checkSame(t, "self-draft", got, want)
				if got.Accepted != got.Drafted || got.Drafted == 0 {
					t.Errorf("%s, prompt %q: the model as its own draft had %d of %d drafts accepted", name, prompt, got.Accepted, got.Drafted)
				}
				// No draft: plain greedy through the same loop.
				got, err = Speculate(context.Background(), newStateKV(t, m, "auto", kv), nil, tok, ids, SpecOptions{K: 3, Steps: steps}, nil)
				if err != nil {
					t.Fatal(err)
				}
				checkSame(t, "no draft", got, want)
				if got.Passes != got.Generated() && got.Stopped == "steps" {
					t.Errorf("no draft: %d passes for %d tokens", got.Passes, got.Generated())
				}
			}
		}
	}
}

func checkSame(t *testing.T, where string, got *Speculation, want *Generation) {
	t.Helper()
	if len(got.IDs) != len(want.IDs) || got.Stopped != want.Stopped || got.Text != want.Text {
		t.Fatalf("%s: %d tokens (stopped: %s), greedy decoding %d (stopped: %s)\n got %q\nwant %q", where, len(got.IDs), got.Stopped, len(want.IDs), want.Stopped, got.Text, want.Text)
	}
	for i := range got.IDs {
		if got.IDs[i] != want.IDs[i] {
			t.Fatalf("%s: token %d is %d, greedy decoding's %d", where, i, got.IDs[i], want.IDs[i])
		}
	}
}

// A draft shares its model's mapping: it answers for it like the model
// (Mapped, Resident, an aligned copy), and closing it leaves the model's
// file mapped.
func TestDraftSharesMapping(t *testing.T) {
	m := openModel(t, "stories260K.bin")
	for _, spec := range []string{"layers:2", "q8_0,f16"} {
		d, err := m.DraftModel(spec)
		if err != nil {
			t.Fatal(err)
		}
		if d.Mapped() != m.Mapped() {
			t.Errorf("%s: draft mapped %v, model %v", spec, d.Mapped(), m.Mapped())
		}
		if _, err := d.Resident(); err != nil {
			t.Errorf("%s: Resident: %v", spec, err)
		}
		s, err := NewState(d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetLayout(LayoutAligned); err != nil {
			t.Errorf("%s: aligned copy of the draft: %v", spec, err)
		}
		if err := d.Close(); err != nil {
			t.Errorf("%s: Close: %v", spec, err)
		}
	}
	s, err := NewState(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Forward(t.Context(), BOS, 0); err != nil {
		t.Fatalf("the model after closing its drafts: %v", err)
	}
}

func TestDraftModelErrors(t *testing.T) {
	m := openModel(t, "stories260K.bin")
	for _, spec := range []string{"layers:0", "layers:5", "layers:x", "q4_0", "int3"} {
		if _, err := m.DraftModel(spec); err == nil {
			t.Errorf("DraftModel(%q): no error", spec)
		} else {
			t.Logf("DraftModel(%q): %v", spec, err)
		}
	}
}

// Through decodes to the step limit past BOS, as benchmarks of random
// weights need, with the same tokens a plain run through the same loop
// gives.
func TestSpeculateThrough(t *testing.T) {
	m := openModel(t, "tiny-untied.bin")
	dm, err := m.DraftModel("layers:1")
	if err != nil {
		t.Fatal(err)
	}
	opt := SpecOptions{K: 3, Steps: m.SeqLen, Through: true}
	plain, err := Speculate(context.Background(), newStateKV(t, m, "auto", KVF32), nil, nil, []int{BOS}, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := Speculate(context.Background(), newStateKV(t, m, "auto", KVF32), newStateKV(t, dm, "auto", KVF32), nil, []int{BOS}, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Generated() != m.SeqLen || plain.Stopped != "steps" {
		t.Fatalf("plain: %d tokens of %d, stopped %s", plain.Generated(), m.SeqLen, plain.Stopped)
	}
	for i := range plain.IDs {
		if spec.IDs[i] != plain.IDs[i] {
			t.Fatalf("token %d: %d speculative, %d plain", i, spec.IDs[i], plain.IDs[i])
		}
	}
}
