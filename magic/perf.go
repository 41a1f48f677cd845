package magic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/course"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// ---- %variant, %threads, %layout ----

func (s *Interpreter) variantTable() inspect.Bundle {
	active := ""
	if s.ops != nil {
		active = s.ops.Name
	}
	t := inspect.Table{Title: "Kernel variants (fastest first)", Header: []string{"variant", "CPU features", "available", "rank", "active"},
		Note: fmt.Sprintf("auto = %s; %d thread(s); %%variant NAME switches", asm.Best(), s.threads)}
	var js []map[string]any
	for _, v := range asm.Variants() {
		mark := ""
		if v.Name == active {
			mark = "◀ active"
		}
		feat := strings.Join(v.Features, "+")
		if feat == "" {
			feat = "(none)"
		}
		t.Rows = append(t.Rows, []string{v.Name, feat, yesNo(v.Available), fmt.Sprint(v.Rank), mark})
		js = append(js, map[string]any{"name": v.Name, "features": nonNil(v.Features), "available": v.Available, "rank": v.Rank, "active": v.Name == active})
	}
	var routines map[string]string
	if s.ops != nil && s.model != nil {
		// What actually runs for this model's shapes, fallbacks named.
		routines = engine.KernelRoutines(s.model, s.ops.Kernels)
		t.Note += "; with " + s.modelName() + ": " + engine.KernelSummary(s.model, s.ops.Kernels)
	}
	b := t.Bundle()
	b.JSON = map[string]any{"variants": js, "active": active, "best": asm.Best(), "threads": s.threads, "routines": routines}
	return b
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// setOps switches the kernels of the main and scratch states.
func (s *Interpreter) setOps(variant string, threads int) error {
	if err := s.busyStepping("switch kernels"); err != nil {
		return err
	}
	ops, err := asm.New(variant, threads)
	if err != nil {
		return err
	}
	if s.ops != nil {
		s.ops.Close()
	}
	s.variant, s.threads = variant, threads
	if s.st != nil {
		s.ops = ops
		s.st.SetOps(ops)
		if s.scratch != nil {
			s.scratch.SetOps(ops)
		}
	} else {
		ops.Close()
	}
	return nil
}

func (s *Interpreter) doVariant(c *call) error {
	if len(c.args.pos) == 1 {
		if err := s.setOps(c.args.pos[0].text, s.threads); err != nil {
			return err
		}
	}
	s.display(c, s.variantTable())
	return nil
}

func (s *Interpreter) doThreads(c *call) error {
	if len(c.args.pos) == 1 {
		n, err := strconv.Atoi(c.args.pos[0].text)
		if err != nil || n < 1 {
			return usagef(c.spec.usage(), "expected a positive thread count, got %q", c.args.pos[0].text)
		}
		if err := s.setOps(s.variant, n); err != nil {
			return err
		}
	}
	msg := fmt.Sprintf("%d thread(s) for the matrix products (this machine offers %d)", s.threads, asm.MaxThreads())
	s.display(c, textBundle(msg, map[string]any{"threads": s.threads, "max_threads": asm.MaxThreads()}))
	return nil
}

func (s *Interpreter) doLayout(c *call) error {
	if len(c.args.pos) == 1 {
		if err := s.busyStepping("switch layout"); err != nil {
			return err
		}
		var l engine.Layout
		switch c.args.pos[0].text {
		case "mapped":
			l = engine.LayoutMapped
		case "aligned":
			l = engine.LayoutAligned
		default:
			return usagef(c.spec.usage(), "expected mapped or aligned, got %q", c.args.pos[0].text)
		}
		if s.st != nil {
			if err := s.st.SetLayout(l); err != nil {
				return err
			}
			if s.scratch != nil {
				if err := s.scratch.SetLayout(l); err != nil {
					return err
				}
			}
		}
		s.layout = l
	}
	msg := fmt.Sprintf("weights read from: %s", s.layout)
	if s.model != nil {
		al := 0
		for _, t := range s.model.Tensors {
			if t.Alignment() == 64 {
				al++
			}
		}
		msg += fmt.Sprintf(" (%d of %d tensors in the file start on a 64-byte boundary; the aligned copy puts all of them on one)", al, len(s.model.Tensors))
	}
	s.display(c, textBundle(msg, map[string]any{"layout": s.layout.String()}))
	return nil
}

// ---- %time ----

// profRun collects the profile of the generations inside %%time.
type profRun struct {
	prefill, decode *engine.Profile
	wall            time.Duration // decode loop wall time
	tokens          int
	threads         int // of the decoding's ops
}

// timeRun is a finished profile.
type timeRun struct {
	ops     []engine.OpStat
	wall    time.Duration
	tokens  int
	prefill time.Duration
	label   string
	threads int // the thread count the profile was taken with
}

// opOrder is the order of ops in the breakdown (others follow).
var opOrder = []string{"embed", "rmsnorm", "quantize", "wq", "wk", "wv", "rope", "attention", "wo", "residual", "w1", "w3", "swiglu", "w2", "classifier", "sampling"}

func (s *Interpreter) doTime(c *call) error {
	if c.cell {
		if err := s.ensureModel(c); err != nil {
			return err
		}
		if s.prof != nil {
			return errors.New("%%time cannot be nested")
		}
		pr := &profRun{prefill: engine.NewProfile(), decode: engine.NewProfile()}
		s.prof = pr
		err := s.execute(c.ctx, c.body, c.out, c.line)
		s.prof = nil
		if err != nil {
			return err
		}
		if pr.tokens == 0 {
			return errors.New("the body generated no tokens, so there is nothing to break down (put %generate or a prompt in the cell)")
		}
		run := &timeRun{ops: pr.decode.Ops(), wall: pr.wall, tokens: pr.tokens, prefill: pr.prefill.Total(), label: "%%time body", threads: pr.threads}
		s.lastProfile = run
		s.display(c, s.timeBundle(run))
		return nil
	}
	if err := s.ensureModel(c); err != nil {
		return err
	}
	if c.args.has("threads") {
		counts, err := c.args.intList("threads", nil)
		if err != nil {
			return err
		}
		n := c.args.int("n", 32)
		if n <= 0 {
			return usagef(c.spec.usage(), "-n must be positive")
		}
		return s.timeThreads(c, n, counts, c.args.int("repeats", 5))
	}
	if s.lastProfile != nil && !c.args.has("n") {
		s.display(c, s.timeBundle(s.lastProfile))
		return nil
	}
	n := c.args.int("n", 32)
	if n <= 0 {
		return usagef(c.spec.usage(), "-n must be positive")
	}
	run, err := s.profileDecode(c.ctx, s.ids, n, nil)
	if err != nil {
		return err
	}
	s.lastProfile = run
	s.display(c, s.timeBundle(run))
	return nil
}

// profileDecode greedily decodes n tokens after ids (or BOS) on the
// scratch state with a profile attached, with the given ops (nil: the
// session's); the session's context is not changed.
func (s *Interpreter) profileDecode(ctx context.Context, ids []int, n int, ops *asm.Ops) (*timeRun, error) {
	st, err := s.scratchState()
	if err != nil {
		return nil, err
	}
	if ops != nil {
		defer st.SetOps(s.ops)
		st.SetOps(ops)
	}
	var removes []func()
	for _, ab := range s.ablations {
		if r, err := st.AddHook(ab.pattern, ab.hook()); err == nil {
			removes = append(removes, r)
		}
	}
	defer func() {
		for _, r := range removes {
			r()
		}
	}()
	if len(ids) == 0 {
		ids = []int{engine.BOS}
	}
	n = min(n, s.model.SeqLen-len(ids))
	if n <= 0 {
		ids = []int{engine.BOS}
		n = min(32, s.model.SeqLen-1)
	}
	pre := engine.NewProfile()
	st.Profile = pre
	defer func() { st.Profile = nil }()
	if len(ids) > 1 {
		if _, err := st.Prefill(ctx, ids[:len(ids)-1], 0); err != nil {
			return nil, err
		}
	}
	prof := engine.NewProfile()
	st.Profile = prof
	start := time.Now()
	if _, err := st.DecodeGreedy(ctx, ids[len(ids)-1], len(ids)-1, n, nil); err != nil {
		return nil, err
	}
	return &timeRun{ops: prof.Ops(), wall: time.Since(start), tokens: n, prefill: pre.Total(),
		label: fmt.Sprintf("%d greedy tokens after %d of context", n, len(ids)), threads: st.Ops().Threads()}, nil
}

// breakdownRows orders a profile's ops and adds "other" (wall time not in
// any op: hooks, loop, clock reads) so that the rows sum to the wall time.
func breakdownRows(run *timeRun) ([]engine.OpStat, time.Duration) {
	byName := map[string]engine.OpStat{}
	for _, o := range run.ops {
		byName[o.Name] = o
	}
	var rows []engine.OpStat
	for _, n := range opOrder {
		if o, ok := byName[n]; ok {
			rows = append(rows, o)
			delete(byName, n)
		}
	}
	for _, o := range run.ops {
		if _, ok := byName[o.Name]; ok {
			rows = append(rows, o)
		}
	}
	var sum time.Duration
	for _, o := range rows {
		sum += o.Time
	}
	total := run.wall
	if total < sum {
		total = sum
	}
	rows = append(rows, engine.OpStat{Name: "other", Time: total - sum})
	return rows, total
}

func (s *Interpreter) timeBundle(run *timeRun) inspect.Bundle {
	rows, total := breakdownRows(run)
	tok := max(run.tokens, 1)
	t := inspect.Table{Title: fmt.Sprintf("Where the time goes: %s, %d token(s), %.3f ms/token, %s × %d thread(s)", run.label, run.tokens, ms(total)/float64(tok), engine.KernelSummary(s.model, s.ops.Kernels), run.threads),
		Header: []string{"op", "calls", "ms", "share", "ms/token", "MB moved", "GB/s", "GFLOP/s"}}
	t.Shade = [][]float64{}
	var js []map[string]any
	var seg []string
	var vals []float64
	var sumMS float64
	for _, o := range rows {
		share := 0.0
		if total > 0 {
			share = float64(o.Time) / float64(total)
		}
		gflops := 0.0
		if o.Time > 0 {
			gflops = float64(o.Flops) / o.Time.Seconds() / 1e9
		}
		t.Rows = append(t.Rows, []string{o.Name, fmt.Sprint(o.Calls), fmt.Sprintf("%.3f", ms(o.Time)), fmt.Sprintf("%.1f%%", 100*share),
			fmt.Sprintf("%.4f", ms(o.Time)/float64(tok)), fmt.Sprintf("%.3f", float64(o.Bytes)/1e6), fmt.Sprintf("%.2f", o.GBps()), fmt.Sprintf("%.2f", gflops)})
		shade := make([]float64, 8)
		for i := range shade {
			shade[i] = math.NaN()
		}
		shade[3] = share
		t.Shade = append(t.Shade, shade)
		js = append(js, map[string]any{"op": o.Name, "calls": o.Calls, "ms": ms(o.Time), "share": share, "ms_per_token": ms(o.Time) / float64(tok),
			"bytes": o.Bytes, "flops": o.Flops, "gbps": num(o.GBps()), "gflops": num(gflops)})
		seg = append(seg, o.Name)
		vals = append(vals, ms(o.Time)/float64(tok))
		sumMS += ms(o.Time)
	}
	t.Rows = append(t.Rows, []string{"total", "", fmt.Sprintf("%.3f", ms(total)), "100%", fmt.Sprintf("%.4f", ms(total)/float64(tok)), "", "", ""})
	t.Note = fmt.Sprintf("bytes: weights and activations each op reads; 'other' is time in no op (loop, hooks, clocks); prompt prefill took %.3f ms more (not in the table)", ms(run.prefill))
	bar := inspect.StackedBar(seg, []inspect.StackedBarItem{{Label: "decode", Values: vals}}, inspect.ChartOpts{Title: "Time per token by op", XLabel: "ms per token", Height: 200})
	parts := []inspect.Bundle{t.Bundle(), bar}
	out := map[string]any{
		"tokens": run.tokens, "total_ms": ms(total), "sum_ms": sumMS, "ms_per_token": ms(total) / float64(tok),
		"prefill_ms": ms(run.prefill), "variant": s.ops.Name, "routines": engine.KernelRoutines(s.model, s.ops.Kernels), "threads": run.threads, "rows": js}
	if run.threads > 1 {
		st, sjs := splitTable(rows, total, tok, run.threads)
		parts = append(parts, st.Bundle())
		out["split"] = sjs
	}
	return join(parts, out)
}

// splitTable is the two-or-more-thread view of a profile: for each op, how
// much of its time ran split across the threads, and where a split's wall
// time went (asm.SplitStats): the evenly shared work, the wait for the
// slowest part, and handing the parts out and collecting them.
func splitTable(rows []engine.OpStat, total time.Duration, tok, threads int) (inspect.Table, map[string]any) {
	perTok := func(d time.Duration) float64 { return ms(d) / float64(tok) }
	t := inspect.Table{Title: fmt.Sprintf("How %d threads share each op (ms per token; measured on one clock inside every split call)", threads),
		Header: []string{"op", "ms/token", "split share", "splits/token", "even", "imbalance", "hand-off", "worker start µs", "efficiency"}}
	var all asm.SplitStats
	var js []map[string]any
	for _, o := range rows {
		sp := o.Split
		all.Add(sp)
		share := 0.0
		if o.Time > 0 {
			share = min(1, float64(sp.Wall)/float64(o.Time))
		}
		if sp.Calls == 0 {
			if o.Time > 0 && o.Name != "other" {
				t.Rows = append(t.Rows, []string{o.Name, fmt.Sprintf("%.4f", perTok(o.Time)), "one thread", "", "", "", "", "", ""})
			}
			continue
		}
		t.Rows = append(t.Rows, []string{o.Name, fmt.Sprintf("%.4f", perTok(o.Time)), fmt.Sprintf("%.0f%%", 100*share),
			fmt.Sprintf("%.1f", float64(sp.Calls)/float64(tok)), fmt.Sprintf("%.4f", perTok(sp.Even)), fmt.Sprintf("%.4f", perTok(sp.Imbalance())),
			fmt.Sprintf("%.4f", perTok(sp.Overhead())), fmt.Sprintf("%.2f", float64(sp.MeanHandoff())/1e3), fmt.Sprintf("%.0f%%", 100*sp.Efficiency())})
		js = append(js, map[string]any{"op": o.Name, "calls": sp.Calls, "parts": sp.Parts, "share": share,
			"wall_ms": ms(sp.Wall), "busy_ms": ms(sp.Busy), "even_ms": ms(sp.Even), "imbalance_ms": ms(sp.Imbalance()), "overhead_ms": ms(sp.Overhead()),
			"wait_ms": ms(sp.Wait), "handoff_us": float64(sp.MeanHandoff()) / 1e3, "efficiency": num(sp.Efficiency())})
	}
	single := total - all.Wall
	t.Rows = append(t.Rows, []string{"all split calls", fmt.Sprintf("%.4f", perTok(all.Wall)), "", fmt.Sprintf("%.1f", float64(all.Calls)/float64(tok)),
		fmt.Sprintf("%.4f", perTok(all.Even)), fmt.Sprintf("%.4f", perTok(all.Imbalance())), fmt.Sprintf("%.4f", perTok(all.Overhead())),
		fmt.Sprintf("%.2f", float64(all.MeanHandoff())/1e3), fmt.Sprintf("%.0f%%", 100*all.Efficiency())})
	pct := func(d time.Duration) float64 { return 100 * float64(d) / float64(max(total, 1)) }
	if all.Calls == 0 {
		t.Note = fmt.Sprintf("Nothing was split: every product of this model is below the size worth handing to a second thread (asm's minimum of rows and multiply-adds per part), so all %.3f ms per token ran on one thread.", perTok(total))
	} else {
		t.Note = fmt.Sprintf("Of %.3f ms per token, %.3f ms (%.0f%%) ran in %.1f split calls over %d threads and %.3f ms (%.0f%%) on one thread (ops too small to split, and the work between products). "+
			"Inside the splits, handing parts out and collecting them cost %.3f ms per token (%.1f%% of the token; a worker started %.2f µs after the hand-off on average) and waiting for the slower part %.3f ms (%.1f%%); "+
			"the threads computed %.0f%% of the thread time the splits held. "+
			"even: the split's work shared exactly evenly; imbalance: how much longer its slowest part ran; hand-off: the rest of its wall time.",
			perTok(total), perTok(all.Wall), pct(all.Wall), float64(all.Calls)/float64(tok), threads, perTok(single), pct(single),
			perTok(all.Overhead()), pct(all.Overhead()), float64(all.MeanHandoff())/1e3, perTok(all.Imbalance()), pct(all.Imbalance()), 100*all.Efficiency())
	}
	return t, map[string]any{"ops": js, "split_ms": ms(all.Wall), "single_ms": ms(single), "overhead_ms": ms(all.Overhead()),
		"imbalance_ms": ms(all.Imbalance()), "even_ms": ms(all.Even), "calls": all.Calls, "handoff_us": float64(all.MeanHandoff()) / 1e3, "efficiency": num(all.Efficiency())}
}

// ---- %bench ----

func (s *Interpreter) doBench(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	a := c.args
	n := a.int("n", 64)
	warm := a.int("warmup", 4)
	if n <= 0 || warm < 0 {
		return usagef(c.spec.usage(), "-n must be positive and --warmup not negative")
	}
	variants := a.strList("variants")
	if a.has("variants") && len(variants) == 0 {
		return usagef(c.spec.usage(), "--variants is empty")
	}
	if len(variants) == 0 {
		for _, v := range asm.Variants() {
			if v.Available {
				variants = append(variants, v.Name)
			}
		}
	}
	threads, err := a.intList("threads", []int{s.threads})
	if err != nil {
		return err
	}
	for _, t := range threads {
		if t < 1 {
			return usagef(c.spec.usage(), "--threads: thread counts must be positive, got %d", t)
		}
	}
	for _, v := range variants {
		if _, err := asm.Lookup(v); err != nil {
			return err
		}
	}
	var cfgs []course.Config
	for _, v := range variants {
		for _, th := range threads {
			cfgs = append(cfgs, course.Config{Variant: v, Threads: th})
		}
	}
	repeats := a.int("repeats", 5)
	if repeats < 1 {
		return usagef(c.spec.usage(), "--repeats must be positive")
	}
	prog := s.progress(c, "%bench")
	res, err := course.CompareConfigs(c.ctx, s.model, s.modelName(), cfgs, course.ConfigsOptions{Tokens: n, Warmup: warm, Repeats: repeats, Layout: s.layout, Progress: prog})
	if err != nil {
		return interrupted(c.ctx, prog, err)
	}
	prog("done")
	s.display(c, res.Bundle())
	return nil
}

// ---- %bandwidth ----

func (s *Interpreter) bandwidth(ctx context.Context, mib, threads, repeats int) (asm.BandwidthResult, error) {
	r, err := asm.Bandwidth(ctx, asm.BandwidthOptions{Bytes: int64(mib) << 20, Threads: threads, Repeats: repeats})
	if err == nil {
		s.lastBW = &r
	}
	return r, err
}

func (s *Interpreter) doBandwidth(c *call) error {
	a := c.args
	mib, th, rep := a.int("size", 256), a.int("threads", s.threads), a.int("repeats", 5)
	if mib <= 0 || th <= 0 || rep <= 0 {
		return usagef(c.spec.usage(), "--size, --threads and --repeats must be positive")
	}
	prog := s.progress(c, "%bandwidth")
	prog(fmt.Sprintf("measuring over %d MiB, %d thread(s)…", mib, th))
	r, err := s.bandwidth(c.ctx, mib, th, rep)
	if err != nil {
		return err
	}
	prog("done")
	t := inspect.Table{Title: fmt.Sprintf("Memory bandwidth: %s streamed, %d thread(s), %d repeats (read loop: %s)", human(float64(r.Bytes), "B"), r.Threads, r.Repeats, r.ReadKernel),
		Header: []string{"test", "median GB/s", "min", "max", "bytes per repeat"}}
	var bars []inspect.Bar
	var tests []map[string]any
	for _, x := range r.Tests() {
		t.Rows = append(t.Rows, []string{x.Name, fmt.Sprintf("%.2f", x.Median), fmt.Sprintf("%.2f", x.Min), fmt.Sprintf("%.2f", x.Max), fmt.Sprint(x.Bytes)})
		bars = append(bars, inspect.Bar{Label: x.Name, Value: x.Median})
		tests = append(tests, map[string]any{"name": x.Name, "median": num(x.Median), "min": num(x.Min), "max": num(x.Max), "bytes": x.Bytes})
	}
	js := map[string]any{"bytes": r.Bytes, "threads": r.Threads, "repeats": r.Repeats, "read_kernel": r.ReadKernel,
		"read_gbps": num(r.Read.Median), "copy_gbps": num(r.Copy.Median), "triad_gbps": num(r.Triad.Median), "tests": tests}
	if s.model != nil && r.Read.Median > 0 {
		wb := s.model.WeightBytes()
		bound := r.Read.Median * 1e9 / float64(wb)
		t.Note = fmt.Sprintf("%s reads %s of weights per token: at %.1f GB/s decoding cannot beat %.0f tok/s (if the weights do not fit in cache)",
			s.modelName(), human(float64(wb), "B"), r.Read.Median, bound)
		js["weight_bytes"], js["tok_per_s_bound"] = wb, bound
	}
	chart := inspect.BarChart(bars, inspect.ChartOpts{Title: "Measured bandwidth (median)", XLabel: "GB/s", Height: 180})
	s.display(c, join([]inspect.Bundle{t.Bundle(), chart}, js))
	return nil
}

// ---- %roofline ----

// companion returns a model of the same shape in the other storage
// (fp32 ↔ Q8_0), converting the loaded one into the cache directory.
func (s *Interpreter) companion(ctx context.Context, q8 bool) (*engine.Model, error) {
	m := s.model
	if m.Quantized() == q8 {
		return m, nil
	}
	cfg := m.Config
	suffix := "f32"
	if q8 {
		cfg.Version, cfg.GroupSize = engine.V2, engine.DefaultGroupSize(cfg)
		suffix = fmt.Sprintf("q8-gs%d", cfg.GroupSize) // a new default group size makes a new file, not a size clash
	} else {
		cfg.Version, cfg.GroupSize = engine.V1, 0
	}
	base := strings.TrimSuffix(filepath.Base(m.Path), filepath.Ext(m.Path))
	p := filepath.Join(s.opts.CacheDir, fmt.Sprintf("%s-%d-%s.bin", base, m.Load.FileBytes, suffix))
	if err := engine.EnsureCheckpoint(ctx, p, cfg, engine.FromModel(m)); err != nil {
		return nil, err
	}
	return engine.Open(p, engine.LoadOptions{})
}

func (s *Interpreter) doRoofline(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	a := c.args
	mib, dn, pn := a.int("size", 128), a.int("n", 16), a.int("prefill", 32)
	if mib <= 0 || dn <= 0 || pn < 2 {
		return usagef(c.spec.usage(), "--size and -n must be positive, --prefill at least 2")
	}
	prog := s.progress(c, "%roofline")
	var ms [2]*engine.Model
	for i, q8 := range []bool{false, true} {
		m, err := s.companion(c.ctx, q8)
		if err != nil {
			return fmt.Errorf("%s companion model: %w", map[bool]string{false: "fp32", true: "int8"}[q8], err)
		}
		if m != s.model {
			defer m.Close()
		}
		ms[i] = m
	}
	r, err := course.Roofline(c.ctx, course.RooflineOptions{Model: s.modelName(), FP32: ms[0], Int8: ms[1], Variant: "auto", Threads: s.threads,
		Layout: s.layout, ProbeBytes: int64(mib) << 20, DecodeN: dn, PrefillN: pn, LLC: course.LLCBytes(), Progress: prog})
	if err != nil {
		return err
	}
	prog("done")
	c.out.Display(toKernel(r.Bundle()), "")
	return nil
}
