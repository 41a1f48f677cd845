package inspect

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Canvas is a tiny SVG builder. Coordinates are in pixels from the top left.
// It writes a root element with a viewBox (so the picture scales), a generic
// sans-serif font and a white background rectangle, and no element ids.
type Canvas struct {
	b    strings.Builder
	w, h float64
}

// NewCanvas starts a w×h picture with a white background.
func NewCanvas(w, h float64) *Canvas {
	c := &Canvas{w: w, h: h}
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="sans-serif" font-size="11">`,
		num(w), num(h), num(w), num(h))
	c.b.WriteString("\n")
	c.Rect(0, 0, w, h, "#ffffff")
	return c
}

// Size returns the canvas width and height.
func (c *Canvas) Size() (w, h float64) { return c.w, c.h }

// num formats a coordinate with at most two decimals and no trailing zeros.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// attrs renders alternating name, value pairs; values are escaped.
func attrs(kv []string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		b.WriteString(" ")
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(EscapeXML(kv[i+1]))
		b.WriteString(`"`)
	}
	return b.String()
}

// Rect draws a filled rectangle. Extra attributes come as name, value pairs.
func (c *Canvas) Rect(x, y, w, h float64, fill string, kv ...string) {
	fmt.Fprintf(&c.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"%s/>`+"\n",
		num(x), num(y), num(max(w, 0)), num(max(h, 0)), EscapeXML(fill), attrs(kv))
}

// RectTitle draws a rectangle carrying a tooltip.
func (c *Canvas) RectTitle(x, y, w, h float64, fill, title string) {
	fmt.Fprintf(&c.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`+"\n",
		num(x), num(y), num(max(w, 0)), num(max(h, 0)), EscapeXML(fill), EscapeXML(title))
}

// Line draws a straight line; dash is an SVG dash array or "".
func (c *Canvas) Line(x1, y1, x2, y2 float64, stroke string, width float64, dash string) {
	fmt.Fprintf(&c.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>`+"\n",
		num(x1), num(y1), num(x2), num(y2), EscapeXML(stroke), num(width), attrs([]string{"stroke-dasharray", dash}))
}

// Polyline draws connected segments through pts (x0, y0, x1, y1, ...).
func (c *Canvas) Polyline(pts []float64, stroke string, width float64, dash string) {
	if len(pts) < 4 {
		return
	}
	var b strings.Builder
	for i := 0; i+1 < len(pts); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(num(pts[i]))
		b.WriteByte(',')
		b.WriteString(num(pts[i+1]))
	}
	fmt.Fprintf(&c.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%s" stroke-linejoin="round"%s/>`+"\n",
		b.String(), EscapeXML(stroke), num(width), attrs([]string{"stroke-dasharray", dash}))
}

// Circle draws a filled circle, with an optional tooltip.
func (c *Canvas) Circle(x, y, r float64, fill, title string) {
	c.marker(0, x, y, r, fill, title)
}

// marker draws marker shape k (0 circle, 1 square, 2 triangle, 3 diamond,
// cycling) centred on x, y, with an optional tooltip.
func (c *Canvas) marker(k int, x, y, r float64, fill, title string) {
	var open string
	switch k % 4 {
	case 0:
		open = fmt.Sprintf(`<circle cx="%s" cy="%s" r="%s"`, num(x), num(y), num(r))
	case 1:
		open = fmt.Sprintf(`<rect x="%s" y="%s" width="%s" height="%s"`, num(x-r*0.9), num(y-r*0.9), num(1.8*r), num(1.8*r))
	case 2:
		open = fmt.Sprintf(`<polygon points="%s,%s %s,%s %s,%s"`, num(x), num(y-1.2*r), num(x-1.1*r), num(y+0.8*r), num(x+1.1*r), num(y+0.8*r))
	default:
		open = fmt.Sprintf(`<polygon points="%s,%s %s,%s %s,%s %s,%s"`, num(x), num(y-1.25*r), num(x+1.1*r), num(y), num(x), num(y+1.25*r), num(x-1.1*r), num(y))
	}
	c.b.WriteString(open)
	fmt.Fprintf(&c.b, ` fill="%s" stroke="#ffffff" stroke-width="0.8"`, EscapeXML(fill))
	if title == "" {
		c.b.WriteString("/>\n")
		return
	}
	tag := "circle"
	switch k % 4 {
	case 1:
		tag = "rect"
	case 2, 3:
		tag = "polygon"
	}
	fmt.Fprintf(&c.b, "><title>%s</title></%s>\n", EscapeXML(title), tag)
}

// TextOpts controls Text. The zero value is 11px, dark grey, start-anchored.
type TextOpts struct {
	Size   float64 // font size in px; 0 means 11
	Anchor string  // "start", "middle" or "end"; "" means start
	Fill   string  // colour; "" means #222222
	Bold   bool
	Rotate float64 // degrees, about the anchor point
	Keep   bool    // preserve spaces (token labels)
}

// Text draws the string s, escaped, with its baseline at y.
func (c *Canvas) Text(x, y float64, s string, o TextOpts) {
	size, fill := o.Size, o.Fill
	if size == 0 {
		size = 11
	}
	if fill == "" {
		fill = "#222222"
	}
	kv := []string{"text-anchor", o.Anchor, "fill", fill}
	if size != 11 {
		kv = append(kv, "font-size", num(size))
	}
	if o.Bold {
		kv = append(kv, "font-weight", "bold")
	}
	if o.Rotate != 0 {
		kv = append(kv, "transform", fmt.Sprintf("rotate(%s %s %s)", num(o.Rotate), num(x), num(y)))
	}
	if o.Keep {
		kv = append(kv, "xml:space", "preserve", "style", "white-space:pre")
	}
	fmt.Fprintf(&c.b, `<text x="%s" y="%s"%s>%s</text>`+"\n", num(x), num(y), attrs(kv), EscapeXML(s))
}

// Group opens a <g> with the given attributes; close it with EndGroup.
func (c *Canvas) Group(kv ...string) { fmt.Fprintf(&c.b, "<g%s>\n", attrs(kv)) }

// EndGroup closes a Group.
func (c *Canvas) EndGroup() { c.b.WriteString("</g>\n") }

// String closes the document and returns it. Call it once.
func (c *Canvas) String() string {
	c.b.WriteString("</svg>\n")
	return c.b.String()
}

// EscapeXML escapes s for use as XML character data or an attribute value.
// Characters XML 1.0 cannot carry (most control characters, invalid UTF-8,
// U+FFFE/U+FFFF) become U+FFFD, so the output always parses.
func EscapeXML(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune('\uFFFD')
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == '\t' || r == '\n' || r == '\r':
			fmt.Fprintf(&b, "&#%d;", r)
		case r < 0x20 || (r >= 0x7f && r < 0xa0) || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Label makes a string (often a token) fit for display on one line: control
// characters become visible escapes (\n, \t, \x01), invalid UTF-8 becomes
// U+FFFD, and strings longer than maxRunes runes (if > 0) are cut with "…".
// It does not XML-escape; the renderers do that.
func Label(s string, maxRunes int) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		var piece string
		switch {
		case r == utf8.RuneError && size == 1:
			piece = "\uFFFD"
		case r == '\n':
			piece = `\n`
		case r == '\t':
			piece = `\t`
		case r == '\r':
			piece = `\r`
		case r < 0x20 || r == 0x7f:
			piece = fmt.Sprintf(`\x%02x`, r)
		default:
			piece = string(r)
		}
		pr := utf8.RuneCountInString(piece)
		if maxRunes > 0 && n+pr > maxRunes {
			b.WriteString("…")
			return b.String()
		}
		// Reserve one rune for the ellipsis if more text follows.
		if maxRunes > 0 && n+pr == maxRunes && i < len(s) {
			b.WriteString("…")
			return b.String()
		}
		b.WriteString(piece)
		n += pr
	}
	return b.String()
}

// textWidth estimates the rendered width in px of s at the given font size.
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * size * 0.6
}

// ---- axes and ticks ----

// niceNum returns a 1-2-5 "nice" number near x: the smallest nice number
// ≥ x when round is false, the nearest when round is true (Heckbert).
func niceNum(x float64, round bool) float64 {
	if x <= 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return 1
	}
	e := math.Floor(math.Log10(x))
	f := x / math.Pow(10, e)
	var nf float64
	if round {
		switch {
		case f < 1.5:
			nf = 1
		case f < 3:
			nf = 2
		case f < 7:
			nf = 5
		default:
			nf = 10
		}
	} else {
		switch {
		case f <= 1:
			nf = 1
		case f <= 2:
			nf = 2
		case f <= 5:
			nf = 5
		default:
			nf = 10
		}
	}
	return nf * math.Pow(10, e)
}

// NiceTicks returns about n (at least 2) evenly spaced tick values with a
// 1-2-5 step that cover [lo, hi]: the first tick is ≤ lo and the last ≥ hi.
func NiceTicks(lo, hi float64, n int) []float64 {
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	if lo == hi {
		d := math.Abs(lo) / 10
		if d == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	n = max(n, 2)
	step := niceNum(niceNum(hi-lo, false)/float64(n-1), true)
	if step == 0 || math.IsInf(step, 0) {
		return []float64{lo, hi}
	}
	start := math.Floor(lo/step) * step
	end := math.Ceil(hi/step) * step
	var out []float64
	for k := 0; ; k++ {
		v := start + float64(k)*step
		if v > end+step*1e-9 || k > 1000 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		out = append(out, v)
	}
	return out
}

// LogTicks returns tick values for a log axis over [lo, hi] (both > 0):
// every decade, thinned to at most about 8 labels; when the range spans
// less than two decades, 2× and 5× ticks are added.
func LogTicks(lo, hi float64) []float64 {
	if !(lo > 0) || !(hi > 0) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	e0 := int(math.Floor(math.Log10(lo) + 1e-9))
	e1 := int(math.Ceil(math.Log10(hi) - 1e-9))
	if e1 <= e0 {
		e1 = e0 + 1
	}
	step := max(1, (e1-e0+7)/8)
	var out []float64
	for e := e0; e <= e1; e += step {
		d := math.Pow(10, float64(e))
		out = append(out, d)
		if e1-e0 <= 2 && e < e1 {
			out = append(out, 2*d, 5*d)
		}
	}
	return out
}

// fmtTick formats a tick value compactly: 0.5, 20, 1000, 1e6, 2e-4.
func fmtTick(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmtNum(v)
	}
	a := math.Abs(v)
	if a >= 1e6 || a < 1e-3 {
		s := strconv.FormatFloat(v, 'e', -1, 64)
		// Keep at most 3 significant digits: 1.2345e+06 → 1.23e6.
		mant, exp, _ := strings.Cut(s, "e")
		if m, err := strconv.ParseFloat(mant, 64); err == nil {
			mant = strconv.FormatFloat(m, 'g', 3, 64)
		}
		e, _ := strconv.Atoi(exp)
		return mant + "e" + strconv.Itoa(e)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// axis maps data values to pixels, linearly or by log10.
type axis struct {
	lo, hi float64 // data range (both > 0 when log)
	log    bool
	p0, p1 float64 // pixel positions of lo and hi
}

// px maps v to a pixel coordinate; ok is false for values that cannot be
// placed (NaN, Inf, or ≤ 0 on a log axis).
func (a axis) px(v float64) (float64, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	var t float64
	if a.log {
		if v <= 0 {
			return 0, false
		}
		t = (math.Log10(v) - math.Log10(a.lo)) / (math.Log10(a.hi) - math.Log10(a.lo))
	} else {
		t = (v - a.lo) / (a.hi - a.lo)
	}
	return a.p0 + t*(a.p1-a.p0), true
}

// clampPx is px clamped to the axis's pixel range (for drawing lines that
// run off the plot).
func (a axis) clampPx(v float64) (float64, bool) {
	p, ok := a.px(v)
	if !ok {
		return 0, false
	}
	lo, hi := min(a.p0, a.p1), max(a.p0, a.p1)
	return max(lo, min(hi, p)), true
}

func (a axis) ticks() []float64 {
	var ts []float64
	if a.log {
		ts = LogTicks(a.lo, a.hi)
	} else {
		ts = NiceTicks(a.lo, a.hi, 6)
	}
	out := ts[:0]
	eps := (a.hi - a.lo) * 1e-9
	for _, t := range ts {
		if a.log && t >= a.lo*(1-1e-9) && t <= a.hi*(1+1e-9) ||
			!a.log && t >= a.lo-eps && t <= a.hi+eps {
			out = append(out, t)
		}
	}
	return out
}

// makeAxis picks a data range covering vals (finite values, and positive
// ones for a log axis), expanded to nice ticks or whole decades. ok is false
// when there is nothing to place.
func makeAxis(vals []float64, log bool, includeZero bool) (axis, bool) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) || (log && v <= 0) {
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo > hi {
		return axis{}, false
	}
	if log {
		l0 := math.Floor(math.Log10(lo) + 1e-9)
		l1 := math.Ceil(math.Log10(hi) - 1e-9)
		if l1 <= l0 {
			l1 = l0 + 1
		}
		return axis{lo: math.Pow(10, l0), hi: math.Pow(10, l1), log: true}, true
	}
	if includeZero {
		lo, hi = min(lo, 0), max(hi, 0)
	}
	if hi-lo > math.MaxFloat64/4 || math.IsInf(hi-lo, 0) {
		return axis{lo: lo, hi: hi}, true
	}
	ts := NiceTicks(lo, hi, 6)
	if len(ts) < 2 {
		return axis{lo: lo - 1, hi: hi + 1}, true
	}
	return axis{lo: ts[0], hi: ts[len(ts)-1]}, true
}

const (
	colAxis  = "#333333"
	colGrid  = "#e3e3e3"
	colLabel = "#222222"
	colMuted = "#666666"
)

// drawFrame draws grid lines, axes, tick labels and axis titles for a plot
// whose x axis runs x.p0..x.p1 and y axis y.p0 (bottom)..y.p1 (top).
func drawFrame(c *Canvas, x, y axis, xlabel, ylabel string) {
	top, bottom := y.p1, y.p0
	left, right := x.p0, x.p1
	for _, t := range y.ticks() {
		p, ok := y.px(t)
		if !ok {
			continue
		}
		c.Line(left, p, right, p, colGrid, 1, "")
		c.Text(left-5, p+3.5, fmtTick(t), TextOpts{Anchor: "end", Size: 10, Fill: colLabel})
	}
	for _, t := range x.ticks() {
		p, ok := x.px(t)
		if !ok {
			continue
		}
		c.Line(p, top, p, bottom, colGrid, 1, "")
		c.Text(p, bottom+14, fmtTick(t), TextOpts{Anchor: "middle", Size: 10, Fill: colLabel})
	}
	c.Line(left, bottom, right, bottom, colAxis, 1, "")
	c.Line(left, top, left, bottom, colAxis, 1, "")
	if xlabel != "" {
		c.Text((left+right)/2, bottom+32, xlabel, TextOpts{Anchor: "middle", Fill: colLabel})
	}
	if ylabel != "" {
		c.Text(14, (top+bottom)/2, ylabel, TextOpts{Anchor: "middle", Fill: colLabel, Rotate: -90})
	}
}

// drawTitle writes a chart title at the top left.
func drawTitle(c *Canvas, title string) {
	if title != "" {
		c.Text(10, 18, Label(title, 120), TextOpts{Size: 13, Bold: true, Fill: "#111111", Keep: true})
	}
}

// legendItem is one entry in a legend.
type legendItem struct {
	name   string
	colour string
	marker int  // marker shape, or -1 for a line swatch, -2 for a block
	dash   bool // dashed line swatch
}

// legendWidth returns the width needed for a legend of items.
func legendWidth(items []legendItem) float64 {
	w := 0.0
	for _, it := range items {
		w = max(w, textWidth(Label(it.name, 28), 10))
	}
	return w + 34
}

// drawLegend draws items as a column starting at (x, y).
func drawLegend(c *Canvas, x, y float64, items []legendItem) {
	for i, it := range items {
		yy := y + float64(i)*16
		switch {
		case it.marker >= 0:
			c.marker(it.marker, x+9, yy-3.5, 4.5, it.colour, "")
		case it.marker == -2:
			c.Rect(x+2, yy-9, 14, 11, it.colour)
		default:
			dash := ""
			if it.dash {
				dash = "4 3"
			}
			c.Line(x, yy-4, x+18, yy-4, it.colour, 2.5, dash)
		}
		c.Text(x+24, yy, Label(it.name, 28), TextOpts{Size: 10, Fill: colLabel, Keep: true})
	}
}

// noData returns the empty-state bundle: a small picture saying "no data".
func noData(title string) Bundle {
	c := NewCanvas(320, 120)
	c.Rect(0.5, 0.5, 319, 119, "none", "stroke", "#cccccc")
	drawTitle(c, title)
	c.Text(160, 70, "no data", TextOpts{Anchor: "middle", Size: 14, Fill: colMuted})
	t := "no data"
	if title != "" {
		t = Label(title, 0) + ": no data"
	}
	return Bundle{Text: t, SVG: c.String()}
}
