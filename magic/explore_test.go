package magic

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
	"github.com/memwall/memwall/internal/testdata"
)

// explorerFor captures prompt on s.
func explorerFor(t testing.TB, s *Interpreter, prompt string) *explorer {
	t.Helper()
	ids := s.tok.Encode(prompt, true, false)
	e, err := s.newExplorer(&call{ctx: context.Background()}, ids, 10)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestExploreViews(t *testing.T) {
	s := newTest(t)
	e := explorerFor(t, s, "Once upon a time")
	n := len(e.ids)
	cfg := s.model.Config

	// The logit lens after the last layer is the model's own prediction:
	// the final norm and classifier applied to the last residual stream.
	logits, err := s.run(context.Background(), e.ids, nil, s.ablations)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.render(exploreAt{layer: cfg.Layers - 1, pos: n - 1, view: viewTopK})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.JSON.(map[string]any)["top_ids"].([]int)[0], engine.Argmax(logits); got != want {
		t.Errorf("top-k after the last layer starts with %d, the model predicts %d", got, want)
	}

	var times []float64
	for l := 0; l < cfg.Layers; l++ {
		for h := 0; h < cfg.Heads; h++ {
			for p := 0; p < n; p++ {
				for v := 0; v < numViews; v++ {
					b, took, err := e.timeRender(exploreAt{layer: l, head: h, pos: p, view: v})
					if err != nil {
						t.Fatal(err)
					}
					times = append(times, took.Seconds()*1e3)
					js := b.JSON.(map[string]any)
					if picture(b) == "" || !strings.HasPrefix(picture(b), "<svg") {
						t.Fatalf("view %d: no SVG picture", v)
					}
					switch v {
					case viewAttention:
						row := js["row"].([]float64)
						sum := 0.0
						for _, w := range row {
							sum += w
						}
						if len(row) != p+1 || math.Abs(sum-1) > 1e-4 {
							t.Errorf("attention row at L%d H%d p%d: %d weights summing to %v", l, h, p, len(row), sum)
						}
					case viewNorm:
						norms := js["norms"].([]float64)
						if len(norms) != cfg.Layers+1 || math.Abs(norms[l+1]-l2(e.resid[l+1][p])) > 1e-9 {
							t.Errorf("norms %v", norms)
						}
					case viewLens:
						if len(js["top_pieces"].([]string)) != n {
							t.Errorf("lens covers %d positions, want %d", len(js["top_pieces"].([]string)), n)
						}
					}
				}
			}
		}
	}
	// Evidence for "well under 100 ms" (a log, not a pass/fail bound;
	// BenchmarkExploreRedraw measures it properly).
	ps := inspect.Percentiles(times, 50, 99, 100)
	t.Logf("stories260K, %d positions, %d redraws: median %.3f ms, p99 %.3f ms, max %.3f ms", n, len(times), ps[0], ps[1], ps[2])

	// Different layers and heads draw different pictures.
	a, _ := e.render(exploreAt{layer: 0, head: 0, pos: n - 1})
	c, _ := e.render(exploreAt{layer: cfg.Layers - 1, head: 1, pos: n - 1})
	if picture(a) == picture(c) {
		t.Error("layer 0 head 0 and the last layer's head 1 draw the same picture")
	}
	// Out-of-range settings are clamped, never a panic.
	if _, err := e.render(exploreAt{layer: 99, head: -3, pos: 1000, view: 42}); err != nil {
		t.Error(err)
	}
	// A changed model makes the explorer refuse.
	run(t, s, "%load --shape stories260K")
	if _, err := e.render(exploreAt{}); err == nil || !strings.Contains(err.Error(), "run %explore again") {
		t.Errorf("after %%load: %v", err)
	}
}

func TestExploreWithoutWidgets(t *testing.T) {
	s := newTest(t)
	r := run(t, s, "%explore --view topk --layer 1 Once upon a time")
	if len(r.displays) != 1 || !strings.Contains(r.text(), "no widget front end") || r.displays[0].Data["image/svg+xml"] == nil {
		t.Fatalf("static explore: %q", r.text())
	}
	if js := r.lastJSON(t); js["view"] != "topk" || js["layer"] != 1.0 {
		t.Errorf("json %v", js)
	}
	// The prompt became the context.
	if got := s.tok.DecodeAll(s.ids[0], s.ids[1:]); got != "Once upon a time" {
		t.Errorf("context %q", got)
	}
	fail(t, s, "%explore --layer 9", "--layer 9 is out of range")
	fail(t, s, "%explore --view pie", "--view must be one of")
	fail(t, s, "%generate --ui", "needs Jupyter widgets")
	fail(t, s, "%step --ui", "needs Jupyter widgets")
	r = run(t, s, "%attention --ui")
	if !strings.Contains(r.text(), "Attention pattern, layer 0 head 0") {
		t.Errorf("%%attention --ui outside a kernel: %q", r.text())
	}
}

func newTestB(b *testing.B) *Interpreter {
	b.Helper()
	model := testdata.Model("stories260K.bin")
	if !isFile(model) {
		b.Skip("stories260K.bin not found")
	}
	s := New(Options{ModelDirs: []string{filepath.Dir(model)}, WorkDir: b.TempDir(), CacheDir: b.TempDir()})
	b.Cleanup(func() { s.Close() })
	if err := s.Execute(context.Background(), "%load stories260K", &recorder{}); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkExploreRedraw times one redraw of %explore's picture from the
// captured tensors, cycling through layers, heads, positions and views.
func BenchmarkExploreRedraw(b *testing.B) {
	s := newTestB(b)
	e := explorerFor(b, s, "Once upon a time there was a little girl named Lily")
	cfg := s.model.Config
	n := len(e.ids)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at := exploreAt{layer: i % cfg.Layers, head: (i / 3) % cfg.Heads, pos: (i * 7) % n, view: i % numViews}
		if _, err := e.render(at); err != nil {
			b.Fatal(err)
		}
	}
}
