package course

import (
	"context"
	"fmt"
	"math"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// HeldOut is a short story written for memwall, in the style of
// TinyStories but not from it: the default text Numerics measures
// perplexity on.
const HeldOut = `Tom had a red kite. One windy day he ran up the hill with his sister Mia. The kite flew high in the sky and Mia laughed. Then the string broke and the kite flew away over the trees. Tom was sad, but Mia gave him a hug. "We can make a new kite together," she said. They went home and made a big blue kite with a long tail.`

// howSums says how each variant's dot product sums.
var howSums = map[string]string{"scalar": "one accumulator, in order, no FMA", "scalar4": "four accumulators, no FMA",
	"avx2": "8 lanes × several registers, FMA", "avx512": "16 lanes × several registers, FMA", "neon": "4 lanes × several registers, FMA"}

// DotErrors is the summation-order experiment: the relative error of each
// variant's float32 dot product against the exact value, over several
// random vectors (Samples), paired by vector.
type DotErrors struct {
	Length   int
	Variants []string
	Rel      [][]float64 // [variant][sample]
}

// SummationOrder computes each available variant's dot product of samples
// vectors of n values in [0, 1) against the exact result (float64 products
// of float32 values are exact).
func SummationOrder(n, samples int) (*DotErrors, error) {
	if n < 1 || samples < 1 {
		return nil, fmt.Errorf("summation order: length and samples must be positive")
	}
	d := &DotErrors{Length: n}
	var kernels []*asm.Kernels
	for _, v := range asm.Variants() {
		if !v.Available {
			continue
		}
		k, err := asm.Lookup(v.Name)
		if err != nil {
			return nil, err
		}
		d.Variants = append(d.Variants, v.Name)
		kernels = append(kernels, k)
		d.Rel = append(d.Rel, nil)
	}
	x, y := make([]float32, n), make([]float32, n)
	for s := 0; s < samples; s++ {
		rng := engine.NewRNG(uint64(7 + s))
		var exact float64
		for i := range x {
			x[i], y[i] = rng.Float32(), rng.Float32()
			exact += float64(x[i]) * float64(y[i])
		}
		for i, k := range kernels {
			d.Rel[i] = append(d.Rel[i], math.Abs(float64(k.Dot(x, y))-exact)/exact)
		}
	}
	return d, nil
}

// Conclusions: does summing with more partial sums give smaller error?
// Each variant is compared with the one-accumulator loop, vector by
// vector.
func (d *DotErrors) Conclusions() Conclusions {
	var cs Conclusions
	base := -1
	for i, v := range d.Variants {
		if v == "scalar" {
			base = i
		}
	}
	if base < 0 {
		return cs
	}
	for i, v := range d.Variants {
		if i == base {
			continue
		}
		cmp := inspect.Compare(d.Rel[base], d.Rel[i], 0.95)
		c := Conclusion{ID: "sum_" + v, Claim: fmt.Sprintf("%s (%s) sums with smaller error than one accumulator", v, howSums[v]), Source: Measured,
			Evidence: comparisonEvidence(cmp, "median_rel_error", median(d.Rel[i]), "scalar_median_rel_error", median(d.Rel[base]), "length", d.Length)}
		c.Verdict = smallerHolds(cmp)
		c.Text = fmt.Sprintf("%s: median relative error %.1e against %.1e with one accumulator over %d vectors of %d values — error ratio: %s (%s)",
			v, median(d.Rel[i]), median(d.Rel[base]), cmp.Pairs, d.Length, cmp.Outcome, intervalText(cmp))
		cs = append(cs, c)
	}
	return cs
}

// LogitStats is one implementation's logits against float64.
type LogitStats struct {
	Label     string
	MaxAbs    float64
	RMS       float64
	Top1      float64 // fraction of positions whose top-1 matches float64's
	TopK      float64 // mean overlap of the top k
	PPL       float64
	PerPosMax []float64
}

func nllOf(logits []float64, next int) float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, v)
	}
	var s float64
	for _, v := range logits {
		s += math.Exp(v - m)
	}
	return -(logits[next] - m - math.Log(s))
}

func statsOf(label string, run, ref [][]float64, ids []int, k int) LogitStats {
	st := LogitStats{Label: label}
	var sq, nll float64
	var cnt int
	for p := range ref {
		pm := 0.0
		for j := range ref[p] {
			d := math.Abs(run[p][j] - ref[p][j])
			pm = math.Max(pm, d)
			sq += d * d
			cnt++
		}
		st.PerPosMax = append(st.PerPosMax, pm)
		st.MaxAbs = math.Max(st.MaxAbs, pm)
		a, b := engine.TopK(run[p], k), engine.TopK(ref[p], k)
		if a[0] == b[0] {
			st.Top1++
		}
		in := map[int]bool{}
		for _, v := range b {
			in[v] = true
		}
		for _, v := range a {
			if in[v] {
				st.TopK++
			}
		}
		if p+1 < len(ids) {
			nll += nllOf(run[p], ids[p+1])
		}
	}
	n := float64(len(ref))
	st.RMS = math.Sqrt(sq / float64(max(cnt, 1)))
	st.Top1 /= n
	st.TopK /= n * float64(k)
	st.PPL = math.Exp(nll / float64(max(len(ids)-1, 1)))
	return st
}

func logitsOf(ctx context.Context, m *engine.Model, variant string, ids []int) ([][]float64, error) {
	st, release, err := newState(m, variant, 1, engine.LayoutMapped)
	if err != nil {
		return nil, err
	}
	defer release()
	out := make([][]float64, len(ids))
	for p, t := range ids {
		l, err := st.Forward(ctx, t, p)
		if err != nil {
			return nil, err
		}
		out[p] = make([]float64, len(l))
		for j, v := range l {
			out[p][j] = float64(v)
		}
	}
	return out, nil
}

// NumericsOptions controls Numerics.
type NumericsOptions struct {
	Text       string // default HeldOut
	K          int    // top-k agreement (default 5)
	DotLength  int    // default 65536
	DotSamples int    // default 15
	Model      string
	Progress   Progress
}

// NumericsResult is the rounding experiment.
type NumericsResult struct {
	Dot       *DotErrors
	Model     string
	Positions int
	K         int
	GroupSize int
	Ref       LogitStats // float64 against itself (its perplexity)
	FP32      []LogitStats
	Int8      LogitStats
}

// Numerics measures summation order, then the logits of every fp32
// variant and of int8 (Q8_0, q8) against a float64 forward pass of the
// fp32 weights (f32) over a text.
func Numerics(ctx context.Context, f32, q8 *engine.Model, tok *engine.Tokenizer, opt NumericsOptions) (*NumericsResult, error) {
	if opt.Text == "" {
		opt.Text = HeldOut
	}
	if opt.K == 0 {
		opt.K = 5
	}
	if opt.DotLength == 0 {
		opt.DotLength = 1 << 16
	}
	if opt.DotSamples == 0 {
		opt.DotSamples = 15
	}
	if opt.K < 1 || opt.DotLength < 1 {
		return nil, fmt.Errorf("numerics: k and the dot length must be positive")
	}
	opt.Progress.say("summation order…")
	dot, err := SummationOrder(opt.DotLength, opt.DotSamples)
	if err != nil {
		return nil, err
	}
	ids := tok.Encode(opt.Text, true, false)
	if len(ids) > f32.SeqLen {
		ids = ids[:f32.SeqLen]
	}
	if len(ids) < 2 {
		return nil, fmt.Errorf("the text is too short: %d token(s)", len(ids))
	}
	opt.Progress.say("float64 reference over %d positions…", len(ids))
	ref := engine.NewReference(f32)
	refL := make([][]float64, len(ids))
	for p, t := range ids {
		l, err := ref.Forward(t, p)
		if err != nil {
			return nil, err
		}
		refL[p] = append([]float64(nil), l...)
	}
	r := &NumericsResult{Dot: dot, Model: opt.Model, Positions: len(ids), K: opt.K, GroupSize: q8.GroupSize,
		Ref: statsOf("float64 reference", refL, refL, ids, opt.K)}
	for _, v := range asm.Variants() {
		if !v.Available {
			continue
		}
		opt.Progress.say("fp32 %s…", v.Name)
		l, err := logitsOf(ctx, f32, v.Name, ids)
		if err != nil {
			return nil, err
		}
		r.FP32 = append(r.FP32, statsOf("fp32 "+v.Name, l, refL, ids, opt.K))
	}
	best := asm.Best()
	opt.Progress.say("int8 %s…", best)
	ql, err := logitsOf(ctx, q8, best, ids)
	if err != nil {
		return nil, err
	}
	r.Int8 = statsOf("int8 Q8_0 ("+best+")", ql, refL, ids, opt.K)
	return r, nil
}

// Conclusions: summation order, fp32 against float64, int8's error and
// perplexity.
func (r *NumericsResult) Conclusions() Conclusions {
	cs := r.Dot.Conclusions()
	worstMax, worstTop1 := 0.0, 1.0
	for _, s := range r.FP32 {
		worstMax, worstTop1 = math.Max(worstMax, s.MaxAbs), math.Min(worstTop1, s.Top1)
	}
	c := Conclusion{ID: "fp32_top1", Claim: "every fp32 kernel picks float64's most likely token at every position", Source: Measured,
		Evidence: ev("worst_top1", worstTop1, "worst_max_abs", worstMax, "positions", r.Positions)}
	c.Verdict = map[bool]string{true: Holds, false: DoesNotHold}[worstTop1 == 1]
	c.Text = fmt.Sprintf("fp32 logits differ from float64 by at most %.1e; the worst fp32 kernel's top-1 agrees at %.1f%% of %d positions", worstMax, 100*worstTop1, r.Positions)
	cs = append(cs, c)
	q := r.Int8
	c = Conclusion{ID: "int8_top1", Claim: "int8 (Q8_0) picks float64's most likely token at every position", Source: Measured,
		Evidence: ev("top1", q.Top1, "topk", q.TopK, "max_abs", q.MaxAbs, "rms", q.RMS, "group_size", r.GroupSize, "error_over_fp32", q.MaxAbs/math.Max(worstMax, 1e-300))}
	c.Verdict = map[bool]string{true: Holds, false: DoesNotHold}[q.Top1 == 1]
	c.Text = fmt.Sprintf("int8 (Q8_0, group size %d) logits differ by up to %.2g (RMS %.2g), %.0f× the worst fp32 kernel; top-1 agrees at %.1f%%, top-%d overlap %.1f%%",
		r.GroupSize, q.MaxAbs, q.RMS, c.Evidence["error_over_fp32"], 100*q.Top1, r.K, 100*q.TopK)
	cs = append(cs, c)
	d := 100 * (q.PPL/r.Ref.PPL - 1)
	c = Conclusion{ID: "int8_perplexity", Claim: "int8 changes the held-out perplexity by less than 1%", Source: Measured,
		Evidence: ev("float64_ppl", r.Ref.PPL, "int8_ppl", q.PPL, "change_pct", d)}
	c.Verdict = map[bool]string{true: Holds, false: DoesNotHold}[math.Abs(d) < 1]
	c.Text = fmt.Sprintf("perplexity of the held-out text: float64 %.4f, int8 %.4f (%+.2f%%)", r.Ref.PPL, q.PPL, d)
	cs = append(cs, c)
	return cs
}

// Bundle renders the two tables, the chart and the conclusions.
func (r *NumericsResult) Bundle() inspect.Bundle {
	dt := inspect.Table{Title: fmt.Sprintf("Summation order: a float32 dot product of %d values in [0,1), %d random vectors: relative error against the exact result", r.Dot.Length, len(r.Dot.Rel[0])),
		Header: []string{"variant", "how it sums", "median relative error", "smallest", "largest"}}
	var dotJS []map[string]any
	for i, n := range r.Dot.Variants {
		sp := inspect.SpreadOf(r.Dot.Rel[i])
		dt.Rows = append(dt.Rows, []string{n, howSums[n], fmt.Sprintf("%.2e", sp.Median), fmt.Sprintf("%.2e", sp.Min), fmt.Sprintf("%.2e", sp.Max)})
		dotJS = append(dotJS, map[string]any{"variant": n, "relative_error": sp.Median, "relative_errors": r.Dot.Rel[i]})
	}
	lt := inspect.Table{Title: fmt.Sprintf("Logits over %d positions of a held-out text, against a float64 forward pass (%s)", r.Positions, r.Model),
		Header: []string{"implementation", "max |Δ logit|", "RMS Δ", "top-1 agrees", fmt.Sprintf("top-%d overlap", r.K), "perplexity"}}
	lt.Rows = append(lt.Rows, []string{r.Ref.Label, "0", "0", "100%", "100%", fmt.Sprintf("%.4f", r.Ref.PPL)})
	rows := []map[string]any{{"label": r.Ref.Label, "perplexity": r.Ref.PPL}}
	var series []inspect.Series
	for _, s := range append(append([]LogitStats(nil), r.FP32...), r.Int8) {
		lt.Rows = append(lt.Rows, []string{s.Label, fmt.Sprintf("%.2e", s.MaxAbs), fmt.Sprintf("%.2e", s.RMS), fmt.Sprintf("%.1f%%", 100*s.Top1),
			fmt.Sprintf("%.1f%%", 100*s.TopK), fmt.Sprintf("%.4f", s.PPL)})
		rows = append(rows, map[string]any{"label": s.Label, "max_abs": s.MaxAbs, "rms": s.RMS, "top1": s.Top1, "topk": s.TopK, "perplexity": s.PPL})
		series = append(series, inspect.Series{Name: s.Label, Y: s.PerPosMax})
	}
	lt.Note = "float64 reference: the same weights (int8 rows use the fp32 weights they were quantized from), every operation in float64; perplexity of the text's tokens after the first"
	chart := inspect.LineChart(series, inspect.ChartOpts{Title: "Largest logit error at each position (against float64)", XLabel: "position", YLabel: "max |Δ logit|", LogY: true, Height: 300})
	cs := r.Conclusions()
	return inspect.Join([]inspect.Bundle{dt.Bundle(), lt.Bundle(), chart, cs.Bundle()}, map[string]any{"dot": dotJS, "dot_length": r.Dot.Length,
		"positions": r.Positions, "k": r.K, "rows": rows, "int8_group_size": r.GroupSize, "conclusions": cs.JSON()})
}
