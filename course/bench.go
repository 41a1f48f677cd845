package course

import (
	"context"
	"fmt"
	"time"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// DecodeStats summarises per-token decoding times: memwall bench and
// %bench both report their percentiles through it, so the same timings
// give the same P50 and P99 in both.
func DecodeStats(times []time.Duration) inspect.Latency {
	return inspect.LatencyOf(msOf(times))
}

func msOf(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = ms(d)
	}
	return out
}

// BenchOptions controls Bench.
type BenchOptions struct {
	Tokens, Warmup, Context int // as engine.BenchOptions
	// Chunks splits the timed tokens into this many runs with a bandwidth
	// probe before each and one after the last (default 4, so 5 probes).
	Chunks     int
	ProbeBytes int64 // default max(weight bytes per token, 256 MiB)
}

// BenchResult is a decoding benchmark with its roof measured by probes
// interleaved with the decode.
type BenchResult struct {
	Times       []time.Duration
	WeightBytes int64     // per token, counted by the cost model
	Probes      []float64 // read GB/s, one per probe
	Threads     int
}

// Bench decodes opt.Tokens tokens on st in Chunks runs (covering the same
// positions one contiguous run would), probing read bandwidth with the
// state's thread count between them, so a slow or fast moment of the
// machine affects roof and decode alike and the probes' spread shows it.
func Bench(ctx context.Context, st *engine.State, ops *asm.Ops, opt BenchOptions) (*BenchResult, error) {
	if opt.Tokens <= 0 {
		opt.Tokens = 64
	}
	if opt.Chunks <= 0 {
		opt.Chunks = 4
	}
	opt.Tokens = min(opt.Tokens, st.M.SeqLen-opt.Context)
	opt.Chunks = max(1, min(opt.Chunks, opt.Tokens))
	wb := st.M.WeightBytes()
	if opt.ProbeBytes <= 0 {
		opt.ProbeBytes = max(wb, 256<<20)
	}
	r := &BenchResult{WeightBytes: wb, Threads: ops.Threads()}
	probe := func() error {
		b, err := asm.Bandwidth(ctx, asm.BandwidthOptions{Bytes: opt.ProbeBytes, Threads: ops.Threads(), Repeats: 1})
		if err != nil {
			return err
		}
		r.Probes = append(r.Probes, b.Read.Median)
		return nil
	}
	done := 0
	for k := 0; k < opt.Chunks; k++ {
		if err := probe(); err != nil {
			return nil, err
		}
		n := (opt.Tokens - done) / (opt.Chunks - k)
		br, err := st.Bench(ctx, engine.BenchOptions{Tokens: n, Warmup: opt.Warmup, Context: opt.Context + done})
		if err != nil {
			return nil, err
		}
		r.Times = append(r.Times, br.Times...)
		done += n
	}
	if err := probe(); err != nil {
		return nil, err
	}
	return r, nil
}

// TokPerSec is the decoding rate over every timed token (engine's
// definition).
func (r *BenchResult) TokPerSec() float64 {
	return (&engine.BenchResult{Times: r.Times}).TokPerSec()
}

// Roof is the spread of the bandwidth probes.
func (r *BenchResult) Roof() inspect.Spread { return inspect.SpreadOf(r.Probes) }

// EffectiveGBps is weight bytes per token × tok/s.
func (r *BenchResult) EffectiveGBps() float64 { return float64(r.WeightBytes) * r.TokPerSec() / 1e9 }

// Conclusions: the roof's steadiness and the fraction reached.
func (r *BenchResult) Conclusions() Conclusions {
	s := r.Roof()
	eff := r.EffectiveGBps()
	c := Conclusion{ID: "roof_fraction", Claim: "decoding streams its weights at the machine's read bandwidth (within 15%)", Source: Measured,
		Evidence: ev("effective_gbps", eff, "roof_median_gbps", s.Median, "roof_min_gbps", s.Min, "roof_max_gbps", s.Max, "probes", s.N, "fraction", eff/s.Median)}
	f := eff / s.Median
	switch {
	case s.RelRange() > 0.3:
		c.Verdict = Unsupported
		c.Text = fmt.Sprintf("the %d bandwidth probes spread %.2f–%.2f GB/s (%.0f%% of their median): the machine was too busy to judge a fraction of %.0f%%", s.N, s.Min, s.Max, 100*s.RelRange(), 100*f)
	case f >= 0.85:
		c.Verdict = Holds
		c.Text = fmt.Sprintf("%.2f GB/s effective = %.0f%% of the median read probe %.2f GB/s (probes %.2f–%.2f)", eff, 100*f, s.Median, s.Min, s.Max)
	default:
		c.Verdict = DoesNotHold
		c.Text = fmt.Sprintf("%.2f GB/s effective = %.0f%% of the median read probe %.2f GB/s (probes %.2f–%.2f): something other than bandwidth limits it", eff, 100*f, s.Median, s.Min, s.Max)
	}
	return Conclusions{c}
}
