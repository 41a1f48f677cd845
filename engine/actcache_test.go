package engine

import (
	"fmt"
	"math"
	"testing"
)

// Every hook point fires with the shape HookShape gives (the pattern and
// scores with pos+1 keys at position pos).
func TestHookShapesMatchForward(t *testing.T) {
	m := openModel(t, "stories260K.bin")
	s, err := NewState(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	remove, err := s.AddHook("*", func(ev *HookEvent) {
		want, err := HookShape(m.Config, ev.Name, ev.Pos+1)
		if err != nil {
			t.Errorf("%s: %v", ev.Name, err)
			return
		}
		if fmt.Sprint(want) != fmt.Sprint(ev.Shape) {
			t.Errorf("%s at %d: fired %v, HookShape %v", ev.Name, ev.Pos, ev.Shape, want)
		}
		if n := HookHeads(m.Config, ev.Name); n > 0 && n != ev.Shape[0] {
			t.Errorf("%s: %d heads, shape %v", ev.Name, n, ev.Shape)
		}
		seen[ev.Name] = true
	})
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	for pos, tok := range []int{BOS, 300, 42} {
		if _, err := s.Forward(t.Context(), tok, pos); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != len(HookNames(m.Layers)) {
		t.Errorf("%d of %d hook points fired", len(seen), len(HookNames(m.Layers)))
	}
	if _, err := HookShape(m.Config, "blocks.99.hook_resid_post", 1); err == nil {
		t.Error("a layer past the model accepted")
	}
}

// RunWithCache captures by name with the estimated size; the logit lens
// of the last layer's residual is the model's own output.
func TestRunWithCacheAndLens(t *testing.T) {
	for _, name := range []string{"stories260K.bin", "tiny-q8.bin"} {
		m := openModel(t, name)
		s, err := NewState(m, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids := []int{BOS, 300, 42, 7}
		names, err := MatchHooks(m.Config, []string{"blocks.*.hook_resid_post", "blocks.0.attn.hook_pattern"})
		if err != nil {
			t.Fatal(err)
		}
		cache, err := s.RunWithCache(t.Context(), ids, names, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for _, n := range cache.Names {
			a, _ := cache.Get(n)
			for _, r := range a.Rows {
				got += 4 * int64(len(r))
			}
		}
		if est, _ := EstimateCaptureBytes(m.Config, names, len(ids)); est != got {
			t.Errorf("%s: estimated %d bytes, captured %d", name, est, got)
		}
		pat, _ := cache.Get("blocks.0.attn.hook_pattern")
		if fmt.Sprint(pat.FullShape()) != fmt.Sprint([]int{4, m.Heads, 4}) || pat.Rows[0][1] != 0 {
			t.Errorf("%s: pattern %v %v", name, pat.FullShape(), pat.Rows[0][:4])
		}
		last, _ := cache.Get(fmt.Sprintf("blocks.%d.hook_resid_post", m.Layers-1))
		lens := make([]float32, m.Vocab)
		if err := s.LogitLens(last.Rows[3], lens); err != nil {
			t.Fatal(err)
		}
		for i := range lens {
			if math.Abs(float64(lens[i]-cache.Logits[i])) > 1e-5 {
				t.Fatalf("%s: lens of the last layer differs from the logits at %d: %v against %v", name, i, lens[i], cache.Logits[i])
			}
		}
		if _, err := s.RunWithCache(t.Context(), ids, names, 16); err == nil {
			t.Errorf("%s: a 16-byte limit accepted", name)
		}
	}
}
