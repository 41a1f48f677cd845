package engine

import (
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/memwall/memwall/asm"
)

// WeightType is how a Matrix stores its weights.
type WeightType uint8

const (
	WeightF32      WeightType = iota // float32
	WeightQ8                         // llama2.c's Q8_0: int8 values, one fp32 scale per GS
	WeightF16                        // IEEE binary16
	WeightBF16                       // bfloat16
	WeightQ8Blocks                   // ggml's Q8_0: blocks of an f16 scale and 32 int8
	WeightQ4_0                       // ggml's Q4_0: blocks of an f16 scale and 32 4-bit values
)

// String is the type's usual name. llama2.c's Q8_0 and ggml's are both
// "q8_0" (the same arithmetic, stored differently); Describe tells them
// apart.
func (t WeightType) String() string {
	switch t {
	case WeightF32:
		return "fp32"
	case WeightQ8, WeightQ8Blocks:
		return "q8_0"
	case WeightF16:
		return "f16"
	case WeightBF16:
		return "bf16"
	case WeightQ4_0:
		return "q4_0"
	}
	return fmt.Sprintf("weight type %d", uint8(t))
}

// Describe names the type with its storage, e.g. "q8_0 (ggml blocks of
// 32, f16 scales)".
func (t WeightType) Describe() string {
	switch t {
	case WeightQ8:
		return "q8_0 (llama2.c: int8, fp32 scale per group)"
	case WeightQ8Blocks:
		return "q8_0 (ggml blocks of 32, f16 scale)"
	case WeightQ4_0:
		return "q4_0 (ggml blocks of 32, f16 scale)"
	}
	return t.String()
}

// BitsPerWeight is the storage of one weight, scales included (llama2.c's
// Q8_0 depends on its group size, so it is left out here: see
// Matrix.Bytes).
func (t WeightType) BitsPerWeight() float64 {
	switch t {
	case WeightF16, WeightBF16:
		return 16
	case WeightQ8Blocks:
		return 8 * float64(asm.Q8BlockBytes) / asm.BlockSize
	case WeightQ4_0:
		return 8 * float64(asm.Q4_0BlockBytes) / asm.BlockSize
	}
	return 32
}

// ConvertTypes are the weight types a model can be converted to at load,
// by the names users give them.
var ConvertTypes = map[string]WeightType{
	"fp32": WeightF32, "f32": WeightF32, "f16": WeightF16, "bf16": WeightBF16,
	"q8_0": WeightQ8Blocks, "q4_0": WeightQ4_0,
}

// ParseWeightType reads a --weights value.
func ParseWeightType(s string) (WeightType, error) {
	if t, ok := ConvertTypes[strings.ToLower(s)]; ok {
		return t, nil
	}
	return 0, fmt.Errorf("unknown weight type %q (have fp32, f16, bf16, q8_0, q4_0)", s)
}

// asmType is the weight type's name in asm.Kernels.WeightKernel.
func (t WeightType) asmType() string {
	switch t {
	case WeightF16:
		return asm.TypeF16
	case WeightBF16:
		return asm.TypeBF16
	case WeightQ8Blocks:
		return asm.TypeQ8Blocks
	case WeightQ4_0:
		return asm.TypeQ4_0
	}
	return ""
}

// KernelFor names the routine ops run for matrices of type t: the
// variant's name, plus which routine for the types that have several.
func KernelFor(ops *asm.Ops, t WeightType) string {
	if a := t.asmType(); a != "" {
		return ops.Name + ": " + ops.WeightKernel(a)
	}
	return ops.Name
}

// matrices lists every distinct weight matrix (the classifier once when
// it is the embedding), in the order of namedMatrices.
func (w *Weights) matrices(shared bool) []*Matrix {
	ms := []*Matrix{&w.Embed}
	for i := range w.Layers {
		for _, bm := range blockMatrices {
			ms = append(ms, bm.of(&w.Layers[i]))
		}
	}
	if !shared {
		ms = append(ms, &w.Cls)
	}
	return ms
}

// Types lists the weight types of the matrices, most common first.
func (w *Weights) Types(shared bool) []WeightType {
	count := map[WeightType]int{}
	for _, m := range w.matrices(shared) {
		count[m.kind()]++
	}
	var ts []WeightType
	for t := range count {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool {
		if count[ts[i]] != count[ts[j]] {
			return count[ts[i]] > count[ts[j]]
		}
		return ts[i] < ts[j]
	})
	return ts
}

// WeightTypes describes the model's matrix storage: one type ("bf16"), or
// the types mixed in it ("q8_0 + f16").
func (m *Model) WeightTypes() string {
	var names []string
	for _, t := range m.W.Types(m.Shared) {
		names = append(names, t.Describe())
	}
	return strings.Join(names, " + ")
}

// quantNeeds reports which quantized forms of an activation the weights'
// products take: llama2.c's Q8_0 (group size gs, 0 when none) and ggml's
// blocks (group size 32).
func quantNeeds(w *Weights, shared bool) (gs int, blocks bool) {
	for _, m := range w.matrices(shared) {
		switch m.kind() {
		case WeightQ8:
			gs = m.GS
		case WeightQ8Blocks, WeightQ4_0:
			blocks = true
		}
	}
	return gs, blocks
}

// vecIn is a matrix product's input: fp32, and quantized as the weights
// of the products that share it need.
type vecIn struct {
	f   []float32
	q   []int8 // llama2.c Q8_0, group size of the model
	sc  []float32
	qb  []int8 // groups of 32, for ggml's blocks
	scb []float32
}

// quantBuf is scratch for quantizing activations of up to n vectors.
type quantBuf struct {
	q, qb   []int8
	sc, scb []float32
}

// newQuantBuf sizes scratch for n values.
func newQuantBuf(n, gs int, blocks bool) quantBuf {
	var b quantBuf
	if gs > 0 {
		b.q, b.sc = make([]int8, n), make([]float32, n/gs)
	}
	if blocks {
		b.qb, b.scb = make([]int8, n), make([]float32, n/asm.BlockSize)
	}
	return b
}

// apply multiplies m by the input: n vectors, batched (matrix-matrix)
// when batched is set.
func (m *Matrix) apply(o *asm.Ops, out []float32, in vecIn, n int, batched bool) {
	switch m.kind() {
	case WeightQ8:
		if batched {
			o.MatMulQ8(out, m.Q, m.S, in.q, in.sc, n, m.GS)
		} else {
			o.MatVecQ8(out, m.Q, m.S, in.q, in.sc, m.GS)
		}
	case WeightF16:
		if batched {
			o.MatMulF16(out, m.H, in.f, n)
		} else {
			o.MatVecF16(out, m.H, in.f)
		}
	case WeightBF16:
		if batched {
			o.MatMulBF16(out, m.H, in.f, n)
		} else {
			o.MatVecBF16(out, m.H, in.f)
		}
	case WeightQ8Blocks:
		if batched {
			o.MatMulQ8B(out, m.B, in.qb, in.scb, n)
		} else {
			o.MatVecQ8B(out, m.B, in.qb, in.scb)
		}
	case WeightQ4_0:
		if batched {
			o.MatMulQ4_0(out, m.B, in.qb, in.scb, n)
		} else {
			o.MatVecQ4_0(out, m.B, in.qb, in.scb)
		}
	default:
		if batched {
			o.MatMul(out, m.F, in.f, n)
		} else {
			o.MatVec(out, m.F, in.f)
		}
	}
}

// MulVec computes out = m·x with ops, quantizing x first where the type
// needs it (into scratch it allocates): for inspection code, not the hot
// path. len(out) = Rows, len(x) = Cols.
func (m *Matrix) MulVec(ops *asm.Ops, out, x []float32) {
	in := vecIn{f: x}
	switch m.kind() {
	case WeightQ8:
		in.q, in.sc = make([]int8, len(x)), make([]float32, len(x)/m.GS)
		ops.Quantize(in.q, in.sc, x, m.GS)
	case WeightQ8Blocks, WeightQ4_0:
		in.qb, in.scb = make([]int8, len(x)), make([]float32, len(x)/asm.BlockSize)
		ops.Quantize(in.qb, in.scb, x, asm.BlockSize)
	}
	m.apply(ops, out, in, 1, false)
}

// ConvertError is a matrix that cannot be stored in the asked type.
type ConvertError struct {
	Tensor string
	Type   WeightType
	Cols   int
}

func (e *ConvertError) Error() string {
	return fmt.Sprintf("cannot convert tensor %s to %s: its rows have %d weights, not a multiple of the %d-weight blocks %s stores "+
		"(%s,f16 keeps such tensors in f16, as llama-quantize does)", e.Tensor, e.Type, e.Cols, asm.BlockSize, e.Type, e.Type)
}

// Convert stores every weight matrix of the model in type t, converting
// from what the file holds (fp32 directly; llama2.c's Q8_0 through its
// dequantized values), with ggml's rounding (asm.F32ToF16, F32ToBF16,
// QuantizeQ8Blocks, QuantizeQ4_0Blocks). The converted weights live on the
// heap and count in Load.CopiedBytes; the norms stay fp32 views of the
// file. It must be called before any State is made over the model.
//
// Block types need rows of a multiple of 32 weights. A matrix whose rows
// do not fit is stored as fallback instead (llama-quantize keeps such
// tensors in f16); with fallback == t nothing is converted and the error
// names the first tensor that does not fit. Converting to llama2.c's Q8_0
// is `memwall quantize`'s job, not this.
func (m *Model) Convert(t, fallback WeightType) (err error) {
	for _, x := range []WeightType{t, fallback} {
		switch x {
		case WeightF32, WeightF16, WeightBF16, WeightQ8Blocks, WeightQ4_0:
		default:
			return fmt.Errorf("cannot convert weights to %s at load (use memwall quantize for llama2.c's Q8_0)", x.Describe())
		}
	}
	if fallback == WeightQ8Blocks || fallback == WeightQ4_0 {
		if fallback != t {
			return fmt.Errorf("the fallback for rows that do not fit %s cannot be a block type (%s)", t, fallback)
		}
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer m.catchFault(&err)
	start := time.Now()
	from := m.WeightTypes()
	m.mu.Lock()
	defer m.mu.Unlock()
	names := m.matrixNames()
	types := make([]WeightType, len(names))
	for i, nm := range names {
		types[i] = t
		if (t == WeightQ8Blocks || t == WeightQ4_0) && nm.m.Cols%asm.BlockSize != 0 {
			if fallback == t {
				return &ConvertError{Tensor: nm.name, Type: t, Cols: nm.m.Cols}
			}
			types[i] = fallback
		}
	}
	src := m.W
	w := &Weights{Layers: make([]Layer, len(src.Layers)), FinalNorm: src.FinalNorm}
	for i, l := range src.Layers {
		w.Layers[i] = Layer{AttNorm: l.AttNorm, FFNNorm: l.FFNNorm}
	}
	dst := w.matrices(m.Shared)
	var copied int64
	for i, nm := range names {
		*dst[i] = convertMatrix(nm.m, types[i])
		if nm.m.kind() != types[i] {
			copied += dst[i].Bytes()
		}
	}
	if m.Shared {
		w.Cls = w.Embed
	}
	m.W = w
	m.aligned = nil
	m.Load.CopiedBytes += copied
	if copied > 0 {
		m.Load.Converted = fmt.Sprintf("converted at load from %s in %v", from, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// ParseWeights reads a --weights value: a type ("bf16"), or a block type
// and the type for rows that do not fit it ("q4_0,f16").
func ParseWeights(s string) (t, fallback WeightType, err error) {
	a, b, two := strings.Cut(s, ",")
	if t, err = ParseWeightType(a); err != nil {
		return 0, 0, err
	}
	fallback = t
	if two {
		if fallback, err = ParseWeightType(b); err != nil {
			return 0, 0, err
		}
	}
	return t, fallback, nil
}

type namedMatrix struct {
	name string
	m    *Matrix
}

// matrixNames pairs every distinct matrix of m.W (in the order of
// Weights.matrices) with its tensor name.
func (m *Model) matrixNames() []namedMatrix {
	w := m.W
	out := []namedMatrix{{"tok_embeddings", &w.Embed}}
	for i := range w.Layers {
		for _, bm := range blockMatrices {
			out = append(out, namedMatrix{fmt.Sprintf("layers.%d.%s", i, bm.name), bm.of(&w.Layers[i])})
		}
	}
	if !m.Shared {
		out = append(out, namedMatrix{"output", &w.Cls})
	}
	return out
}

// convertMatrix returns x stored as t (x itself when it already is).
func convertMatrix(x *Matrix, t WeightType) Matrix {
	if x.kind() == t {
		return *x
	}
	y := Matrix{Rows: x.Rows, Cols: x.Cols, Type: t}
	n := x.Rows * x.Cols
	var f []float32 // the whole matrix as fp32
	if x.kind() == WeightF32 {
		f = x.F
	} else {
		f = make([]float32, n)
		for r := 0; r < x.Rows; r++ {
			row := f[r*x.Cols : (r+1)*x.Cols]
			copy(row, x.Row(r, row))
		}
	}
	switch t {
	case WeightF32:
		y.F = asm.AlignedFloat32(n)
		copy(y.F, f)
	case WeightF16:
		y.H = asm.AlignedUint16(n)
		asm.F32ToF16s(y.H, f)
	case WeightBF16:
		y.H = asm.AlignedUint16(n)
		asm.F32ToBF16s(y.H, f)
	case WeightQ8Blocks:
		y.B = asm.AlignedBytes(n / asm.BlockSize * asm.Q8BlockBytes)
		asm.QuantizeQ8Blocks(y.B, f)
	case WeightQ4_0:
		y.B = asm.AlignedBytes(n / asm.BlockSize * asm.Q4_0BlockBytes)
		asm.QuantizeQ4_0Blocks(y.B, f)
	}
	return y
}
