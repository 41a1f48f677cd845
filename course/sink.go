package course

import (
	"fmt"
	"math"

	"github.com/memwall/memwall/inspect"
)

// SinkStrong is how many times an even spread's share of attention on the
// first token counts as a sink: twice.
const SinkStrong = 2.0

// SinkResult is the attention every layer and head puts on the first
// token, averaged over the queries after it.
type SinkResult struct {
	Positions int
	Weights   [][]float64 // [layer][head]
	Uniform   float64     // an even spread's share of the first token, averaged the same way
}

// Sink computes the first-token attention from captured patterns
// pat[layer][head][query][key] over a context of n positions (n >= 3).
func Sink(pat [][][][]float64, n int) (*SinkResult, error) {
	if n < 3 {
		return nil, fmt.Errorf("the context has %d token(s): the first-token sink needs a few more (generate first)", n)
	}
	r := &SinkResult{Positions: n}
	for q := 1; q < n; q++ {
		r.Uniform += 1 / float64(q+1)
	}
	r.Uniform /= float64(n - 1)
	for l := range pat {
		var row []float64
		for h := range pat[l] {
			var v float64
			for q := 1; q < n; q++ {
				v += pat[l][h][q][0]
			}
			row = append(row, v/float64(n-1))
		}
		r.Weights = append(r.Weights, row)
	}
	return r, nil
}

// Mean is the first token's share averaged over layers and heads.
func (r *SinkResult) Mean() float64 {
	var all []float64
	for _, row := range r.Weights {
		all = append(all, row...)
	}
	return mean(all)
}

// Strongest is the layer and head with the largest share.
func (r *SinkResult) Strongest() (layer, head int, w float64) {
	w = -1
	for l, row := range r.Weights {
		for h, v := range row {
			if v > w {
				layer, head, w = l, h, v
			}
		}
	}
	return
}

// Sinks counts the heads at SinkStrong times the even spread or more.
func (r *SinkResult) Sinks() (n, of int) {
	for _, row := range r.Weights {
		for _, v := range row {
			of++
			if v >= SinkStrong*r.Uniform {
				n++
			}
		}
	}
	return n, of
}

// Conclusions: is there a sink, on average and head by head?
func (r *SinkResult) Conclusions() Conclusions {
	m := r.Mean()
	l, h, w := r.Strongest()
	n, of := r.Sinks()
	c := Conclusion{ID: "sink_mean", Claim: fmt.Sprintf("on average the heads put at least %g× an even spread's share of attention on the first token", SinkStrong), Source: Measured,
		Evidence: ev("mean", m, "uniform", r.Uniform, "ratio", m/r.Uniform, "positions", r.Positions)}
	c.Verdict = map[bool]string{true: Holds, false: DoesNotHold}[m >= SinkStrong*r.Uniform]
	c.Text = fmt.Sprintf("over this %d-token context the heads give the first token %.0f%% of their attention on average, %.1f× an even spread (%.0f%%)", r.Positions, 100*m, m/r.Uniform, 100*r.Uniform)
	c2 := Conclusion{ID: "sink_heads", Claim: fmt.Sprintf("at least half the heads are first-token sinks (at least %g× an even spread)", SinkStrong), Source: Measured,
		Evidence: ev("sink_heads", n, "heads", of, "strongest_layer", l, "strongest_head", h, "strongest_weight", w)}
	c2.Verdict = map[bool]string{true: Holds, false: DoesNotHold}[2*n >= of]
	c2.Text = fmt.Sprintf("%d of %d heads reach %g× the even spread; the strongest sink is layer %d head %d at %.0f%%", n, of, SinkStrong, l, h, 100*w)
	return Conclusions{c, c2}
}

// Bundle renders the table and conclusions.
func (r *SinkResult) Bundle() inspect.Bundle {
	heads := 0
	if len(r.Weights) > 0 {
		heads = len(r.Weights[0])
	}
	header := []string{"layer"}
	for h := 0; h < heads; h++ {
		header = append(header, fmt.Sprintf("head %d", h))
	}
	header = append(header, "mean")
	t := inspect.Table{Title: fmt.Sprintf("Attention on the first token (BOS), averaged over the %d queries after it", r.Positions-1), Header: header, ColorMap: inspect.Viridis}
	for l, row := range r.Weights {
		cells := []string{fmt.Sprint(l)}
		shade := []float64{math.NaN()}
		for _, v := range row {
			cells = append(cells, fmt.Sprintf("%.0f%%", 100*v))
			shade = append(shade, v)
		}
		cells = append(cells, fmt.Sprintf("%.0f%%", 100*mean(row)))
		t.Rows = append(t.Rows, cells)
		t.Shade = append(t.Shade, append(shade, math.NaN()))
	}
	t.Note = fmt.Sprintf("a head spreading its attention evenly over the positions it can see would give the first token %.0f%% on average here", 100*r.Uniform)
	cs := r.Conclusions()
	l, h, w := r.Strongest()
	return inspect.Join([]inspect.Bundle{t.Bundle(), cs.Bundle()}, map[string]any{"positions": r.Positions, "sink": r.Weights, "mean": Num(r.Mean()), "uniform": r.Uniform,
		"strongest": map[string]any{"layer": l, "head": h, "weight": w}, "conclusions": cs.JSON()})
}
