package inspect

import (
	"math"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol*max(1, math.Abs(b))
}

func TestSummarize(t *testing.T) {
	s := Summarize([]float32{1, 2, 3, 4, float32(math.NaN()), float32(math.Inf(1)), -2})
	if s.N != 5 || s.NaN != 1 || s.Inf != 1 {
		t.Fatalf("counts: %+v", s)
	}
	// finite values 1,2,3,4,-2: mean 1.6, population variance 4.24
	if !near(s.Mean, 1.6, 1e-12) || !near(s.Std, math.Sqrt(4.24), 1e-12) {
		t.Errorf("mean/std: %+v", s)
	}
	if s.Min != -2 || s.Max != 4 || s.AbsMax != 4 || !near(s.L2, math.Sqrt(34), 1e-12) {
		t.Errorf("extremes/L2: %+v", s)
	}
	if !near(s.CV(), math.Sqrt(4.24)/1.6, 1e-12) {
		t.Errorf("cv %v", s.CV())
	}
	if str := s.String(); !strings.Contains(str, "n=5") || !strings.Contains(str, "nan=1") {
		t.Errorf("String: %s", str)
	}
}

func TestSummarizeEdgeCases(t *testing.T) {
	e := Summarize([]float64(nil))
	if e.N != 0 || !math.IsNaN(e.Mean) || !math.IsNaN(e.Max) {
		t.Errorf("empty: %+v", e)
	}
	z := Summarize([]float64{0, 0, 0})
	if z.Mean != 0 || z.Std != 0 || z.L2 != 0 || !math.IsNaN(z.CV()) {
		t.Errorf("zeros: %+v", z)
	}
	// Values near the float64 limit must not overflow to Inf.
	h := Summarize([]float64{1e308, 1e308, -1e308})
	if math.IsInf(h.L2, 0) || math.IsInf(h.Std, 0) || math.IsNaN(h.Mean) {
		t.Errorf("huge: %+v", h)
	}
	if !near(h.L2, math.Sqrt(3)*1e308, 1e-12) || !near(h.Mean, 1e308/3, 1e-12) {
		t.Errorf("huge values wrong: %+v", h)
	}
	// The bundle's JSON must not contain NaN (encoding/json rejects it).
	b := e.Bundle()
	if m := b.JSON.(map[string]any); m["mean"] != nil {
		t.Errorf("NaN leaked into JSON: %v", m)
	}
	if !strings.Contains(b.HTML, "<table") {
		t.Errorf("summary HTML: %s", b.HTML)
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{4, 1, 3, 2} // sorted 1 2 3 4
	// Nearest rank: the ⌈n·p/100⌉-th sorted value, always a measured one.
	cases := []struct{ p, want float64 }{{0, 1}, {50, 2}, {51, 3}, {90, 4}, {100, 4}, {25, 1}, {26, 2}}
	for _, c := range cases {
		if got := Percentile(xs, c.p); !near(got, c.want, 1e-12) {
			t.Errorf("P%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := Percentiles(xs, 50, 99, 99.9); got[0] != 2 || got[1] != 4 || got[2] != 4 {
		t.Errorf("Percentiles: %v", got)
	}
	if !math.IsNaN(Percentile([]float64{}, 50)) || !math.IsNaN(Percentile(xs, 101)) || !math.IsNaN(Percentile(xs, math.NaN())) {
		t.Error("expected NaN for empty input or bad p")
	}
	if got := Percentile([]float32{float32(math.NaN()), 7}, 99); got != 7 {
		t.Errorf("NaN not ignored: %v", got)
	}
	if got := Percentile([]float64{5}, 99.9); got != 5 {
		t.Errorf("single value: %v", got)
	}
}

func TestCV(t *testing.T) {
	if got := CV([]float64{2, 4}); !near(got, 1.0/3, 1e-12) {
		t.Errorf("CV = %v", got)
	}
	if !math.IsNaN(CV([]float64{-1, 1})) {
		t.Error("CV with zero mean should be NaN")
	}
}

func TestHistogram(t *testing.T) {
	h := Histogram([]float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, math.NaN(), math.Inf(-1)}, 5)
	if len(h.Edges) != 6 || len(h.Counts) != 5 || h.Edges[0] != 0 || h.Edges[5] != 10 {
		t.Fatalf("edges %v counts %v", h.Edges, h.Counts)
	}
	want := []int{2, 2, 2, 2, 3} // the last bin includes its upper edge
	for i := range want {
		if h.Counts[i] != want[i] {
			t.Errorf("counts %v, want %v", h.Counts, want)
			break
		}
	}
	if h.N != 11 || h.NaN != 1 || h.Inf != 1 {
		t.Errorf("N/NaN/Inf: %+v", h)
	}

	c := Histogram([]float32{3, 3, 3}, 4)
	total := 0
	for _, n := range c.Counts {
		total += n
	}
	if total != 3 || c.Edges[0] >= 3 || c.Edges[len(c.Edges)-1] <= 3 {
		t.Errorf("constant data: %+v", c)
	}
	if e := Histogram([]float64{math.NaN()}, 10); len(e.Counts) != 0 || e.NaN != 1 {
		t.Errorf("all NaN: %+v", e)
	}
	if e := Histogram([]float64(nil), 0); len(e.Counts) != 0 {
		t.Errorf("empty: %+v", e)
	}
	w := Histogram([]float64{-math.MaxFloat64, 0, math.MaxFloat64}, 2)
	if w.Counts[0]+w.Counts[1] != 3 || math.IsInf(w.Edges[1], 0) || math.IsNaN(w.Edges[1]) {
		t.Errorf("full range: %+v", w)
	}
}

func TestKL(t *testing.T) {
	p := []float64{0.5, 0.5, 0}
	if d, err := KL(p, p); err != nil || d != 0 {
		t.Errorf("KL(p,p) = %v, %v", d, err)
	}
	// p = (1/2, 1/2), q = (1/4, 3/4): 0.5 ln 2 + 0.5 ln(2/3)
	want := 0.5*math.Log(2) + 0.5*math.Log(2.0/3)
	if d, err := KL([]float64{0.5, 0.5}, []float64{0.25, 0.75}); err != nil || !near(d, want, 1e-12) {
		t.Errorf("KL = %v, want %v (%v)", d, want, err)
	}
	// Unnormalised input is normalised first.
	if d, _ := KL([]float32{1, 1}, []float32{1, 3}); !near(d, want, 1e-6) {
		t.Errorf("unnormalised KL = %v", d)
	}
	// p=0 terms vanish; q=0 where p>0 is infinite.
	if d, err := KL([]float64{1, 0}, []float64{0.5, 0.5}); err != nil || !near(d, math.Log(2), 1e-12) {
		t.Errorf("zero in p: %v %v", d, err)
	}
	if d, err := KL([]float64{0.5, 0.5}, []float64{1, 0}); err != nil || !math.IsInf(d, 1) {
		t.Errorf("zero in q: %v %v", d, err)
	}
	for _, bad := range [][2][]float64{
		{{1}, {1, 2}}, {{}, {}}, {{-1, 2}, {1, 1}}, {{math.NaN(), 1}, {1, 1}}, {{0, 0}, {1, 1}},
	} {
		if _, err := KL(bad[0], bad[1]); err == nil {
			t.Errorf("KL(%v, %v): expected error", bad[0], bad[1])
		}
	}
}

func TestLatency(t *testing.T) {
	ms := make([]float64, 1000)
	for i := range ms {
		ms[i] = float64(i + 1) // 1..1000
	}
	ms = append(ms, math.NaN())
	l := LatencyOf(ms)
	if l.N != 1000 || l.Max != 1000 || !near(l.Mean, 500.5, 1e-12) {
		t.Errorf("latency: %+v", l)
	}
	if l.P50 != 500 || l.P99 != 990 || l.P999 != 999 || len(l.Unsupported) != 0 {
		t.Errorf("percentiles: %+v", l)
	}
	// 64 samples support neither P99 nor P99.9: they are NaN and say why.
	s64 := LatencyOf(ms[:64])
	if s64.P50 != 32 || !math.IsNaN(s64.P99) || !math.IsNaN(s64.P999) || len(s64.Unsupported) != 2 ||
		!strings.Contains(s64.Unsupported[1], "at least 1000 samples, have 64") {
		t.Errorf("64 samples: %+v", s64)
	}
	// 100 samples support P99 (the 99th value), not P99.9.
	if s100 := LatencyOf(ms[:100]); s100.P99 != 99 || !math.IsNaN(s100.P999) {
		t.Errorf("100 samples: %+v", s100)
	}
	if !TailSupported(1000, 99.9) || TailSupported(999, 99.9) || TailNeeds(99) != 100 {
		t.Error("TailSupported thresholds")
	}
	if s := l.String(); !strings.Contains(s, "p99=990ms") {
		t.Errorf("String: %s", s)
	}
	e := LatencyOf([]float32{})
	if e.N != 0 || !math.IsNaN(e.P99) {
		t.Errorf("empty latency: %+v", e)
	}
	if _, ok := jsonSafe(e).(map[string]any); !ok {
		t.Error("jsonSafe(Latency) should give a map")
	}
}

func TestFmtNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.5: "0.5", 1234.5: "1234", 12345.6: "12346", 1e-5: "1.000e-05", math.Inf(1): "+Inf"} {
		if got := fmtNum(v); got != want {
			t.Errorf("fmtNum(%v) = %q, want %q", v, got, want)
		}
	}
}
