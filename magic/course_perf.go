package magic

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// ---- %ladder ----

// ladderRung is one step of the kernel ladder.
type ladderRung struct {
	label   string
	variant string
	threads int
	format  string // v0 (fp32) or v2 (int8)
	aligned bool
	why     string
}

// ladderRungs lists the ladder for this CPU: the naive loop, the unrolled
// loop, each SIMD variant the CPU has, then the best variant with two
// threads, with int8 weights, with a 64-byte-aligned copy, and int8 on two
// threads.
func ladderRungs() []ladderRung {
	rs := []ladderRung{
		{"naive loop, one accumulator", "scalar", 1, "v0", false,
			"every add waits for the previous one to finish (a dependency chain through one register): the loop is bound by add latency, not by memory"},
		{"unrolled, four accumulators", "scalar4", 1, "v0", false,
			"four independent sums keep four adds in flight, hiding most of that latency"},
	}
	vs := asm.Variants()
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		if v.Available && v.Name != "scalar" && v.Name != "scalar4" {
			rs = append(rs, ladderRung{"SIMD (" + strings.Join(v.Features, "+") + ")", v.Name, 1, "v0", false,
				"many fused multiply-adds per instruction: arithmetic stops being the limit and the loads set the pace"})
		}
	}
	best := asm.Best()
	if asm.MaxThreads() >= 2 {
		rs = append(rs, ladderRung{"2 threads", best, 2, "v0", false,
			"a second core brings its own load ports and outstanding cache misses: one core alone may not keep the memory system busy"})
	}
	rs = append(rs,
		ladderRung{"int8 weights (Q8_0)", best, 1, "v2", false,
			"about a quarter of the bytes per weight: less to stream per token, paid for with dequantizing work"},
		ladderRung{"64-byte-aligned copy", best, 1, "v0", true,
			"every row starts on a cache line, so no load straddles two lines; the copy also lives in ordinary heap memory instead of the file's page-cache pages"},
	)
	if asm.MaxThreads() >= 2 {
		rs = append(rs, ladderRung{"int8, 2 threads", best, 2, "v2", false, "both: fewer bytes and two cores pulling them"})
	}
	return rs
}

func (s *Interpreter) doLadder(c *call) error {
	var changes []string
	shape := s.quickShape(c.args.str("shape", "stories110M"), &changes)
	if _, err := engine.Shape(shape); err != nil {
		return err
	}
	n := s.quickInt(c, "n", 32, 12, "tokens per rung", &changes)
	if n <= 0 {
		return usagef(c.spec.usage(), "-n must be positive")
	}
	id := s.newDisplayID()
	step := func(msg string) { c.out.Update(toKernel(inspect.Bundle{Text: "%ladder: " + msg}), id) }
	c.out.Display(toKernel(inspect.Bundle{Text: "%ladder: writing or opening the " + shape + "-shape models…"}), id)
	models := map[string]*engine.Model{}
	defer func() {
		for _, m := range models {
			m.Close()
		}
	}()
	for _, f := range []string{"v0", "v2"} {
		m, err := s.openShape(shape, f)
		if err != nil {
			return err
		}
		models[f] = m
	}
	mib := int(max(models["v0"].Load.FileBytes>>20, 256))
	if c.args.has("size") {
		mib = c.args.int("size", mib)
	} else if s.opts.Quick {
		changes = append(changes, fmt.Sprintf("bandwidth probe over 64 MiB instead of %d", mib))
		mib = 64
	}
	if mib <= 0 {
		return usagef(c.spec.usage(), "--size must be positive")
	}
	// The roof is the best median of a probe before and one after the
	// rungs: on a shared machine a single probe can land in a busy moment.
	roofs := map[int]float64{}
	probe := func() error {
		for _, th := range []int{1, 2} {
			if th > asm.MaxThreads() {
				continue
			}
			step(fmt.Sprintf("measuring read bandwidth with %d thread(s)…", th))
			r, err := asm.Bandwidth(c.ctx, asm.BandwidthOptions{Bytes: int64(mib) << 20, Threads: th, Repeats: 3})
			if err != nil {
				return err
			}
			roofs[th] = max(roofs[th], r.Read.Median)
		}
		return nil
	}
	if err := probe(); err != nil {
		return err
	}
	type result struct {
		r      ladderRung
		tokens int
		tps    float64
		p50    float64
		wb     int64
		gbps   float64
		frac   float64
	}
	var res []result
	for _, r := range ladderRungs() {
		step(fmt.Sprintf("%s (%s × %d, %s)…", r.label, r.variant, r.threads, r.format))
		ops, err := asm.New(r.variant, r.threads)
		if err != nil {
			return err
		}
		m := models[r.format]
		tokens, warm := n, 4
		if r.variant == "scalar" || r.variant == "scalar4" {
			tokens, warm = max(4, n/4), 1 // the slow rungs are measured well by fewer tokens
		}
		st, err := engine.NewState(m, ops)
		if err == nil && r.aligned {
			err = st.SetLayout(engine.LayoutAligned)
		}
		var br *engine.BenchResult
		if err == nil {
			br, err = st.Bench(c.ctx, engine.BenchOptions{Tokens: tokens, Warmup: warm})
		}
		ops.Close()
		if err != nil {
			return err
		}
		mv := make([]float64, len(br.Times))
		for i, d := range br.Times {
			mv[i] = ms(d)
		}
		wb := m.WeightBytes()
		gbps := float64(wb) * br.TokPerSec() / 1e9
		res = append(res, result{r: r, tokens: tokens, tps: br.TokPerSec(), p50: inspect.LatencyOf(mv).P50, wb: wb, gbps: gbps, frac: gbps / roofs[r.threads]})
	}
	if err := probe(); err != nil {
		return err
	}
	for i := range res {
		res[i].frac = res[i].gbps / roofs[res[i].r.threads]
	}
	step("done")
	t := inspect.Table{Title: fmt.Sprintf("The kernel ladder on %s-shape synthetic weights", shape),
		Header: []string{"rung", "variant", "threads", "weights", "tok/s", "× previous", "P50 ms", "bytes/token", "GB/s", "% of roof", "why"}, MaxCell: 140}
	var js []map[string]any
	var bars []inspect.Bar
	for i, r := range res {
		wt := "fp32"
		if r.r.format == "v2" {
			wt = "int8"
		}
		if r.r.aligned {
			wt += ", aligned"
		} else {
			wt += ", mapped"
		}
		prev := ""
		if i > 0 {
			prev = fmt.Sprintf("%.2f", r.tps/res[i-1].tps)
		}
		t.Rows = append(t.Rows, []string{r.r.label, r.r.variant, fmt.Sprint(r.r.threads), wt, fmt.Sprintf("%.1f", r.tps), prev, fmt.Sprintf("%.2f", r.p50),
			human(float64(r.wb), "B"), fmt.Sprintf("%.2f", r.gbps), fmt.Sprintf("%.0f%%", 100*r.frac), r.r.why})
		js = append(js, map[string]any{"rung": r.r.label, "variant": r.r.variant, "threads": r.r.threads, "format": r.r.format, "aligned": r.r.aligned,
			"tokens": r.tokens, "tok_per_s": num(r.tps), "p50_ms": num(r.p50), "weight_bytes": r.wb, "gbps": num(r.gbps), "roof_fraction": num(r.frac)})
		bars = append(bars, inspect.Bar{Label: r.r.label, Value: r.tps})
	}
	var roofTxt []string
	for _, th := range []int{1, 2} {
		if v, ok := roofs[th]; ok {
			roofTxt = append(roofTxt, fmt.Sprintf("%.2f GB/s with %d thread(s)", v, th))
		}
	}
	t.Note = fmt.Sprintf("%% of roof: effective GB/s (weight bytes per token × tok/s) over the read bandwidth with the rung's thread count (%s: the better median of a probe over %d MiB before the rungs and one after)", strings.Join(roofTxt, ", "), mib)
	find := func(pred func(ladderRung) bool) *result {
		for i := range res {
			if pred(res[i].r) {
				return &res[i]
			}
		}
		return nil
	}
	best := asm.Best()
	naive, un := &res[0], &res[1]
	simd := find(func(r ladderRung) bool { return r.variant == best && r.threads == 1 && r.format == "v0" && !r.aligned })
	fastest := &res[0]
	for i := range res {
		if res[i].tps > fastest.tps {
			fastest = &res[i]
		}
	}
	lines := []string{
		fmt.Sprintf("from the naive loop (%.1f tok/s, %.0f%% of the roof) to the fastest rung, %s (%.1f tok/s, %.0f%% of its roof): %.1f× faster", naive.tps, 100*naive.frac, fastest.r.label, fastest.tps, 100*fastest.frac, fastest.tps/naive.tps),
		fmt.Sprintf("four accumulators instead of one: %.2f×; SIMD (%s) over four accumulators: %.2f× — the naive loop is latency-bound arithmetic, far below the memory wall", un.tps/naive.tps, best, simd.tps/un.tps),
	}
	if two := find(func(r ladderRung) bool { return r.threads == 2 && r.format == "v0" }); two != nil {
		lines = append(lines, fmt.Sprintf("a second thread: %.2f× (%.0f%% → %.0f%% of the roof; the two-thread roof is %.2f GB/s against %.2f with one)", two.tps/simd.tps, 100*simd.frac, 100*two.frac, roofs[2], roofs[1]))
	}
	if q := find(func(r ladderRung) bool { return r.format == "v2" && r.threads == 1 }); q != nil {
		lines = append(lines, fmt.Sprintf("int8 weights: %.2f× the bytes of fp32 per token and %.2f× the speed: %s", float64(q.wb)/float64(simd.wb), q.tps/simd.tps,
			verdict(q.tps/simd.tps, float64(simd.wb)/float64(q.wb))))
	}
	if a := find(func(r ladderRung) bool { return r.aligned }); a != nil {
		d := a.tps/simd.tps - 1
		w := "within a few per cent: alignment is not what limits decoding"
		if math.Abs(d) > 0.05 {
			w = "a difference beyond run-to-run noise"
		}
		lines = append(lines, fmt.Sprintf("the 64-byte-aligned copy: %+.1f%% against the mapped, misaligned weights — %s", 100*d, w))
	}
	chart := inspect.BarChart(bars, inspect.ChartOpts{Title: "Tokens per second, rung by rung", XLabel: "tok/s", Height: 60 + 28*float64(len(bars))})
	s.display(c, join(parts(quickBundle(changes), t.Bundle(), chart, conclusion(lines)), map[string]any{"shape": shape, "roofs_gbps": map[string]float64{"1": roofs[1], "2": roofs[2]},
		"probe_mib": mib, "quick": s.opts.Quick, "rungs": js}))
	return nil
}

// verdict says how a speed-up compares with a reduction in bytes.
func verdict(speedup, fewerBytes float64) string {
	switch {
	case speedup >= 0.8*fewerBytes:
		return fmt.Sprintf("most of the %.1f× cut in bytes turns into speed, as a memory-bound loop should", fewerBytes)
	case speedup > 1.05:
		return fmt.Sprintf("part of the %.1f× cut in bytes turns into speed; the rest goes into dequantizing and quantizing activations", fewerBytes)
	default:
		return fmt.Sprintf("the %.1f× cut in bytes buys nothing here: this kernel is bound by its arithmetic, not by memory", fewerBytes)
	}
}

// ---- %latency ----

func (s *Interpreter) doLatency(c *call) error {
	var changes []string
	m := s.model
	label := ""
	if c.args.has("shape") {
		shape := s.quickShape(c.args.str("shape", ""), &changes)
		var err error
		if m, err = s.openShape(shape, "v1"); err != nil {
			return err
		}
		defer m.Close()
		label = shape + "-shape synthetic fp32"
	} else {
		if err := s.ensureModel(c); err != nil {
			return err
		}
		m = s.model
		label = m.Path[strings.LastIndex(m.Path, "/")+1:]
	}
	n := s.quickInt(c, "n", 256, 64, "decoded tokens", &changes)
	prompt := s.quickInt(c, "prompt", 64, 32, "prompt tokens", &changes)
	warm := c.args.int("warmup", 4)
	n = min(n, m.SeqLen)
	prompt = min(prompt, m.SeqLen)
	if n < 8 || prompt < 1 || warm < 0 || warm >= n/2 {
		return usagef(c.spec.usage(), "-n must be at least 8, --prompt positive, --warmup in [0, n/2)")
	}
	ops, err := asm.New(s.variant, s.threads)
	if err != nil {
		return err
	}
	defer ops.Close()
	id := s.newDisplayID()
	step := func(msg string) { c.out.Update(toKernel(inspect.Bundle{Text: "%latency: " + msg}), id) }
	c.out.Display(toKernel(inspect.Bundle{Text: "%latency: cold first token…"}), id)

	// A cold first token: this process's mapping of the weights evicted.
	firstToken := func() (time.Duration, error) {
		st, err := engine.NewState(m, ops)
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		_, err = st.Forward(c.ctx, engine.BOS, 0)
		return time.Since(t0), err
	}
	var cold time.Duration
	evicted := m.Mapped()
	if evicted {
		if err := m.Evict(); err != nil {
			return err
		}
	}
	if cold, err = firstToken(); err != nil {
		return err
	}
	warmFirst, err := firstToken()
	if err != nil {
		return err
	}

	// Decode n tokens from position 0, timing each and the attention in it.
	step(fmt.Sprintf("decoding %d tokens…", n))
	st, err := engine.NewState(m, ops)
	if err != nil {
		return err
	}
	prof := engine.NewProfile()
	st.Profile = prof
	attn := func() time.Duration {
		for _, o := range prof.Ops() {
			if o.Name == "attention" {
				return o.Time
			}
		}
		return 0
	}
	lat := make([]float64, n)
	attMS := make([]float64, n)
	tok := engine.BOS
	for pos := 0; pos < n; pos++ {
		a0 := attn()
		t0 := time.Now()
		logits, err := st.Forward(c.ctx, tok, pos)
		if err != nil {
			return err
		}
		tok = engine.Argmax(logits)
		lat[pos] = ms(time.Since(t0))
		attMS[pos] = ms(attn() - a0)
	}
	steady := lat[warm:]
	L := inspect.LatencyOf(steady)
	// Least-squares slope of latency against position, after warm-up.
	var sx, sy, sxx, sxy float64
	for i, v := range steady {
		x := float64(i + warm)
		sx, sy, sxx, sxy = sx+x, sy+v, sxx+x*x, sxy+x*v
	}
	k := float64(len(steady))
	slope := (k*sxy - sx*sy) / (k*sxx - sx*sx)
	w := max(4, len(steady)/8)
	early, late := mean(steady[:w]), mean(steady[len(steady)-w:])
	attEarly, attLate := mean(attMS[warm:warm+w]), mean(attMS[n-w:])

	// Time to first token of a prompt.
	step(fmt.Sprintf("time to first token of a %d-token prompt…", prompt))
	ttft := func(batched, evict bool) (time.Duration, error) {
		st, err := engine.NewState(m, ops)
		if err != nil {
			return 0, err
		}
		if evict && m.Mapped() {
			if err := m.Evict(); err != nil {
				return 0, err
			}
		}
		return st.TimeToFirstToken(c.ctx, prompt, batched)
	}
	coldB, err := ttft(true, true)
	if err != nil {
		return err
	}
	warmB, err := ttft(true, false)
	if err != nil {
		return err
	}
	warmT, err := ttft(false, false)
	if err != nil {
		return err
	}
	step("done")

	t := inspect.Table{Title: fmt.Sprintf("Per-token latency: %s, %s × %d thread(s), %d tokens from position 0", label, ops.Name, ops.Threads(), n),
		Header: []string{"measure", "ms"}, RowHeader: true}
	add := func(name string, v float64) { t.Rows = append(t.Rows, []string{name, fmt.Sprintf("%.3f", v)}) }
	add("first token, cold (mapping evicted)", ms(cold))
	add("first token, warm", ms(warmFirst))
	add(fmt.Sprintf("P50 (positions %d–%d)", warm, n-1), L.P50)
	add("P99", L.P99)
	add("P99.9", L.P999)
	add("max", L.Max)
	t.Rows = append(t.Rows, []string{"CV (std/mean)", fmt.Sprintf("%.3f", L.CV)})
	add(fmt.Sprintf("mean of the first %d timed tokens", w), early)
	add(fmt.Sprintf("mean of the last %d", w), late)
	add("attention per token, early", attEarly)
	add("attention per token, late", attLate)
	add(fmt.Sprintf("time to first token, %d-token prompt, batched prefill, cold", prompt), ms(coldB))
	add("… batched prefill, warm", ms(warmB))
	add("… token by token, warm", ms(warmT))
	t.Note = fmt.Sprintf("the first %d tokens are warm-up and not in the distribution; cold: this process's mapping of the weights dropped first (madvise), the page cache keeps the file", warm)

	pos := make([]float64, n)
	for i := range pos {
		pos[i] = float64(i)
	}
	chart := inspect.LineChart([]inspect.Series{{Name: "whole token", X: pos, Y: lat}, {Name: "attention", X: pos, Y: attMS}},
		inspect.ChartOpts{Title: "Latency against position", XLabel: "position", YLabel: "ms"})
	cdf := inspect.CDFPlot([]inspect.Sample{{Name: "per-token latency", Values: steady}}, inspect.ChartOpts{Title: "Per-token latency (CDF, after warm-up)", XLabel: "ms", YLabel: "fraction of tokens", Height: 260})

	drift := 100 * (late/early - 1)
	judge := func(d time.Duration) string {
		if d <= turnTaking {
			return "under"
		}
		return "over"
	}
	lines := []string{
		fmt.Sprintf("steady-state latency P50 %.2f ms, P99 %.2f ms (%.2f× P50), P99.9 %.2f ms, CV %.3f", L.P50, L.P99, L.P99/L.P50, L.P999, L.CV),
		fmt.Sprintf("latency drifts %+.1f%% from the first to the last %d tokens (%.4f ms per position): attention reads a longer cache at each position, %.3f → %.3f ms per token (%.1f%% → %.1f%% of the token)",
			drift, w, slope, attEarly, attLate, 100*attEarly/early, 100*attLate/late),
		fmt.Sprintf("the first token took %.2f ms with its weights unmapped and %.2f ms warm, against a steady-state P50 of %.2f ms (cold/P50 = %.2f)", ms(cold), ms(warmFirst), L.P50, ms(cold)/L.P50),
		fmt.Sprintf("a %d-token prompt answers after %.1f ms batched (%.1f ms with the weights unmapped) and %.1f ms token by token (%.1f× slower): batched is %s and token by token %s the %d ms turn-taking threshold",
			prompt, ms(warmB), ms(coldB), ms(warmT), ms(warmT)/ms(warmB), judge(warmB), judge(warmT), turnTaking.Milliseconds()),
	}
	js := map[string]any{"model": label, "tokens": n, "warmup": warm, "prompt": prompt, "cold_first_ms": ms(cold), "warm_first_ms": ms(warmFirst),
		"p50_ms": L.P50, "p99_ms": num(L.P99), "p999_ms": num(L.P999), "max_ms": L.Max, "cv": L.CV, "drift_pct": drift, "slope_ms_per_pos": slope,
		"attention_early_ms": attEarly, "attention_late_ms": attLate, "ttft_batched_cold_ms": ms(coldB), "ttft_batched_ms": ms(warmB),
		"ttft_token_by_token_ms": ms(warmT), "threshold_ms": turnTaking.Milliseconds(), "ms": lat, "attention_ms": attMS, "quick": s.opts.Quick}
	s.display(c, join(parts(quickBundle(changes), t.Bundle(), chart, cdf, conclusion(lines)), js))
	return nil
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
