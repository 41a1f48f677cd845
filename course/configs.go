package course

import (
	"context"
	"fmt"
	"time"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// Config is one kernel configuration to decode with.
type Config struct {
	Variant string
	Threads int
}

func (c Config) String() string { return fmt.Sprintf("%s×%d", c.Variant, c.Threads) }

// ConfigsOptions controls CompareConfigs.
type ConfigsOptions struct {
	Tokens, Warmup int
	Repeats        int // interleaved rounds (default 5, the fewest a comparison decides from)
	Layout         engine.Layout
	Progress       Progress
}

// ConfigRun is one configuration over all rounds.
type ConfigRun struct {
	Config
	Times []time.Duration // every timed token of every round
	TokS  []float64       // per round
}

// ConfigsResult is %bench: several configurations decoding the same model,
// round by round.
type ConfigsResult struct {
	Model       string
	WeightBytes int64
	Tokens      int
	Warmup      int
	Repeats     int
	Layout      string
	Runs        []ConfigRun
}

// CompareConfigs decodes m with every configuration, Repeats rounds of one
// run each, interleaved, so that the comparisons against the first
// configuration can tell a difference from noise.
func CompareConfigs(ctx context.Context, m *engine.Model, label string, cfgs []Config, opt ConfigsOptions) (*ConfigsResult, error) {
	if opt.Repeats <= 0 {
		opt.Repeats = 5
	}
	r := &ConfigsResult{Model: label, WeightBytes: m.WeightBytes(), Tokens: opt.Tokens, Warmup: opt.Warmup, Repeats: opt.Repeats, Layout: opt.Layout.String()}
	for _, c := range cfgs {
		r.Runs = append(r.Runs, ConfigRun{Config: c})
	}
	for round := 0; round < opt.Repeats; round++ {
		for i, c := range cfgs {
			opt.Progress.say("round %d/%d: %s", round+1, opt.Repeats, c)
			st, release, err := newState(m, c.Variant, c.Threads, opt.Layout)
			var br *engine.BenchResult
			if err == nil {
				br, err = st.Bench(ctx, engine.BenchOptions{Tokens: opt.Tokens, Warmup: max(opt.Warmup, 0)})
				release()
			}
			if err != nil {
				return nil, fmt.Errorf("during %s, round %d of %d: %w", c, round+1, opt.Repeats, err)
			}
			r.Runs[i].Times = append(r.Runs[i].Times, br.Times...)
			r.Runs[i].TokS = append(r.Runs[i].TokS, br.TokPerSec())
		}
	}
	return r, nil
}

// Conclusions compares every configuration with the first.
func (r *ConfigsResult) Conclusions() Conclusions {
	var cs Conclusions
	if len(r.Runs) < 2 {
		return cs
	}
	a := r.Runs[0]
	for _, b := range r.Runs[1:] {
		cmp := inspect.Compare(a.TokS, b.TokS, 0.95)
		v := Compared(cmp)
		cs = append(cs, Conclusion{ID: "vs_" + b.String(), Claim: fmt.Sprintf("%s decodes at a different speed from %s", b, a), Verdict: v, Source: Measured,
			Evidence: comparisonEvidence(cmp, "a_tok_s", median(a.TokS), "b_tok_s", median(b.TokS)),
			Text:     fmt.Sprintf("%s against %s: %.1f against %.1f tok/s (medians) — %s (%s)", b, a, median(b.TokS), median(a.TokS), v, intervalText(cmp))})
	}
	return cs
}

// Bundle renders the table, charts and conclusions.
func (r *ConfigsResult) Bundle() inspect.Bundle {
	t := inspect.Table{Title: fmt.Sprintf("Decoding speed: %d tokens per configuration and round (after %d warm-up), %d interleaved rounds, %s weights", r.Tokens, r.Warmup, r.Repeats, r.Layout),
		Header: []string{"variant", "threads", "tok/s (median)", "runs", "P50 ms", "P99 ms", "P99.9 ms", "CV", "GB/s (weights)"}}
	var js []map[string]any
	var samples []inspect.Sample
	var series []inspect.Series
	for _, run := range r.Runs {
		lat := DecodeStats(run.Times)
		tps := median(run.TokS)
		gbps := float64(r.WeightBytes) * tps / 1e9
		t.Rows = append(t.Rows, []string{run.Variant, fmt.Sprint(run.Threads), fmt.Sprintf("%.1f", tps), runsText(run.TokS), inspect.Cell(lat.P50, "%.3f"),
			inspect.Cell(lat.P99, "%.3f"), inspect.Cell(lat.P999, "%.3f"), fmt.Sprintf("%.3f", lat.CV), fmt.Sprintf("%.2f", gbps)})
		msv := msOf(run.Times)
		js = append(js, map[string]any{"variant": run.Variant, "threads": run.Threads, "tokens": len(run.Times), "tok_per_s": Num(tps), "tok_per_s_runs": run.TokS,
			"p50_ms": Num(lat.P50), "p99_ms": Num(lat.P99), "p999_ms": Num(lat.P999), "mean_ms": Num(lat.Mean), "cv": Num(lat.CV),
			"percentiles_unsupported": lat.Unsupported, "gbps": Num(gbps), "ms": msv})
		samples = append(samples, inspect.Sample{Name: run.String(), Values: msv})
		series = append(series, inspect.Series{Name: run.String(), Y: msv})
	}
	t.Note = fmt.Sprintf("GB/s = %d weight bytes per token (counted by the cost model) × tok/s; percentiles over every token of every round: %s; n/a where the sample is too small",
		r.WeightBytes, inspect.PercentileDefinition)
	cdf := inspect.CDFPlot(samples, inspect.ChartOpts{Title: "Per-token latency (CDF)", XLabel: "ms per token", YLabel: "fraction of tokens"})
	line := inspect.LineChart(series, inspect.ChartOpts{Title: "Latency of every timed token, round after round", XLabel: "token", YLabel: "ms"})
	cs := r.Conclusions()
	return inspect.Join([]inspect.Bundle{t.Bundle(), cdf, line, cs.Bundle()}, map[string]any{"tokens": r.Tokens, "warmup": r.Warmup, "repeats": r.Repeats,
		"weight_bytes": r.WeightBytes, "weight_bytes_source": Counted, "percentile_definition": inspect.PercentileDefinition, "rows": js, "conclusions": cs.JSON()})
}
