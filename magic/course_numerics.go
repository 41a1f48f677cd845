package magic

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// heldOut is a short story written for memwall, in the style of TinyStories
// but not from it: the default text %numerics measures perplexity on.
const heldOut = `Tom had a red kite. One windy day he ran up the hill with his sister Mia. The kite flew high in the sky and Mia laughed. Then the string broke and the kite flew away over the trees. Tom was sad, but Mia gave him a hug. "We can make a new kite together," she said. They went home and made a big blue kite with a long tail.`

// ---- %numerics ----

// logitRun is one implementation's logits at every position of a text.
type logitRun struct {
	label  string
	logits [][]float64
}

// compareLogits measures a run against the float64 reference.
type logitStats struct {
	maxAbs, rms     float64
	top1, topk      float64 // agreement fractions
	ppl             float64
	perPosMax       []float64
	disagreeTop1Pos int
}

func topIdx(x []float64, k int) []int {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] > x[idx[b]] })
	return idx[:min(k, len(idx))]
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

func statsOf(run, ref [][]float64, ids []int, k int) logitStats {
	var st logitStats
	var sq float64
	var cnt int
	var nll float64
	for p := range ref {
		pm := 0.0
		for j := range ref[p] {
			d := math.Abs(run[p][j] - ref[p][j])
			pm = math.Max(pm, d)
			sq += d * d
			cnt++
		}
		st.perPosMax = append(st.perPosMax, pm)
		st.maxAbs = math.Max(st.maxAbs, pm)
		a, b := topIdx(run[p], k), topIdx(ref[p], k)
		if a[0] == b[0] {
			st.top1++
		}
		in := map[int]bool{}
		for _, v := range b {
			in[v] = true
		}
		for _, v := range a {
			if in[v] {
				st.topk++
			}
		}
		if p+1 < len(ids) {
			nll += nllOf(run[p], ids[p+1])
		}
	}
	n := float64(len(ref))
	st.rms = math.Sqrt(sq / float64(max(cnt, 1)))
	st.top1 /= n
	st.topk /= n * float64(k)
	st.ppl = math.Exp(nll / float64(max(len(ids)-1, 1)))
	return st
}

// fp32Logits runs ids through m with a variant, one token at a time.
func fp32Logits(c *call, m *engine.Model, variant string, ids []int) ([][]float64, error) {
	ops, err := asm.New(variant, 1)
	if err != nil {
		return nil, err
	}
	defer ops.Close()
	st, err := engine.NewState(m, ops)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(ids))
	for p, t := range ids {
		l, err := st.Forward(c.ctx, t, p)
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

// dotErrors computes a dot product of n positive values with each
// variant's Dot and returns the relative error of each against the exact
// result.
func dotErrors(n int) (names []string, rel []float64, exact float64) {
	x := make([]float32, n)
	y := make([]float32, n)
	rng := engine.NewRNG(7)
	for i := range x {
		x[i], y[i] = rng.Float32(), rng.Float32()
		exact += float64(x[i]) * float64(y[i]) // exact: 48-bit products fit in float64
	}
	for _, v := range asm.Variants() {
		if !v.Available {
			continue
		}
		k, err := asm.Lookup(v.Name)
		if err != nil {
			continue
		}
		got := float64(k.Dot(x, y))
		names = append(names, v.Name)
		rel = append(rel, math.Abs(got-exact)/exact)
	}
	return names, rel, exact
}

func (s *Interpreter) doNumerics(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	text := c.args.str("text", heldOut)
	k := c.args.int("k", 5)
	dotN := c.args.int("length", 1<<16)
	if k < 1 || dotN < 1 {
		return usagef(c.spec.usage(), "-k and --length must be positive")
	}
	id := s.newDisplayID()
	step := func(msg string) { c.out.Update(toKernel(inspect.Bundle{Text: "%numerics: " + msg}), id) }
	c.out.Display(toKernel(inspect.Bundle{Text: "%numerics: summation order…"}), id)

	// 1. Summation order on one long dot product.
	names, rel, exact := dotErrors(dotN)
	dt := inspect.Table{Title: fmt.Sprintf("A float32 dot product of %d values in [0,1) (exact result %.3f)", dotN, exact), Header: []string{"variant", "how it sums", "relative error"}}
	how := map[string]string{"scalar": "one accumulator, in order, no FMA", "scalar4": "four accumulators, no FMA",
		"avx2": "8 lanes × several registers, FMA", "avx512": "16 lanes × several registers, FMA", "neon": "4 lanes × several registers, FMA"}
	var dotJS []map[string]any
	for i, n := range names {
		dt.Rows = append(dt.Rows, []string{n, how[n], fmt.Sprintf("%.2e", rel[i])})
		dotJS = append(dotJS, map[string]any{"variant": n, "relative_error": rel[i]})
	}

	// 2. Logits of a text: every fp32 variant and int8 against float64.
	f32 := s.model
	var err error
	if f32.Quantized() {
		if f32, err = s.companion(false); err != nil {
			return err
		}
		defer f32.Close()
	}
	step("converting the model to int8 (Q8_0)…")
	q8, err := s.companion(true)
	if err != nil {
		return err
	}
	if q8 != s.model {
		defer q8.Close()
	}
	ids := s.tok.Encode(text, true, false)
	if len(ids) > f32.SeqLen {
		ids = ids[:f32.SeqLen]
	}
	if len(ids) < 2 {
		return fmt.Errorf("--text is too short: %d token(s)", len(ids))
	}
	step(fmt.Sprintf("float64 reference over %d positions…", len(ids)))
	ref := engine.NewReference(f32)
	refL := make([][]float64, len(ids))
	for p, t := range ids {
		l, err := ref.Forward(t, p)
		if err != nil {
			return err
		}
		refL[p] = append([]float64(nil), l...)
	}
	var runs []logitRun
	for _, v := range asm.Variants() {
		if !v.Available {
			continue
		}
		step("fp32 " + v.Name + "…")
		l, err := fp32Logits(c, f32, v.Name, ids)
		if err != nil {
			return err
		}
		runs = append(runs, logitRun{"fp32 " + v.Name, l})
	}
	best := asm.Best()
	step("int8 " + best + "…")
	ql, err := fp32Logits(c, q8, best, ids)
	if err != nil {
		return err
	}
	runs = append(runs, logitRun{"int8 Q8_0 (" + best + ")", ql})
	step("done")

	refStats := statsOf(refL, refL, ids, k)
	lt := inspect.Table{Title: fmt.Sprintf("Logits over %d positions of a held-out text, against a float64 forward pass (%s)", len(ids), s.modelName()),
		Header: []string{"implementation", "max |Δ logit|", "RMS Δ", "top-1 agrees", fmt.Sprintf("top-%d overlap", k), "perplexity"}}
	lt.Rows = append(lt.Rows, []string{"float64 reference", "0", "0", "100%", "100%", fmt.Sprintf("%.4f", refStats.ppl)})
	var rowsJS []map[string]any
	rowsJS = append(rowsJS, map[string]any{"label": "float64 reference", "perplexity": refStats.ppl})
	var series []inspect.Series
	stats := map[string]logitStats{}
	for _, r := range runs {
		st := statsOf(r.logits, refL, ids, k)
		stats[r.label] = st
		lt.Rows = append(lt.Rows, []string{r.label, fmt.Sprintf("%.2e", st.maxAbs), fmt.Sprintf("%.2e", st.rms), fmt.Sprintf("%.1f%%", 100*st.top1),
			fmt.Sprintf("%.1f%%", 100*st.topk), fmt.Sprintf("%.4f", st.ppl)})
		rowsJS = append(rowsJS, map[string]any{"label": r.label, "max_abs": st.maxAbs, "rms": st.rms, "top1": st.top1, "topk": st.topk, "perplexity": st.ppl})
		series = append(series, inspect.Series{Name: r.label, Y: st.perPosMax})
	}
	lt.Note = "float64 reference: the same weights (int8 rows use the fp32 weights they were quantized from), every operation in float64; perplexity of the text's tokens after the first"
	chart := inspect.LineChart(series, inspect.ChartOpts{Title: "Largest logit error at each position (against float64)", XLabel: "position", YLabel: "max |Δ logit|", LogY: true, Height: 300})

	// Conclusions from the numbers.
	var fpMax, fpMin float64 = 0, math.Inf(1)
	worstFP := 1.0
	for _, r := range runs[:len(runs)-1] {
		st := stats[r.label]
		fpMax, fpMin = math.Max(fpMax, st.maxAbs), math.Min(fpMin, st.maxAbs)
		worstFP = math.Min(worstFP, st.top1)
	}
	qs := stats[runs[len(runs)-1].label]
	between := 0.0
	if len(runs) >= 3 {
		a, b := runs[0].logits, runs[len(runs)-2].logits
		for p := range a {
			for j := range a[p] {
				between = math.Max(between, math.Abs(a[p][j]-b[p][j]))
			}
		}
	}
	var order []string
	for i, n := range names {
		order = append(order, fmt.Sprintf("%s %.1e", n, rel[i]))
	}
	lines := []string{
		fmt.Sprintf("summation order: the same %d-term dot product has relative error %s — more independent partial sums (and FMA's one rounding per multiply-add) mean smaller error, not only more speed", dotN, strings.Join(order, ", ")),
		fmt.Sprintf("fp32 logits differ from float64 by at most %.1e to %.1e depending on the kernel (%s and %s differ from each other by up to %.1e); the worst fp32 kernel's top-1 agrees with float64 at %.1f%% of the positions",
			fpMin, fpMax, runs[0].label, runs[len(runs)-2].label, between, 100*worstFP),
		fmt.Sprintf("int8 (Q8_0, group size %d) logits differ by up to %.2g (RMS %.2g), %.0f× the worst fp32 kernel; top-1 agrees at %.1f%% of positions, top-%d overlap %.1f%%",
			q8.GroupSize, qs.maxAbs, qs.rms, qs.maxAbs/math.Max(fpMax, 1e-300), 100*qs.top1, k, 100*qs.topk),
		fmt.Sprintf("perplexity of the held-out text: float64 %.4f, %s %.4f, int8 %.4f (%+.2f%%)", refStats.ppl, runs[0].label, stats[runs[0].label].ppl, qs.ppl, 100*(qs.ppl/refStats.ppl-1)),
	}
	s.display(c, join([]inspect.Bundle{dt.Bundle(), lt.Bundle(), chart, conclusion(lines)}, map[string]any{"dot": dotJS, "dot_length": dotN, "positions": len(ids),
		"k": k, "rows": rowsJS, "int8_group_size": q8.GroupSize}))
	return nil
}

// ---- %sink ----

func (s *Interpreter) doSink(c *call) error {
	ids, err := s.contextIDs(c)
	if err != nil {
		return err
	}
	if len(ids) < 3 {
		return fmt.Errorf("the context has %d token(s): the first-token sink needs a few more (generate first)", len(ids))
	}
	pat, err := s.capturePatterns(c, ids)
	if err != nil {
		return err
	}
	cfg := s.model.Config
	// Uniform baseline: a query at position q spreading evenly gives the
	// first token 1/(q+1).
	var uni float64
	for q := 1; q < len(ids); q++ {
		uni += 1 / float64(q+1)
	}
	uni /= float64(len(ids) - 1)
	header := []string{"layer"}
	for h := 0; h < cfg.Heads; h++ {
		header = append(header, fmt.Sprintf("head %d", h))
	}
	header = append(header, "mean")
	t := inspect.Table{Title: fmt.Sprintf("Attention on the first token (BOS), averaged over the %d queries after it", len(ids)-1), Header: header, ColorMap: inspect.Viridis}
	var all float64
	var js [][]float64
	bestL, bestH, bestV := 0, 0, -1.0
	for l := 0; l < cfg.Layers; l++ {
		row := []string{fmt.Sprint(l)}
		shade := []float64{math.NaN()}
		var vals []float64
		var lm float64
		for h := 0; h < cfg.Heads; h++ {
			var v float64
			for q := 1; q < len(ids); q++ {
				v += pat[l][h][q][0]
			}
			v /= float64(len(ids) - 1)
			vals = append(vals, v)
			lm += v
			row = append(row, fmt.Sprintf("%.0f%%", 100*v))
			shade = append(shade, v)
			if v > bestV {
				bestL, bestH, bestV = l, h, v
			}
		}
		lm /= float64(cfg.Heads)
		all += lm
		row = append(row, fmt.Sprintf("%.0f%%", 100*lm))
		shade = append(shade, math.NaN())
		t.Rows = append(t.Rows, row)
		t.Shade = append(t.Shade, shade)
		js = append(js, vals)
	}
	all /= float64(cfg.Layers)
	t.Note = fmt.Sprintf("a head spreading its attention evenly over the positions it can see would give the first token %.0f%% on average here", 100*uni)
	lines := []string{
		fmt.Sprintf("over this %d-token context the heads give the first token %.0f%% of their attention on average, %.1f× what an even spread would (%.0f%%); the strongest sink is layer %d head %d at %.0f%%",
			len(ids), 100*all, all/uni, 100*uni, bestL, bestH, 100*bestV),
	}
	s.display(c, join([]inspect.Bundle{t.Bundle(), conclusion(lines)}, map[string]any{"positions": len(ids), "sink": js, "mean": all, "uniform": uni,
		"strongest": map[string]any{"layer": bestL, "head": bestH, "weight": bestV}}))
	return nil
}
