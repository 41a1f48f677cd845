package inspect

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// ChartOpts controls the x/y charts. The zero value works: 640×360 px,
// linear axes, no labels.
type ChartOpts struct {
	Title          string
	XLabel, YLabel string
	LogX, LogY     bool
	Width, Height  float64 // px; 0 means 640 × 360
}

func (o ChartOpts) size() (float64, float64) {
	w, h := o.Width, o.Height
	if w <= 0 {
		w = 640
	}
	if h <= 0 {
		h = 360
	}
	return max(w, 200), max(h, 140)
}

// frame lays out a canvas with a plot area for axes x and y (their pixel
// ranges are filled in) and a legend on the right.
func frame(o ChartOpts, x, y axis, legend []legendItem) (*Canvas, axis, axis) {
	w, h := o.size()
	top := 16.0
	if o.Title != "" {
		top = 34
	}
	right := 20.0
	if len(legend) > 0 {
		right += legendWidth(legend)
	}
	left := 58.0
	if o.YLabel != "" {
		left += 16
	}
	bottom := 30.0
	if o.XLabel != "" {
		bottom += 16
	}
	x.p0, x.p1 = left, max(left+40, w-right)
	y.p0, y.p1 = max(top+40, h-bottom), top
	c := NewCanvas(w, h)
	drawTitle(c, o.Title)
	drawFrame(c, x, y, o.XLabel, o.YLabel)
	if len(legend) > 0 {
		drawLegend(c, x.p1+14, top+10, legend)
	}
	return c, x, y
}

// ---- text plots ----

const asciiMarks = "*o+x#@%&"

type asciiSeries struct {
	name string
	x, y []float64
}

// asciiPlot renders points on a character grid with the given axes.
func asciiPlot(x, y axis, series []asciiSeries) string {
	const W, H = 60, 14
	x.p0, x.p1 = 0, W-1
	y.p0, y.p1 = H-1, 0
	grid := make([][]byte, H)
	for i := range grid {
		grid[i] = []byte(strings.Repeat(" ", W))
	}
	for k, s := range series {
		mark := asciiMarks[k%len(asciiMarks)]
		for i := range min(len(s.x), len(s.y)) {
			px, ok1 := x.px(s.x[i])
			py, ok2 := y.px(s.y[i])
			if !ok1 || !ok2 {
				continue
			}
			col, row := int(math.Round(px)), int(math.Round(py))
			if col >= 0 && col < W && row >= 0 && row < H {
				grid[row][col] = mark
			}
		}
	}
	ylo, yhi := fmtTick(y.lo), fmtTick(y.hi)
	lw := max(len(ylo), len(yhi))
	var b strings.Builder
	for i, r := range grid {
		l := ""
		switch i {
		case 0:
			l = yhi
		case H - 1:
			l = ylo
		}
		fmt.Fprintf(&b, "%*s |%s\n", lw, l, strings.TrimRight(string(r), " "))
	}
	fmt.Fprintf(&b, "%*s +%s\n", lw, "", strings.Repeat("-", W))
	xlo, xhi := fmtTick(x.lo), fmtTick(x.hi)
	fmt.Fprintf(&b, "%*s  %s%*s\n", lw, "", xlo, W-len(xlo), xhi)
	scale := ""
	if x.log {
		scale += " x:log"
	}
	if y.log {
		scale += " y:log"
	}
	if scale != "" {
		fmt.Fprintf(&b, "%*s  (%s)\n", lw, "", strings.TrimSpace(scale))
	}
	for k, s := range series {
		fmt.Fprintf(&b, "  %c %s\n", asciiMarks[k%len(asciiMarks)], Label(s.name, 40))
	}
	return strings.TrimRight(b.String(), "\n")
}

func textHeader(o ChartOpts) string {
	var b strings.Builder
	if o.Title != "" {
		b.WriteString(Label(o.Title, 0) + "\n")
	}
	var axes []string
	if o.XLabel != "" {
		axes = append(axes, "x: "+Label(o.XLabel, 40))
	}
	if o.YLabel != "" {
		axes = append(axes, "y: "+Label(o.YLabel, 40))
	}
	if len(axes) > 0 {
		b.WriteString(strings.Join(axes, ", ") + "\n")
	}
	return b.String()
}

// ---- bar chart ----

// Bar is one bar of a BarChart.
type Bar struct {
	Label string
	Value float64
}

// maxBars caps the bars drawn by BarChart.
const maxBars = 200

// BarChart draws horizontal bars with their labels on the left and values at
// the ends, in the given order (e.g. top-k next-token probabilities).
// Negative values extend left of zero; NaN values are listed without a bar.
// Only the first 200 bars are drawn. XLabel names the value axis.
func BarChart(bars []Bar, o ChartOpts) Bundle {
	if len(bars) == 0 {
		return noData(o.Title)
	}
	title := o.Title
	shown := bars
	if len(bars) > maxBars {
		shown = bars[:maxBars]
		title = strings.TrimSpace(fmt.Sprintf("%s (first %d of %d)", title, maxBars, len(bars)))
	}
	vals := make([]float64, len(shown))
	var lw, vw float64
	for i, b := range shown {
		vals[i] = b.Value
		lw = max(lw, textWidth(Label(b.Label, 24), 11))
		vw = max(vw, textWidth(fmtNum(b.Value), 10))
	}
	x, ok := makeAxis(vals, false, true)
	if !ok {
		x = axis{lo: 0, hi: 1}
	}
	const barH, gap = 16.0, 5.0
	w, _ := o.size()
	top := 16.0
	if title != "" {
		top = 34
	}
	left := 16 + lw
	h := top + float64(len(shown))*(barH+gap) + 40
	if o.XLabel != "" {
		h += 14
	}
	x.p0, x.p1 = left, max(left+60, w-vw-20)
	c := NewCanvas(w, h)
	drawTitle(c, title)
	bottom := top + float64(len(shown))*(barH+gap)
	for _, t := range x.ticks() {
		p, _ := x.px(t)
		c.Line(p, top, p, bottom, colGrid, 1, "")
		c.Text(p, bottom+14, fmtTick(t), TextOpts{Anchor: "middle", Size: 10, Fill: colLabel})
	}
	zero, _ := x.clampPx(0)
	for i, b := range shown {
		y := top + float64(i)*(barH+gap)
		c.Text(left-6, y+barH*0.72, Label(b.Label, 24), TextOpts{Anchor: "end", Fill: colLabel, Keep: true})
		p, ok := x.clampPx(b.Value)
		if !ok {
			c.Text(zero+4, y+barH*0.72, fmtNum(b.Value), TextOpts{Size: 10, Fill: colMuted})
			continue
		}
		x0, x1 := min(zero, p), max(zero, p)
		c.RectTitle(x0, y, x1-x0, barH, Palette(0).Hex(), Label(b.Label, 40)+": "+fmtNum(b.Value))
		if b.Value >= 0 {
			c.Text(x1+4, y+barH*0.72, fmtNum(b.Value), TextOpts{Size: 10, Fill: colLabel})
		} else {
			c.Text(x0-4, y+barH*0.72, fmtNum(b.Value), TextOpts{Size: 10, Fill: colLabel, Anchor: "end"})
		}
	}
	c.Line(zero, top-2, zero, bottom, colAxis, 1, "")
	if o.XLabel != "" {
		c.Text((x.p0+x.p1)/2, bottom+30, o.XLabel, TextOpts{Anchor: "middle", Fill: colLabel})
	}

	// Text: label, value and a bar of '#' scaled to the largest magnitude.
	var t strings.Builder
	if title != "" {
		t.WriteString(Label(title, 0) + "\n")
	}
	amax := 0.0
	for _, v := range vals {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			amax = max(amax, math.Abs(v))
		}
	}
	tw := 0
	for _, b := range shown {
		tw = max(tw, len([]rune(Label(b.Label, 24))))
	}
	for _, b := range shown {
		l := Label(b.Label, 24)
		n := 0
		if amax > 0 && !math.IsNaN(b.Value) && !math.IsInf(b.Value, 0) {
			n = int(math.Round(math.Abs(b.Value) / amax * 40))
		}
		bar := strings.Repeat("#", n)
		if b.Value < 0 {
			bar = strings.Repeat("-", n)
		}
		fmt.Fprintf(&t, "%s%s  %10s  %s\n", strings.Repeat(" ", tw-len([]rune(l))), l, fmtNum(b.Value), bar)
	}
	return Bundle{Text: strings.TrimRight(t.String(), "\n"), SVG: c.String()}
}

// ---- line chart ----

// Series is one line of a LineChart. If X is nil the points are at
// 0, 1, 2, ...; NaN values break the line.
type Series struct {
	Name string
	X, Y []float64
}

func (s Series) xAt(i int) float64 {
	if s.X == nil {
		return float64(i)
	}
	return s.X[i]
}

func (s Series) len() int {
	if s.X == nil {
		return len(s.Y)
	}
	return min(len(s.X), len(s.Y))
}

// maxLinePoints caps the points drawn per series; longer series keep the
// minimum and maximum of each bucket so spikes survive.
const maxLinePoints = 2000

// decimate returns the indices of the points to draw for s.
func decimate(s Series) []int {
	n := s.len()
	if n <= maxLinePoints {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	buckets := maxLinePoints / 2
	var idx []int
	for b := range buckets {
		lo, hi := b*n/buckets, (b+1)*n/buckets
		imin, imax := -1, -1
		for i := lo; i < hi; i++ {
			v := s.Y[i]
			if math.IsNaN(v) {
				continue
			}
			if imin < 0 || v < s.Y[imin] {
				imin = i
			}
			if imax < 0 || v > s.Y[imax] {
				imax = i
			}
		}
		if imin < 0 {
			idx = append(idx, lo) // keep a NaN so the gap shows
			continue
		}
		idx = append(idx, min(imin, imax))
		if imin != imax {
			idx = append(idx, max(imin, imax))
		}
	}
	return idx
}

// LineChart draws one or more series as lines on shared axes with a
// legend; LogX/LogY make the axes logarithmic (non-positive values are then
// skipped). Long series are decimated to about 2000 points, keeping spikes.
func LineChart(series []Series, o ChartOpts) Bundle {
	var xs, ys []float64
	for _, s := range series {
		for i := range s.len() {
			xi, yi := s.xAt(i), s.Y[i]
			if math.IsNaN(xi) || math.IsNaN(yi) {
				continue
			}
			xs, ys = append(xs, xi), append(ys, yi)
		}
	}
	x, okx := makeAxis(xs, o.LogX, false)
	y, oky := makeAxis(ys, o.LogY, false)
	if !okx || !oky {
		return noData(o.Title)
	}
	var legend []legendItem
	for k, s := range series {
		legend = append(legend, legendItem{name: s.Name, colour: Palette(k).Hex(), marker: -1})
	}
	if len(series) == 1 && series[0].Name == "" {
		legend = nil
	}
	c, x, y := frame(o, x, y, legend)
	var text []asciiSeries
	for k, s := range series {
		var pts []float64
		flush := func() {
			if len(pts) == 2 {
				c.Circle(pts[0], pts[1], 2, Palette(k).Hex(), "")
			}
			c.Polyline(pts, Palette(k).Hex(), 1.8, "")
			pts = pts[:0]
		}
		as := asciiSeries{name: s.Name}
		for _, i := range decimate(s) {
			px, ok1 := x.px(s.xAt(i))
			py, ok2 := y.px(s.Y[i])
			if !ok1 || !ok2 {
				flush()
				continue
			}
			pts = append(pts, px, py)
			as.x, as.y = append(as.x, s.xAt(i)), append(as.y, s.Y[i])
		}
		flush()
		text = append(text, as)
	}
	return Bundle{Text: textHeader(o) + asciiPlot(x, y, text), SVG: c.String()}
}

// ---- CDF ----

// Sample is a named set of measurements (e.g. per-token latencies in ms).
type Sample struct {
	Name   string
	Values []float64
}

// CDFPlot draws the empirical cumulative distribution of each sample as a
// step line: y is the fraction of values ≤ x. Tails show up at the top
// right, which is where the memory wall hurts. Use LogX for wide ranges.
// The text form lists each sample's latency summary.
func CDFPlot(samples []Sample, o ChartOpts) Bundle {
	sorted := make([][]float64, len(samples))
	var xs []float64
	for k, s := range samples {
		sorted[k] = finiteSorted(s.Values)
		xs = append(xs, sorted[k]...)
	}
	x, ok := makeAxis(xs, o.LogX, false)
	if !ok {
		return noData(o.Title)
	}
	y := axis{lo: 0, hi: 1}
	if o.YLabel == "" {
		o.YLabel = "fraction ≤ x"
	}
	var legend []legendItem
	for k, s := range samples {
		legend = append(legend, legendItem{name: s.Name, colour: Palette(k).Hex(), marker: -1})
	}
	c, x, y := frame(o, x, y, legend)
	tbl := Table{Header: []string{"sample", "n", "mean", "p50", "p99", "p99.9", "max", "cv"}}
	var text []asciiSeries
	for k, s := range sorted {
		n := len(s)
		l := LatencyOf(s)
		tbl.Rows = append(tbl.Rows, []string{Label(samples[k].Name, 24), fmt.Sprint(l.N), fmtNum(l.Mean),
			fmtNum(l.P50), fmtNum(l.P99), fmtNum(l.P999), fmtNum(l.Max), fmtNum(l.CV)})
		if n == 0 {
			continue
		}
		// Keep at most ~1000 steps, always including the last (max) value.
		step := max(1, n/1000)
		var pts []float64
		as := asciiSeries{name: samples[k].Name}
		prevY := 0.0
		for i := 0; i < n; i += step {
			j := min(n-1, i+step-1)
			if i+step >= n {
				j = n - 1
			}
			px, ok := x.px(s[j])
			if !ok {
				continue
			}
			fy := float64(j+1) / float64(n)
			py0, _ := y.px(prevY)
			py1, _ := y.px(fy)
			pts = append(pts, px, py0, px, py1)
			as.x, as.y = append(as.x, s[j]), append(as.y, fy)
			prevY = fy
		}
		c.Polyline(pts, Palette(k).Hex(), 1.8, "")
		text = append(text, as)
	}
	return Bundle{Text: textHeader(o) + tbl.Text() + "\n" + asciiPlot(x, y, text), SVG: c.String(), HTML: tbl.HTML()}
}

// ---- stacked bars ----

// StackedBarItem is one bar of a StackedBar: a label and one value per
// segment, in the order of the segment names.
type StackedBarItem struct {
	Label  string
	Values []float64
}

// StackedBar draws horizontal bars split into named segments (e.g. time per
// op for each kernel variant), with a legend and each bar's total. Negative,
// NaN and Inf values count as zero. XLabel names the value axis.
func StackedBar(segments []string, bars []StackedBarItem, o ChartOpts) Bundle {
	if len(bars) == 0 || len(segments) == 0 {
		return noData(o.Title)
	}
	clean := func(v float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0
		}
		return v
	}
	totals := make([]float64, len(bars))
	var lw float64
	for i, b := range bars {
		for k := range segments {
			if k < len(b.Values) {
				totals[i] += clean(b.Values[k])
			}
		}
		lw = max(lw, textWidth(Label(b.Label, 24), 11))
	}
	x, _ := makeAxis(append(totals, 0), false, true)
	if x.hi == x.lo {
		x.hi = x.lo + 1
	}
	var legend []legendItem
	for k, s := range segments {
		legend = append(legend, legendItem{name: s, colour: Palette(k).Hex(), marker: -2})
	}
	w, _ := o.size()
	const barH, gap = 22.0, 8.0
	top := 16.0
	if o.Title != "" {
		top = 34
	}
	left := 16 + lw
	bottom := top + float64(len(bars))*(barH+gap)
	h := max(bottom+44, top+float64(len(legend))*16+20)
	if o.XLabel != "" {
		h += 14
	}
	x.p0, x.p1 = left, max(left+80, w-legendWidth(legend)-60)
	c := NewCanvas(w, h)
	drawTitle(c, o.Title)
	for _, t := range x.ticks() {
		p, _ := x.px(t)
		c.Line(p, top, p, bottom, colGrid, 1, "")
		c.Text(p, bottom+14, fmtTick(t), TextOpts{Anchor: "middle", Size: 10, Fill: colLabel})
	}
	tbl := Table{Title: o.Title, Header: append(append([]string{""}, segments...), "total")}
	for i, b := range bars {
		y := top + float64(i)*(barH+gap)
		c.Text(left-6, y+barH*0.68, Label(b.Label, 24), TextOpts{Anchor: "end", Fill: colLabel, Keep: true})
		acc := 0.0
		row := []string{b.Label}
		for k, name := range segments {
			v := 0.0
			if k < len(b.Values) {
				v = clean(b.Values[k])
			}
			p0, _ := x.px(acc)
			p1, _ := x.px(acc + v)
			if v > 0 {
				pct := 100 * v / totals[i]
				c.RectTitle(p0, y, p1-p0, barH, Palette(k).Hex(),
					fmt.Sprintf("%s / %s: %s (%.1f%%)", Label(b.Label, 30), Label(name, 30), fmtNum(v), pct))
			}
			acc += v
			if totals[i] > 0 {
				row = append(row, fmt.Sprintf("%s (%.0f%%)", fmtNum(v), 100*v/totals[i]))
			} else {
				row = append(row, fmtNum(v))
			}
		}
		pe, _ := x.px(acc)
		c.Text(pe+4, y+barH*0.68, fmtNum(totals[i]), TextOpts{Size: 10, Fill: colLabel})
		tbl.Rows = append(tbl.Rows, append(row, fmtNum(totals[i])))
	}
	c.Line(x.p0, top-2, x.p0, bottom, colAxis, 1, "")
	if o.XLabel != "" {
		c.Text((x.p0+x.p1)/2, bottom+30, o.XLabel, TextOpts{Anchor: "middle", Fill: colLabel})
	}
	drawLegend(c, x.p1+60, top+10, legend)
	return Bundle{Text: tbl.Text(), HTML: tbl.HTML(), SVG: c.String()}
}

// ---- histogram ----

// HistogramChart draws a Hist as adjacent bars. With LogY, empty bins are
// left out and the axis starts at 1. The title notes NaN and Inf counts.
func HistogramChart(h Hist, o ChartOpts) Bundle {
	if len(h.Counts) == 0 || h.N == 0 {
		b := noData(o.Title)
		if h.NaN+h.Inf > 0 {
			b.Text += fmt.Sprintf(" (nan=%d inf=%d)", h.NaN, h.Inf)
		}
		return b
	}
	if h.NaN+h.Inf > 0 {
		o.Title = strings.TrimSpace(fmt.Sprintf("%s (skipped nan=%d inf=%d)", o.Title, h.NaN, h.Inf))
	}
	if o.YLabel == "" {
		o.YLabel = "count"
	}
	x, _ := makeAxis([]float64{h.Edges[0], h.Edges[len(h.Edges)-1]}, false, false)
	x.lo, x.hi = min(x.lo, h.Edges[0]), max(x.hi, h.Edges[len(h.Edges)-1])
	cs := make([]float64, 0, len(h.Counts)+1)
	for _, n := range h.Counts {
		cs = append(cs, float64(n))
	}
	var y axis
	if o.LogY {
		y, _ = makeAxis(append(cs, 1), true, false)
	} else {
		y, _ = makeAxis(append(cs, 0), false, true)
	}
	c, x, y := frame(o, x, y, nil)
	base := y.p0
	for i, n := range h.Counts {
		if n == 0 {
			continue
		}
		x0, _ := x.px(h.Edges[i])
		x1, _ := x.px(h.Edges[i+1])
		py, ok := y.px(float64(n))
		if !ok {
			continue
		}
		c.RectTitle(x0, py, max(x1-x0-0.5, 0.5), base-py, Palette(0).Hex(),
			fmt.Sprintf("[%s, %s): %d", fmtNum(h.Edges[i]), fmtNum(h.Edges[i+1]), n))
	}
	var t strings.Builder
	t.WriteString(textHeader(o))
	maxN := slices.Max(h.Counts)
	for i, n := range h.Counts {
		bar := ""
		if maxN > 0 {
			bar = strings.Repeat("#", int(math.Round(float64(n)/float64(maxN)*40)))
		}
		fmt.Fprintf(&t, "[%10s, %10s) %8d %s\n", fmtNum(h.Edges[i]), fmtNum(h.Edges[i+1]), n, bar)
	}
	return Bundle{Text: strings.TrimRight(t.String(), "\n"), SVG: c.String(), JSON: h}
}

// HistogramOf bins xs into bins bins and draws the histogram.
func HistogramOf[T Float](xs []T, bins int, o ChartOpts) Bundle {
	return HistogramChart(Histogram(xs, bins), o)
}
