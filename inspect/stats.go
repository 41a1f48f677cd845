package inspect

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"
)

// Float is the element type the statistics accept.
type Float interface {
	~float32 | ~float64
}

// Summary describes a vector of numbers. The moments and extremes are taken
// over the finite values only; NaN and Inf counts say how many were left out.
// Std is the population standard deviation (divide by N).
type Summary struct {
	N      int     `json:"n"`   // finite values
	NaN    int     `json:"nan"` // NaN values skipped
	Inf    int     `json:"inf"` // ±Inf values skipped
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	AbsMax float64 `json:"absmax"`
	L2     float64 `json:"l2"` // Euclidean norm of the finite values
}

// Summarize computes a Summary. With no finite values every statistic is NaN
// (N is 0). The computation is scaled by the largest magnitude so values near
// the float64 limits do not overflow.
func Summarize[T Float](xs []T) Summary {
	s := Summary{Min: math.Inf(1), Max: math.Inf(-1)}
	for _, x := range xs {
		v := float64(x)
		switch {
		case math.IsNaN(v):
			s.NaN++
			continue
		case math.IsInf(v, 0):
			s.Inf++
			continue
		}
		s.N++
		s.Min = min(s.Min, v)
		s.Max = max(s.Max, v)
	}
	if s.N == 0 {
		nan := math.NaN()
		s.Mean, s.Std, s.Min, s.Max, s.AbsMax, s.L2 = nan, nan, nan, nan, nan, nan
		return s
	}
	s.AbsMax = max(math.Abs(s.Min), math.Abs(s.Max))
	if s.AbsMax == 0 {
		return s // all zeros: mean, std, L2 are 0
	}
	// Scale by the largest magnitude so values near the float64 limits do
	// not overflow; gonum's two-pass moments do the rest.
	scale := s.AbsMax
	u := make([]float64, 0, s.N)
	for _, x := range xs {
		v := float64(x)
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			u = append(u, v/scale)
		}
	}
	mean, std := stat.PopMeanStdDev(u, nil)
	s.Mean, s.Std, s.L2 = mean*scale, std*scale, floats.Norm(u, 2)*scale
	return s
}

// CV returns the coefficient of variation: Std / |Mean|. It is NaN when the
// mean is zero or there is no data.
func (s Summary) CV() float64 {
	if s.N == 0 || s.Mean == 0 {
		return math.NaN()
	}
	return s.Std / math.Abs(s.Mean)
}

// String renders the summary on one line.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "n=%d mean=%s std=%s min=%s max=%s absmax=%s l2=%s",
		s.N, fmtNum(s.Mean), fmtNum(s.Std), fmtNum(s.Min), fmtNum(s.Max), fmtNum(s.AbsMax), fmtNum(s.L2))
	if s.NaN > 0 || s.Inf > 0 {
		fmt.Fprintf(&b, " nan=%d inf=%d", s.NaN, s.Inf)
	}
	return b.String()
}

// Bundle renders the summary as text, an HTML table and JSON.
func (s Summary) Bundle() Bundle {
	t := Table{
		Header: []string{"n", "mean", "std", "min", "max", "absmax", "l2", "nan", "inf"},
		Rows: [][]string{{fmt.Sprint(s.N), fmtNum(s.Mean), fmtNum(s.Std), fmtNum(s.Min),
			fmtNum(s.Max), fmtNum(s.AbsMax), fmtNum(s.L2), fmt.Sprint(s.NaN), fmt.Sprint(s.Inf)}},
	}
	return Bundle{Text: s.String(), HTML: t.HTML(), JSON: jsonSafe(s)}
}

// CV returns the coefficient of variation (population std / |mean|) of the
// finite values of xs, NaN if there are none or the mean is zero.
func CV[T Float](xs []T) float64 { return Summarize(xs).CV() }

// finiteSorted returns the finite values of xs as float64, sorted ascending.
func finiteSorted[T Float](xs []T) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		v := float64(x)
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// PercentileDefinition names the one percentile definition memwall uses,
// for reports to state it.
const PercentileDefinition = "nearest rank (the smallest sample with at least p% of the samples at or below it; Hyndman-Fan type 1, gonum stat.Empirical)"

// Percentile returns the p-th percentile (p in [0, 100]) of the finite
// values of xs by PercentileDefinition: with n sorted values it is the
// ⌈n·p/100⌉-th (the first for p = 0), so it is always one of the measured
// values. It is gonum's stat.Quantile with stat.Empirical. It returns NaN
// for empty input or p outside [0, 100] (or NaN).
func Percentile[T Float](xs []T, p float64) float64 {
	return percentileSorted(finiteSorted(xs), p)
}

// Percentiles is Percentile for several p at once, sorting the data once.
func Percentiles[T Float](xs []T, ps ...float64) []float64 {
	s := finiteSorted(xs)
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = percentileSorted(s, p)
	}
	return out
}

func percentileSorted(s []float64, p float64) float64 {
	if len(s) == 0 || !(p >= 0 && p <= 100) {
		return math.NaN()
	}
	// p/100 is nudged down by a relative 1e-12 so that a rank n·p/100 that
	// is an integer in decimal (999 of 1000 for P99.9) does not round up to
	// the next sample in binary.
	return stat.Quantile(p/100*(1-1e-12), stat.Empirical, s, nil)
}

// TailSupported reports whether n samples support the p-th percentile as
// a tail statistic: at least one sample is expected beyond it, n·(1-p/100)
// >= 1. P99 needs 100 samples, P99.9 a thousand; below that the "P99.9" of
// a sample is just its maximum under another name.
func TailSupported(n int, p float64) bool {
	return n > 0 && float64(n)*(100-p) >= 100-1e-9
}

// TailNeeds is the number of samples TailSupported wants for p.
func TailNeeds(p float64) int {
	if p >= 100 {
		return math.MaxInt
	}
	return int(math.Ceil(100/(100-p) - 1e-9))
}

// Hist is a histogram over equal-width bins. Edges has len(Counts)+1
// entries; bin i holds values in [Edges[i], Edges[i+1]), the last bin also
// holds its upper edge. NaN and Inf values are counted, not binned.
type Hist struct {
	Edges  []float64 `json:"edges"`
	Counts []int     `json:"counts"`
	N      int       `json:"n"` // values binned (finite)
	NaN    int       `json:"nan"`
	Inf    int       `json:"inf"`
}

// Histogram bins the finite values of xs into bins equal-width bins spanning
// their range (bins < 1 means 1). Constant data gets one unit-wide range
// centred on the value, so it still shows as a bar; empty or all-NaN data
// gives a Hist with no bins.
func Histogram[T Float](xs []T, bins int) Hist {
	if bins < 1 {
		bins = 1
	}
	var h Hist
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		v := float64(x)
		switch {
		case math.IsNaN(v):
			h.NaN++
		case math.IsInf(v, 0):
			h.Inf++
		default:
			h.N++
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if h.N == 0 {
		return h
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
		if lo == hi { // too large for ±0.5 to register
			lo, hi = lo-math.Abs(lo)/2, hi+math.Abs(hi)/2
		}
	}
	// Work in halves so hi-lo cannot overflow when the data spans ±MaxFloat64.
	lo2, hi2 := lo/2, hi/2
	step2 := (hi2 - lo2) / float64(bins)
	h.Edges = make([]float64, bins+1)
	for i := range h.Edges {
		h.Edges[i] = 2 * (lo2 + step2*float64(i))
	}
	h.Edges[0], h.Edges[bins] = lo, hi
	// A value's bin is the number of inner edges at or below it: found by
	// binary search, it agrees with Edges exactly (the maximum, at the
	// upper edge, lands in the last bin), and the data is neither copied
	// nor sorted, which for a weight tensor of millions of values is most
	// of the cost.
	inner := h.Edges[1:bins]
	h.Counts = make([]int, bins)
	for _, x := range xs {
		v := float64(x)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		h.Counts[sort.Search(len(inner), func(j int) bool { return inner[j] > v })]++
	}
	return h
}

// KL returns the Kullback–Leibler divergence D(p‖q) = Σ p·ln(p/q) in nats.
// Both vectors are normalised to sum to 1 first. Terms with p=0 contribute 0
// (the limit of p·ln p); a q=0 where p>0 makes the divergence +Inf, which is
// the true value — floor q yourself if you want a finite smoothed estimate.
// It returns an error for different lengths, empty vectors, negative or
// non-finite entries, or a vector that sums to zero.
func KL[T Float](p, q []T) (float64, error) {
	if len(p) != len(q) {
		return math.NaN(), fmt.Errorf("kl: lengths differ (%d and %d)", len(p), len(q))
	}
	if len(p) == 0 {
		return math.NaN(), errors.New("kl: empty vectors")
	}
	sp, err := probSum(p, "p")
	if err != nil {
		return math.NaN(), err
	}
	sq, err := probSum(q, "q")
	if err != nil {
		return math.NaN(), err
	}
	var d float64
	for i := range p {
		pi := float64(p[i]) / sp
		if pi == 0 {
			continue
		}
		qi := float64(q[i]) / sq
		if qi == 0 {
			return math.Inf(1), nil
		}
		d += pi * math.Log(pi/qi)
	}
	return max(d, 0), nil // rounding can make an exact 0 slightly negative
}

func probSum[T Float](v []T, name string) (float64, error) {
	var s float64
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return 0, fmt.Errorf("kl: %s[%d] = %v is not a probability", name, i, f)
		}
		s += f
	}
	if s == 0 || math.IsInf(s, 0) {
		return 0, fmt.Errorf("kl: %s sums to %v", name, s)
	}
	return s, nil
}

// Latency summarises a sample of timings in milliseconds. Percentiles use
// PercentileDefinition; a tail percentile the sample does not support
// (TailSupported) is NaN and listed in Unsupported. CV is std/mean.
type Latency struct {
	N           int      `json:"n"`
	Mean        float64  `json:"mean_ms"`
	P50         float64  `json:"p50_ms"`
	P99         float64  `json:"p99_ms"`
	P999        float64  `json:"p999_ms"`
	Max         float64  `json:"max_ms"`
	CV          float64  `json:"cv"`
	Unsupported []string `json:"unsupported,omitempty"`
}

// LatencyOf summarises timings in milliseconds, ignoring NaN and Inf.
// An empty sample gives N=0 and NaN statistics. memwall bench and every
// magic that reports latency percentiles go through it.
func LatencyOf[T Float](ms []T) Latency {
	s := finiteSorted(ms)
	l := Latency{N: len(s)}
	sum := Summarize(s)
	l.Mean, l.CV = sum.Mean, sum.CV()
	l.P50 = percentileSorted(s, 50)
	l.P99, l.P999 = math.NaN(), math.NaN()
	for _, t := range []struct {
		p   float64
		dst *float64
		nm  string
	}{{99, &l.P99, "P99"}, {99.9, &l.P999, "P99.9"}} {
		if TailSupported(len(s), t.p) {
			*t.dst = percentileSorted(s, t.p)
		} else if len(s) > 0 {
			l.Unsupported = append(l.Unsupported, fmt.Sprintf("%s needs at least %d samples, have %d", t.nm, TailNeeds(t.p), len(s)))
		}
	}
	l.Max = sum.Max
	return l
}

// Cell formats a latency statistic for a table: "n/a" when the sample
// does not support it.
func Cell(v float64, format string) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf(format, v)
}

// String renders the latency summary on one line.
func (l Latency) String() string {
	s := fmt.Sprintf("n=%d mean=%sms p50=%sms p99=%sms p99.9=%sms max=%sms cv=%s",
		l.N, fmtNum(l.Mean), fmtNum(l.P50), fmtNum(l.P99), fmtNum(l.P999), fmtNum(l.Max), fmtNum(l.CV))
	if len(l.Unsupported) > 0 {
		s += " (" + strings.Join(l.Unsupported, "; ") + ")"
	}
	return s
}

// fmtNum formats a number compactly with about four significant digits.
func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == 0:
		return "0"
	}
	a := math.Abs(v)
	if a >= 1e4 && a < 1e9 {
		return fmt.Sprintf("%.0f", v)
	}
	if a >= 1e-3 && a < 1e4 {
		return fmt.Sprintf("%.4g", v)
	}
	return fmt.Sprintf("%.3e", v)
}

// jsonSafe replaces NaN and Inf (which encoding/json rejects) by nil in the
// JSON form of simple statistics structs.
func jsonSafe(v any) any {
	num := Finite
	switch s := v.(type) {
	case Summary:
		return map[string]any{"n": s.N, "nan": s.NaN, "inf": s.Inf, "mean": num(s.Mean),
			"std": num(s.Std), "min": num(s.Min), "max": num(s.Max), "absmax": num(s.AbsMax), "l2": num(s.L2)}
	case Latency:
		return map[string]any{"n": s.N, "mean_ms": num(s.Mean), "p50_ms": num(s.P50), "p99_ms": num(s.P99),
			"p999_ms": num(s.P999), "max_ms": num(s.Max), "cv": num(s.CV), "unsupported": s.Unsupported,
			"percentile_definition": PercentileDefinition}
	}
	return v
}
