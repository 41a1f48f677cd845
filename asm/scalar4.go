package asm

import "math"

// The "scalar4" variant: portable Go like "scalar", but each dot product
// keeps four independent accumulators (elements i%4 == 0,1,2,3 summed
// separately, then combined as (s0+s1)+(s2+s3)), so that the additions of
// consecutive elements do not wait on one another. It needs no CPU feature
// and is what a noasm build runs fastest.

// matMulQ8Go4 is also the SIMD variants' fallback for group sizes their
// int8 loops do not handle.
var matMulQ8Go4 = batchedQ8(matVecQ8Go4)

func init() {
	Register(&Kernels{
		Name:       "scalar4",
		Features:   nil,
		Available:  always,
		Rank:       1,
		Dot:        dot4,
		MatVec:     matVec4,
		MatMul:     batched(matVec4),
		Quantize:   quantizeGo,
		MatVecQ8:   matVecQ8Go4,
		MatMulQ8:   matMulQ8Go4,
		RMSNorm:    rmsNorm4,
		Softmax:    softmaxGo,
		SwiGLU:     swiGLUGo,
		AttnScores: attnScoresWith(dot4),
		AttnMix:    attnMix4,
	})
}

func dot4(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		aa := a[i : i+4 : i+4]
		bb := b[i : i+4 : i+4]
		s0 += float32(aa[0] * bb[0])
		s1 += float32(aa[1] * bb[1])
		s2 += float32(aa[2] * bb[2])
		s3 += float32(aa[3] * bb[3])
	}
	for ; i < n; i++ {
		s0 += float32(a[i] * b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func matVec4(out, w, x []float32) {
	cols := len(x)
	for i := range out {
		out[i] = dot4(w[i*cols:(i+1)*cols], x)
	}
}

// dotQ8Go4 is the exact integer dot product of two int8 slices.
func dotQ8Go4(a, b []int8) int32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+4 <= n; i += 4 {
		aa := a[i : i+4 : i+4]
		bb := b[i : i+4 : i+4]
		s0 += int32(aa[0]) * int32(bb[0])
		s1 += int32(aa[1]) * int32(bb[1])
		s2 += int32(aa[2]) * int32(bb[2])
		s3 += int32(aa[3]) * int32(bb[3])
	}
	for ; i < n; i++ {
		s0 += int32(a[i]) * int32(b[i])
	}
	return s0 + s1 + s2 + s3
}

// matVecQ8Go4 sums the groups in the same order as matVecQ8Scalar; the
// integer group sums are exact in any order, so its output is identical to
// the scalar variant's.
func matVecQ8Go4(out []float32, wq []int8, ws []float32, xq []int8, xs []float32, gs int) {
	cols := len(xq)
	gpr := cols / gs
	for i := range out {
		row := wq[i*cols : (i+1)*cols]
		rs := ws[i*gpr : (i+1)*gpr]
		var val float32
		for g := 0; g < gpr; g++ {
			acc := dotQ8Go4(row[g*gs:(g+1)*gs], xq[g*gs:(g+1)*gs])
			val += float32(float32(acc) * rs[g] * xs[g])
		}
		out[i] = val
	}
}

func rmsNorm4(out, x, w []float32, eps float32) {
	rmsNormWith(dot4, out, x, w, eps)
}

// rmsNormWith is RMSNorm with the sum of squares taken by the given dot
// product.
func rmsNormWith(dot func(a, b []float32) float32, out, x, w []float32, eps float32) {
	ss := dot(x, x)
	ss /= float32(len(x))
	ss += eps
	ss = 1 / float32(math.Sqrt(float64(ss)))
	w = w[:len(x)]
	out = out[:len(x)]
	for i, v := range x {
		out[i] = w[i] * (ss * v)
	}
}

func attnMix4(out, att, v []float32, stride int) {
	hs := len(out)
	for t, a := range att {
		vt := v[t*stride : t*stride+hs]
		i := 0
		for ; i+4 <= hs; i += 4 {
			o := out[i : i+4 : i+4]
			vv := vt[i : i+4 : i+4]
			o[0] += float32(a * vv[0])
			o[1] += float32(a * vv[1])
			o[2] += float32(a * vv[2])
			o[3] += float32(a * vv[3])
		}
		for ; i < hs; i++ {
			out[i] += float32(a * vt[i])
		}
	}
}
