package asm

import "math"

// The portable kernels. "scalar" is the naive loop with one accumulator, in
// the order llama2.c's run.c sums; it is the reference every other variant
// is tested against. Each product is converted to float32 explicitly so the
// compiler may not fuse it into a multiply-add (the Go spec allows fusion on
// arm64 otherwise), keeping results identical on every architecture.

func init() {
	Register(&Kernels{
		Name:       "scalar",
		Features:   nil,
		Available:  always,
		Rank:       0,
		Dot:        dotScalar,
		MatVec:     matVecScalar,
		MatMul:     batched(matVecScalar),
		Quantize:   quantizeGo,
		MatVecQ8:   matVecQ8Scalar,
		MatMulQ8:   batchedQ8(matVecQ8Scalar),
		RMSNorm:    rmsNormGo,
		Softmax:    softmaxGo,
		SwiGLU:     swiGLUGo,
		AttnScores: attnScoresWith(dotScalar),
		AttnMix:    attnMixGo,
	})
}

func dotScalar(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for i, v := range a {
		s += float32(v * b[i])
	}
	return s
}

func matVecScalar(out, w, x []float32) {
	cols := len(x)
	for i := range out {
		out[i] = dotScalar(w[i*cols:(i+1)*cols], x)
	}
}

// batched makes a MatMul out of a MatVec: one product per input vector,
// each summed exactly as MatVec sums it.
func batched(matVec func(out, w, x []float32)) func(out []float32, ldo int, w, x []float32, n int) {
	return func(out []float32, ldo int, w, x []float32, n int) {
		if n == 0 {
			return
		}
		cols := len(x) / n
		rows := len(w) / cols
		for b := 0; b < n; b++ {
			matVec(out[b*ldo:b*ldo+rows], w[:rows*cols], x[b*cols:(b+1)*cols])
		}
	}
}

// batchedQ8 is batched for the Q8_0 products.
func batchedQ8(matVecQ8 func(out []float32, wq []int8, ws []float32, xq []int8, xs []float32, gs int)) func(out []float32, ldo int, wq []int8, ws []float32, xq []int8, xs []float32, n, gs int) {
	return func(out []float32, ldo int, wq []int8, ws []float32, xq []int8, xs []float32, n, gs int) {
		if n == 0 {
			return
		}
		cols := len(xq) / n
		rows := len(wq) / cols
		gpr := cols / gs
		for b := 0; b < n; b++ {
			matVecQ8(out[b*ldo:b*ldo+rows], wq[:rows*cols], ws[:rows*gpr], xq[b*cols:(b+1)*cols], xs[b*gpr:(b+1)*gpr], gs)
		}
	}
}

func quantizeGo(q []int8, s []float32, x []float32, gs int) {
	groups := len(x) / gs
	for g := 0; g < groups; g++ {
		xg := x[g*gs : (g+1)*gs]
		var wmax float32
		for _, v := range xg {
			if v < 0 {
				v = -v
			}
			if v > wmax {
				wmax = v
			}
		}
		scale := wmax / 127
		s[g] = scale
		qg := q[g*gs : (g+1)*gs]
		if scale == 0 {
			for i := range qg {
				qg[i] = 0
			}
			continue
		}
		for i, v := range xg {
			qg[i] = roundQ(v / scale)
		}
	}
}

// roundQ rounds r (|r| <= 127 here) half away from zero, as C's round()
// does. Adding 0.5 in float64 is exact for any float32 of this size, so
// truncating the sum gives the same integer as math.Round, at a fraction
// of its cost (TestRoundQ checks every float32 in range).
func roundQ(r float32) int8 {
	if r < 0 {
		return -int8(int32(float64(-r) + 0.5))
	}
	return int8(int32(float64(r) + 0.5))
}

func matVecQ8Scalar(out []float32, wq []int8, ws []float32, xq []int8, xs []float32, gs int) {
	cols := len(xq)
	gpr := cols / gs // groups per row
	for i := range out {
		row := wq[i*cols : (i+1)*cols]
		rs := ws[i*gpr : (i+1)*gpr]
		var val float32
		for g := 0; g < gpr; g++ {
			var acc int32
			a := row[g*gs : (g+1)*gs]
			b := xq[g*gs : (g+1)*gs]
			for k := range a {
				acc += int32(a[k]) * int32(b[k])
			}
			val += float32(float32(acc) * rs[g] * xs[g])
		}
		out[i] = val
	}
}

func rmsNormGo(out, x, w []float32, eps float32) {
	var ss float32
	for _, v := range x {
		ss += float32(v * v)
	}
	ss /= float32(len(x))
	ss += eps
	ss = 1 / float32(math.Sqrt(float64(ss)))
	w = w[:len(x)]
	out = out[:len(x)]
	for i, v := range x {
		out[i] = w[i] * (ss * v)
	}
}

func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

func softmaxGo(x []float32) { softmaxWith(x, expSubGo) }

// softmaxWith is softmax with the exponentials, x[i] = exp(x[i]-max), taken
// by exps; the maximum, the sum (in order) and the division are shared by
// every variant, so variants whose exponentials agree agree bit for bit.
func softmaxWith(x []float32, exps func(x []float32, maxv float32)) {
	if len(x) == 0 {
		return
	}
	maxv := x[0]
	for _, v := range x[1:] {
		if v > maxv {
			maxv = v
		}
	}
	exps(x, maxv)
	var sum float32
	for _, e := range x {
		sum += e
	}
	for i := range x {
		x[i] /= sum
	}
}

func expSubGo(x []float32, maxv float32) {
	for i, v := range x {
		x[i] = expf(v - maxv)
	}
}

func swiGLUGo(a, b []float32) {
	b = b[:len(a)]
	for i, v := range a {
		v *= 1 / (1 + expf(-v))
		a[i] = v * b[i]
	}
}

// attnScoresWith is AttnScores with the dot products taken by dot.
func attnScoresWith(dot func(a, b []float32) float32) func(out, q, k []float32, stride int) {
	return func(out, q, k []float32, stride int) {
		hs := len(q)
		div := float32(math.Sqrt(float64(hs)))
		for t := range out {
			out[t] = dot(q, k[t*stride:t*stride+hs]) / div
		}
	}
}

func attnMixGo(out, att, v []float32, stride int) {
	hs := len(out)
	for t, a := range att {
		vt := v[t*stride : t*stride+hs]
		for i := range out {
			out[i] += float32(a * vt[i])
		}
	}
}
