package asm

import (
	"math"
	"unsafe"
)

// Attention over a key/value cache stored in 16 bits a value (f16 or
// bf16, as uint16 bit patterns): the same two steps as AttnScores and
// AttnMix, with every cached value converted to float32 exactly as it is
// read, so that a long context's attention reads half the bytes of an
// fp32 cache. The query, the scores and the output stay float32. Every
// variant gets the portable routines below unless its architecture brings
// its own (archKVKernels); KVKernel names which one runs.

// Cache element type names, as KVKernel takes them.
const (
	KVF16  = "f16"
	KVBF16 = "bf16"
)

// fillKVKernels gives k the half-precision attention routines it does not
// set itself.
func fillKVKernels(k *Kernels) {
	archKVKernels(k)
	if k.AttnScoresF16 == nil {
		k.AttnScoresF16 = attnScoresH16Go(F16ToF32)
	}
	if k.AttnMixF16 == nil {
		k.AttnMixF16 = attnMixH16Go(F16ToF32)
	}
	if k.AttnScoresBF16 == nil {
		k.AttnScoresBF16 = attnScoresH16Go(BF16ToF32)
	}
	if k.AttnMixBF16 == nil {
		k.AttnMixBF16 = attnMixH16Go(BF16ToF32)
	}
	if k.KVKernel == nil {
		k.KVKernel = func(string) string { return "portable Go: converted value by value" }
	}
}

// scoresH16Args checks the operands of an attention-scores call over a
// 16-bit cache for the SIMD routines: false when no kernel need run (no
// positions; or no values a head, which makes every score 0).
func scoresH16Args(out, q []float32, k []uint16, stride int) bool {
	nt, hs := len(out), len(q)
	if nt == 0 {
		return false
	}
	if hs == 0 {
		clear(out)
		return false
	}
	_ = k[(nt-1)*stride+hs-1]
	return true
}

// mixH16Args is scoresH16Args for the mix: false when there is nothing to
// add.
func mixH16Args(out, att []float32, v []uint16, stride int) bool {
	nt, hs := len(att), len(out)
	if nt == 0 || hs == 0 {
		return false
	}
	_ = v[(nt-1)*stride+hs-1]
	return true
}

// attnScoresH16Go is the portable AttnScores over a 16-bit key cache: one
// float32 accumulator per score, each product rounded before it is added
// (float32(...) keeps the compiler from fusing it on arm64).
func attnScoresH16Go(conv func(uint16) float32) func(out, q []float32, k []uint16, stride int) {
	return func(out, q []float32, k []uint16, stride int) {
		hs := len(q)
		div := float32(math.Sqrt(float64(hs)))
		for t := range out {
			kt := k[t*stride : t*stride+hs]
			var s float32
			for i, x := range q {
				s += float32(x * conv(kt[i]))
			}
			out[t] = s / div
		}
	}
}

// attnMixH16Go is the portable AttnMix over a 16-bit value cache.
func attnMixH16Go(conv func(uint16) float32) func(out, att []float32, v []uint16, stride int) {
	return func(out, att []float32, v []uint16, stride int) {
		hs := len(out)
		for t, a := range att {
			vt := v[t*stride : t*stride+hs]
			for i := range out {
				out[i] += float32(a * conv(vt[i]))
			}
		}
	}
}

// Warm16 is Warm for a 16-bit cache: it reads x once with the bandwidth
// probe's streaming loop (an odd last element is left out).
func Warm16(x []uint16) {
	if len(x) < 2 {
		return
	}
	readSum(unsafe.Slice((*float32)(unsafe.Pointer(&x[0])), len(x)/2))
}
