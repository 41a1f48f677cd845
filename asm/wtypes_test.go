package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// guard is the number of elements past each output that must stay
// untouched, and sentinel their value.
const guard = 17

var sentinel = float32(math.Inf(-1))

// guarded returns an output of n elements with guard bands on both
// sides, and a check that the bands are intact.
func guarded(t *testing.T, n int) (out []float32, check func(what string)) {
	buf := make([]float32, n+2*guard)
	for i := range buf {
		buf[i] = sentinel
	}
	out = buf[guard : guard+n : guard+n]
	return out, func(what string) {
		t.Helper()
		for i := 0; i < guard; i++ {
			if buf[i] != sentinel || buf[guard+n+i] != sentinel {
				t.Fatalf("%s: wrote outside the output (guard band)", what)
			}
		}
	}
}

// wtRows and wtCols are the awkward sizes: rows that are not multiples of
// any row block (and many rows, to reach the blocks spread over the
// matrix), columns that are not multiples of any vector width.
var (
	wtRows = []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 70, 129}
	wtCols = []int{1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 768, 1000}
)

// sizes returns the awkward sizes, fewer under -short (the arm64 run under
// qemu, where the portable reference is slow): still every tail of 8 and
// 16 columns, and rows before, in and after the spread blocks.
func sizes() (rows, cols []int) {
	if testing.Short() {
		return []int{1, 3, 4, 5, 9, 17, 33, 70}, []int{1, 7, 8, 15, 16, 17, 31, 33, 64, 100, 257}
	}
	return wtRows, wtCols
}

// halfWeights returns rows×cols random weights as f16 and bf16 patterns,
// with a few exact zeros, subnormals and large values mixed in.
func halfWeights(r *rand.Rand, n int) (f16, bf16 []uint16, f []float32) {
	f = randF32(r, n)
	for i := range f {
		switch r.IntN(50) {
		case 0:
			f[i] = 0
		case 1:
			f[i] = float32(math.Ldexp(r.Float64(), -20)) // f16 subnormal
		case 2:
			f[i] *= 1000
		}
	}
	f16, bf16 = make([]uint16, n), make([]uint16, n)
	F32ToF16s(f16, f)
	F32ToBF16s(bf16, f)
	return f16, bf16, f
}

func TestMatVecHalf(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	rowSet, colSet := sizes()
	for _, k := range available(t) {
		for _, cols := range colSet {
			for _, rows := range rowSet {
				if cols*rows > 200000 {
					continue
				}
				f16, bf16, _ := halfWeights(r, rows*cols)
				x := randF32(r, cols+1)[1:] // unaligned
				for _, c := range []struct {
					name, typ string
					w         []uint16
					conv      func(uint16) float32
					mv        func(out []float32, w []uint16, x []float32)
					ref       func(out []float32, w []uint16, x []float32)
					mm        func(out []float32, ldo int, w []uint16, x []float32, n int)
				}{
					{"MatVecF16", TypeF16, f16, F16ToF32, k.MatVecF16, ref().MatVecF16, k.MatMulF16},
					{"MatVecBF16", TypeBF16, bf16, BF16ToF32, k.MatVecBF16, ref().MatVecBF16, k.MatMulBF16},
				} {
					what := fmt.Sprintf("%s %s %dx%d [%s]", k.Name, c.name, rows, cols, k.WeightKernel(c.typ))
					got, check := guarded(t, rows)
					want := make([]float32, rows)
					c.mv(got, c.w, x)
					check(what)
					c.ref(want, c.w, x)
					wf := make([]float32, cols)
					for i := range want {
						for j := range wf {
							wf[j] = c.conv(c.w[i*cols+j])
						}
						checkClose(t, fmt.Sprintf("%s row %d", what, i), got[i], want[i], absDot(wf, x))
					}
					// A row alone, and MatMul, give the bits of the block.
					for _, i := range []int{0, rows / 2, rows - 1} {
						one, chk := guarded(t, 1)
						c.mv(one, c.w[i*cols:(i+1)*cols], x)
						chk(what + " one row")
						sameBits(t, fmt.Sprintf("%s row %d alone", what, i), one, got[i:i+1])
					}
					if rows <= 33 {
						n := 3
						xs := randF32(r, n*cols)
						ldo := rows + 2
						mo, chk := guarded(t, n*ldo)
						c.mm(mo, ldo, c.w, xs, n)
						chk(what + " MatMul")
						for b := 0; b < n; b++ {
							mv := make([]float32, rows)
							c.mv(mv, c.w, xs[b*cols:(b+1)*cols])
							sameBits(t, fmt.Sprintf("%s MatMul vector %d", what, b), mo[b*ldo:b*ldo+rows], mv)
						}
					}
				}
			}
		}
	}
}

// blockWeights returns rows×cols random weights as Q8_0 and Q4_0 blocks.
func blockWeights(r *rand.Rand, rows, cols int) (q8, q4 []byte) {
	f := randF32(r, rows*cols)
	nb := rows * cols / BlockSize
	q8, q4 = make([]byte, nb*Q8BlockBytes), make([]byte, nb*Q4_0BlockBytes)
	QuantizeQ8Blocks(q8, f)
	QuantizeQ4_0Blocks(q4, f)
	// Extreme int8 values the quantizer does not make (-128), so the
	// kernels' sign handling is held to every byte.
	for i := 0; i < nb; i += 3 {
		q8[i*Q8BlockBytes+2+i%32] = 0x80
	}
	return q8, q4
}

// blockMag is the magnitude the float sums of a block product are held to.
func blockMag(deq []float32, xq []int8, xs []float32) float64 {
	var m float64
	for j, v := range deq {
		m += math.Abs(float64(v) * float64(xq[j]) * float64(xs[j/BlockSize]))
	}
	return m
}

func TestMatVecBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	rowSet, _ := sizes()
	nbs := []int{1, 2, 3, 4, 5, 7, 8, 9, 24, 25}
	if testing.Short() {
		nbs = []int{1, 2, 3, 5, 24}
	}
	for _, k := range available(t) {
		for _, nb := range nbs {
			cols := nb * BlockSize
			for _, rows := range rowSet {
				q8, q4 := blockWeights(r, rows, cols)
				x := randF32(r, cols)
				xq, xs := make([]int8, cols+1)[1:], make([]float32, nb)
				k.Quantize(xq, xs, x, BlockSize)
				for _, c := range []struct {
					name string
					w    []byte
					bb   int
					deq  func(dst []float32, src []byte)
					mv   func(out []float32, w []byte, xq []int8, xs []float32)
					ref  func(out []float32, w []byte, xq []int8, xs []float32)
					mm   func(out []float32, ldo int, w []byte, xq []int8, xs []float32, n int)
				}{
					{"MatVecQ8B", q8, Q8BlockBytes, DequantizeQ8Blocks, k.MatVecQ8B, ref().MatVecQ8B, k.MatMulQ8B},
					{"MatVecQ4_0", q4, Q4_0BlockBytes, DequantizeQ4_0Blocks, k.MatVecQ4_0, ref().MatVecQ4_0, k.MatMulQ4_0},
				} {
					what := fmt.Sprintf("%s %s %dx%d", k.Name, c.name, rows, cols)
					got, check := guarded(t, rows)
					want := make([]float32, rows)
					c.mv(got, c.w, xq, xs)
					check(what)
					c.ref(want, c.w, xq, xs)
					rb := nb * c.bb
					deq := make([]float32, cols)
					for i := range want {
						c.deq(deq, c.w[i*rb:(i+1)*rb])
						checkClose(t, fmt.Sprintf("%s row %d", what, i), got[i], want[i], blockMag(deq, xq, xs))
					}
					for _, i := range []int{0, rows / 2, rows - 1} {
						one, chk := guarded(t, 1)
						c.mv(one, c.w[i*rb:(i+1)*rb], xq, xs)
						chk(what + " one row")
						sameBits(t, fmt.Sprintf("%s row %d alone", what, i), one, got[i:i+1])
					}
					if rows <= 33 {
						n := 3
						xb := randF32(r, n*cols)
						xbq, xbs := make([]int8, n*cols), make([]float32, n*nb)
						k.Quantize(xbq, xbs, xb, BlockSize)
						ldo := rows + 2
						mo, chk := guarded(t, n*ldo)
						c.mm(mo, ldo, c.w, xbq, xbs, n)
						chk(what + " MatMul")
						for b := 0; b < n; b++ {
							mv := make([]float32, rows)
							c.mv(mv, c.w, xbq[b*cols:(b+1)*cols], xbs[b*nb:(b+1)*nb])
							sameBits(t, fmt.Sprintf("%s MatMul vector %d", what, b), mo[b*ldo:b*ldo+rows], mv)
						}
					}
				}
			}
		}
	}
}

// TestBlockKernelExact holds the reference block products to a float64
// computation from the dequantized weights: the integer sums are exact, so
// only the float scaling rounds.
func TestBlockKernelExact(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	cols, rows := 5*BlockSize, 9
	q8, q4 := blockWeights(r, rows, cols)
	x := randF32(r, cols)
	xq, xs := make([]int8, cols), make([]float32, cols/BlockSize)
	quantizeGo(xq, xs, x, BlockSize)
	for _, c := range []struct {
		w   []byte
		bb  int
		deq func(dst []float32, src []byte)
		mv  func(out []float32, w []byte, xq []int8, xs []float32)
	}{{q8, Q8BlockBytes, DequantizeQ8Blocks, matVecQ8BGo}, {q4, Q4_0BlockBytes, DequantizeQ4_0Blocks, matVecQ4_0Go}} {
		out := make([]float32, rows)
		c.mv(out, c.w, xq, xs)
		rb := cols / BlockSize * c.bb
		deq := make([]float32, cols)
		for i := range out {
			c.deq(deq, c.w[i*rb:(i+1)*rb])
			var s float64
			for j, v := range deq {
				s += float64(v) * float64(xq[j]) * float64(xs[j/BlockSize])
			}
			if math.Abs(float64(out[i])-s) > 1e-5*blockMag(deq, xq, xs)+1e-6 {
				t.Fatalf("row %d: %v, float64 gives %v", i, out[i], s)
			}
		}
	}
}

// TestOpsWeightTypes splits the products over threads: the same bits as
// one thread, rows large enough to be split.
func TestOpsWeightTypes(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	rows, cols := 517, 256
	f16, bf16, _ := halfWeights(r, rows*cols)
	q8, q4 := blockWeights(r, rows, cols)
	n := 3
	x := randF32(r, n*cols)
	xq, xs := make([]int8, n*cols), make([]float32, n*cols/BlockSize)
	one := MustNew("auto", 1)
	defer one.Close()
	one.Quantize(xq, xs, x, BlockSize)
	for _, threads := range []int{2, 3} {
		o := MustNew("auto", threads)
		for _, c := range []struct {
			name string
			run  func(o *Ops, out []float32)
			size int
		}{
			{"MatVecF16", func(o *Ops, out []float32) { o.MatVecF16(out, f16, x[:cols]) }, rows},
			{"MatVecBF16", func(o *Ops, out []float32) { o.MatVecBF16(out, bf16, x[:cols]) }, rows},
			{"MatVecQ8B", func(o *Ops, out []float32) { o.MatVecQ8B(out, q8, xq[:cols], xs[:cols/32]) }, rows},
			{"MatVecQ4_0", func(o *Ops, out []float32) { o.MatVecQ4_0(out, q4, xq[:cols], xs[:cols/32]) }, rows},
			{"MatMulF16", func(o *Ops, out []float32) { o.MatMulF16(out, f16, x, n) }, n * rows},
			{"MatMulBF16", func(o *Ops, out []float32) { o.MatMulBF16(out, bf16, x, n) }, n * rows},
			{"MatMulQ8B", func(o *Ops, out []float32) { o.MatMulQ8B(out, q8, xq, xs, n) }, n * rows},
			{"MatMulQ4_0", func(o *Ops, out []float32) { o.MatMulQ4_0(out, q4, xq, xs, n) }, n * rows},
		} {
			want := make([]float32, c.size)
			c.run(one, want)
			got, check := guarded(t, c.size)
			c.run(o, got)
			check(c.name)
			sameBits(t, fmt.Sprintf("%s with %d threads", c.name, threads), got, want)
			var nonzero bool
			for _, v := range want {
				nonzero = nonzero || v != 0
			}
			if !nonzero {
				t.Fatalf("%s: all zero", c.name)
			}
		}
		o.Close()
	}
}

func TestWeightKernelNamed(t *testing.T) {
	for _, v := range Variants() {
		k := registry[v.Name]
		for _, typ := range []string{TypeF16, TypeBF16, TypeQ8Blocks, TypeQ4_0} {
			if k.WeightKernel(typ) == "" {
				t.Errorf("%s: no kernel named for %s", v.Name, typ)
			}
		}
		if k.MatVecF16 == nil || k.MatVecBF16 == nil || k.MatVecQ8B == nil || k.MatVecQ4_0 == nil ||
			k.MatMulF16 == nil || k.MatMulBF16 == nil || k.MatMulQ8B == nil || k.MatMulQ4_0 == nil {
			t.Errorf("%s: a weight-type routine is nil", v.Name)
		}
	}
}
