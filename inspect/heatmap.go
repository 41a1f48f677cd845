package inspect

import (
	"fmt"
	"math"
	"strings"
)

// HeatmapOpts controls Heatmap and HeatmapGrid. The zero value works.
type HeatmapOpts struct {
	Title  string
	XLabel string // under the columns, e.g. "key position"
	YLabel string // beside the rows, e.g. "query position"
	// LogScale colours by log10 of the value; values ≤ 0 get the lowest colour.
	LogScale bool
	// ColorMap: the zero value picks BlueWhiteRed for data with both signs
	// and Viridis otherwise. A diverging map gets a range symmetric about 0.
	ColorMap ColorMap
	// Min and Max fix the colour range (in data units) when Min < Max;
	// otherwise the range comes from the data.
	Min, Max float64
	// CellSize is the side of one cell in px; 0 picks one from the size.
	CellSize float64
	// MaxCells caps the rendered rows and columns (default 128); larger
	// matrices are downsampled by averaging blocks, and the title says so.
	MaxCells int
	// TooltipCells: matrices with at most this many rows and columns get a
	// <title> tooltip per cell (default 64).
	TooltipCells int
}

// blank marks a cell that is not drawn (NaN or beyond a ragged row).
var blank = math.NaN()

// dense copies a possibly ragged matrix into a rectangular one, padding with
// NaN, and returns its size.
func dense(m [][]float64) ([][]float64, int, int) {
	nr, nc := len(m), 0
	for _, r := range m {
		nc = max(nc, len(r))
	}
	if nr == 0 || nc == 0 {
		return nil, nr, nc
	}
	out := make([][]float64, nr)
	for i, r := range m {
		row := make([]float64, nc)
		for j := range row {
			if j < len(r) {
				row[j] = r[j]
			} else {
				row[j] = blank
			}
		}
		out[i] = row
	}
	return out, nr, nc
}

// downsample averages blocks of a matrix so it has at most maxR rows and
// maxC columns; NaN cells are left out of averages. It returns the new
// matrix and the block sizes (fr, fc).
func downsample(m [][]float64, maxR, maxC int) ([][]float64, int, int) {
	nr, nc := len(m), 0
	for _, r := range m {
		nc = max(nc, len(r))
	}
	fr := max(1, (nr+maxR-1)/max(maxR, 1))
	fc := max(1, (nc+maxC-1)/max(maxC, 1))
	if fr == 1 && fc == 1 {
		return m, 1, 1
	}
	or, oc := (nr+fr-1)/fr, (nc+fc-1)/fc
	out := make([][]float64, or)
	for bi := range out {
		row := make([]float64, oc)
		for bj := range row {
			var sum float64
			n := 0
			for i := bi * fr; i < min(nr, (bi+1)*fr); i++ {
				for j := bj * fc; j < min(len(m[i]), (bj+1)*fc); j++ {
					if v := m[i][j]; !math.IsNaN(v) {
						sum += v / float64(fr*fc) // scaled so huge values do not overflow
						n++
					}
				}
			}
			if n == 0 {
				row[bj] = blank
			} else {
				row[bj] = sum * float64(fr*fc) / float64(n)
			}
		}
		out[bi] = row
	}
	return out, fr, fc
}

// colourScale turns values into colours for one heatmap or grid.
type colourScale struct {
	cmap   ColorMap
	lo, hi float64 // in transformed units (log10 when log)
	log    bool
}

// newScale works out the colour range of the given matrices under opts.
func newScale(ms [][][]float64, o HeatmapOpts) colourScale {
	s := colourScale{cmap: o.ColorMap, log: o.LogScale}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, m := range ms {
		for _, r := range m {
			for _, v := range r {
				if math.IsNaN(v) || math.IsInf(v, 0) || (s.log && v <= 0) {
					continue
				}
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if o.Min < o.Max {
		lo, hi = o.Min, o.Max
		if s.log && lo <= 0 {
			lo = hi / 1e6
		}
	}
	if lo > hi { // nothing finite
		lo, hi = 0, 1
		if s.log {
			lo = 0.1
		}
	}
	if s.cmap.IsZero() {
		if !s.log && lo < 0 && hi > 0 {
			s.cmap = BlueWhiteRed
		} else {
			s.cmap = Viridis
		}
	}
	if s.log {
		lo, hi = math.Log10(lo), math.Log10(hi)
	} else if s.cmap.Diverging && !(o.Min < o.Max) {
		a := max(math.Abs(lo), math.Abs(hi))
		lo, hi = -a, a
	}
	s.lo, s.hi = lo, hi
	return s
}

// t maps a data value to [0, 1]; ok is false for blank cells.
func (s colourScale) t(v float64) (float64, bool) {
	if math.IsNaN(v) {
		return 0, false
	}
	if s.log {
		if v <= 0 {
			return 0, true
		}
		v = math.Log10(v)
	}
	if s.hi == s.lo {
		return 0.5, true
	}
	if math.IsInf(v, 1) {
		return 1, true
	}
	if math.IsInf(v, -1) {
		return 0, true
	}
	return max(0, min(1, (v/2-s.lo/2)/(s.hi/2-s.lo/2))), true
}

func (s colourScale) colour(v float64) (string, bool) {
	t, ok := s.t(v)
	if !ok {
		return "", false
	}
	return s.cmap.At(t).Hex(), true
}

// drawColourBar draws a vertical colour bar with ticks at (x, y), h tall.
func drawColourBar(c *Canvas, s colourScale, x, y, h float64) {
	const steps = 48
	c.Group("shape-rendering", "crispEdges")
	for k := range steps {
		t := 1 - (float64(k)+0.5)/steps
		c.Rect(x, y+h*float64(k)/steps, 14, h/steps+0.6, s.cmap.At(t).Hex())
	}
	c.EndGroup()
	c.Rect(x, y, 14, h, "none", "stroke", "#888888", "stroke-width", "0.8")
	var ticks []float64
	if s.log {
		ticks = LogTicks(math.Pow(10, s.lo), math.Pow(10, s.hi))
	} else {
		ticks = NiceTicks(s.lo, s.hi, 5)
	}
	for _, tv := range ticks {
		u := tv
		if s.log {
			u = math.Log10(tv)
		}
		if s.hi == s.lo || u < s.lo-1e-9*math.Abs(s.hi-s.lo) || u > s.hi+1e-9*math.Abs(s.hi-s.lo) {
			continue
		}
		py := y + h*(1-(u-s.lo)/(s.hi-s.lo))
		c.Line(x+14, py, x+18, py, colAxis, 1, "")
		c.Text(x+21, py+3.5, fmtTick(tv), TextOpts{Size: 10, Fill: colLabel})
	}
	if s.hi == s.lo {
		c.Text(x+21, y+h/2+3.5, fmtTick(s.lo), TextOpts{Size: 10, Fill: colLabel})
	}
}

// cellTitle is the tooltip text of one cell.
func cellTitle(rowLabels, colLabels []string, i, j int, v float64) string {
	r, c := fmt.Sprint(i), fmt.Sprint(j)
	if i < len(rowLabels) {
		r += " " + quoteLabel(rowLabels[i])
	}
	if j < len(colLabels) {
		c += " " + quoteLabel(colLabels[j])
	}
	return fmt.Sprintf("row %s, col %s: %s", r, c, fmtNum(v))
}

func quoteLabel(s string) string { return "'" + Label(s, 24) + "'" }

// Heatmap draws a matrix as coloured cells: rows top to bottom, columns left
// to right, with optional row and column labels (tokens are fine: they are
// escaped and control characters made visible). Rows may be ragged and NaN
// cells are left blank, so a causal attention pattern can be passed as
// lower-triangular rows. See HeatmapOpts for scale, colour and size limits.
func Heatmap(matrix [][]float64, rowLabels, colLabels []string, o HeatmapOpts) Bundle {
	m, nr, nc := dense(matrix)
	if m == nil {
		return noData(o.Title)
	}
	maxCells := o.MaxCells
	if maxCells <= 0 {
		maxCells = 128
	}
	tipCells := o.TooltipCells
	if tipCells == 0 {
		tipCells = 64
	}
	d, fr, fc := downsample(m, maxCells, maxCells)
	dr, dc := len(d), len(d[0])
	title := o.Title
	if fr > 1 || fc > 1 {
		note := fmt.Sprintf("(%d×%d averaged to %d×%d)", nr, nc, dr, dc)
		title = strings.TrimSpace(title + " " + note)
	}
	s := newScale([][][]float64{d}, o)

	cell := o.CellSize
	if cell <= 0 {
		cell = max(3, min(28, math.Floor(480/float64(max(dr, dc)))))
	}
	fontSize := max(6, min(11, cell*0.85))
	every := 1
	if fontSize > cell {
		every = int(math.Ceil(fontSize / cell))
	}
	label := func(labels []string, k, f int) string {
		idx := k * f
		if idx >= len(labels) || k%every != 0 {
			return ""
		}
		return Label(labels[idx], 16)
	}
	var rowW, colW float64
	for i := range dr {
		rowW = max(rowW, textWidth(label(rowLabels, i, fr), fontSize))
	}
	for j := range dc {
		colW = max(colW, textWidth(label(colLabels, j, fc), fontSize))
	}
	left := 12 + rowW + 6
	if o.YLabel != "" {
		left += 18
	}
	top := 12.0
	if title != "" {
		top = 30
	}
	pw, ph := float64(dc)*cell, float64(dr)*cell
	bottom := 8 + colW + 6
	if o.XLabel != "" {
		bottom += 20
	}
	barH := max(80, min(ph, 240))
	width := max(left+pw+80, textWidth(title, 13)+20)
	height := top + max(ph+bottom, barH+30)
	c := NewCanvas(width, height)
	drawTitle(c, title)

	tips := nr <= tipCells && nc <= tipCells && fr == 1 && fc == 1
	c.Group("shape-rendering", "crispEdges")
	for i, r := range d {
		for j, v := range r {
			fill, ok := s.colour(v)
			if !ok {
				continue
			}
			x, y := left+float64(j)*cell, top+float64(i)*cell
			if tips {
				c.RectTitle(x, y, cell, cell, fill, cellTitle(rowLabels, colLabels, i, j, v))
			} else {
				c.Rect(x, y, cell, cell, fill)
			}
		}
	}
	c.EndGroup()
	c.Rect(left, top, pw, ph, "none", "stroke", "#bbbbbb", "stroke-width", "0.8")
	for i := range dr {
		if l := label(rowLabels, i, fr); l != "" {
			c.Text(left-4, top+(float64(i)+0.5)*cell+fontSize*0.35, l, TextOpts{Size: fontSize, Anchor: "end", Fill: colLabel, Keep: true})
		}
	}
	for j := range dc {
		if l := label(colLabels, j, fc); l != "" {
			x, y := left+(float64(j)+0.5)*cell+fontSize*0.35, top+ph+4
			c.Text(x, y, l, TextOpts{Size: fontSize, Anchor: "end", Fill: colLabel, Rotate: -90, Keep: true})
		}
	}
	if o.YLabel != "" {
		c.Text(14, top+ph/2, o.YLabel, TextOpts{Anchor: "middle", Fill: colLabel, Rotate: -90})
	}
	if o.XLabel != "" {
		c.Text(left+pw/2, top+ph+bottom-6, o.XLabel, TextOpts{Anchor: "middle", Fill: colLabel})
	}
	drawColourBar(c, s, left+pw+14, top, barH)
	return Bundle{Text: heatmapText(title, m, rowLabels, s), SVG: c.String()}
}

// shadeRamp is the ASCII ramp of the text rendering, low to high; blank
// cells print as spaces.
const shadeRamp = ".:-=+*#%@"

// heatmapText renders a matrix as ASCII shading, downsampled to fit.
func heatmapText(title string, m [][]float64, rowLabels []string, s colourScale) string {
	d, fr, fc := downsample(m, 48, 64)
	var b strings.Builder
	if title != "" {
		b.WriteString(Label(title, 0) + "\n")
	}
	lo, hi := s.lo, s.hi
	unit := ""
	if s.log {
		unit = " (log10)"
	}
	fmt.Fprintf(&b, "%d×%d, shade %q from %s to %s%s", len(m), len(m[0]), shadeRamp, fmtNum(lo), fmtNum(hi), unit)
	if fr > 1 || fc > 1 {
		fmt.Fprintf(&b, ", text averaged over %d×%d blocks", fr, fc)
	}
	b.WriteString("\n")
	lw := 0
	for i := range d {
		if i*fr < len(rowLabels) {
			lw = max(lw, len([]rune(Label(rowLabels[i*fr], 12))))
		}
	}
	wide := len(d[0]) <= 32 // two characters per cell keeps cells squarish
	for i, r := range d {
		l := ""
		if i*fr < len(rowLabels) {
			l = Label(rowLabels[i*fr], 12)
		}
		b.WriteString(strings.Repeat(" ", lw-len([]rune(l))) + l + " |")
		for _, v := range r {
			ch := byte(' ')
			if t, ok := s.t(v); ok {
				ch = shadeRamp[min(len(shadeRamp)-1, int(t*float64(len(shadeRamp))))]
			}
			b.WriteByte(ch)
			if wide {
				b.WriteByte(ch)
			}
		}
		b.WriteString("|\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// Panel is one small heatmap in a grid.
type Panel struct {
	Title  string
	Matrix [][]float64
}

// LayerHeadPanels turns patterns indexed [layer][head][query][key] into
// panels titled "L0 H0", "L0 H1", ... in layer-major order.
func LayerHeadPanels(patterns [][][][]float64) []Panel {
	var ps []Panel
	for l, heads := range patterns {
		for h, m := range heads {
			ps = append(ps, Panel{Title: fmt.Sprintf("L%d H%d", l, h), Matrix: m})
		}
	}
	return ps
}

// HeatmapGrid draws panels as small multiples, cols per row (0 picks a
// near-square layout), sharing one colour scale and colour bar. Each panel
// is downsampled so the whole picture stays under about 200,000 cells.
// Labels in opts other than Title, colour and range settings are ignored.
func HeatmapGrid(panels []Panel, cols int, o HeatmapOpts) Bundle {
	var ds [][][]float64
	var keep []Panel
	for _, p := range panels {
		if m, _, _ := dense(p.Matrix); m != nil {
			keep = append(keep, Panel{Title: p.Title, Matrix: m})
		}
	}
	if len(keep) == 0 {
		return noData(o.Title)
	}
	n := len(keep)
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	per := max(4, min(64, int(math.Sqrt(200000/float64(n)))))
	if o.MaxCells > 0 {
		per = min(per, o.MaxCells)
	}
	down := false
	for _, p := range keep {
		d, fr, fc := downsample(p.Matrix, per, per)
		down = down || fr > 1 || fc > 1
		ds = append(ds, d)
	}
	s := newScale(ds, o)
	panel := 96.0
	if o.CellSize > 0 {
		panel = o.CellSize * float64(per)
	}
	gap := 18.0
	title := o.Title
	if down {
		title = strings.TrimSpace(title + fmt.Sprintf(" (panels averaged to ≤%d×%d)", per, per))
	}
	top := 12.0
	if title != "" {
		top = 32
	}
	left := 10.0
	gw := float64(cols)*(panel+gap) - gap
	gh := float64(rows)*(panel+gap+12) - gap
	width := max(left+gw+80, textWidth(title, 13)+20)
	height := top + max(gh, 100) + 12
	c := NewCanvas(width, height)
	drawTitle(c, title)
	var text strings.Builder
	if title != "" {
		text.WriteString(Label(title, 0) + "\n")
	}
	fmt.Fprintf(&text, "%d panels; colour range %s to %s%s\n", n, fmtNum(s.lo), fmtNum(s.hi), map[bool]string{true: " (log10)"}[s.log])
	for k, d := range ds {
		px := left + float64(k%cols)*(panel+gap)
		py := top + float64(k/cols)*(panel+gap+12) + 12
		c.Text(px, py-3, Label(keep[k].Title, 20), TextOpts{Size: 10, Fill: colLabel, Keep: true})
		dr, dc := len(d), len(d[0])
		cell := panel / float64(max(dr, dc))
		c.Group("shape-rendering", "crispEdges")
		for i, r := range d {
			for j, v := range r {
				if fill, ok := s.colour(v); ok {
					c.Rect(px+float64(j)*cell, py+float64(i)*cell, cell, cell, fill)
				}
			}
		}
		c.EndGroup()
		c.Rect(px, py, cell*float64(dc), cell*float64(dr), "none", "stroke", "#bbbbbb", "stroke-width", "0.6")
		sum := Summarize(flatten(keep[k].Matrix))
		bi, bj := argmax(keep[k].Matrix)
		fmt.Fprintf(&text, "%-10s %dx%d  max %s at (%d,%d)  mean %s\n", Label(keep[k].Title, 10),
			len(keep[k].Matrix), len(keep[k].Matrix[0]), fmtNum(sum.Max), bi, bj, fmtNum(sum.Mean))
	}
	drawColourBar(c, s, left+gw+14, top+12, max(80, min(gh-12, 240)))
	return Bundle{Text: strings.TrimRight(text.String(), "\n"), SVG: c.String()}
}

func flatten(m [][]float64) []float64 {
	var out []float64
	for _, r := range m {
		out = append(out, r...)
	}
	return out
}

// argmax returns the position of the largest finite value (0, 0 if none).
func argmax(m [][]float64) (int, int) {
	bi, bj, best := 0, 0, math.Inf(-1)
	for i, r := range m {
		for j, v := range r {
			if !math.IsNaN(v) && v > best {
				bi, bj, best = i, j, v
			}
		}
	}
	return bi, bj
}
