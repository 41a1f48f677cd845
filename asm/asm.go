// Package asm holds the numeric kernels of the inference engine: every hot
// operation in a portable Go version and in SIMD variants written in Go
// assembly, chosen at run time.
//
// A Kernels value is one variant: a complete set of single-threaded
// routines over whole slices. An Ops value wraps a variant with a thread
// count and splits the matrix products across goroutines by rows, so that
// each output element is summed by exactly one goroutine in a fixed order and
// the result is the same bit for bit for any thread count.
//
// The variants: "scalar" (the reference: llama2.c's loop, one accumulator)
// and "scalar4" (four accumulators) in portable Go everywhere; "avx2"
// (AVX2+FMA) and "avx512" (AVX-512F/BW/VL) on amd64; "neon" on arm64, whose
// int8 products use SDOT when the CPU has the dot-product extension and
// SMULL/SADALP otherwise (a run-time branch; same results either way). The
// SIMD routines are Go assembly in the *_amd64.s and *_arm64.s files,
// chosen at run time with golang.org/x/sys/cpu; building with the noasm tag
// (or for another architecture) leaves only the portable ones. Each SIMD
// matrix routine sums every output row in one fixed order, so a row's bits
// do not depend on how rows are split across threads or batched in MatMul.
//
// Bandwidth measures the memory bandwidth the kernels are up against;
// AlignedFloat32 and AlignedInt8 allocate cache-line-aligned buffers.
//
// Shapes are carried by slice lengths: for MatVec, rows = len(out),
// cols = len(x) and len(w) must be rows*cols. Callers are trusted on shapes
// (the engine validates them once at load time); the kernels do not check
// them on the hot path.
package asm

import (
	"fmt"
	"sort"
	"strings"
)

// Kernels is one variant: a set of single-threaded routines.
//
// Every routine must produce, within floating-point rounding, what the
// portable routine of the same name produces. The "scalar" variant sums in
// the same order as llama2.c's run.c (one float32 accumulator, no fused
// multiply-add), so it reproduces llama2.c's outputs most closely.
type Kernels struct {
	// Name is the short name users select the variant by.
	Name string
	// Features lists the CPU features the variant needs, for display.
	Features []string
	// Available reports whether this CPU (and this build) can run the
	// variant.
	Available func() bool
	// Rank orders variants for "auto": the highest available rank wins.
	Rank int

	// Dot returns sum_i a[i]*b[i] over len(a) elements.
	Dot func(a, b []float32) float32
	// MatVec computes out[i] = sum_j w[i*cols+j]*x[j], rows = len(out),
	// cols = len(x).
	MatVec func(out, w, x []float32)
	// MatMul computes, for n input vectors stored back to back in x
	// (cols = len(x)/n each), out[b*ldo+i] = sum_j w[i*cols+j]*x[b*cols+j]
	// for rows i < len(w)/cols. ldo is the stride between the outputs of
	// consecutive input vectors, so a row range of w can be computed into
	// out[r0:] with ldo = total rows.
	MatMul func(out []float32, ldo int, w, x []float32, n int)

	// Quantize writes x quantized to Q8_0 in groups of gs: for each group,
	// s = max|x|/127 and q = round(x/s) (round half away from zero), as
	// llama2.c's runq.c does. A group of zeros has scale 0 and values 0.
	Quantize func(q []int8, s []float32, x []float32, gs int)
	// MatVecQ8 computes out[i] = sum_g (sum_k wq*xq as int32) * ws * xs over
	// the groups of row i: rows = len(out), cols = len(xq), group size gs.
	MatVecQ8 func(out []float32, wq []int8, ws []float32, xq []int8, xs []float32, gs int)
	// MatMulQ8 is MatMul for Q8_0 weights and n quantized input vectors.
	MatMulQ8 func(out []float32, ldo int, wq []int8, ws []float32, xq []int8, xs []float32, n, gs int)

	// RMSNorm writes out[i] = w[i] * (x[i] / sqrt(mean(x^2) + eps)).
	RMSNorm func(out, x, w []float32, eps float32)
	// Softmax replaces x with softmax(x), subtracting the maximum first.
	Softmax func(x []float32)
	// SwiGLU replaces a with silu(a)*b, silu(v) = v/(1+exp(-v)).
	SwiGLU func(a, b []float32)
	// AttnScores computes out[t] = dot(q, k[t*stride:t*stride+len(q)]) /
	// sqrt(len(q)) for t < len(out): one head's scores over the key cache.
	AttnScores func(out, q, k []float32, stride int)
	// AttnMix adds sum_t att[t] * v[t*stride:t*stride+len(out)] for
	// t < len(att) to out, one t after another: one head's weighted sum of
	// the value cache, from out = 0, or continued over the next positions
	// (the same bits as one call over all of them).
	AttnMix func(out, att, v []float32, stride int)
	// AttnScoresF16, AttnMixF16 and the BF16 pair are AttnScores and
	// AttnMix over a key/value cache of 16-bit values (attn_h16.go), each
	// converted to float32 exactly as it is read; KVKernel names the
	// routine that runs for a cache type (KVF16, KVBF16) on this CPU.
	AttnScoresF16  func(out, q []float32, k []uint16, stride int)
	AttnMixF16     func(out, att []float32, v []uint16, stride int)
	AttnScoresBF16 func(out, q []float32, k []uint16, stride int)
	AttnMixBF16    func(out, att []float32, v []uint16, stride int)
	KVKernel       func(kvType string) string

	// The products for GGUF's other weight types (wtypes.go); a variant
	// without its own routine gets the portable one, and WeightKernel
	// says which runs. Rows = len(out). f16 and bf16 weights are uint16
	// bit patterns, cols = len(x), converted to float32 exactly. Block
	// weights are ggml's Q8_0 (34 bytes per 32 weights) and Q4_0 (18
	// bytes) and take x quantized by Quantize with gs = 32: cols =
	// len(xq), a multiple of 32. The MatMul forms are as MatMul and
	// MatMulQ8.
	MatVecF16  func(out []float32, w []uint16, x []float32)
	MatVecBF16 func(out []float32, w []uint16, x []float32)
	MatVecQ8B  func(out []float32, w []byte, xq []int8, xs []float32)
	MatVecQ4_0 func(out []float32, w []byte, xq []int8, xs []float32)
	MatMulF16  func(out []float32, ldo int, w []uint16, x []float32, n int)
	MatMulBF16 func(out []float32, ldo int, w []uint16, x []float32, n int)
	MatMulQ8B  func(out []float32, ldo int, w []byte, xq []int8, xs []float32, n int)
	MatMulQ4_0 func(out []float32, ldo int, w []byte, xq []int8, xs []float32, n int)
	// WeightKernel names the routine this variant runs for a weight type
	// (TypeF16, TypeBF16, TypeQ8Blocks, TypeQ4_0) on this CPU, so that a
	// fallback to slower code is visible wherever speed is reported.
	WeightKernel func(weightType string) string

	// routine names what runs an op at a group size, for Routine (nil: the
	// variant's own Go code runs every op and shape).
	routine func(op string, gs int) string
}

var registry = map[string]*Kernels{}

// Register adds a variant to the registry. It is called from init
// functions; registering a name twice is a programming error.
func Register(k *Kernels) {
	if _, dup := registry[k.Name]; dup {
		panic("asm: variant registered twice: " + k.Name)
	}
	fillWeightKernels(k)
	fillKVKernels(k)
	registry[k.Name] = k
}

// VariantInfo describes a registered variant.
type VariantInfo struct {
	Name      string
	Features  []string
	Available bool
	Rank      int
}

// Variants lists every variant compiled into this binary, fastest first,
// with whether this CPU can run it.
func Variants() []VariantInfo {
	out := make([]VariantInfo, 0, len(registry))
	for _, k := range registry {
		out = append(out, VariantInfo{Name: k.Name, Features: k.Features, Available: k.Available(), Rank: k.Rank})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rank != out[j].Rank {
			return out[i].Rank > out[j].Rank
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Best returns the name of the fastest variant this CPU supports: what
// "auto" resolves to.
func Best() string {
	for _, v := range Variants() {
		if v.Available {
			return v.Name
		}
	}
	return "scalar"
}

// Lookup returns the kernels of the named variant ("auto" for Best). It
// fails for an unknown name or a variant this CPU cannot run.
func Lookup(name string) (*Kernels, error) {
	if name == "" || name == "auto" {
		name = Best()
	}
	k, ok := registry[name]
	if !ok {
		names := make([]string, 0, len(registry))
		for _, v := range Variants() {
			names = append(names, v.Name)
		}
		return nil, fmt.Errorf("unknown kernel variant %q (have auto, %s)", name, strings.Join(names, ", "))
	}
	if !k.Available() {
		return nil, fmt.Errorf("kernel variant %q needs CPU features %s, which this CPU (or build) lacks", name, strings.Join(k.Features, "+"))
	}
	return k, nil
}

func always() bool { return true }
