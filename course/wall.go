package course

import (
	"context"
	"fmt"
	"math"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// WallOptions controls Wall.
type WallOptions struct {
	Shapes     []string
	Open       func(shape string) (*engine.Model, error) // a synthetic fp32 model of a shape
	Tokens     int                                       // per shape (default 32)
	ProbeBytes int64                                     // default 256 MiB
	Variant    string
	Threads    int
	LLC        int64 // the largest CPU cache in bytes (0: unknown)
	Progress   Progress
	Quick      []string
}

// WallShape is one shape's decoding.
type WallShape struct {
	Shape       string
	WeightBytes int64 // per token, counted
	Flops       int64 // per token, counted (matrix products)
	TokS        float64
}

// WallResult is decoding speed across model sizes against the speed the
// read bandwidth predicts.
type WallResult struct {
	Variant string
	Threads int
	Tokens  int
	Shapes  []WallShape
	Probes  []float64 // read GB/s: one before each shape and one after the last
	Peak    float64   // fp32 compute roof, GFLOP/s
	LLC     int64
	Quick   []string
}

// Roof is the probes' median read bandwidth.
func (r *WallResult) Roof() inspect.Spread { return inspect.SpreadOf(r.Probes) }

// Predicted is the tok/s the roof allows a shape: bandwidth / bytes.
func (r *WallResult) Predicted(s WallShape) float64 {
	return r.Roof().Median * 1e9 / float64(s.WeightBytes)
}

// Intensity is the shape's matrix FLOPs per weight byte, both counted.
func (s WallShape) Intensity() float64 { return float64(s.Flops) / float64(s.WeightBytes) }

// Wall decodes each shape and probes the read bandwidth before each and
// after the last, so the prediction rests on the bandwidth of the same
// stretch of time.
func Wall(ctx context.Context, opt WallOptions) (*WallResult, error) {
	if opt.Tokens <= 0 {
		opt.Tokens = 32
	}
	if opt.ProbeBytes <= 0 {
		opt.ProbeBytes = 256 << 20
	}
	ops, err := asm.New(opt.Variant, max(opt.Threads, 1))
	if err != nil {
		return nil, err
	}
	defer ops.Close()
	r := &WallResult{Variant: ops.Name, Threads: ops.Threads(), Tokens: opt.Tokens, LLC: opt.LLC, Quick: opt.Quick}
	probe := func() error {
		opt.Progress.say("measuring memory bandwidth…")
		b, err := asm.Bandwidth(ctx, asm.BandwidthOptions{Bytes: opt.ProbeBytes, Threads: ops.Threads(), Repeats: 1})
		if err == nil {
			r.Probes = append(r.Probes, b.Read.Median)
		}
		return err
	}
	opt.Progress.say("measuring the compute roof…")
	if r.Peak, err = ComputeRoof(ctx, ops, false); err != nil {
		return nil, err
	}
	for _, sh := range opt.Shapes {
		if err := probe(); err != nil {
			return nil, err
		}
		opt.Progress.say("decoding %d tokens of %s…", opt.Tokens, sh)
		m, err := opt.Open(sh)
		if err != nil {
			return nil, err
		}
		st, err := engine.NewState(m, ops)
		var br *engine.BenchResult
		if err == nil {
			br, err = st.Bench(ctx, engine.BenchOptions{Tokens: opt.Tokens, Warmup: 4})
		}
		w := WallShape{Shape: sh, WeightBytes: m.WeightBytes(), Flops: m.MatFlops()}
		m.Close()
		if err != nil {
			return nil, err
		}
		w.TokS = br.TokPerSec()
		r.Shapes = append(r.Shapes, w)
	}
	if err := probe(); err != nil {
		return nil, err
	}
	return r, nil
}

// Conclusions: for each shape, whether the bandwidth prediction holds
// (within 20%), and why not when it does not.
func (r *WallResult) Conclusions() Conclusions {
	var cs Conclusions
	roof := r.Roof()
	for _, s := range r.Shapes {
		p := r.Predicted(s)
		ratio := s.TokS / p
		inCache := r.LLC > 0 && s.WeightBytes <= r.LLC
		c := Conclusion{ID: "wall_" + s.Shape, Claim: s.Shape + " decodes at the speed the read bandwidth predicts (within 20%)", Source: Measured,
			Evidence: ev("measured_tok_s", s.TokS, "predicted_tok_s", p, "ratio", ratio, "weight_bytes", s.WeightBytes, "llc_bytes", r.LLC,
				"roof_gbps", roof.Median, "roof_min_gbps", roof.Min, "roof_max_gbps", roof.Max)}
		c.Verdict = map[bool]string{true: Holds, false: DoesNotHold}[math.Abs(ratio-1) <= 0.2]
		gbps := float64(s.WeightBytes) * s.TokS / 1e9
		switch {
		case c.Verdict == Holds:
			c.Text = fmt.Sprintf("%s: %.1f tok/s measured, %.0f%% of the %.1f tok/s that %.2f GB/s allows for %s per token (counted)", s.Shape, s.TokS, 100*ratio, p, roof.Median, inspect.Human(float64(s.WeightBytes), "B"))
		case inCache && ratio > 1:
			c.Text = fmt.Sprintf("%s: its %s of weights fit in the %s cache, so it runs at %.0f tok/s, %.1f× what DRAM bandwidth allows: no memory wall while the model fits in cache",
				s.Shape, inspect.Human(float64(s.WeightBytes), "B"), inspect.Human(float64(r.LLC), "B"), s.TokS, ratio)
		case inCache:
			c.Text = fmt.Sprintf("%s: its weights fit in cache, yet it runs at %.2f× the DRAM prediction, streaming %.1f GB/s: a token this small is bound by its fixed per-token costs, not by bytes",
				s.Shape, ratio, gbps)
		case ratio > 1:
			c.Text = fmt.Sprintf("%s: %.1f tok/s, %.0f%% above the prediction of %.1f: part of the weights is served from cache, or the bandwidth moved (probes %.2f–%.2f GB/s)",
				s.Shape, s.TokS, 100*(ratio-1), p, roof.Min, roof.Max)
		default:
			c.Text = fmt.Sprintf("%s: %.1f tok/s, %.0f%% of the %.1f tok/s predicted: decoding streams %.2f GB/s of the %.2f available", s.Shape, s.TokS, 100*ratio, p, gbps, roof.Median)
		}
		cs = append(cs, c)
	}
	// The shapes' own intensity, counted: matrix FLOPs over weight bytes
	// per token (the highest, so that every shape sits at or left of it).
	in := math.NaN()
	for i, s := range r.Shapes {
		if i == 0 || s.Intensity() > in {
			in = s.Intensity()
		}
	}
	ridge := r.Peak / roof.Median
	rc := Conclusion{ID: "ridge", Claim: "fp32 decoding sits left of this machine's ridge point (memory-bound)", Source: Measured,
		Evidence: ev("ridge", ridge, "peak_gflops", r.Peak, "roof_gbps", roof.Median, "fp32_intensity", in)}
	if math.IsNaN(in) {
		rc.Verdict, rc.Text = Unsupported, "no shape was decoded"
	} else {
		rc.Verdict = map[bool]string{true: Holds, false: DoesNotHold}[ridge > in]
		rc.Text = fmt.Sprintf("roofs measured here: %.2f GB/s read, %.1f GFLOP/s (fp32 %s, in-cache) — ridge at %s FLOP/byte, %s× the %s FLOP/byte the cost model counts for fp32 decoding of these shapes",
			roof.Median, r.Peak, r.Variant, g3(ridge), g3(ridge/in), g3(in))
	}
	cs = append(cs, rc)
	return cs
}

// Bundle renders the table, charts and conclusions.
func (r *WallResult) Bundle() inspect.Bundle {
	roof := r.Roof()
	t := inspect.Table{Title: fmt.Sprintf("Predicted against measured decoding speed (%s, %d thread(s), synthetic fp32 weights)", r.Variant, r.Threads),
		Header: []string{"shape", "weight bytes/token", "× cache", "FLOP/byte", "predicted tok/s", "measured tok/s", "measured/predicted", "effective GB/s"}}
	var rows []map[string]any
	var pts []inspect.RooflinePoint
	var xs, pred, meas []float64
	for _, s := range r.Shapes {
		p := r.Predicted(s)
		llc := float64(s.WeightBytes) / math.Max(float64(r.LLC), 1)
		in := s.Intensity()
		gbps := float64(s.WeightBytes) * s.TokS / 1e9
		t.Rows = append(t.Rows, []string{s.Shape, inspect.Human(float64(s.WeightBytes), "B"), g3(llc), g3(in), fmt.Sprintf("%.1f", p), fmt.Sprintf("%.1f", s.TokS),
			fmt.Sprintf("%.2f", s.TokS/p), fmt.Sprintf("%.2f", gbps)})
		rows = append(rows, map[string]any{"shape": s.Shape, "weight_bytes": s.WeightBytes, "flops": s.Flops, "intensity": in, "llc_ratio": llc,
			"measured_tok_s": s.TokS, "predicted_tok_s": p, "ratio": s.TokS / p, "gbps": gbps})
		pts = append(pts, inspect.RooflinePoint{Name: s.Shape, Group: "decode (all matrices)", Intensity: in, GFLOPS: float64(s.Flops) * s.TokS / 1e9})
		xs, pred, meas = append(xs, float64(s.WeightBytes)/1e6), append(pred, p), append(meas, s.TokS)
	}
	t.Note = fmt.Sprintf("predicted = %.2f GB/s (median of %d read probes of the run, %.2f–%.2f) ÷ weight bytes per token (counted by the cost model); × cache: over the %s last-level cache",
		roof.Median, roof.N, roof.Min, roof.Max, inspect.Human(float64(r.LLC), "B"))
	chart := inspect.LineChart([]inspect.Series{{Name: "predicted from bandwidth", X: xs, Y: pred}, {Name: "measured", X: xs, Y: meas}},
		inspect.ChartOpts{Title: "Decoding speed against model size", XLabel: "weight MB read per token", YLabel: "tokens/s", LogX: true, LogY: true})
	rl := inspect.RooflinePlot(inspect.Roofline{Title: "The shapes on this machine's roofline",
		Memory:  []inspect.Roof{{Name: fmt.Sprintf("DRAM read %.1f GB/s", roof.Median), Value: roof.Median}},
		Compute: []inspect.Roof{{Name: fmt.Sprintf("fp32 %s %.1f GFLOP/s", r.Variant, r.Peak), Value: r.Peak}}, Points: pts})
	cs := r.Conclusions()
	return inspect.Join([]inspect.Bundle{Quick(r.Quick), t.Bundle(), chart, rl, cs.Bundle()}, map[string]any{"bandwidth_gbps": roof.Median, "bandwidth_probes_gbps": r.Probes,
		"compute_gflops": r.Peak, "ridge": r.Peak / roof.Median, "llc_bytes": r.LLC, "tokens": r.Tokens, "quick": len(r.Quick) > 0, "rows": rows,
		"conclusions": cs.JSON()})
}
