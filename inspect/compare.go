package inspect

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Line is a least-squares straight line y = Intercept + Slope·x fitted by
// gonum's stat.LinearRegression, with the slope's standard error (from the
// residuals, n-2 degrees of freedom) so that a trend can be told from noise.
type Line struct {
	N         int     `json:"n"`
	Intercept float64 `json:"intercept"`
	Slope     float64 `json:"slope"`
	SlopeSE   float64 `json:"slope_se"`
	R2        float64 `json:"r2"`
}

// Fit fits a line to the points (x[i], y[i]); it needs at least three
// points and two distinct x values, and returns NaNs otherwise.
func Fit(x, y []float64) Line {
	n := min(len(x), len(y))
	l := Line{N: n, Intercept: math.NaN(), Slope: math.NaN(), SlopeSE: math.NaN(), R2: math.NaN()}
	if n < 3 {
		return l
	}
	x, y = x[:n], y[:n]
	sxx := stat.Variance(x, nil) * float64(n-1)
	if !(sxx > 0) {
		return l
	}
	l.Intercept, l.Slope = stat.LinearRegression(x, y, nil, false)
	var ssr float64
	for i := range x {
		r := y[i] - (l.Intercept + l.Slope*x[i])
		ssr += r * r
	}
	l.SlopeSE = math.Sqrt(ssr / float64(n-2) / sxx)
	l.R2 = stat.RSquared(x, y, nil, l.Intercept, l.Slope)
	return l
}

// Trend is the sign of a fitted slope that its standard error supports:
// +1 when the slope is more than two standard errors above zero, -1 when
// more than two below, 0 otherwise (no trend beyond noise).
func (l Line) Trend() int {
	switch {
	case math.IsNaN(l.Slope) || math.IsNaN(l.SlopeSE):
		return 0
	case l.Slope-2*l.SlopeSE > 0:
		return 1
	case l.Slope+2*l.SlopeSE < 0:
		return -1
	}
	return 0
}

// Spread is the median and range of repeated measurements of one thing.
type Spread struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// SpreadOf summarises repeated measurements (median by PercentileDefinition).
func SpreadOf(xs []float64) Spread {
	s := finiteSorted(xs)
	if len(s) == 0 {
		return Spread{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	return Spread{N: len(s), Median: percentileSorted(s, 50), Min: s[0], Max: s[len(s)-1]}
}

// RelRange is (max-min)/median: how far apart the repeats are.
func (s Spread) RelRange() float64 { return (s.Max - s.Min) / s.Median }

// Comparison outcomes.
const (
	Larger    = "larger"
	Smaller   = "smaller"
	NoDiff    = "no difference beyond noise"
	TooFewRun = "too few runs to tell"
)

// Comparison is the ratio B/A of repeated, interleaved paired measurements
// (run i of A, then run i of B, so that a slow moment of the machine hits
// both): the median of the per-pair ratios and a distribution-free
// confidence interval for it from order statistics (the sign-test interval:
// the k-th smallest and k-th largest ratio, k chosen from the binomial
// distribution so the interval covers the true median with probability
// Coverage). Outcome is Larger when the whole interval is above 1, Smaller
// when it is below, NoDiff when it contains 1.
type Comparison struct {
	Pairs    int     `json:"pairs"`
	Ratio    float64 `json:"median_ratio"`
	Lo       float64 `json:"ratio_lo"`
	Hi       float64 `json:"ratio_hi"`
	Coverage float64 `json:"coverage"`
	Outcome  string  `json:"outcome"`
}

// MinCoverage is the least coverage an interval needs for Compare to
// decide: five pairs give 93.75% (their smallest to largest ratio), three
// only 75%, too little to call a difference.
const MinCoverage = 0.9

// Compare compares b against a, pair by pair (a[i] with b[i]); conf is the
// coverage wanted (0.95 when 0). With too few pairs for that coverage the
// interval is the widest one (smallest to largest ratio) and Coverage says
// what it really is; below MinCoverage (fewer than five pairs) the outcome
// is TooFewRun.
func Compare(a, b []float64, conf float64) Comparison {
	if conf <= 0 || conf >= 1 {
		conf = 0.95
	}
	var r []float64
	for i := 0; i < min(len(a), len(b)); i++ {
		if a[i] > 0 && b[i] > 0 && !math.IsInf(a[i], 0) && !math.IsInf(b[i], 0) {
			r = append(r, b[i]/a[i])
		}
	}
	c := Comparison{Pairs: len(r), Ratio: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Outcome: TooFewRun}
	if len(r) == 0 {
		return c
	}
	s := finiteSorted(r)
	n := len(s)
	c.Ratio = percentileSorted(s, 50)
	// Largest k with P(X < k) <= (1-conf)/2, X ~ Binomial(n, 1/2): then
	// [s(k), s(n+1-k)] (1-based) covers the median with 1 - 2·P(X <= k-1).
	bin := distuv.Binomial{N: float64(n), P: 0.5}
	k := 1
	for j := 2; j <= n/2; j++ {
		if bin.CDF(float64(j-1)) <= (1-conf)/2 {
			k = j
		}
	}
	c.Lo, c.Hi = s[k-1], s[n-k]
	c.Coverage = 1 - 2*bin.CDF(float64(k-1))
	if c.Coverage < MinCoverage {
		return c
	}
	switch {
	case c.Lo > 1:
		c.Outcome = Larger
	case c.Hi < 1:
		c.Outcome = Smaller
	default:
		c.Outcome = NoDiff
	}
	return c
}

// Rates turns times (lower is better) into rates, 1/t, for Compare, which
// takes values where higher is better: Compare(Rates(a), Rates(b)) is
// B's speed-up over A. A zero time gives +Inf, which Compare leaves out.
func Rates(times []float64) []float64 {
	out := make([]float64, len(times))
	for i, t := range times {
		out[i] = 1 / t
	}
	return out
}

// String renders the comparison on one line.
func (c Comparison) String() string {
	return fmt.Sprintf("median ratio %s over %d interleaved pairs, %.0f%% interval [%s, %s]: %s",
		fmtNum(c.Ratio), c.Pairs, 100*c.Coverage, fmtNum(c.Lo), fmtNum(c.Hi), c.Outcome)
}
