package course

import (
	"context"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// ComputeRoof measures the best GFLOP/s of ops' matrix product on an
// in-cache 256×256 matrix times 8 vectors (fp32 MatMul, or Q8_0 MatMulQ8
// with group size 32): a practical peak of this code, not a datasheet's.
func ComputeRoof(ctx context.Context, ops *asm.Ops, q8 bool) (float64, error) {
	const rows, cols, n = 256, 256, 8
	out := make([]float32, rows*n)
	x := make([]float32, cols*n)
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(i%7) * 0.01
	}
	for i := range x {
		x[i] = float32(i%5) * 0.1
	}
	gs := 32
	wq := make([]int8, len(w))
	ws := make([]float32, len(w)/gs)
	xq := make([]int8, len(x))
	xs := make([]float32, len(x)/gs)
	if q8 {
		ops.Quantize(wq, ws, w, gs)
		ops.Quantize(xq, xs, x, gs)
	}
	flops := 2.0 * rows * cols * n
	best := 0.0
	for rep := 0; rep < 5; rep++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		calls := 0
		start := time.Now()
		for time.Since(start) < 20*time.Millisecond {
			if q8 {
				ops.MatMulQ8(out, wq, ws, xq, xs, n, gs)
			} else {
				ops.MatMul(out, w, x, n)
			}
			calls++
		}
		best = max(best, flops*float64(calls)/time.Since(start).Seconds()/1e9)
	}
	return best, nil
}

// RooflineOptions controls Roofline.
type RooflineOptions struct {
	Model      string        // for the title
	FP32, Int8 *engine.Model // the same model in both formats
	Variant    string
	Threads    int
	Layout     engine.Layout
	ProbeBytes int64 // default 128 MiB
	Probes     int   // bandwidth probes (default 3)
	DecodeN    int   // decoded tokens profiled (default 16)
	PrefillN   int   // prefill positions profiled (default 32)
	LLC        int64 // the largest CPU cache in bytes (LLCBytes; 0: unknown)
	Progress   Progress
}

// RooflineResult is this machine's roofs and the model's ops on them.
type RooflineResult struct {
	Title     string
	Bandwidth inspect.Spread // read GB/s over the probes
	FP32Peak  float64        // GFLOP/s
	Int8Peak  float64
	Variant   string
	Threads   int
	Points    []inspect.RooflinePoint
	// Weight bytes per token of the fp32 and the int8 model (counted), and
	// the largest CPU cache (0: unknown): whether a point above the DRAM
	// roof is explained by weights that fit in cache.
	WeightBytes, Int8WeightBytes int64
	LLC                          int64
}

// Roof names (points refer to them).
func (r *RooflineResult) memRoof() string {
	return fmt.Sprintf("DRAM read %.1f GB/s", r.Bandwidth.Median)
}
func (r *RooflineResult) fp32Roof() string {
	return fmt.Sprintf("fp32 MatMul %.1f GFLOP/s", r.FP32Peak)
}
func (r *RooflineResult) int8Roof() string {
	return fmt.Sprintf("int8 MatMulQ8 %.1f GFLOP/s", r.Int8Peak)
}

// Plot is the roofline with every point held against its own roofs.
func (r *RooflineResult) Plot() inspect.Roofline {
	return inspect.Roofline{Title: r.Title,
		Memory:  []inspect.Roof{{Name: r.memRoof(), Value: r.Bandwidth.Median}},
		Compute: []inspect.Roof{{Name: r.fp32Roof(), Value: r.FP32Peak}, {Name: r.int8Roof(), Value: r.Int8Peak}},
		Points:  r.Points}
}

// Roofline measures the roofs (read bandwidth, fp32 and int8 compute peaks)
// and profiles decode and a batched prefill of both models, one point per
// op: its FLOPs per byte (counted by the cost model) and its achieved
// GFLOP/s (measured).
func Roofline(ctx context.Context, opt RooflineOptions) (*RooflineResult, error) {
	if opt.ProbeBytes <= 0 {
		opt.ProbeBytes = 128 << 20
	}
	if opt.Probes <= 0 {
		opt.Probes = 3
	}
	if opt.DecodeN <= 0 {
		opt.DecodeN = 16
	}
	if opt.PrefillN < 2 {
		opt.PrefillN = 32
	}
	ops, err := asm.New(opt.Variant, max(opt.Threads, 1))
	if err != nil {
		return nil, err
	}
	defer ops.Close()
	r := &RooflineResult{Variant: ops.Name, Threads: ops.Threads(), WeightBytes: opt.FP32.WeightBytes(), Int8WeightBytes: opt.Int8.WeightBytes(), LLC: opt.LLC}
	r.Title = fmt.Sprintf("Roofline of this machine (%s, %d thread(s)) with %s's ops", ops.Name, ops.Threads(), opt.Model)
	var probes []float64
	probe := func() error {
		opt.Progress.say("measuring memory bandwidth…")
		b, err := asm.Bandwidth(ctx, asm.BandwidthOptions{Bytes: opt.ProbeBytes, Threads: ops.Threads(), Repeats: 1})
		if err == nil {
			probes = append(probes, b.Read.Median)
		}
		return err
	}
	if err := probe(); err != nil {
		return nil, err
	}
	opt.Progress.say("measuring compute peaks…")
	if r.FP32Peak, err = ComputeRoof(ctx, ops, false); err != nil {
		return nil, err
	}
	if r.Int8Peak, err = ComputeRoof(ctx, ops, true); err != nil {
		return nil, err
	}
	for _, m := range []*engine.Model{opt.FP32, opt.Int8} {
		if err := probe(); err != nil {
			return nil, err
		}
		kind := "fp32"
		if m.Quantized() {
			kind = "int8"
		}
		opt.Progress.say("profiling %s decode and prefill…", kind)
		pts, err := opPoints(ctx, m, ops, opt.Layout, kind, opt.DecodeN, opt.PrefillN)
		if err != nil {
			return nil, err
		}
		r.Points = append(r.Points, pts...)
	}
	for len(probes) < opt.Probes {
		if err := probe(); err != nil {
			return nil, err
		}
	}
	r.Bandwidth = inspect.SpreadOf(probes)
	for i := range r.Points {
		r.Points[i].Memory = r.memRoof()
		if strings.HasPrefix(r.Points[i].Group, "int8") {
			r.Points[i].Compute = r.int8Roof()
		} else {
			r.Points[i].Compute = r.fp32Roof()
		}
	}
	return r, nil
}

// opPoints profiles decode and batched prefill on m and returns one point
// per matrix op and attention, and one for all ops together.
func opPoints(ctx context.Context, m *engine.Model, ops *asm.Ops, layout engine.Layout, kind string, decodeN, prefillN int) ([]inspect.RooflinePoint, error) {
	st, err := engine.NewState(m, ops)
	if err != nil {
		return nil, err
	}
	if err := st.SetLayout(layout); err != nil {
		return nil, err
	}
	decodeN = max(1, min(decodeN, m.SeqLen))
	prefillN = max(2, min(prefillN, m.SeqLen))
	dec := engine.NewProfile()
	st.Profile = dec
	if _, err := st.DecodeGreedy(ctx, engine.BOS, 0, decodeN, nil); err != nil {
		return nil, err
	}
	pre := engine.NewProfile()
	st.Profile = pre
	if _, err := st.TimeToFirstToken(ctx, prefillN, true); err != nil {
		return nil, err
	}
	var pts []inspect.RooflinePoint
	for _, pr := range []struct {
		p     *engine.Profile
		group string
	}{{dec, kind + " decode"}, {pre, fmt.Sprintf("%s prefill×%d", kind, prefillN)}} {
		var tb, tf int64
		var tt time.Duration
		for _, o := range pr.p.Ops() {
			if o.Flops <= 0 || o.Bytes <= 0 || o.Time <= 0 {
				continue
			}
			tb, tf, tt = tb+o.Bytes, tf+o.Flops, tt+o.Time
			switch o.Name {
			case "wq", "wk", "wv", "wo", "w1", "w2", "w3", "classifier", "attention":
				pts = append(pts, inspect.RooflinePoint{Name: o.Name, Group: pr.group,
					Intensity: float64(o.Flops) / float64(o.Bytes), GFLOPS: float64(o.Flops) / o.Time.Seconds() / 1e9})
			}
		}
		if tt > 0 {
			pts = append(pts, inspect.RooflinePoint{Name: "all ops", Group: pr.group, Intensity: float64(tf) / float64(tb), GFLOPS: float64(tf) / tt.Seconds() / 1e9})
		}
	}
	return pts, nil
}

// Conclusions: which roof bounds each format's decoding, at what
// fraction, and whether some point sits above its roof (data in cache).
func (r *RooflineResult) Conclusions() Conclusions {
	var cs Conclusions
	rl := r.Plot()
	for _, kind := range []string{"fp32", "int8"} {
		for _, p := range r.Points {
			if p.Group != kind+" decode" || p.Name != "all ops" {
				continue
			}
			j := rl.Judge(p)
			c := Conclusion{ID: kind + "_decode_bound", Claim: kind + " decoding is bound by memory bandwidth", Source: Measured,
				Evidence: ev("intensity", p.Intensity, "gflops", p.GFLOPS, "attainable_gflops", j.Attainable, "fraction", j.Fraction,
					"own_ridge", j.Compute.Value/j.Memory.Value, "compute_roof_gflops", j.Compute.Value, "memory_roof_gbps", j.Memory.Value)}
			c.Verdict = map[bool]string{true: Holds, false: DoesNotHold}[j.Bound == "memory"]
			c.Text = fmt.Sprintf("%s decode: %s FLOP/byte against the %s roof's ridge at %s: nearest the %s roof, at %.0f%% of it (%s of %s GFLOP/s)",
				kind, g3(p.Intensity), j.Compute.Name, g3(j.Compute.Value/j.Memory.Value), j.Bound, 100*j.Fraction, g3(p.GFLOPS), g3(j.Attainable))
			cs = append(cs, c)
		}
	}
	// A point above its roof moved its bytes faster than the read probes:
	// explained when its model's weights fit in the cache.
	fits := func(group string) bool {
		wb := r.WeightBytes
		if strings.HasPrefix(group, "int8") {
			wb = r.Int8WeightBytes
		}
		return r.LLC > 0 && wb <= r.LLC
	}
	over, inCache := 0, 0
	for _, p := range r.Points {
		if j := rl.Judge(p); j.Fraction > 1.05 {
			over++
			if fits(p.Group) {
				inCache++
			}
		}
	}
	c := Conclusion{ID: "above_roof", Claim: "every op stays under its roofs (its data comes from DRAM)", Source: Measured,
		Evidence: ev("points_above", over, "points_above_in_cache", inCache, "points", len(r.Points), "weight_bytes", r.WeightBytes,
			"int8_weight_bytes", r.Int8WeightBytes, "llc_bytes", r.LLC)}
	if over == 0 {
		c.Verdict = Holds
		c.Text = fmt.Sprintf("all %d points sit at or under their roofs", len(r.Points))
	} else {
		c.Verdict = DoesNotHold
		c.Text = fmt.Sprintf("%d of %d points sit above the DRAM roof", over, len(r.Points))
		if inCache > 0 {
			c.Text += fmt.Sprintf("; %d of them belong to a model whose weights (%s fp32, %s int8) fit in the %s cache, so those ops are not reading DRAM: load a model larger than the last-level cache to see the memory wall",
				inCache, inspect.Human(float64(r.WeightBytes), "B"), inspect.Human(float64(r.Int8WeightBytes), "B"), inspect.Human(float64(r.LLC), "B"))
		}
		if rest := over - inCache; rest > 0 {
			cache := "the cache size is unknown here"
			if r.LLC > 0 {
				cache = "their model's weights do not fit in the " + inspect.Human(float64(r.LLC), "B") + " cache"
			}
			c.Text += fmt.Sprintf("; %d moved their bytes faster than the read probes measured, and %s", rest, cache)
		}
	}
	return append(cs, c)
}

// Bundle renders the plot, a note on the roofs and the conclusions.
func (r *RooflineResult) Bundle() inspect.Bundle {
	b := inspect.RooflinePlot(r.Plot())
	note := fmt.Sprintf("Bandwidth roof: the median of %d streaming-read probes (%.2f–%.2f GB/s) interleaved with the profiling. Compute roofs: the best GFLOP/s of the %s kernels on an in-cache 256×256 matrix times 8 vectors (fp32 MatMul; int8 MatMulQ8) — a practical peak of this code. Points: FLOPs per byte counted by the cost model, GFLOP/s measured; each is held against its own format's compute roof.",
		r.Bandwidth.N, r.Bandwidth.Min, r.Bandwidth.Max, r.Variant)
	js := b.JSON.(map[string]any)
	cs := r.Conclusions()
	js["bandwidth_gbps"], js["bandwidth_min_gbps"], js["bandwidth_max_gbps"] = Num(r.Bandwidth.Median), Num(r.Bandwidth.Min), Num(r.Bandwidth.Max)
	js["compute_gflops"], js["compute_int8_gflops"] = Num(r.FP32Peak), Num(r.Int8Peak)
	js["conclusions"] = cs.JSON()
	return inspect.Join([]inspect.Bundle{b, {Text: note, HTML: `<p style="font-size:90%;max-width:60em">` + html.EscapeString(note) + `</p>`}, cs.Bundle()}, js)
}
