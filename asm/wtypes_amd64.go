//go:build !noasm

package asm

import "golang.org/x/sys/cpu"

// archWeightKernels sets the SIMD routines of the new weight types for the
// amd64 variants. Both "avx2" and "avx512" run the AVX2 routines (every
// AVX-512 CPU has AVX2 and F16C): AVX-512 versions, VDPBF16PS among them,
// are not written yet, because no machine this was developed on exposes
// AVX-512 (and qemu 7.2 does not emulate it), and an untested kernel is not
// shipped. WeightKernel says so.
func archWeightKernels(k *Kernels) {
	weightKernelsAVX2(k, hasAVX2F16C())
}

// hasAVX2F16C reports whether the AVX2 routines of the weight types and of
// the 16-bit cache can run here: they need AVX2, FMA and F16C.
func hasAVX2F16C() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C }

// avx2Names is WeightKernel or KVKernel for variant from the descriptions
// of its AVX2 routines, which avx512 runs too and says so.
func avx2Names(variant string, desc map[string]string) func(string) string {
	if variant == "avx512" {
		for t, d := range desc {
			desc[t] = d + " (the AVX2 routine: no AVX-512 one yet)"
		}
	}
	return func(t string) string { return desc[t] }
}

// weightKernelsAVX2 sets the AVX2 routines on the avx2 and avx512 variants
// when have (AVX2, FMA and F16C) is true; otherwise they keep the portable
// ones, which WeightKernel then names. Tests call it with have = false.
func weightKernelsAVX2(k *Kernels, have bool) {
	switch k.Name {
	case "avx2", "avx512":
	default:
		return
	}
	if !have {
		return
	}
	k.MatVecBF16 = matVecBF16Permuted(bf16ux4AVX2, bf16ux1AVX2, bf16Unpacked)
	k.MatVecF16 = matVecH16(f16x4AVX2, f16x1AVX2, F16ToF32)
	k.MatVecQ8B = matVecBlocks(q8bx4AVX2, q8bx1AVX2, Q8BlockBytes)
	k.MatVecQ4_0 = matVecQ4Exact(q40x8AVX2, q40x4AVX2, q40x1AVX2)
	k.WeightKernel = avx2Names(k.Name, map[string]string{
		TypeBF16:     "AVX2: bf16 widened by unpacking against zero (VPUNPCKLWD/HWD), fp32 FMA (exact products)",
		TypeF16:      "AVX2: f16 converted by F16C VCVTPH2PS, fp32 FMA",
		TypeQ8Blocks: "AVX2: VPMADDUBSW int8 products, int32 block sums",
		TypeQ4_0:     "AVX2: eight rows a pass in 128-bit registers, VPMADDUBSW on the nibbles, exact int32 block sums, the portable routine's float steps (same bits)",
	})
}

//go:noescape
func f16x4AVX2(w *uint16, stride int, x *float32, n int, out *float32, ostride int)

//go:noescape
func f16x1AVX2(w *uint16, x *float32, n int) float32

//go:noescape
func q8bx4AVX2(w *byte, stride int, xq *int8, xs *float32, nb int, out *float32, ostride int)

//go:noescape
func q8bx1AVX2(w *byte, xq *int8, xs *float32, nb int) float32

//go:noescape
func bf16px4AVX2(w *uint16, stride int, x *float32, n int, out *float32, ostride int)

//go:noescape
func bf16px1AVX2(w *uint16, x *float32, n int) float32

//go:noescape
func q40px4AVX2(w *byte, stride int, xq *int8, xs *float32, c *float32, nb int, out *float32, ostride int)

//go:noescape
func q40px1AVX2(w *byte, xq *int8, xs *float32, c *float32, nb int) float32

// matVecQ4Pairs is matVecBlocks for the Q4_0 routines that take the
// unsigned nibbles and subtract, per row, sum_b d_b·c_b with c_b =
// 8·Σxq_b·xs_b, computed here once per product. It runs the kernels of
// session 4 (q40px4AVX2, two rows per 256-bit register), which
// matVecQ4Exact replaced; they stay for BenchmarkWeightKernelsOldNew.
func matVecQ4Pairs(
	four func(w *byte, stride int, xq *int8, xs *float32, c *float32, nb int, out *float32, ostride int),
	one func(w *byte, xq *int8, xs *float32, c *float32, nb int) float32,
) func(out []float32, w []byte, xq []int8, xs []float32) {
	return func(out []float32, w []byte, xq []int8, xs []float32) {
		rows, nb := len(out), len(xq)/BlockSize
		rb := nb * Q4_0BlockBytes
		if !rowArgs(out, w, rb) {
			return
		}
		_ = xs[nb-1]
		bp := f32Scratch.get(nb)
		c := *bp
		for b := range c {
			var s int32
			for _, v := range xq[b*BlockSize : (b+1)*BlockSize] {
				s += int32(v)
			}
			c[b] = float32(8*s) * xs[b]
		}
		q := rows / 4
		for i := 0; i < q; i++ {
			four(&w[i*rb], q*rb, &xq[0], &xs[0], &c[0], nb, &out[i], 4*q)
		}
		for r := 4 * q; r < rows; r++ {
			out[r] = one(&w[r*rb], &xq[0], &xs[0], &c[0], nb)
		}
		f32Scratch.put(bp)
	}
}

//go:noescape
func q40x8AVX2(w *byte, stride int, xq *int8, xs *float32, c8 *int32, nb int, out *float32, ostride int)

//go:noescape
func q40x4AVX2(w *byte, stride int, xq *int8, xs *float32, c8 *int32, nb int, out *float32, ostride int)

//go:noescape
func q40x1AVX2(w *byte, xq *int8, xs *float32, c8 *int32, nb int) float32

// i32Scratch holds Q4_0's per-block 8·Σx.
var i32Scratch scratch[int32]

// matVecQ4Exact is matVecBlocks for the Q4_0 routines that take the
// unsigned nibbles and, per block, c8_b = 8·Σxq_b (exact int32), computed
// here once per product. With q = rows/8, block i takes rows i, i+q, ...,
// i+7q (eight streams); of the rows%8 after 8q, four go through the
// four-row routine if there are four, the rest one at a time. Every
// routine gives each row the portable reference's bits, so which one a row
// falls to does not matter.
func matVecQ4Exact(
	eight, four func(w *byte, stride int, xq *int8, xs *float32, c8 *int32, nb int, out *float32, ostride int),
	one func(w *byte, xq *int8, xs *float32, c8 *int32, nb int) float32,
) func(out []float32, w []byte, xq []int8, xs []float32) {
	return func(out []float32, w []byte, xq []int8, xs []float32) {
		rows, nb := len(out), len(xq)/BlockSize
		rb := nb * Q4_0BlockBytes
		if !rowArgs(out, w, rb) {
			return
		}
		_ = xs[nb-1]
		bp := i32Scratch.get(nb)
		c := *bp
		for b := range c {
			var s int32
			for _, v := range xq[b*BlockSize : (b+1)*BlockSize] {
				s += int32(v)
			}
			c[b] = 8 * s
		}
		q := rows / 8
		for i := 0; i < q; i++ {
			eight(&w[i*rb], q*rb, &xq[0], &xs[0], &c[0], nb, &out[i], 4*q)
		}
		r := 8 * q
		if rows-r >= 4 {
			four(&w[r*rb], rb, &xq[0], &xs[0], &c[0], nb, &out[r], 4)
			r += 4
		}
		for ; r < rows; r++ {
			out[r] = one(&w[r*rb], &xq[0], &xs[0], &c[0], nb)
		}
		i32Scratch.put(bp)
	}
}

//go:noescape
func bf16ux4AVX2(w *uint16, stride int, x *float32, n int, out *float32, ostride int)

//go:noescape
func bf16ux1AVX2(w *uint16, x *float32, n int) float32

// bf16px4AVX2 and bf16px1AVX2 (shift and mask; x ordered by bf16EvenOdd)
// are the bf16 kernels of session 4 that bf16ux4AVX2 replaced; they stay
// for BenchmarkWeightKernelsOldNew.

// bf16Unpacked orders a chunk as the routines that widen bf16 by
// unpacking (bf16ux4AVX2) leave the weights: columns 0-3, 8-11, 4-7,
// 12-15.
func bf16Unpacked(pc, xc []float32) {
	copy(pc[0:4], xc[0:4])
	copy(pc[4:8], xc[8:12])
	copy(pc[8:12], xc[4:8])
	copy(pc[12:16], xc[12:16])
}
