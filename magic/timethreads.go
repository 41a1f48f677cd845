package magic

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/course"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// ---- %time --threads ----

// timeThreads profiles the same greedy tokens with each thread count in
// interleaved rounds and compares every op's time per token with the first
// count's, pair by pair (inspect.Compare through course.Compared), then
// shows how the last count shared each op (splitTable over its rounds).
func (s *Interpreter) timeThreads(c *call, n int, counts []int, rounds int) error {
	if len(counts) < 2 {
		return usagef(c.spec.usage(), "--threads needs at least two thread counts to compare, got %v", counts)
	}
	for i, th := range counts {
		if th < 1 {
			return usagef(c.spec.usage(), "--threads: thread counts must be positive, got %d", th)
		}
		if slices.Contains(counts[:i], th) {
			return usagef(c.spec.usage(), "--threads: %d appears twice", th)
		}
	}
	if rounds < 1 {
		return usagef(c.spec.usage(), "--repeats must be positive")
	}
	ops := make([]*asm.Ops, len(counts))
	for i, th := range counts {
		o, err := asm.New(s.ops.Name, th)
		if err != nil {
			return err
		}
		defer o.Close()
		ops[i] = o
	}
	prog := s.progress(c, "%time")
	// runs[i][r] is round r with counts[i]; one short untimed run per
	// count first, so that no count pays for faulting the weights in or
	// starting its workers.
	runs := make([][]*timeRun, len(counts))
	for i := range counts {
		if _, err := s.profileDecode(c.ctx, s.ids, min(n, 4), ops[i]); err != nil {
			return interrupted(c.ctx, prog, err)
		}
	}
	for r := range rounds {
		for j := range counts {
			// Alternate the order, so that neither count always runs
			// first in a round.
			i := j
			if r%2 == 1 {
				i = len(counts) - 1 - j
			}
			prog(fmt.Sprintf("round %d of %d, %d thread(s)…", r+1, rounds, counts[i]))
			run, err := s.profileDecode(c.ctx, s.ids, n, ops[i])
			if err != nil {
				return interrupted(c.ctx, prog, err)
			}
			runs[i] = append(runs[i], run)
		}
	}
	prog("done")
	s.display(c, s.threadsBundle(counts, runs))
	return nil
}

// interrupted words an error of a measurement loop.
func interrupted(ctx context.Context, prog course.Progress, err error) error {
	if ctx.Err() != nil {
		prog("interrupted")
		return fmt.Errorf("interrupted %v; no results were kept", err)
	}
	return err
}

// opMS is one run's milliseconds per token of every op (as breakdownRows
// orders them, "other" included) and of the whole token ("total").
func opMS(run *timeRun) (map[string]float64, []string) {
	rows, total := breakdownRows(run)
	tok := float64(max(run.tokens, 1))
	m := map[string]float64{"total": ms(total) / tok}
	var names []string
	for _, o := range rows {
		m[o.Name] = ms(o.Time) / tok
		names = append(names, o.Name)
	}
	return m, append(names, "total")
}

// mergeRuns sums the rounds of one thread count into one profile.
func mergeRuns(runs []*timeRun) *timeRun {
	out := &timeRun{label: runs[0].label, threads: runs[0].threads}
	var ops []engine.OpStat
	for _, r := range runs {
		out.wall += r.wall
		out.tokens += r.tokens
		out.prefill += r.prefill
		for _, o := range r.ops {
			i := slices.IndexFunc(ops, func(x engine.OpStat) bool { return x.Name == o.Name })
			if i < 0 {
				ops = append(ops, engine.OpStat{Name: o.Name})
				i = len(ops) - 1
			}
			ops[i].Calls += o.Calls
			ops[i].Time += o.Time
			ops[i].Bytes += o.Bytes
			ops[i].Flops += o.Flops
			ops[i].Split.Add(o.Split)
		}
	}
	out.ops = ops
	return out
}

func (s *Interpreter) threadsBundle(counts []int, runs [][]*timeRun) inspect.Bundle {
	// per[i][r] holds round r's ms per token by op for counts[i].
	per := make([][]map[string]float64, len(counts))
	var names []string
	for i := range counts {
		for _, r := range runs[i] {
			m, ns := opMS(r)
			per[i] = append(per[i], m)
			for _, n := range ns {
				if !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
	}
	// "total" last, "other" just before it.
	names = slices.DeleteFunc(names, func(n string) bool { return n == "total" || n == "other" })
	names = append(names, "other", "total")

	series := func(i int, op string) []float64 {
		out := make([]float64, len(per[i]))
		for r, m := range per[i] {
			out[r] = m[op]
		}
		return out
	}
	header := []string{"op", fmt.Sprintf("%d thread(s) ms/token", counts[0])}
	for _, th := range counts[1:] {
		header = append(header, fmt.Sprintf("%d threads ms/token", th), fmt.Sprintf("speed-up vs %d", counts[0]), "verdict")
	}
	base := counts[0]
	t := inspect.Table{Title: fmt.Sprintf("What more threads buy each op: %s, %d rounds × %d tokens per count, interleaved; medians of the rounds, speed-up as the median of the paired rounds' ratios with its interval",
		runs[0][0].label, len(runs[0]), runs[0][0].tokens), Header: header}
	var js []map[string]any
	type gain struct {
		op      string
		share   float64 // of the base count's token
		cmp     inspect.Comparison
		verdict string
	}
	gains := make([][]gain, len(counts)-1)              // per extra count
	totals := make([]inspect.Comparison, len(counts)-1) // the whole token's, per extra count
	baseTotal := inspect.Percentile(series(0, "total"), 50)
	for _, op := range names {
		b := series(0, op)
		mb := inspect.Percentile(b, 50)
		if op != "total" && mb < 0.0005 && inspect.Percentile(series(len(counts)-1, op), 50) < 0.0005 {
			continue // an op that takes no time at any count (other, at times)
		}
		row := []string{op, fmt.Sprintf("%.4f", mb)}
		j := map[string]any{"op": op, fmt.Sprintf("ms_%d", base): mb}
		for k := 1; k < len(counts); k++ {
			x := series(k, op)
			cmp := inspect.Compare(inspect.Rates(b), inspect.Rates(x), 0.95)
			v := course.Compared(cmp)
			row = append(row, fmt.Sprintf("%.4f", inspect.Percentile(x, 50)),
				fmt.Sprintf("%.2f× [%.2f–%.2f]", cmp.Ratio, cmp.Lo, cmp.Hi), v)
			j[fmt.Sprintf("ms_%d", counts[k])] = inspect.Percentile(x, 50)
			j[fmt.Sprintf("vs_%d", counts[k])] = map[string]any{"comparison": cmp, "verdict": v}
			if op == "total" {
				totals[k-1] = cmp
			} else if op != "other" {
				gains[k-1] = append(gains[k-1], gain{op: op, share: mb / max(baseTotal, 1e-12), cmp: cmp, verdict: v})
			}
		}
		t.Rows = append(t.Rows, row)
		js = append(js, j)
	}

	// The conclusion, from the numbers above.
	var notes []string
	for k := 1; k < len(counts); k++ {
		tot := totals[k-1]
		var gained, flat []string
		var flatShare float64
		for _, g := range gains[k-1] {
			switch g.verdict {
			case course.Faster:
				gained = append(gained, fmt.Sprintf("%s %.2f×", g.op, g.cmp.Ratio))
			case course.Slower, course.NoDiff:
				flat = append(flat, fmt.Sprintf("%s (%s)", g.op, g.verdict))
				flatShare += g.share
			}
		}
		sent := fmt.Sprintf("With %d threads a token took %.3f ms against %.3f ms with %d: %s (%s).",
			counts[k], inspect.Percentile(series(k, "total"), 50), baseTotal, base, course.Compared(tot), strings.TrimPrefix(tot.String(), "median ratio "))
		if len(gained) > 0 {
			sent += fmt.Sprintf(" Faster: %s.", strings.Join(gained, ", "))
		}
		if len(flat) > 0 {
			sent += fmt.Sprintf(" Not faster: %s, %.0f%% of the %d-thread token.", strings.Join(flat, ", "), 100*flatShare, base)
		}
		notes = append(notes, sent)
	}
	notes = append(notes, "Speed-up is the rate with more threads over the rate with the first count; a verdict needs at least five rounds (--repeats).")
	t.Note = strings.Join(notes, " ")

	last := mergeRuns(runs[len(runs)-1])
	parts := []inspect.Bundle{t.Bundle()}
	out := map[string]any{"threads": counts, "rounds": len(runs[0]), "tokens": runs[0][0].tokens, "rows": js, "variant": s.ops.Name}
	if last.threads > 1 {
		rows, total := breakdownRows(last)
		st, sjs := splitTable(rows, total, last.tokens, last.threads)
		st.Title += fmt.Sprintf(", all %d rounds", len(runs[0]))
		parts = append(parts, st.Bundle())
		out["split"] = sjs
	}
	return join(parts, out)
}
