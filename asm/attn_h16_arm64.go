//go:build !noasm

package asm

import "math"

// archKVKernels sets the NEON routines of attention over a 16-bit cache:
// the scores through the 16-bit weight types' dot-product kernels (four
// cached positions per call, a position being a row of the matrix whose
// rows are stride values apart), the mix through f16mixNEON/bf16mixNEON;
// f16 converted by FCVTL, bf16 widened by SHLL #16 (both exact), fp32
// fused multiply-adds.
func archKVKernels(k *Kernels) {
	if k.Name != "neon" {
		return
	}
	k.AttnScoresF16 = attnScoresH16NEON(f16x4NEON, f16x1NEON, F16ToF32)
	k.AttnScoresBF16 = attnScoresH16NEON(bf16x4NEON, bf16x1NEON, BF16ToF32)
	k.AttnMixF16 = attnMixH16NEON(f16mixNEON, F16ToF32)
	k.AttnMixBF16 = attnMixH16NEON(bf16mixNEON, BF16ToF32)
	desc := map[string]string{
		KVF16:  "NEON: f16 keys and values converted by FCVTL, fp32 FMLA",
		KVBF16: "NEON: bf16 keys and values widened by SHLL #16, fp32 FMLA",
	}
	k.KVKernel = func(t string) string { return desc[t] }
}

// attnScoresH16NEON computes out[t] = (q · k[t]) / sqrt(len(q)): the first
// len(q)&^7 values of each position summed by the kernels as they sum a
// weight row (h16Rows, four adjacent positions a call), the rest added in
// order (h16Tails), then the division.
func attnScoresH16NEON(
	four func(w *uint16, stride int, x *float32, n int, out *float32, ostride int),
	one func(w *uint16, x *float32, n int) float32,
	conv func(uint16) float32,
) func(out, q []float32, k []uint16, stride int) {
	return func(out, q []float32, k []uint16, stride int) {
		if !scoresH16Args(out, q, k, stride) {
			return
		}
		hs := len(q)
		m := hs &^ 7
		if m == 0 {
			clear(out)
		} else {
			h16Rows(four, one, out, k, q, stride, m, false)
		}
		h16Tails(out, k, q, stride, m, conv)
		div := float32(math.Sqrt(float64(hs)))
		for t := range out {
			out[t] /= div
		}
	}
}

// attnMixH16NEON computes out[i] += att[t]·v[t][i] for t in order: the
// first len(out)&^7 columns in the kernel, the rest here, one position
// after another, so a split of the positions between calls gives the same
// bits as one call.
func attnMixH16NEON(mix func(out, att *float32, v *uint16, stride, n, nt int), conv func(uint16) float32) func(out, att []float32, v []uint16, stride int) {
	return func(out, att []float32, v []uint16, stride int) {
		if !mixH16Args(out, att, v, stride) {
			return
		}
		nt, hs := len(att), len(out)
		m := hs &^ 7
		if m > 0 {
			mix(&out[0], &att[0], &v[0], stride, m, nt)
		}
		if m == hs {
			return
		}
		for t, a := range att {
			vt := v[t*stride : t*stride+hs]
			for i := m; i < hs; i++ {
				out[i] += a * conv(vt[i])
			}
		}
	}
}

// f16mixNEON and bf16mixNEON: out[i] += att[t]*v[t][i] for i < n (a
// multiple of 8), t < nt, v's positions stride values apart.
//
//go:noescape
func f16mixNEON(out, att *float32, v *uint16, stride, n, nt int)

//go:noescape
func bf16mixNEON(out, att *float32, v *uint16, stride, n, nt int)
