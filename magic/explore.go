package magic

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// An explorer holds one forward pass over a context, captured once by hooks
// (every layer's attention pattern and residual stream), and draws views of
// it for any layer, head and position without running the model again.

// The views of %explore, in the order of its view buttons.
const (
	viewAttention = iota
	viewLens
	viewNorm
	viewTopK
	numViews
)

var viewNames = [numViews]string{"attention pattern", "logit lens", "residual norm", "top-k"}

// viewFlagNames are the values of %explore --view.
var viewFlagNames = [numViews]string{"attention", "lens", "norm", "topk"}

type explorer struct {
	s      *Interpreter
	model  *engine.Model // the model it was captured with
	ids    []int
	labels []string
	layers int
	heads  int
	k      int // tokens in the top-k view

	// pattern[l][h][p] is query position p's attention over keys 0..p.
	pattern [][][][]float64
	// resid[d][p] is the residual stream at depth d and position p: depth
	// 0 is the embedding (layer 0's resid_pre), depth l+1 layer l's
	// resid_post.
	resid [][][]float32
	// lens caches the logit-lens distributions by depth and position.
	lens map[[2]int]dist
}

// exploreAt is what a view shows: the controls' values.
type exploreAt struct {
	layer, head, pos, view int
}

// newExplorer runs ids once, capturing the attention patterns
// (capturePatterns) and the residual stream.
func (s *Interpreter) newExplorer(c *call, ids []int, k int) (*explorer, error) {
	cfg := s.model.Config
	n := len(ids)
	e := &explorer{s: s, model: s.model, ids: append([]int(nil), ids...), labels: s.tokenLabels(ids),
		layers: cfg.Layers, heads: cfg.Heads, k: k, lens: map[[2]int]dist{}}
	e.resid = make([][][]float32, cfg.Layers+1)
	for d := range e.resid {
		e.resid[d] = make([][]float32, n)
	}
	var err error
	e.pattern, err = s.capturePatterns(c, ids,
		hookSpec{"blocks.0.hook_resid_pre", func(ev *engine.HookEvent) {
			e.resid[0][ev.Pos] = append([]float32(nil), ev.Data...)
		}},
		hookSpec{"blocks.*.hook_resid_post", func(ev *engine.HookEvent) {
			e.resid[ev.Layer+1][ev.Pos] = append([]float32(nil), ev.Data...)
		}})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// check clamps a view to the captured ranges.
func (e *explorer) check(at exploreAt) exploreAt {
	at.layer = max(0, min(e.layers-1, at.layer))
	at.head = max(0, min(e.heads-1, at.head))
	at.pos = max(0, min(len(e.ids)-1, at.pos))
	at.view = max(0, min(numViews-1, at.view))
	return at
}

// lensAt is the logit lens's next-token distribution at a depth (1..layers:
// after that many layers) and position.
func (e *explorer) lensAt(depth, pos int) dist {
	key := [2]int{depth, pos}
	if d, ok := e.lens[key]; ok {
		return d
	}
	logits := make([]float32, e.model.Config.Vocab)
	if e.s.st.LogitLens(e.resid[depth][pos], logits) != nil {
		clear(logits) // a residual of another size: no prediction
	}
	d := newDist(logits)
	e.lens[key] = d
	return d
}

// posLabel names a position by its index and token.
func (e *explorer) posLabel(p int) string { return fmt.Sprintf("%d %q", p, e.labels[p]) }

// render draws the view at. It fails if the model changed since the
// capture (the residuals would go through another model's classifier).
func (e *explorer) render(at exploreAt) (inspect.Bundle, error) {
	if e.s.model != e.model {
		return inspect.Bundle{}, errors.New("the model was changed (or unloaded) since this explorer captured its forward pass: run %explore again")
	}
	at = e.check(at)
	where := fmt.Sprintf("layer %d, head %d, position %s", at.layer, at.head, e.posLabel(at.pos))
	js := map[string]any{"view": viewFlagNames[at.view], "layer": at.layer, "head": at.head, "position": at.pos,
		"token": e.labels[at.pos]}
	var b inspect.Bundle
	switch at.view {
	case viewAttention:
		o := inspect.HeatmapOpts{Title: fmt.Sprintf("Attention pattern, layer %d head %d", at.layer, at.head),
			XLabel: "key position (attended to)", YLabel: "query position", Min: 0, Max: 1}
		b = inspect.Heatmap(e.pattern[at.layer][at.head], e.labels, e.labels, o)
		row := e.pattern[at.layer][at.head][at.pos]
		best := 0
		for j, w := range row {
			if w > row[best] {
				best = j
			}
		}
		b.Text = fmt.Sprintf("%s\nposition %s attends most to %s (weight %.3f)", b.Text, e.posLabel(at.pos), e.posLabel(best), row[best])
		js["row"], js["argmax"] = row, best
	case viewLens:
		depth := at.layer + 1
		bars := make([]inspect.Bar, len(e.ids))
		var top []string
		var probs []float64
		for p := range e.ids {
			d := e.lensAt(depth, p)
			id := engine.Argmax(d.logits)
			mark := "  "
			if p == at.pos {
				mark = "▶ "
			}
			bars[p] = inspect.Bar{Label: fmt.Sprintf("%s%s → %q", mark, e.posLabel(p), e.s.pieceLabel(id)), Value: float64(d.probs[id])}
			top = append(top, e.s.pieceLabel(id))
			probs = append(probs, float64(d.probs[id]))
		}
		b = inspect.BarChart(bars, inspect.ChartOpts{
			Title:  fmt.Sprintf("Logit lens after layer %d: each position's top next token and its probability", at.layer),
			XLabel: "probability of the top token (final RMSNorm and classifier applied to the residual stream)"})
		js["top_pieces"], js["top_probs"] = top, probs
	case viewNorm:
		bars := make([]inspect.Bar, e.layers+1)
		norms := make([]float64, e.layers+1)
		for d := 0; d <= e.layers; d++ {
			name := "embedding"
			if d > 0 {
				name = fmt.Sprintf("after layer %d", d-1)
			}
			if d == at.layer+1 {
				name = "▶ " + name
			}
			norms[d] = l2(e.resid[d][at.pos])
			bars[d] = inspect.Bar{Label: name, Value: norms[d]}
		}
		b = inspect.BarChart(bars, inspect.ChartOpts{
			Title:  fmt.Sprintf("Residual stream L2 norm through the layers at position %s", e.posLabel(at.pos)),
			XLabel: "L2 norm of the residual stream"})
		js["norms"] = norms
	case viewTopK:
		d := e.lensAt(at.layer+1, at.pos)
		k := min(e.k, len(d.probs))
		top := d.top(k)
		bars := make([]inspect.Bar, len(top))
		for i, id := range top {
			bars[i] = inspect.Bar{Label: fmt.Sprintf("%q (%d)", e.s.pieceLabel(id), id), Value: float64(d.probs[id])}
		}
		b = inspect.BarChart(bars, inspect.ChartOpts{
			Title:  fmt.Sprintf("Top %d next tokens after layer %d at position %s (logit lens)", k, at.layer, e.posLabel(at.pos)),
			XLabel: "probability"})
		tj := e.s.topJSON(d, k)
		js["top_ids"], js["top_pieces"], js["top_probs"] = tj["ids"], tj["pieces"], tj["probs"]
	}
	b.Text = strings.TrimSpace(b.Text) + "\n(" + viewNames[at.view] + " at " + where + ")"
	b.JSON = js
	return b, nil
}

// picture is the part of a rendered view that goes into the widget.
func picture(b inspect.Bundle) string {
	switch {
	case b.SVG != "":
		return b.SVG
	case b.HTML != "":
		return b.HTML
	}
	return pre(b.Text)
}

// timeRender renders and measures how long it took.
func (e *explorer) timeRender(at exploreAt) (inspect.Bundle, time.Duration, error) {
	t0 := time.Now()
	b, err := e.render(at)
	return b, time.Since(t0), err
}
