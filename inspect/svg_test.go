package inspect

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
)

// svgDoc is what parseSVG finds in a picture.
type svgDoc struct {
	count  map[string]int // elements by local name
	texts  []string       // decoded <text> contents
	titles []string       // decoded <title> contents
	ids    int            // elements with an id attribute
}

// parseSVG checks that s is well-formed XML with an <svg> root and tallies it.
func parseSVG(t *testing.T, s string) svgDoc {
	t.Helper()
	d := svgDoc{count: map[string]int{}}
	dec := xml.NewDecoder(strings.NewReader(s))
	var stack []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v\n%s", err, s[:min(len(s), 2000)])
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 && (e.Name.Local != "svg" || e.Name.Space != "http://www.w3.org/2000/svg") {
				t.Fatalf("root is %v", e.Name)
			}
			d.count[e.Name.Local]++
			for _, a := range e.Attr {
				if a.Name.Local == "id" {
					d.ids++
				}
				if a.Name.Local == "href" {
					t.Errorf("external reference %q", a.Value)
				}
			}
			stack = append(stack, e.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				switch stack[len(stack)-1] {
				case "text":
					d.texts = append(d.texts, string(e))
				case "title":
					d.titles = append(d.titles, string(e))
				}
			}
		}
	}
	if d.count["script"] > 0 || d.count["style"] > 0 || d.count["image"] > 0 || d.count["foreignObject"] > 0 {
		t.Errorf("SVG has script/style/image/foreignObject: %v", d.count)
	}
	return d
}

func (d svgDoc) hasText(sub string) bool {
	for _, s := range d.texts {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestSamplesParse(t *testing.T) {
	for name, b := range sampleBundles() {
		t.Run(name, func(t *testing.T) {
			d := parseSVG(t, b.SVG)
			if d.ids != 0 {
				t.Errorf("%d elements carry ids (they clash when inlined)", d.ids)
			}
			if !strings.Contains(b.SVG, `fill="#ffffff"`) {
				t.Error("no white background")
			}
			if strings.TrimSpace(b.Text) == "" {
				t.Error("empty text/plain")
			}
			if len(b.SVG) > 400_000 {
				t.Errorf("SVG is %d bytes", len(b.SVG))
			}
			m := b.MIME()
			if _, ok := m["text/plain"]; !ok || m["image/svg+xml"] != b.SVG {
				t.Errorf("MIME keys: %v", m)
			}
		})
	}
}

func TestHeatmapAttention(t *testing.T) {
	toks := []string{"<s>", " a&b", `"q"`, "x<y>", "naïve", "\n", "\x01"}
	n := len(toks)
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, i+1) // lower-triangular, ragged rows
		for j := range m[i] {
			m[i][j] = 1 / float64(i+1)
		}
	}
	b := Heatmap(m, toks, toks, HeatmapOpts{Title: "L0 H3 <pattern>"})
	d := parseSVG(t, b.SVG)
	cells := n * (n + 1) / 2
	if len(d.titles) != cells {
		t.Errorf("%d tooltips, want one per drawn cell (%d)", len(d.titles), cells)
	}
	// background + cells + frame + colour bar (48 steps + outline)
	if got := d.count["rect"]; got != 1+cells+1+48+1 {
		t.Errorf("%d rects, want %d", got, 1+cells+1+48+1)
	}
	for _, want := range []string{"L0 H3 <pattern>", " a&b", `"q"`, "x<y>", "naïve", `\n`, `\x01`} {
		if !d.hasText(want) {
			t.Errorf("label %q missing from %q", want, d.texts)
		}
	}
	if !strings.Contains(b.SVG, "x&lt;y&gt;") || !strings.Contains(b.SVG, "a&amp;b") {
		t.Error("labels not escaped in the raw SVG")
	}
	if !strings.Contains(d.titles[1], "0.5") {
		t.Errorf("tooltip %q lacks the value", d.titles[1])
	}
	// Text rendering: one line per row, blanks above the diagonal.
	lines := strings.Split(b.Text, "\n")
	if len(lines) != 2+n {
		t.Fatalf("text has %d lines:\n%s", len(lines), b.Text)
	}
	if !strings.Contains(lines[2], "|@@ ") {
		t.Errorf("first row should be one full cell then blanks: %q", lines[2])
	}
}

func TestHeatmapDownsample(t *testing.T) {
	const n = 300
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
		for j := range m[i] {
			m[i][j] = float64(i - j)
		}
	}
	b := Heatmap(m, nil, nil, HeatmapOpts{Title: "big"})
	d := parseSVG(t, b.SVG)
	if len(d.titles) != 0 {
		t.Errorf("%d tooltips on a large matrix", len(d.titles))
	}
	if !d.hasText("averaged to 100×100") {
		t.Errorf("title does not say it was downsampled: %q", d.texts[0])
	}
	if got := d.count["rect"]; got > 128*128+60 {
		t.Errorf("%d rects", got)
	}
	// Signed data gets the diverging map: the largest value is dark red.
	if !strings.Contains(b.SVG, BlueWhiteRed.At(1).Hex()) || !strings.Contains(b.SVG, BlueWhiteRed.At(0).Hex()) {
		t.Error("diverging colour map not used for signed data")
	}
	if !strings.Contains(b.Text, "300×300") {
		t.Errorf("text header: %q", strings.SplitN(b.Text, "\n", 3)[1])
	}
}

func TestHeatmapOddInputs(t *testing.T) {
	cases := map[string][][]float64{
		"nil":      nil,
		"empty":    {{}, {}},
		"nan":      {{math.NaN(), math.NaN()}},
		"inf":      {{math.Inf(1), math.Inf(-1), 1}},
		"constant": {{2, 2}, {2, 2}},
		"huge":     {{math.MaxFloat64, -math.MaxFloat64}, {1, 0}},
	}
	for name, m := range cases {
		for _, log := range []bool{false, true} {
			b := Heatmap(m, []string{"only one label"}, nil, HeatmapOpts{LogScale: log, Title: name})
			d := parseSVG(t, b.SVG)
			if name == "nil" || name == "empty" {
				if !d.hasText("no data") || !strings.Contains(b.Text, "no data") {
					t.Errorf("%s: no empty state", name)
				}
			}
		}
	}
	b := Heatmap([][]float64{{0.001, 0.01}, {0.1, 1}}, nil, nil, HeatmapOpts{LogScale: true, Min: 0.0001, Max: 1})
	d := parseSVG(t, b.SVG)
	if !d.hasText("1e-4") || !d.hasText("0.01") {
		t.Errorf("log colour bar ticks missing: %q", d.texts)
	}
}

func TestHeatmapGrid(t *testing.T) {
	pat := [][]float64{{1}, {0.5, 0.5}, {0.2, 0.3, 0.5}}
	layers := make([][][][]float64, 2)
	for l := range layers {
		layers[l] = [][][]float64{pat, pat, pat, pat}
	}
	panels := LayerHeadPanels(layers)
	if len(panels) != 8 || panels[7].Title != "L1 H3" {
		t.Fatalf("panels: %d, last %q", len(panels), panels[len(panels)-1].Title)
	}
	b := HeatmapGrid(panels, 4, HeatmapOpts{Title: "all heads"})
	d := parseSVG(t, b.SVG)
	for _, want := range []string{"L0 H0", "L0 H3", "L1 H3", "all heads"} {
		if !d.hasText(want) {
			t.Errorf("missing %q", want)
		}
	}
	// 8 panels × 6 cells, 8 frames, background, colour bar 48+1
	if got := d.count["rect"]; got != 8*6+8+1+49 {
		t.Errorf("%d rects", got)
	}
	if !strings.Contains(b.Text, "L1 H3") || strings.Count(b.Text, "\n") != 9 {
		t.Errorf("text:\n%s", b.Text)
	}
	if e := HeatmapGrid(nil, 0, HeatmapOpts{}); !strings.Contains(e.Text, "no data") {
		t.Error("empty grid")
	}
	// Many panels stay bounded.
	big := make([][]float64, 200)
	for i := range big {
		big[i] = make([]float64, 200)
	}
	many := make([]Panel, 512)
	for i := range many {
		many[i] = Panel{Title: fmt.Sprint(i), Matrix: big}
	}
	if s := HeatmapGrid(many, 32, HeatmapOpts{}).SVG; strings.Count(s, "<rect") > 260_000 {
		t.Errorf("grid of 512 panels has %d rects", strings.Count(s, "<rect"))
	}
}

func TestBarChart(t *testing.T) {
	b := BarChart([]Bar{{" the", 0.5}, {"<&>", 0.25}, {"neg", -0.1}, {"nan", math.NaN()}}, ChartOpts{Title: "top-k"})
	d := parseSVG(t, b.SVG)
	if len(d.titles) != 3 { // one bar per finite value
		t.Errorf("%d bars", len(d.titles))
	}
	for _, want := range []string{" the", "<&>", "0.5", "0.25", "-0.1", "NaN"} {
		if !d.hasText(want) {
			t.Errorf("missing %q", want)
		}
	}
	if !strings.Contains(b.Text, "<&>") || !strings.Contains(b.Text, strings.Repeat("#", 40)) {
		t.Errorf("text:\n%s", b.Text)
	}
	if e := BarChart(nil, ChartOpts{}); !strings.Contains(e.SVG, "no data") {
		t.Error("empty bar chart")
	}
	many := make([]Bar, 1000)
	if d := parseSVG(t, BarChart(many, ChartOpts{}).SVG); !d.hasText("first 200 of 1000") {
		t.Error("bar cap not reported")
	}
}

func TestLineChart(t *testing.T) {
	b := LineChart([]Series{
		{Name: "a", Y: []float64{1, 2, math.NaN(), 4, 5}},
		{Name: "b & c", X: []float64{0, 10}, Y: []float64{3, 3}},
	}, ChartOpts{Title: "t", XLabel: "position", YLabel: "ms"})
	d := parseSVG(t, b.SVG)
	if d.count["polyline"] != 3 { // the NaN splits series a
		t.Errorf("%d polylines", d.count["polyline"])
	}
	for _, want := range []string{"b & c", "position", "ms", "0", "10"} {
		if !d.hasText(want) {
			t.Errorf("missing %q in %q", want, d.texts)
		}
	}
	if !strings.Contains(b.Text, "* a") || !strings.Contains(b.Text, "o b & c") {
		t.Errorf("text legend:\n%s", b.Text)
	}
	lg := LineChart([]Series{{Y: []float64{-1, 0, 1, 10, 1000}}}, ChartOpts{LogY: true})
	ld := parseSVG(t, lg.SVG)
	for _, want := range []string{"1", "10", "100", "1000"} {
		if !ld.hasText(want) {
			t.Errorf("log axis lacks decade %s: %q", want, ld.texts)
		}
	}
	long := make([]float64, 100_000)
	long[77_777] = 50
	ll := LineChart([]Series{{Name: "long", Y: long}}, ChartOpts{})
	if len(ll.SVG) > 100_000 || !strings.Contains(ll.Text, "*") {
		t.Errorf("long series: %d bytes", len(ll.SVG))
	}
	for _, s := range [][]Series{nil, {{Y: []float64{math.NaN()}}}, {{Y: []float64{-1}}}} {
		if e := LineChart(s, ChartOpts{LogY: true}); !strings.Contains(e.Text, "no data") {
			t.Errorf("expected no data for %v", s)
		}
	}
}

func TestCDFPlot(t *testing.T) {
	vals := make([]float64, 5000)
	for i := range vals {
		vals[i] = float64(i%100) + 1
	}
	b := CDFPlot([]Sample{{"avx2", vals}, {"empty", nil}}, ChartOpts{Title: "cdf", LogX: true})
	d := parseSVG(t, b.SVG)
	if d.count["polyline"] != 1 || !d.hasText("avx2") || !d.hasText("fraction ≤ x") {
		t.Errorf("cdf: %v %q", d.count, d.texts)
	}
	if !strings.Contains(b.Text, "p99") || !strings.Contains(b.Text, "5000") || !strings.Contains(b.HTML, "<table") {
		t.Errorf("cdf text:\n%s", b.Text)
	}
	if e := CDFPlot([]Sample{{"x", []float64{math.NaN()}}}, ChartOpts{}); !strings.Contains(e.Text, "no data") {
		t.Error("expected no data")
	}
}

func TestStackedBar(t *testing.T) {
	b := StackedBar([]string{"matmul", "attn"}, []StackedBarItem{
		{"scalar", []float64{3, 1}}, {"avx2", []float64{1, math.NaN()}}, {"short", nil},
	}, ChartOpts{Title: "ops"})
	d := parseSVG(t, b.SVG)
	if len(d.titles) != 3 {
		t.Errorf("%d segments drawn", len(d.titles))
	}
	for _, want := range []string{"matmul", "attn", "scalar", "4"} {
		if !d.hasText(want) {
			t.Errorf("missing %q", want)
		}
	}
	if !strings.Contains(b.Text, "3 (75%)") {
		t.Errorf("text:\n%s", b.Text)
	}
	if !strings.Contains(StackedBar(nil, nil, ChartOpts{}).Text, "no data") {
		t.Error("empty stacked bar")
	}
}

func TestHistogramChart(t *testing.T) {
	b := HistogramOf([]float64{1, 2, 2, 3, 3, 3, math.NaN()}, 3, ChartOpts{Title: "h", LogY: true})
	d := parseSVG(t, b.SVG)
	if len(d.titles) != 3 || !d.hasText("nan=1") {
		t.Errorf("hist: %d bars, %q", len(d.titles), d.texts)
	}
	if strings.Count(b.Text, "\n[") != 3 || !strings.Contains(b.Text, "3 ####") {
		t.Errorf("text:\n%s", b.Text)
	}
	if e := HistogramOf([]float32{}, 10, ChartOpts{}); !strings.Contains(e.SVG, "no data") {
		t.Error("empty histogram")
	}
}

func TestRoofline(t *testing.T) {
	r := Roofline{
		Title:   "rl",
		Memory:  []Roof{{"DRAM", 20}},
		Compute: []Roof{{"FMA", 200}},
		Points: []RooflinePoint{
			{"decode", "fp32", 0.5, 8, "", ""}, {"prefill", "fp32", 40, 150, "", ""}, {"q8", "int8", 2, 30, "", ""}, {"bad", "x", 0, 1, "", ""},
		},
	}
	if r.Ridge() != 10 || r.Attainable(0.5) != 10 || r.Attainable(100) != 200 {
		t.Fatalf("ridge %v attainable %v %v", r.Ridge(), r.Attainable(0.5), r.Attainable(100))
	}
	b := RooflinePlot(r)
	d := parseSVG(t, b.SVG)
	if len(d.titles) != 4 { // 3 plottable points + ridge
		t.Errorf("%d tooltips", len(d.titles))
	}
	for _, want := range []string{"decode", "prefill", "q8", "fp32", "int8", "ridge 10 FLOP/B", "DRAM 20 GB/s", "FMA 200 GFLOP/s"} {
		if !d.hasText(want) {
			t.Errorf("missing %q in %q", want, d.texts)
		}
	}
	for _, want := range []string{"memory", "compute", "not plotted", "80%"} {
		if !strings.Contains(b.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, b.Text)
		}
	}
	if d.count["circle"] < 3 || d.count["rect"] < 3 {
		t.Errorf("markers: %v", d.count)
	}
	if e := RooflinePlot(Roofline{}); !strings.Contains(e.Text, "no data") {
		t.Error("empty roofline")
	}
	// Roofs only, no points: still a picture.
	parseSVG(t, RooflinePlot(Roofline{Memory: r.Memory, Compute: r.Compute}).SVG)
}

func TestTicks(t *testing.T) {
	got := NiceTicks(0.13, 9.7, 6)
	want := []float64{0, 2, 4, 6, 8, 10}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("NiceTicks = %v, want %v", got, want)
	}
	for _, c := range []struct{ lo, hi float64 }{{0, 1}, {-3, 7}, {1e-9, 3e-9}, {5, 5}, {1e300, 1e301}} {
		ts := NiceTicks(c.lo, c.hi, 5)
		if len(ts) < 2 || ts[0] > c.lo || ts[len(ts)-1] < c.hi {
			t.Errorf("NiceTicks(%v, %v) = %v", c.lo, c.hi, ts)
		}
		step := ts[1] - ts[0]
		m := step / math.Pow(10, math.Floor(math.Log10(step)))
		if !near(m, 1, 1e-6) && !near(m, 2, 1e-6) && !near(m, 5, 1e-6) {
			t.Errorf("step %v is not 1-2-5", step)
		}
	}
	if NiceTicks(math.NaN(), 1, 5) != nil {
		t.Error("NaN range should give no ticks")
	}
	if got := LogTicks(0.1, 1000); fmt.Sprint(got) != "[0.1 1 10 100 1000]" {
		t.Errorf("LogTicks = %v", got)
	}
	if got := LogTicks(1, 10); fmt.Sprint(got) != "[1 2 5 10]" {
		t.Errorf("LogTicks short = %v", got)
	}
	if got := LogTicks(1e-20, 1e20); len(got) > 10 {
		t.Errorf("LogTicks wide = %v", got)
	}
	for v, want := range map[float64]string{0.5: "0.5", 1000: "1000", 1e6: "1e6", 2e-4: "2e-4", 0.30000000000000004: "0.3"} {
		if got := fmtTick(v); got != want {
			t.Errorf("fmtTick(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestEscapeAndLabel(t *testing.T) {
	in := "a<b>&\"'\x00\x1b\t\n\xff日"
	esc := EscapeXML(in)
	var v struct {
		A string `xml:"a,attr"`
		T string `xml:",chardata"`
	}
	if err := xml.Unmarshal([]byte(`<x a="`+esc+`">`+esc+`</x>`), &v); err != nil {
		t.Fatalf("escaped text does not parse: %v (%q)", err, esc)
	}
	if v.A != "a<b>&\"'\uFFFD\uFFFD\t\n\uFFFD日" || v.T != v.A {
		t.Errorf("round trip: %q", v.A)
	}
	for in, want := range map[string]string{
		"\n":           `\n`,
		" the":         " the",
		"\x01":         `\x01`,
		"abcdefghijkl": "abcde…",
		"abcdef":       "abcdef",
		"ab\xffc":      "ab\uFFFDc",
		"日本語のテキストです":   "日本語のテ…",
	} {
		if got := Label(in, 6); got != want {
			t.Errorf("Label(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestColorMaps(t *testing.T) {
	if Viridis.At(0).Hex() != "#440154" || Viridis.At(1).Hex() != "#fde725" {
		t.Error("viridis ends")
	}
	if Viridis.At(-5) != Viridis.At(0) || Viridis.At(7) != Viridis.At(1) {
		t.Error("not clamped")
	}
	mid := BlueWhiteRed.At(0.5)
	if mid.R < 0xf0 || mid.G < 0xf0 || mid.B < 0xf0 {
		t.Errorf("diverging centre %v is not near white", mid)
	}
	lo, hi := BlueWhiteRed.At(0), BlueWhiteRed.At(1)
	if lo.B <= lo.R || hi.R <= hi.B || !BlueWhiteRed.Diverging {
		t.Errorf("blue-white-red ends: %v %v", lo, hi)
	}
	// Viridis brightens monotonically.
	prev := -1.0
	for i := range 21 {
		l := Viridis.At(float64(i) / 20).Luminance()
		if l < prev {
			t.Errorf("viridis luminance falls at %d", i)
		}
		prev = l
	}
	if TextColorFor(RGB{0x44, 0x01, 0x54}) != (RGB{255, 255, 255}) || TextColorFor(RGB{0xfd, 0xe7, 0x25}) != (RGB{}) {
		t.Error("text colour contrast")
	}
	if (ColorMap{}).At(0) != Viridis.At(0) || !(ColorMap{}).IsZero() {
		t.Error("zero colour map")
	}
	if c := NewColorMap("bw", false, RGB{}, RGB{255, 255, 255}).At(0.5); c != (RGB{128, 128, 128}) {
		t.Errorf("NewColorMap midpoint %v", c)
	}
}

func TestMIME(t *testing.T) {
	m := Bundle{Text: "x"}.MIME()
	if len(m) != 1 || m["text/plain"] != "x" {
		t.Errorf("%v", m)
	}
	m = Bundle{Text: "x", HTML: "<b>", SVG: "<svg/>", JSON: 1}.MIME()
	if len(m) != 4 || m["text/html"] != PictureHTML("<svg/>")+"<b>" || m[JSONMIME] != 1 {
		t.Errorf("%v", m)
	}
	// The image copy decodes to the picture itself.
	h := PictureHTML(`<svg width="1"/>`)
	i := strings.Index(h, "base64,")
	j := strings.LastIndex(h, `">`)
	if i < 0 || j < i {
		t.Fatalf("no data URI in %q", h)
	}
	if b, err := base64.StdEncoding.DecodeString(h[i+len("base64,") : j]); err != nil || string(b) != `<svg width="1"/>` {
		t.Errorf("data URI decodes to %q, %v", b, err)
	}
}
