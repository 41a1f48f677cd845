package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/course"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
	"github.com/memwall/memwall/internal/site"
)

func newOps(variant string, threads int) (*asm.Ops, error) {
	if threads < 1 {
		return nil, fmt.Errorf("%w: --threads %d: want at least 1", errUsage, threads)
	}
	return asm.New(variant, threads)
}

func bufferedStdout(e *env) *bufio.Writer { return bufio.NewWriter(e.stdout) }

// machine describes this computer for benchmark reports.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d logical CPUs, %s/%s, %s, best kernels %s", cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), asm.Best())
}

func cmdBandwidth(e *env, args []string) error {
	fs := newFlags(e, "bandwidth")
	threads := fs.Int("threads", 1, "goroutines streaming at once")
	size := fs.Int64("size", 0, "bytes to stream (default 256 MiB)")
	model := fs.String("model", "", "use the size of this model (a file or a name, found as for bench MODEL)")
	runs := fs.Int("runs", 0, "repeats of each test (default 5)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *model != "" {
		p, err := findModel(*model)
		if err != nil {
			return err
		}
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		*size = st.Size()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := asm.Bandwidth(ctx, asm.BandwidthOptions{Bytes: *size, Threads: *threads, Repeats: *runs})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e, map[string]any{
			"machine": machine(), "bytes": r.Bytes, "threads": r.Threads, "repeats": r.Repeats, "read_kernel": r.ReadKernel,
			"read_gb_per_s": stat(r.Read), "copy_gb_per_s": stat(r.Copy), "triad_gb_per_s": stat(r.Triad),
		})
	}
	fmt.Fprintf(e.stdout, "machine: %s\n%s", machine(), r)
	return nil
}

func stat(s asm.BandwidthStat) map[string]float64 {
	return map[string]float64{"median": s.Median, "min": s.Min, "max": s.Max}
}

func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// shapeModel returns the path of a synthetic model of a named shape in the
// cache directory the kernel uses too (internal/site), writing it on first
// use.
func shapeModel(e *env, shape, format string) (string, error) {
	c, err := engine.Shape(shape)
	if err != nil {
		return "", err
	}
	if c.Version, err = parseFormat(format); err != nil {
		return "", err
	}
	dir, _ := site.CacheDir()
	p := filepath.Join(dir, engine.SyntheticName(shape, 1, c.Version))
	if _, err := os.Stat(p); err != nil {
		fmt.Fprintf(e.stderr, "writing synthetic %s (%s, random weights) to %s\n", shape, c.FormatName(), p)
	}
	return engine.SyntheticModel(context.Background(), dir, shape, 1, c.Version)
}

// openWeights opens the model at path, prefaulted, with its matrices
// converted as a --weights value says ("" keeps them as stored). The value
// is checked before the model is read.
func openWeights(path, weights string) (*engine.Model, error) {
	var t, fallback engine.WeightType
	if weights != "" {
		var err error
		if t, fallback, err = engine.ParseWeights(weights); err != nil {
			return nil, fmt.Errorf("%w: --weights: %v", errUsage, err)
		}
	}
	m, err := engine.Open(path, engine.LoadOptions{Prefault: true})
	if err != nil || weights == "" {
		return m, err
	}
	if err := m.Convert(t, fallback); err != nil {
		m.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// benchReport is memwall bench's result; the JSON field names are part of
// the command's interface.
type benchReport struct {
	Machine string `json:"machine"`
	Model   string `json:"model"`
	Format  string `json:"format"`
	Variant string `json:"variant"`
	// Kernels names the routine that ran each kind of op (the variant's
	// own, or what it fell back to and why), weight types included.
	Kernels            map[string]string `json:"kernels"`
	Threads            int               `json:"threads"`
	Layout             string            `json:"layout"`
	Tokens             int               `json:"tokens"`
	Context            int               `json:"context"`
	TokPerS            float64           `json:"tok_per_s"`
	MsP50              float64           `json:"ms_per_token_p50"`
	MsP99              optFloat          `json:"ms_per_token_p99"` // null when the sample is too small for it
	PercentileDef      string            `json:"percentile_definition"`
	Unsupported        []string          `json:"percentiles_unsupported,omitempty"`
	MsMax              float64           `json:"ms_per_token_max"`
	WeightBytes        int64             `json:"weight_bytes_per_token"`
	EffectiveGBps      float64           `json:"effective_gb_per_s"`
	ReadGBps           float64           `json:"read_bandwidth_gb_per_s"` // median of the probes
	ReadGBpsMin        float64           `json:"read_bandwidth_gb_per_s_min"`
	ReadGBpsMax        float64           `json:"read_bandwidth_gb_per_s_max"`
	Probes             []float64         `json:"read_bandwidth_probes_gb_per_s"`
	FloorMs            float64           `json:"floor_ms_per_token"`
	RooflineFraction   float64           `json:"roofline_fraction"`
	PromptTokens       int               `json:"prompt_tokens,omitempty"`
	TTFTBatchedMs      float64           `json:"ttft_batched_ms,omitempty"`
	TTFTTokenByTokenMs float64           `json:"ttft_token_by_token_ms,omitempty"`
	Conclusions        []map[string]any  `json:"conclusions"`
	// Weights is the storage of the matrices (after --weights), Converted
	// how --weights changed it, CopiedBytes the bytes the load copied out
	// of the file.
	Weights     string `json:"weights"`
	Converted   string `json:"converted,omitempty"`
	CopiedBytes int64  `json:"copied_bytes"`
	// KV is the key/value cache's storage (--kv), KVKernel the attention
	// routine that read it.
	KV       string `json:"kv_cache"`
	KVKernel string `json:"kv_kernel"`
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// optFloat is a float64 that is null in JSON when it is NaN (a statistic
// the sample does not support).
type optFloat float64

func (f optFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

func cmdBench(e *env, args []string) error {
	fs := newFlags(e, "bench")
	shape := fs.String("shape", "", "benchmark a synthetic model of this shape: "+strings.Join(engine.ShapeNames(), ", "))
	format := fs.String("format", "v0", "format of the synthetic model: v0 (fp32) or v2 (int8)")
	variant := fs.String("variant", "auto", "kernel variant")
	threads := fs.Int("threads", 1, "threads for the matrix products")
	n := fs.Int("n", 128, "tokens to decode and time")
	warmup := fs.Int("warmup", 8, "tokens decoded first, not timed")
	at := fs.Int("context", 0, "decode after this many prefilled positions, so attention reads a cache this long")
	prompt := fs.Int("prompt-tokens", 0, "also time the first token of a prompt this long, batched and token by token")
	aligned := fs.Bool("aligned", false, "read weights from a 64-byte-aligned copy instead of the mapping")
	asJSON := fs.Bool("json", false, "print one JSON object")
	repeats := fs.Int("repeats", 5, "with --ladder: interleaved rounds over all rungs; with --speculative: of plain and speculative decoding")
	chunks := fs.Int("probes", 4, "decode in this many chunks with a bandwidth probe before each and after the last")
	weights := fs.String("weights", "", "convert the weight matrices at load: fp32, f16, bf16, q8_0 or q4_0 (ggml blocks; TYPE,f16 keeps rows that are not a multiple of 32 in f16)")
	kv := fs.String("kv", "fp32", "key/value cache storage: fp32, f16 or bf16")
	spec := fs.String("speculative", "", "compare speculative decoding with plain greedy, drafting with DRAFT: layers:N (the first N layers) or a weight type (q8_0, q4_0,f16, ...)")
	specK := fs.Int("k", 4, "with --speculative: tokens drafted per full-model pass")
	ladder := fs.Bool("ladder", false, "run the whole kernel ladder (scalar, scalar4, SIMD, threads, int8, aligned) on --shape and print one table")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *ladder {
		if *shape == "" || len(pos) > 0 {
			return fmt.Errorf("%w: --ladder needs --shape NAME", errUsage)
		}
		return runLadder(e, *shape, *n, *warmup, *prompt, *repeats, *asJSON)
	}
	var path string
	switch {
	case *shape != "" && len(pos) == 0:
		if path, err = shapeModel(e, *shape, *format); err != nil {
			return err
		}
	case *shape == "" && len(pos) == 1:
		if path, err = findModel(pos[0]); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: give a MODEL file or --shape NAME", errUsage)
	}
	ops, err := newOps(*variant, *threads)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *spec != "" {
		return benchSpeculative(ctx, e, specBench{path: path, weights: *weights, kv: *kv, draft: *spec, k: *specK,
			n: *n, repeats: *repeats, ops: ops, json: *asJSON})
	}
	r, err := benchWeights(ctx, path, *weights, *kv, ops, *aligned, *at, *n, *warmup, *prompt, *chunks)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e, r)
	}
	w := e.stdout
	fmt.Fprintf(w, "machine:  %s\nmodel:    %s (%s), %d weight bytes per token\n", r.Machine, r.Model, r.Format, r.WeightBytes)
	fmt.Fprintf(w, "kernels:  %s, %d thread(s), weights %s\n", r.Variant, r.Threads, r.Layout)
	fmt.Fprintf(w, "weights:  %s", r.Weights)
	if r.Converted != "" {
		fmt.Fprintf(w, ", %s (%d bytes copied)", r.Converted, r.CopiedBytes)
	}
	fmt.Fprintln(w)
	for _, op := range slices.Sorted(maps.Keys(r.Kernels)) {
		if r.Kernels[op] != r.Variant {
			fmt.Fprintf(w, "          %s runs %s\n", op, r.Kernels[op])
		}
	}
	fmt.Fprintf(w, "kv cache: %s; attention %s\n", r.KV, r.KVKernel)
	fmt.Fprintf(w, "decode:   %d tokens after %d warm-up, from position %d: %.1f tok/s, ms/token P50 %.3f, P99 %s, max %.3f\n",
		r.Tokens, *warmup, r.Context, r.TokPerS, r.MsP50, inspect.Cell(float64(r.MsP99), "%.3f"), r.MsMax)
	fmt.Fprintf(w, "          percentiles: %s", r.PercentileDef)
	if len(r.Unsupported) > 0 {
		fmt.Fprintf(w, "; %s", strings.Join(r.Unsupported, "; "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "roof:     read bandwidth %.2f GB/s (median of %d probes interleaved with the decode, %.2f-%.2f, %d thread(s)) -> floor %.3f ms/token\n",
		r.ReadGBps, len(r.Probes), r.ReadGBpsMin, r.ReadGBpsMax, r.Threads, r.FloorMs)
	fmt.Fprintf(w, "achieved: %.2f GB/s effective = %.1f%% of the read-bandwidth roof\n", r.EffectiveGBps, 100*r.RooflineFraction)
	if r.PromptTokens > 0 {
		fmt.Fprintf(w, "first token of a %d-token prompt: batched prefill %.1f ms, token by token %.1f ms (%.2fx)\n",
			r.PromptTokens, r.TTFTBatchedMs, r.TTFTTokenByTokenMs, r.TTFTTokenByTokenMs/r.TTFTBatchedMs)
	}
	return nil
}

// benchWeights loads path, converts its matrices as --weights says ("" for
// as stored), keeps its key/value cache as kv says ("" for fp32) and
// benchmarks decoding on it, with the read roof probed between chunks of
// the decode (course.Bench).
func benchWeights(ctx context.Context, path, weights, kv string, ops *asm.Ops, aligned bool, at, n, warmup, prompt, chunks int) (*benchReport, error) {
	kvType, err := engine.ParseKVType(kv)
	if err != nil {
		return nil, fmt.Errorf("%w: --kv: %v", errUsage, err)
	}
	m, err := openWeights(path, weights)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	s, err := engine.NewState(m, ops)
	if err != nil {
		return nil, err
	}
	if err := s.SetKV(kvType); err != nil {
		return nil, err
	}
	layout := engine.LayoutMapped
	if aligned {
		layout = engine.LayoutAligned
	}
	if err := s.SetLayout(layout); err != nil {
		return nil, err
	}
	res, err := course.Bench(ctx, s, ops, course.BenchOptions{Tokens: n, Warmup: warmup, Context: at, Chunks: chunks})
	if err != nil {
		return nil, err
	}
	lat := course.DecodeStats(res.Times)
	roof := res.Roof()
	r := benchReport{
		Machine: machine(), Model: path, Format: m.FormatName(), Variant: ops.Name, Kernels: engine.KernelRoutines(m, ops.Kernels), Threads: ops.Threads(),
		Layout: s.Layout().String(), Tokens: len(res.Times), Context: at, TokPerS: res.TokPerSec(),
		MsP50: lat.P50, MsP99: optFloat(lat.P99), MsMax: lat.Max, PercentileDef: inspect.PercentileDefinition, Unsupported: lat.Unsupported,
		WeightBytes: res.WeightBytes, ReadGBps: roof.Median, ReadGBpsMin: roof.Min, ReadGBpsMax: roof.Max, Probes: res.Probes,
		Conclusions: res.Conclusions().JSON(),
		Weights:     m.WeightTypes(), Converted: m.Load.Converted, CopiedBytes: m.Load.CopiedBytes,
		KV: s.KV().String(), KVKernel: s.KVKernel(),
	}
	if m.Load.Converted != "" && !aligned {
		r.Layout = "converted copy on the heap" // not the mapping, whatever the layout says
	}
	r.EffectiveGBps = res.EffectiveGBps()
	r.FloorMs = float64(res.WeightBytes) / (roof.Median * 1e9) * 1e3
	r.RooflineFraction = r.EffectiveGBps / r.ReadGBps
	if prompt > 0 {
		r.PromptTokens = prompt
		tb, err := s.TimeToFirstToken(ctx, prompt, true)
		if err != nil {
			return nil, err
		}
		tt, err := s.TimeToFirstToken(ctx, prompt, false)
		if err != nil {
			return nil, err
		}
		r.TTFTBatchedMs, r.TTFTTokenByTokenMs = ms(tb), ms(tt)
	}
	return &r, nil
}
