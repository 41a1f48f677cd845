package course

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// Rung is one step of the kernel ladder.
type Rung struct {
	ID      string // names the rung in comparisons: naive, unrolled, simd-<variant>, threads, int8, aligned, int8-threads
	Label   string
	Variant string
	Threads int
	Int8    bool // Q8_0 weights instead of fp32
	Aligned bool // a 64-byte-aligned heap copy instead of the mapping
	Why     string
	// Weights, when set, converts the fp32 model's matrices at load
	// (engine.ParseWeights: "bf16", "q4_0,f16"): a rung of another weight
	// type, run on a converted copy on the heap.
	Weights string
}

// Rungs lists the ladder for this CPU: the naive loop, the unrolled loop,
// each SIMD variant the CPU has, then the best variant with two threads,
// with int8 weights, with a 64-byte-aligned copy, and int8 on two threads.
func Rungs() []Rung {
	rs := []Rung{
		{ID: "naive", Label: "naive loop, one accumulator", Variant: "scalar", Threads: 1,
			Why: "every add waits for the previous one (a dependency chain through one register)"},
		{ID: "unrolled", Label: "unrolled, four accumulators", Variant: "scalar4", Threads: 1,
			Why: "four independent sums keep four adds in flight"},
	}
	vs := asm.Variants()
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		if v.Available && v.Name != "scalar" && v.Name != "scalar4" {
			rs = append(rs, Rung{ID: "simd-" + v.Name, Label: "SIMD (" + strings.Join(v.Features, "+") + ")", Variant: v.Name, Threads: 1,
				Why: "many fused multiply-adds per instruction"})
		}
	}
	best := asm.Best()
	if asm.MaxThreads() >= 2 {
		rs = append(rs, Rung{ID: "threads", Label: "2 threads", Variant: best, Threads: 2, Why: "a second core brings its own load ports and outstanding misses"})
	}
	rs = append(rs,
		Rung{ID: "bf16", Label: "bf16 weights (2 bytes each)", Variant: best, Threads: 1, Weights: "bf16", Why: "half the bytes of fp32, widened to fp32 in registers"},
		Rung{ID: "int8", Label: "int8 weights (Q8_0)", Variant: best, Threads: 1, Int8: true, Why: "about a quarter of the bytes per weight, paid for with dequantizing work"},
		Rung{ID: "q4_0", Label: "4-bit weights (Q4_0, 0.5625 bytes each; f16 where rows do not fit)", Variant: best, Threads: 1, Weights: "q4_0,f16",
			Why: "an eighth of fp32's bytes, unpacked in registers"},
		Rung{ID: "aligned", Label: "64-byte-aligned copy", Variant: best, Threads: 1, Aligned: true, Why: "every row starts on a cache line, in ordinary heap memory"},
	)
	if asm.MaxThreads() >= 2 {
		rs = append(rs, Rung{ID: "int8-threads", Label: "int8, 2 threads", Variant: best, Threads: 2, Int8: true, Why: "fewer bytes and two cores pulling them"})
	}
	return rs
}

// LadderOptions controls Ladder.
type LadderOptions struct {
	Shape      string        // for the title
	FP32, Int8 *engine.Model // the same shape, fp32 and Q8_0
	// Convert opens the fp32 model again with its matrices converted
	// (Rung.Weights); nil leaves the converted rungs out.
	Convert      func(weights string) (*engine.Model, error)
	Tokens       int   // timed tokens per rung and repeat (default 32; the scalar rungs an eighth, at least 2)
	Warmup       int   // per rung and repeat (default 4; the scalar rungs 1)
	Repeats      int   // interleaved rounds (default 5, the fewest a comparison decides from)
	ProbeBytes   int64 // bandwidth probe size (default the fp32 weights per token, at least 256 MiB)
	PromptTokens int   // also time the first token of a prompt this long on the best 1-thread rung (0: no)
	Progress     Progress
	Quick        []string
}

// RungResult is one rung over all repeats.
type RungResult struct {
	Rung
	Tokens      int
	TokS        []float64 // per repeat
	P50Ms       float64   // over every timed token of every repeat
	P99Ms       float64   // NaN when the pooled sample is too small
	WeightBytes int64     // per token, counted by the cost model
	Format      string
	Layout      string
	Weights     string // the matrices' storage (engine's WeightTypes)
}

// Median tok/s over the repeats.
func (r RungResult) Median() float64 { return median(r.TokS) }

// GBps is the effective weight bandwidth at the median rate.
func (r RungResult) GBps() float64 { return float64(r.WeightBytes) * r.Median() / 1e9 }

// LadderResult is the whole ladder.
type LadderResult struct {
	Shape      string
	Rungs      []RungResult
	Probes     map[int][]float64 // read GB/s by thread count, one probe per round (before each round, and one after the last)
	ProbeBytes int64
	Repeats    int
	TTFT       *TTFT
	Quick      []string
}

// TTFT is the time to first token of a prompt, batched and token by token.
type TTFT struct {
	PromptTokens            int
	BatchedMs, TokenByToken float64
	Variant                 string
}

// Roof is the read roof for a thread count: the spread of its probes.
func (l *LadderResult) Roof(threads int) inspect.Spread { return inspect.SpreadOf(l.Probes[threads]) }

// Fraction is a rung's effective bandwidth over the median roof of its
// thread count.
func (l *LadderResult) Fraction(r RungResult) float64 { return r.GBps() / l.Roof(r.Threads).Median }

// Rung finds a rung by id.
func (l *LadderResult) Rung(id string) (RungResult, bool) {
	for _, r := range l.Rungs {
		if r.ID == id {
			return r, true
		}
	}
	return RungResult{}, false
}

// Ladder runs every rung Repeats times, round by round (each round runs
// every rung once, after a bandwidth probe per thread count), so that a
// busy moment of a shared machine falls on all rungs alike and the
// comparisons between rungs can tell a difference from noise.
func Ladder(ctx context.Context, opt LadderOptions) (*LadderResult, error) {
	if opt.FP32 == nil || opt.Int8 == nil {
		return nil, fmt.Errorf("ladder: needs an fp32 and an int8 model")
	}
	if opt.Tokens == 0 {
		opt.Tokens = 32
	}
	if opt.Warmup == 0 {
		opt.Warmup = 4
	}
	if opt.Repeats == 0 {
		opt.Repeats = 5
	}
	if opt.Tokens < 1 || opt.Repeats < 1 || opt.Warmup < 0 {
		return nil, fmt.Errorf("ladder: tokens and repeats must be positive, warm-up not negative")
	}
	if opt.ProbeBytes == 0 {
		opt.ProbeBytes = max(opt.FP32.WeightBytes(), 256<<20)
	}
	res := &LadderResult{Shape: opt.Shape, Probes: map[int][]float64{}, ProbeBytes: opt.ProbeBytes, Repeats: opt.Repeats, Quick: opt.Quick}
	converted := map[string]*engine.Model{}
	defer func() {
		for _, m := range converted {
			m.Close()
		}
	}()
	var rungs []Rung
	for _, r := range Rungs() {
		if r.Weights == "" {
			rungs = append(rungs, r)
			continue
		}
		if opt.Convert == nil {
			continue
		}
		opt.Progress.say("converting the weights to %s…", r.Weights)
		m, err := opt.Convert(r.Weights)
		if err != nil {
			return nil, fmt.Errorf("ladder rung %q: %w", r.Label, err)
		}
		converted[r.Weights] = m
		rungs = append(rungs, r)
	}
	modelOf := func(r Rung) *engine.Model {
		switch {
		case r.Weights != "":
			return converted[r.Weights]
		case r.Int8:
			return opt.Int8
		}
		return opt.FP32
	}
	for _, r := range rungs {
		m := modelOf(r)
		rr := RungResult{Rung: r, Tokens: opt.Tokens, WeightBytes: m.WeightBytes(), Format: m.FormatName(), Layout: engine.LayoutMapped.String(),
			Weights: m.WeightTypes()}
		switch {
		case r.Aligned:
			rr.Layout = engine.LayoutAligned.String()
		case m.Load.Converted != "":
			rr.Layout = "converted copy on the heap"
		}
		if r.Variant == "scalar" || r.Variant == "scalar4" {
			rr.Tokens = max(2, opt.Tokens/8)
		}
		res.Rungs = append(res.Rungs, rr)
	}
	probe := func() error {
		for _, th := range []int{1, 2} {
			if th > asm.MaxThreads() {
				continue
			}
			opt.Progress.say("read bandwidth, %d thread(s)…", th)
			b, err := asm.Bandwidth(ctx, asm.BandwidthOptions{Bytes: opt.ProbeBytes, Threads: th, Repeats: 1})
			if err != nil {
				return err
			}
			res.Probes[th] = append(res.Probes[th], b.Read.Median)
		}
		return nil
	}
	pooled := make([][]float64, len(rungs))
	for round := 0; round < opt.Repeats; round++ {
		if err := probe(); err != nil {
			return nil, err
		}
		for i, r := range rungs {
			opt.Progress.say("round %d/%d: %s (%s × %d)…", round+1, opt.Repeats, r.Label, r.Variant, r.Threads)
			m := modelOf(r)
			warm := opt.Warmup
			if r.Variant == "scalar" || r.Variant == "scalar4" {
				warm = min(warm, 1)
			}
			br, err := benchRung(ctx, m, r, res.Rungs[i].Tokens, warm)
			if err != nil {
				return nil, fmt.Errorf("ladder rung %q: %w", r.Label, err)
			}
			res.Rungs[i].TokS = append(res.Rungs[i].TokS, br.TokPerSec())
			for _, d := range br.Times {
				pooled[i] = append(pooled[i], ms(d))
			}
		}
	}
	if err := probe(); err != nil {
		return nil, err
	}
	for i := range res.Rungs {
		l := inspect.LatencyOf(pooled[i])
		res.Rungs[i].P50Ms, res.Rungs[i].P99Ms = l.P50, l.P99
	}
	if opt.PromptTokens > 0 {
		ops, err := asm.New(asm.Best(), 1)
		if err != nil {
			return nil, err
		}
		defer ops.Close()
		st, err := engine.NewState(opt.FP32, ops)
		if err != nil {
			return nil, err
		}
		tb, err := st.TimeToFirstToken(ctx, opt.PromptTokens, true)
		if err != nil {
			return nil, err
		}
		tt, err := st.TimeToFirstToken(ctx, opt.PromptTokens, false)
		if err != nil {
			return nil, err
		}
		res.TTFT = &TTFT{PromptTokens: opt.PromptTokens, BatchedMs: ms(tb), TokenByToken: ms(tt), Variant: ops.Name}
	}
	return res, nil
}

func benchRung(ctx context.Context, m *engine.Model, r Rung, tokens, warm int) (*engine.BenchResult, error) {
	layout := engine.LayoutMapped
	if r.Aligned {
		layout = engine.LayoutAligned
	}
	st, release, err := newState(m, r.Variant, r.Threads, layout)
	if err != nil {
		return nil, err
	}
	defer release()
	return st.Bench(ctx, engine.BenchOptions{Tokens: tokens, Warmup: warm})
}

// ladderSteps are the comparisons the ladder draws: rung B against rung A.
var ladderSteps = []struct{ id, a, b, claim string }{
	{"unrolled", "naive", "unrolled", "four accumulators are faster than one"},
	{"simd", "unrolled", "simd-" + asm.Best(), "SIMD is faster than the unrolled scalar loop"},
	{"threads", "simd-" + asm.Best(), "threads", "a second thread is faster than one"},
	{"bf16", "simd-" + asm.Best(), "bf16", "bf16 weights decode faster than fp32"},
	{"int8", "simd-" + asm.Best(), "int8", "int8 weights decode faster than fp32"},
	{"q4_0", "int8", "q4_0", "4-bit weights decode faster than int8 (the paper's \"doubling the throughput again\")"},
	{"aligned", "simd-" + asm.Best(), "aligned", "a 64-byte-aligned copy decodes faster than the mapped weights"},
	{"int8_threads", "int8", "int8-threads", "int8 on two threads is faster than on one"},
}

// Step compares rung b against rung a by their interleaved repeats.
func (l *LadderResult) Step(a, b string) (inspect.Comparison, RungResult, RungResult, bool) {
	ra, ok1 := l.Rung(a)
	rb, ok2 := l.Rung(b)
	if !ok1 || !ok2 {
		return inspect.Comparison{}, ra, rb, false
	}
	return inspect.Compare(ra.TokS, rb.TokS, 0.95), ra, rb, true
}

// Conclusions computes the ladder's findings from its repeats.
func (l *LadderResult) Conclusions() Conclusions {
	var cs Conclusions
	for _, s := range ladderSteps {
		cmp, ra, rb, ok := l.Step(s.a, s.b)
		if !ok {
			continue
		}
		c := Conclusion{ID: s.id, Claim: s.claim, Source: Measured,
			Evidence: comparisonEvidence(cmp, "a_tok_s", ra.Median(), "b_tok_s", rb.Median(), "a_roof_fraction", l.Fraction(ra), "b_roof_fraction", l.Fraction(rb))}
		v := Compared(cmp)
		c.Verdict = fasterHolds(v)
		c.Text = fmt.Sprintf("%s against %s: %.1f against %.1f tok/s — %s (%s)", rb.Label, ra.Label, rb.Median(), ra.Median(), v, intervalText(cmp))
		if ra.WeightBytes != rb.WeightBytes { // a rung of other weights: how much of the byte cut became speed
			cut := float64(ra.WeightBytes) / float64(rb.WeightBytes)
			c.Evidence["bytes_cut"] = cut
			switch {
			case v == Faster && cmp.Ratio > 1.2*cut:
				c.Text += fmt.Sprintf("; that is more than the %.2f× cut in bytes (counted): bytes are not what bounds these rungs (weights in cache, or the slower rung held back by its arithmetic)", cut)
			case v == Faster && cmp.Ratio >= 0.8*cut:
				c.Text += fmt.Sprintf("; most of the %.2f× cut in bytes (counted) turns into speed, as a memory-bound loop's should", cut)
			case v == Faster:
				c.Text += fmt.Sprintf("; %.2f× of a %.2f× cut in bytes (counted) turns into speed", cmp.Ratio, cut)
			case v == Slower:
				c.Text += fmt.Sprintf("; a %.2f× cut in bytes (counted) made it slower: check which %s kernel ran for %s", cut, rb.Variant, rb.Label)
			case v == NoDiff:
				c.Text += fmt.Sprintf("; a %.2f× cut in bytes (counted) gave no speed-up beyond noise", cut)
			default:
				c.Text += fmt.Sprintf("; too few rounds to tell what a %.2f× cut in bytes (counted) does", cut)
			}
		}
		cs = append(cs, c)
	}
	for _, th := range []int{1, 2} {
		s := l.Roof(th)
		if s.N == 0 {
			continue
		}
		c := Conclusion{ID: fmt.Sprintf("roof_%dt", th), Claim: fmt.Sprintf("the %d-thread read roof held steady over the run (probes within 15%% of their median)", th), Source: Measured,
			Evidence: ev("median_gbps", s.Median, "min_gbps", s.Min, "max_gbps", s.Max, "probes", s.N, "rel_range", s.RelRange())}
		if s.RelRange() <= 0.15 {
			c.Verdict = Holds
		} else {
			c.Verdict = DoesNotHold
		}
		c.Text = fmt.Sprintf("%d probes with %d thread(s): %.2f–%.2f GB/s around a median of %.2f (range %.0f%% of the median)", s.N, th, s.Min, s.Max, s.Median, 100*s.RelRange())
		if c.Verdict == DoesNotHold {
			c.Text += ": the machine was busy; the roof fractions are uncertain by as much"
		}
		cs = append(cs, c)
	}
	return cs
}

// JSON is the ladder's numbers and conclusions.
func (l *LadderResult) JSON() map[string]any {
	var rungs []map[string]any
	for _, r := range l.Rungs {
		rungs = append(rungs, map[string]any{"id": r.ID, "rung": r.Label, "variant": r.Variant, "threads": r.Threads, "int8": r.Int8, "aligned": r.Aligned,
			"format": r.Format, "layout": r.Layout, "weights": r.Weights, "tokens": r.Tokens, "tok_per_s_runs": r.TokS, "tok_per_s": Num(r.Median()),
			"p50_ms": Num(r.P50Ms), "p99_ms": Num(r.P99Ms), "weight_bytes": r.WeightBytes, "weight_bytes_source": Counted,
			"gbps": Num(r.GBps()), "roof_fraction": Num(l.Fraction(r))})
	}
	roofs := map[string]any{}
	for th, p := range l.Probes {
		s := inspect.SpreadOf(p)
		roofs[fmt.Sprint(th)] = map[string]any{"median": s.Median, "min": s.Min, "max": s.Max, "probes": p}
	}
	js := map[string]any{"shape": l.Shape, "repeats": l.Repeats, "probe_bytes": l.ProbeBytes, "roofs_gbps": roofs, "rungs": rungs,
		"quick": len(l.Quick) > 0, "percentile_definition": inspect.PercentileDefinition, "conclusions": l.Conclusions().JSON()}
	if l.TTFT != nil {
		js["ttft"] = map[string]any{"prompt_tokens": l.TTFT.PromptTokens, "batched_ms": l.TTFT.BatchedMs, "token_by_token_ms": l.TTFT.TokenByToken, "variant": l.TTFT.Variant}
	}
	return js
}

// Table is the ladder as a table.
func (l *LadderResult) Table() inspect.Table {
	t := inspect.Table{Title: fmt.Sprintf("The kernel ladder on %s-shape synthetic weights (%d interleaved rounds)", l.Shape, l.Repeats),
		Header: []string{"rung", "variant", "threads", "weights", "tok/s (median)", "runs", "P50 ms", "bytes/token", "GB/s", "% of roof", "why"}, MaxCell: 90}
	for _, r := range l.Rungs {
		wt := r.Weights + ", " + r.Layout
		t.Rows = append(t.Rows, []string{r.Label, r.Variant, fmt.Sprint(r.Threads), wt, fmt.Sprintf("%.1f", r.Median()), runsText(r.TokS),
			inspect.Cell(r.P50Ms, "%.2f"), fmt.Sprint(r.WeightBytes), fmt.Sprintf("%.2f", r.GBps()), fmt.Sprintf("%.0f%%", 100*l.Fraction(r)), r.Why})
	}
	var roofTxt []string
	for _, th := range []int{1, 2} {
		if s := l.Roof(th); s.N > 0 {
			roofTxt = append(roofTxt, fmt.Sprintf("%d thread(s) %.2f GB/s (%d probes, %.2f–%.2f)", th, s.Median, s.N, s.Min, s.Max))
		}
	}
	t.Note = fmt.Sprintf("bytes/token counted by the cost model; %% of roof: effective GB/s (bytes/token × median tok/s) over the median read probe with the rung's thread count, probes of %d MB interleaved with the rounds: %s",
		l.ProbeBytes/1000000, strings.Join(roofTxt, "; "))
	return t
}

// Bundle renders the ladder: table, chart, conclusions.
func (l *LadderResult) Bundle() inspect.Bundle {
	var bars []inspect.Bar
	for _, r := range l.Rungs {
		bars = append(bars, inspect.Bar{Label: r.Label, Value: r.Median()})
	}
	chart := inspect.BarChart(bars, inspect.ChartOpts{Title: "Tokens per second, rung by rung (median of the rounds)", XLabel: "tok/s", Height: 60 + 28*float64(len(bars))})
	parts := []inspect.Bundle{Quick(l.Quick), l.Table().Bundle(), chart}
	if m, p, ok := l.BytesPerWeight(); ok {
		parts = append(parts, inspect.LineChart([]inspect.Series{m, p}, inspect.ChartOpts{
			Title:  "tok/s against bytes per weight, 1 thread: measured, and the read roof's prediction (roof ÷ counted bytes per token)",
			XLabel: "bytes per weight (counted)", YLabel: "tok/s"}))
	}
	return inspect.Join(append(parts, l.Conclusions().Bundle()), l.JSON())
}

// BytesPerWeight gives, for the one-thread rungs of the best SIMD variant
// reading mapped weights (fp32, bf16, int8, Q4_0: whichever ran), the
// measured median tok/s and the read roof's prediction against bytes per
// weight, in order of bytes. A rung's bytes per weight is 4 × its bytes
// per token over the fp32 rung's (both counted), so norms and scales are
// spread over the weights as they are read. Where the measured line
// leaves the prediction, arithmetic, not bytes, sets the speed. ok is
// false without the fp32 rung, a second weight type or a probe.
func (l *LadderResult) BytesPerWeight() (m, p inspect.Series, ok bool) {
	fp, found := l.Rung("simd-" + asm.Best())
	roof := l.Roof(1).Median
	if !found || fp.WeightBytes <= 0 || !(roof > 0) {
		return m, p, false
	}
	var rs []RungResult
	for _, r := range l.Rungs {
		if r.Threads == 1 && r.Variant == fp.Variant && !r.Aligned && r.WeightBytes > 0 && (r.ID == fp.ID || r.Int8 || r.Weights != "") {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(a, b RungResult) int { return cmp.Compare(a.WeightBytes, b.WeightBytes) })
	m.Name, p.Name = "measured (median tok/s)", "predicted: read roof / bytes per token"
	for _, r := range rs {
		x := 4 * float64(r.WeightBytes) / float64(fp.WeightBytes)
		m.X, m.Y = append(m.X, x), append(m.Y, r.Median())
		p.X, p.Y = append(p.X, x), append(p.Y, roof*1e9/float64(r.WeightBytes))
	}
	return m, p, len(rs) >= 2
}
