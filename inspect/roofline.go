package inspect

import (
	"fmt"
	"math"
	"strings"
)

// Roof is one ceiling of a roofline plot: a memory bandwidth in GB/s or a
// compute peak in GFLOP/s, with a name such as "DRAM" or "AVX2 FMA".
type Roof struct {
	Name  string
	Value float64
}

// RooflinePoint is one measured operation: its arithmetic intensity
// (FLOP per byte moved) and achieved performance (GFLOP/s). Group chooses
// the marker and colour (e.g. "fp32 decode", "int8 prefill").
type RooflinePoint struct {
	Name      string
	Group     string
	Intensity float64 // FLOP/byte
	GFLOPS    float64 // achieved GFLOP/s
	// Memory and Compute name the roofs this point is held against (an
	// int8 product against the int8 compute roof, not the fp32 one); empty
	// means the main (first) roof of that kind.
	Memory, Compute string
}

// Roofline describes a roofline plot. The first Memory and first Compute
// roofs are the main ones: they define the ridge point and the attainable
// performance; further roofs (caches, other kernels) are drawn dashed.
type Roofline struct {
	Title         string
	Memory        []Roof // GB/s
	Compute       []Roof // GFLOP/s
	Points        []RooflinePoint
	Width, Height float64 // px; 0 means 640 × 420
}

func validRoofs(rs []Roof) []Roof {
	var out []Roof
	for _, r := range rs {
		if r.Value > 0 && !math.IsInf(r.Value, 0) {
			out = append(out, r)
		}
	}
	return out
}

// Ridge returns the arithmetic intensity where the main bandwidth roof meets
// the main compute roof (compute / bandwidth), or NaN without both roofs.
func (r Roofline) Ridge() float64 {
	m, c := validRoofs(r.Memory), validRoofs(r.Compute)
	if len(m) == 0 || len(c) == 0 {
		return math.NaN()
	}
	return c[0].Value / m[0].Value
}

// Attainable returns the performance bound min(compute, bandwidth ×
// intensity) of the main roofs at the given intensity; with only one kind
// of roof it is that roof, and NaN with none.
func (r Roofline) Attainable(intensity float64) float64 {
	m, c := validRoofs(r.Memory), validRoofs(r.Compute)
	b := math.Inf(1)
	if len(m) > 0 {
		b = m[0].Value * intensity
	}
	if len(c) > 0 {
		b = min(b, c[0].Value)
	}
	if math.IsInf(b, 1) {
		return math.NaN()
	}
	return b
}

// roofNamed returns the roof called name, or the first one when name is
// empty or unknown (ok false when unknown).
func roofNamed(rs []Roof, name string) (Roof, bool) {
	if len(rs) == 0 {
		return Roof{Value: math.NaN()}, false
	}
	if name == "" {
		return rs[0], true
	}
	for _, r := range rs {
		if r.Name == name {
			return r, true
		}
	}
	return rs[0], false
}

// Judgement is one point held against its own roofs.
type Judgement struct {
	Memory, Compute Roof    // the roofs the point is held against
	Attainable      float64 // min(compute, bandwidth × intensity), GFLOP/s
	Fraction        float64 // achieved / attainable
	// Bound names the roof that is lower at the point's intensity, the one
	// the point is nearest to: "memory" or "compute".
	Bound string
	// MemoryFraction and ComputeFraction are the point's share of each
	// roof at its intensity.
	MemoryFraction, ComputeFraction float64
}

// Judge holds a point against the roofs it names (the main ones by
// default). With no roof of a kind, that kind does not bound it.
func (r Roofline) Judge(p RooflinePoint) Judgement {
	mem, comp := validRoofs(r.Memory), validRoofs(r.Compute)
	j := Judgement{Attainable: math.NaN(), Fraction: math.NaN(), MemoryFraction: math.NaN(), ComputeFraction: math.NaN(), Bound: "?"}
	m, okm := roofNamed(mem, p.Memory)
	c, okc := roofNamed(comp, p.Compute)
	j.Memory, j.Compute = m, c
	memAt := math.Inf(1)
	if okm {
		memAt = m.Value * p.Intensity
		j.MemoryFraction = p.GFLOPS / memAt
	}
	compAt := math.Inf(1)
	if okc {
		compAt = c.Value
		j.ComputeFraction = p.GFLOPS / compAt
	}
	switch {
	case !plottable(p):
		j.Bound = "not plotted"
	case math.IsInf(memAt, 1) && math.IsInf(compAt, 1):
		return j
	case memAt <= compAt:
		j.Bound, j.Attainable = "memory", memAt
	default:
		j.Bound, j.Attainable = "compute", compAt
	}
	if !math.IsNaN(j.Attainable) {
		j.Fraction = p.GFLOPS / j.Attainable
	}
	return j
}

func plottable(p RooflinePoint) bool {
	return p.Intensity > 0 && p.GFLOPS > 0 && !math.IsInf(p.Intensity, 0) && !math.IsInf(p.GFLOPS, 0)
}

// RooflinePlot draws the roofline model on log–log axes: arithmetic
// intensity (FLOP/byte) across, performance (GFLOP/s) up. Bandwidth roofs
// are lines of slope 1 (performance = bandwidth × intensity), compute roofs
// are horizontal, and the ridge point where the main ones meet is marked:
// operations left of it are memory-bound. Points are labelled and coloured
// by group. The text form is a table with each point's attainable bound.
func RooflinePlot(r Roofline) Bundle {
	mem, comp := validRoofs(r.Memory), validRoofs(r.Compute)
	var pts []RooflinePoint
	for _, p := range r.Points {
		if plottable(p) {
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 && (len(mem) == 0 || len(comp) == 0) {
		return noData(r.Title)
	}
	ridge := r.Ridge()
	var xs, ys []float64
	for _, p := range pts {
		xs, ys = append(xs, p.Intensity/2, p.Intensity*2), append(ys, p.GFLOPS)
	}
	if !math.IsNaN(ridge) {
		xs = append(xs, ridge/8, ridge*8)
	}
	x, _ := makeAxis(xs, true, false)
	for _, c := range comp {
		ys = append(ys, c.Value*1.5)
	}
	for _, m := range mem {
		ys = append(ys, m.Value*x.lo)
	}
	y, _ := makeAxis(ys, true, false)
	// Keep the plot from spanning absurd ranges: at most 8 decades down from the top.
	y.lo = max(y.lo, y.hi/1e8)

	groups := map[string]int{}
	var legend []legendItem
	for _, p := range pts {
		if _, ok := groups[p.Group]; !ok {
			k := len(groups)
			groups[p.Group] = k
			name := p.Group
			if name == "" {
				name = "(ungrouped)"
			}
			legend = append(legend, legendItem{name: name, colour: Palette(k + 1).Hex(), marker: k})
		}
	}
	const roofColour = "#444444"
	for i, m := range mem {
		legend = append(legend, legendItem{name: fmt.Sprintf("%s %s GB/s", m.Name, fmtNum(m.Value)), colour: roofColour, marker: -1, dash: i > 0})
	}
	for i, c := range comp {
		legend = append(legend, legendItem{name: fmt.Sprintf("%s %s GFLOP/s", c.Name, fmtNum(c.Value)), colour: roofColour, marker: -1, dash: i > 0})
	}
	o := ChartOpts{Title: r.Title, XLabel: "arithmetic intensity (FLOP/byte)", YLabel: "performance (GFLOP/s)",
		LogX: true, LogY: true, Width: r.Width, Height: r.Height}
	if o.Height <= 0 {
		o.Height = 420
	}
	c, x, y := frame(o, x, y, legend)

	// Bandwidth roofs: from where they enter the plot to where they meet the
	// highest compute roof (or the edge).
	top := math.Inf(1)
	if len(comp) > 0 {
		top = comp[0].Value
	}
	for i, m := range mem {
		i0 := max(x.lo, y.lo/m.Value)
		i1 := min(x.hi, y.hi/m.Value)
		if len(comp) > 0 {
			i1 = min(i1, top/m.Value)
		}
		if i0 >= i1 {
			continue
		}
		x0, _ := x.px(i0)
		x1, _ := x.px(i1)
		y0, _ := y.px(m.Value * i0)
		y1, _ := y.px(m.Value * i1)
		dash, width := "", 2.2
		if i > 0 {
			dash, width = "5 4", 1.4
		}
		c.Line(x0, y0, x1, y1, roofColour, width, dash)
		ang := math.Atan2(y1-y0, x1-x0) * 180 / math.Pi
		lx, ly := x0+(x1-x0)*0.12, y0+(y1-y0)*0.12-5
		c.Text(lx, ly, fmt.Sprintf("%s %s GB/s", Label(m.Name, 20), fmtNum(m.Value)),
			TextOpts{Size: 10, Fill: roofColour, Rotate: ang})
	}
	// Compute roofs: horizontal, from where the main bandwidth roof reaches them.
	for i, cr := range comp {
		if cr.Value < y.lo || cr.Value > y.hi {
			continue
		}
		i0 := x.lo
		if len(mem) > 0 {
			i0 = max(x.lo, cr.Value/mem[0].Value)
		}
		x0, _ := x.px(i0)
		py, _ := y.px(cr.Value)
		dash, width := "", 2.2
		if i > 0 {
			dash, width = "5 4", 1.4
		}
		c.Line(x0, py, x.p1, py, roofColour, width, dash)
		c.Text(x.p1-4, py-5, fmt.Sprintf("%s %s GFLOP/s", Label(cr.Name, 20), fmtNum(cr.Value)),
			TextOpts{Size: 10, Fill: roofColour, Anchor: "end"})
	}
	if !math.IsNaN(ridge) {
		if px, ok := x.px(ridge); ok {
			py, _ := y.px(comp[0].Value)
			c.Line(px, py, px, y.p0, "#999999", 1, "2 3")
			c.Circle(px, py, 3.5, roofColour, fmt.Sprintf("ridge point: %s FLOP/byte", fmtNum(ridge)))
			c.Text(px+5, y.p0-6, fmt.Sprintf("ridge %s FLOP/B", fmtNum(ridge)), TextOpts{Size: 10, Fill: colMuted})
		}
	}
	for _, p := range pts {
		px, ok1 := x.px(p.Intensity)
		py, ok2 := y.px(p.GFLOPS)
		if !ok1 || !ok2 || py < y.p1-1 || py > y.p0+1 {
			continue
		}
		k := groups[p.Group]
		tip := fmt.Sprintf("%s: %s FLOP/B, %s GFLOP/s", Label(p.Name, 40), fmtNum(p.Intensity), fmtNum(p.GFLOPS))
		if j := r.Judge(p); !math.IsNaN(j.Fraction) {
			tip += fmt.Sprintf(" (%.0f%% of its %s roof)", 100*j.Fraction, j.Bound)
		}
		c.marker(k, px, py, 5, Palette(k+1).Hex(), tip)
		c.Text(px+8, py+3.5, Label(p.Name, 24), TextOpts{Size: 9.5, Fill: colLabel, Keep: true})
	}

	// Text and JSON: one row per point with its bound.
	tbl := Table{Title: r.Title, Header: []string{"op", "group", "FLOP/B", "GFLOP/s", "held against", "roof GFLOP/s", "% of roof", "bound"}}
	var js []map[string]any
	for _, p := range r.Points {
		j := r.Judge(p)
		pct := ""
		if !math.IsNaN(j.Fraction) {
			pct = fmt.Sprintf("%.0f%%", 100*j.Fraction)
		}
		against := j.Memory.Name + " / " + j.Compute.Name
		tbl.Rows = append(tbl.Rows, []string{p.Name, p.Group, fmtNum(p.Intensity), fmtNum(p.GFLOPS), against, fmtNum(j.Attainable), pct, j.Bound})
		js = append(js, map[string]any{"name": p.Name, "group": p.Group, "intensity": Finite(p.Intensity),
			"gflops": Finite(p.GFLOPS), "attainable": Finite(j.Attainable), "fraction": Finite(j.Fraction), "bound": j.Bound,
			"memory_roof": j.Memory.Name, "compute_roof": j.Compute.Name,
			"memory_fraction": Finite(j.MemoryFraction), "compute_fraction": Finite(j.ComputeFraction)})
	}
	tbl.Note = "each point is held against its own roofs (int8 against the int8 compute roof); bound: the roof that is lower at the point's intensity, which the point is nearest to"
	var head strings.Builder
	for _, m := range mem {
		fmt.Fprintf(&head, "memory roof %s: %s GB/s\n", Label(m.Name, 30), fmtNum(m.Value))
	}
	for _, cr := range comp {
		fmt.Fprintf(&head, "compute roof %s: %s GFLOP/s\n", Label(cr.Name, 30), fmtNum(cr.Value))
	}
	if !math.IsNaN(ridge) {
		fmt.Fprintf(&head, "ridge point: %s FLOP/byte (left of it: memory-bound)\n", fmtNum(ridge))
	}
	text := tbl.Text()
	if r.Title != "" {
		// Put the roofs under the title line.
		title, rest, _ := strings.Cut(text, "\n")
		text = title + "\n" + head.String() + rest
	} else {
		text = head.String() + text
	}
	return Bundle{Text: text, SVG: c.String(), HTML: tbl.HTML(),
		JSON: map[string]any{"ridge": Finite(ridge), "points": js}}
}

// Finite makes a float JSON-safe: NaN and ±Inf (which encoding/json
// rejects) become nil. memwall's one such helper.
func Finite(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}
