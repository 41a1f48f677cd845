package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/memwall/memwall/asm"
)

// rung is one step of the kernel ladder.
type rung struct {
	label   string
	variant string
	threads int
	format  string // v0 (fp32) or v2 (int8)
	aligned bool
}

// ladderRungs lists the ladder for this CPU: the naive loop, the unrolled
// loop, each SIMD variant the CPU has, then the best variant with two
// threads, with int8 weights, and with a 64-byte-aligned copy.
func ladderRungs() []rung {
	rs := []rung{
		{"naive loop, one accumulator", "scalar", 1, "v0", false},
		{"unrolled, several accumulators", "scalar4", 1, "v0", false},
	}
	vs := asm.Variants()
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		if v.Available && v.Name != "scalar" && v.Name != "scalar4" {
			rs = append(rs, rung{"SIMD (" + strings.Join(v.Features, "+") + ")", v.Name, 1, "v0", false})
		}
	}
	best := asm.Best()
	if asm.MaxThreads() >= 2 {
		rs = append(rs, rung{"2 threads", best, 2, "v0", false})
	}
	rs = append(rs,
		rung{"int8 weights (Q8_0)", best, 1, "v2", false},
		rung{"64-byte-aligned copy of the weights", best, 1, "v0", true},
	)
	if asm.MaxThreads() >= 2 {
		rs = append(rs, rung{"int8, 2 threads", best, 2, "v2", false})
	}
	return rs
}

func runLadder(e *env, shape string, n, warmup, prompt int, asJSON bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	paths := map[string]string{}
	for _, f := range []string{"v0", "v2"} {
		p, err := shapeModel(e, shape, f)
		if err != nil {
			return err
		}
		paths[f] = p
	}
	// One roof per thread count, measured once over the fp32 model's size.
	st, err := os.Stat(paths["v0"])
	if err != nil {
		return err
	}
	bw := map[int]float64{}
	for _, t := range []int{1, 2} {
		if t > asm.MaxThreads() {
			continue
		}
		r, err := asm.Bandwidth(ctx, asm.BandwidthOptions{Bytes: max(st.Size(), 256<<20), Threads: t, Repeats: 5})
		if err != nil {
			return err
		}
		bw[t] = r.Read.Median
	}
	var reports []*benchReport
	var labels []string
	for _, r := range ladderRungs() {
		ops, err := asm.New(r.variant, r.threads)
		if err != nil {
			return err
		}
		tokens := n
		if r.variant == "scalar" || r.variant == "scalar4" {
			tokens = max(4, n/8) // the slow rungs need fewer tokens to be measured well
		}
		fmt.Fprintf(e.stderr, "ladder: %s (%s, %d thread(s), %s)...\n", r.label, r.variant, r.threads, r.format)
		p := 0
		if r.variant == asm.Best() && r.threads == 1 && r.format == "v0" && !r.aligned {
			p = prompt
		}
		rep, err := benchOne(ctx, paths[r.format], ops, r.aligned, 0, tokens, warmup, p, bw)
		if err != nil {
			return err
		}
		reports = append(reports, rep)
		labels = append(labels, r.label)
	}
	if asJSON {
		out := make([]map[string]any, len(reports))
		for i, r := range reports {
			out[i] = map[string]any{"rung": labels[i], "report": r}
		}
		return writeJSON(e, map[string]any{"machine": machine(), "shape": shape, "read_bandwidth_gb_per_s": bw, "rungs": out})
	}
	w := e.stdout
	fmt.Fprintf(w, "Kernel ladder on %s-shape synthetic weights\n\nmachine: %s\n", shape, machine())
	for t, v := range bw {
		fmt.Fprintf(w, "read bandwidth roof, %d thread(s): %.2f GB/s (median of 5 over %d MB)\n", t, v, max(st.Size(), 256<<20)/1000000)
	}
	fmt.Fprintf(w, "command: memwall bench --shape %s --ladder -n %d --warmup %d --prompt-tokens %d\n\n", shape, n, warmup, prompt)
	fmt.Fprintln(w, "| rung | variant | threads | weights | tok/s | ms/token P50 | P99 | weight bytes/token | effective GB/s | % of roof |")
	fmt.Fprintln(w, "|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
	for i, r := range reports {
		wt := "fp32"
		if strings.Contains(r.Format, "Q8_0") {
			wt = "int8"
		}
		wt += ", " + r.Layout
		fmt.Fprintf(w, "| %s | %s | %d | %s | %.1f | %.2f | %.2f | %d | %.2f | %.1f%% |\n", labels[i], r.Variant, r.Threads, wt,
			r.TokPerS, r.MsP50, float64(r.MsP99), r.WeightBytes, r.EffectiveGBps, 100*r.RooflineFraction)
	}
	for _, r := range reports {
		if r.PromptTokens > 0 {
			fmt.Fprintf(w, "\nTime to first token, %d-token prompt (%s, 1 thread): batched prefill %.1f ms, token by token %.1f ms (%.2fx faster)\n",
				r.PromptTokens, r.Variant, r.TTFTBatchedMs, r.TTFTTokenByTokenMs, r.TTFTTokenByTokenMs/r.TTFTBatchedMs)
		}
	}
	return nil
}
