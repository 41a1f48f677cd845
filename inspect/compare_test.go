package inspect

import (
	"math"
	"testing"
)

func TestFitTrend(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4, 5, 6, 7}
	up := []float64{1.0, 1.1, 1.19, 1.31, 1.4, 1.52, 1.6, 1.69}
	l := Fit(x, up)
	if math.Abs(l.Slope-0.1) > 0.01 || l.Trend() != 1 || l.R2 < 0.99 {
		t.Errorf("rising line: %+v trend %d", l, l.Trend())
	}
	down := make([]float64, len(up))
	for i := range up {
		down[i] = 3 - up[i]
	}
	if d := Fit(x, down); d.Trend() != -1 {
		t.Errorf("falling line: %+v", d)
	}
	noise := []float64{1, 1.2, 0.9, 1.1, 0.95, 1.15, 1.0, 1.05}
	if n := Fit(x, noise); n.Trend() != 0 {
		t.Errorf("noise called a trend: %+v", n)
	}
	if f := Fit(x[:2], up[:2]); !math.IsNaN(f.Slope) || f.Trend() != 0 {
		t.Errorf("two points: %+v", f)
	}
	if f := Fit([]float64{1, 1, 1}, []float64{1, 2, 3}); !math.IsNaN(f.Slope) {
		t.Errorf("constant x: %+v", f)
	}
}

func TestCompare(t *testing.T) {
	a := []float64{10, 11, 10.5, 9.8, 10.2, 10.1, 10.4, 9.9}
	faster := make([]float64, len(a))
	same := make([]float64, len(a))
	for i, v := range a {
		faster[i] = v * (1.3 + 0.01*float64(i%3))
		same[i] = v * (1 + 0.02*float64(i%3-1)) // ratios 0.98, 1, 1.02
	}
	if c := Compare(a, faster, 0.95); c.Outcome != Larger || c.Lo <= 1 || c.Coverage < 0.95 {
		t.Errorf("clearly larger: %+v", c)
	}
	if c := Compare(faster, a, 0.95); c.Outcome != Smaller || c.Hi >= 1 {
		t.Errorf("clearly smaller: %+v", c)
	}
	if c := Compare(a, same, 0.95); c.Outcome != NoDiff || !(c.Lo <= 1 && c.Hi >= 1) {
		t.Errorf("overlap should be no difference: %+v", c)
	}
	// One outlier pair cannot make a difference out of noise, nor hide one.
	out := append([]float64(nil), same...)
	out[3] = a[3] * 3
	if c := Compare(a, out, 0.95); c.Outcome != NoDiff {
		t.Errorf("one outlier: %+v", c)
	}
	// Five pairs cannot reach 95%: the interval is min..max with 93.75%.
	c := Compare(a[:5], faster[:5], 0.95)
	if math.Abs(c.Coverage-0.9375) > 1e-9 || c.Outcome != Larger {
		t.Errorf("five pairs: %+v", c)
	}
	if c := Compare(a[:2], faster[:2], 0.95); c.Outcome != TooFewRun {
		t.Errorf("two pairs: %+v", c)
	}
	// Three pairs: a 75% interval, too weak to decide even a clear gap.
	if c := Compare(a[:3], faster[:3], 0.95); c.Outcome != TooFewRun || math.Abs(c.Coverage-0.75) > 1e-9 {
		t.Errorf("three pairs: %+v", c)
	}
	if s := Compare(a, faster, 0.95).String(); s == "" {
		t.Error("empty String")
	}
}

func TestSpread(t *testing.T) {
	s := SpreadOf([]float64{20, 10, 30, math.NaN()})
	if s.N != 3 || s.Median != 20 || s.Min != 10 || s.Max != 30 || s.RelRange() != 1 {
		t.Errorf("spread: %+v", s)
	}
}

// An int8 point is held against the int8 compute roof; which roof bounds
// it follows its intensity against that roof's own ridge.
func TestRooflineJudgeOwnRoof(t *testing.T) {
	r := Roofline{Memory: []Roof{{"DRAM", 20}}, Compute: []Roof{{"fp32", 200}, {"int8", 30}}}
	p := RooflinePoint{Name: "q8 decode", Intensity: 1.9, GFLOPS: 3, Compute: "int8"}
	j := r.Judge(p)
	// Against the int8 roof: bandwidth allows 38, int8 compute 30: compute-bound at 10%.
	if j.Bound != "compute" || j.Attainable != 30 || math.Abs(j.Fraction-0.1) > 1e-12 || j.Compute.Name != "int8" {
		t.Errorf("int8 against its own roof: %+v", j)
	}
	// Against the fp32 roof the same point would look memory-bound.
	p.Compute = ""
	if j := r.Judge(p); j.Bound != "memory" || j.Attainable != 38 {
		t.Errorf("int8 against the fp32 roof: %+v", j)
	}
	// Lower the intensity below the int8 ridge (1.5): memory-bound again.
	p.Compute, p.Intensity = "int8", 1
	if j := r.Judge(p); j.Bound != "memory" || j.Attainable != 20 {
		t.Errorf("below the int8 ridge: %+v", j)
	}
}
