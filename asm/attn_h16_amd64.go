//go:build !noasm

package asm

import "math"

// archKVKernels sets the AVX2 routines of attention over a 16-bit cache
// for the amd64 variants: f16 converted by F16C's VCVTPH2PS, bf16 widened
// and shifted into the top half of a float32 (both exact), fp32 FMA.
// "avx512" runs the same AVX2 routines: no machine this was written on
// exposes AVX-512 (and qemu does not emulate it), and an untested kernel
// is not shipped; KVKernel says so.
func archKVKernels(k *Kernels) {
	switch k.Name {
	case "avx2", "avx512":
	default:
		return
	}
	if !hasAVX2F16C() {
		return // the variant cannot run here anyway; keep the portable ones
	}
	k.AttnScoresF16 = attnScoresH16(f16scoresAVX2, f16scores4AVX2)
	k.AttnMixF16 = attnMixH16(f16mixAVX2)
	k.AttnScoresBF16 = attnScoresH16(bf16scoresAVX2, bf16scores4AVX2)
	k.AttnMixBF16 = attnMixH16(bf16mixAVX2)
	k.KVKernel = avx2Names(k.Name, map[string]string{
		KVF16:  "AVX2: f16 keys and values converted by F16C VCVTPH2PS, fp32 FMA",
		KVBF16: "AVX2: bf16 keys and values widened and shifted to fp32, fp32 FMA",
	})
}

// attnScoresH16 runs f4 over the positions in whole groups of four when
// the head size is a multiple of 8 (every score with the bits f gives it),
// and f over the rest.
func attnScoresH16(f, f4 func(out, q *float32, k *uint16, stride, n, nt int, div float32)) func(out, q []float32, k []uint16, stride int) {
	return func(out, q []float32, k []uint16, stride int) {
		if !scoresH16Args(out, q, k, stride) {
			return
		}
		hs, nt := len(q), len(out)
		div := float32(math.Sqrt(float64(hs)))
		done := 0
		if hs%8 == 0 && nt >= 4 && f4 != nil {
			done = nt &^ 3
			f4(&out[0], &q[0], &k[0], stride, hs, done/4, div)
		}
		if done < nt {
			f(&out[done], &q[0], &k[done*stride], stride, hs, nt-done, div)
		}
	}
}

func attnMixH16(f func(out, att *float32, v *uint16, stride, n, nt int)) func(out, att []float32, v []uint16, stride int) {
	return func(out, att []float32, v []uint16, stride int) {
		if !mixH16Args(out, att, v, stride) {
			return
		}
		f(&out[0], &att[0], &v[0], stride, len(out), len(att))
	}
}

// The routines: n values a head, nt positions, stride values between
// positions. Scores: out[t] = (q · k[t]) / div, the first n&^7 columns
// summed in two 8-lane accumulators (16 at a time) and folded, the rest
// added one by one. Mix: out[i] += att[t]*v[t][i] for t in order, one
// fused multiply-add per value, so any split of the positions between
// calls gives the same bits.

//go:noescape
func f16scoresAVX2(out, q *float32, k *uint16, stride, n, nt int, div float32)

//go:noescape
func bf16scoresAVX2(out, q *float32, k *uint16, stride, n, nt int, div float32)

// f16scores4AVX2 and bf16scores4AVX2 compute 4·groups scores, four
// positions at a time, for n a multiple of 8, with the bits of the
// one-position routines.
//
//go:noescape
func f16scores4AVX2(out, q *float32, k *uint16, stride, n, groups int, div float32)

//go:noescape
func bf16scores4AVX2(out, q *float32, k *uint16, stride, n, groups int, div float32)

// f32mixAVX2 is the avx2 variant's simdImpl.mix: the MIX routine over
// fp32 values.
//
//go:noescape
func f32mixAVX2(out, att, v *float32, stride, n, nt int)

//go:noescape
func f16mixAVX2(out, att *float32, v *uint16, stride, n, nt int)

//go:noescape
func bf16mixAVX2(out, att *float32, v *uint16, stride, n, nt int)
