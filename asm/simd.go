//go:build (amd64 || arm64) && !noasm

package asm

import (
	"fmt"
	"math"
)

// simdImpl is the handful of assembly routines a SIMD variant provides; the
// Go glue below turns them into a complete Kernels value, so every
// instruction set shares one set of wrappers (slice checks, row blocking,
// fallbacks) and differs only in its .s file.
type simdImpl struct {
	// dot returns a·b over n elements.
	dot func(a, b *float32, n int) float32
	// gemv computes out[i] = sum_j w[i*ldw+j]*x[j] for i < rows, j < cols.
	// It must sum each row identically whatever rows is, so that thread
	// splits do not change results.
	gemv func(out, w, x *float32, rows, cols, ldw int)
	// gemm2 computes out[i] = w_i·x0 and out[ldo+i] = w_i·x1 for two input
	// vectors x0 = x, x1 = x+cols, summed exactly as gemv sums.
	gemm2 func(out *float32, ldo int, w, x *float32, rows, cols int)
	// gemm3 (optional) is gemm2 for three input vectors x, x+cols,
	// x+2·cols: more products per load, for batched prefill.
	gemm3 func(out *float32, ldo int, w, x *float32, rows, cols int)
	// mix (optional) is attention's mix over an fp32 cache in one call:
	// out[i] += att[t]·v[t·stride+i] for t < nt, i < n, one fused
	// multiply-add per value in position order, as the axpy loop it
	// replaces does it (so with its bits). Without it AttnMix calls axpy
	// once a position.
	mix func(out, att, v *float32, stride, n, nt int)
	// gemvQ8 is the Q8_0 matrix-vector product for group sizes that are a
	// multiple of q8chunk: cpg = gs/q8chunk chunks per group, gpr groups
	// per row.
	gemvQ8  func(out *float32, wq *int8, ws *float32, xq *int8, xs *float32, rows, cols, cpg, gpr int)
	q8chunk int
	// q8any and q8anyMM are Q8_0 products for every group size (nil: none).
	// They run wherever gemvQ8 is nil or the group size is not a multiple
	// of q8chunk, so no group size falls back to the portable loop.
	q8any func(out []float32, wq []int8, ws []float32, xq []int8, xs []float32, gs int)
	// gemmQ8 (optional) is gemvQ8 for three input vectors at once, given
	// widened to int16 (x16, three rows of cols) with their scales xs
	// (three rows of gpr), over an even number of rows; it must sum every
	// row exactly as gemvQ8 does. MatMulQ8 runs it for batches of three
	// or more vectors at the group sizes gemvQ8 takes; gemmQ8Name names it.
	gemmQ8     func(out *float32, ldo int, wq *int8, ws *float32, x16 *int16, xs *float32, rows, cols, cpg, gpr int)
	gemmQ8Name string
	q8anyMM    func(out []float32, ldo int, wq []int8, ws []float32, xq []int8, xs []float32, n, gs int)
	// Names of the routines, for Kernels.Routine: gemvQ8's, q8any's.
	q8Name, q8anyName string
	// axpy computes y[i] += a*x[i] for i < n.
	axpy func(a float32, x, y *float32, n int)

	// The element-wise routines are optional (nil: the portable loop) and
	// must give the portable loop's bits. quantize takes groups of gs
	// values, gs a multiple of qstep; swiGLU and expSub (x[i] =
	// exp(x[i]-sub)) take a multiple of 8 values.
	quantize func(q *int8, s *float32, x *float32, groups, gs int)
	qstep    int // quantize takes gs a multiple of this (16 if 0)
	swiGLU   func(a, b *float32, n int)
	expSub   func(x *float32, n int, sub float32)
}

// q8fits reports whether gemvQ8 takes group size gs.
func (s *simdImpl) q8fits(gs int) bool {
	return s.gemvQ8 != nil && gs > 0 && gs%s.q8chunk == 0
}

// routine names what runs op at group size gs (see Kernels.Routine).
func (s *simdImpl) routine(variant, op string, gs int) string {
	switch op {
	case OpMatVecQ8, OpMatMulQ8:
		switch {
		case op == OpMatMulQ8 && s.gemmQ8 != nil && s.q8fits(gs):
			return s.gemmQ8Name
		case s.q8fits(gs):
			return s.q8Name
		case s.q8any != nil:
			return s.q8anyName
		}
		if s.gemvQ8 != nil {
			return fmt.Sprintf("portable scalar4 (%s int8 needs a group size that is a multiple of %d)", variant, s.q8chunk)
		}
		return "portable scalar4"
	case OpQuantize:
		if s.quantize != nil && gs%s.quantizeStep() == 0 {
			return variant
		}
		if s.quantize != nil {
			return fmt.Sprintf("portable (%s quantize needs a group size that is a multiple of %d)", variant, s.quantizeStep())
		}
		return "portable (no " + variant + " quantize)"
	case OpSwiGLU, OpSoftmax:
		if (op == OpSwiGLU && s.swiGLU == nil) || (op == OpSoftmax && s.expSub == nil) {
			return "portable (no " + variant + " " + op + ")"
		}
	}
	return variant
}

func (s *simdImpl) quantizeStep() int {
	if s.qstep == 0 {
		return 16
	}
	return s.qstep
}

// quantizer is Quantize with the variant's routine where the group size
// suits it.
func (s *simdImpl) quantizer() func(q []int8, sc []float32, x []float32, gs int) {
	if s.quantize == nil {
		return quantizeGo
	}
	return func(q []int8, sc []float32, x []float32, gs int) {
		groups := 0
		if gs > 0 {
			groups = len(x) / gs
		}
		if groups == 0 || gs%s.quantizeStep() != 0 {
			quantizeGo(q, sc, x, gs)
			return
		}
		_ = q[groups*gs-1]
		_ = sc[groups-1]
		s.quantize(&q[0], &sc[0], &x[0], groups, gs)
	}
}

func (s *simdImpl) swiGLUer() func(a, b []float32) {
	if s.swiGLU == nil {
		return swiGLUGo
	}
	return func(a, b []float32) {
		b = b[:len(a)]
		m := len(a) &^ 7
		if m > 0 {
			s.swiGLU(&a[0], &b[0], m)
		}
		swiGLUGo(a[m:], b[m:])
	}
}

// softmaxer is softmaxGo with the exponentials taken eight at a time.
func (s *simdImpl) softmaxer() func(x []float32) {
	if s.expSub == nil {
		return softmaxGo
	}
	exps := func(x []float32, maxv float32) {
		m := len(x) &^ 7
		if m > 0 {
			s.expSub(&x[0], m, maxv)
		}
		expSubGo(x[m:], maxv)
	}
	return func(x []float32) { softmaxWith(x, exps) }
}

// rowArgs checks the output and weights of a matrix-vector call for the
// SIMD glue (rows = len(out), rowLen values or bytes a row): false when no
// kernel need run (no rows; or empty rows, which make every output 0).
func rowArgs[T any](out []float32, w []T, rowLen int) bool {
	rows := len(out)
	if rows == 0 {
		return false
	}
	if rowLen == 0 {
		clear(out)
		return false
	}
	_ = w[rows*rowLen-1]
	return true
}

// rowBlock is how many weight rows MatMul keeps hot in cache while it runs
// every input vector over them, so each row is read from memory once.
const rowBlock = 16

func (s *simdImpl) kernels(name string, features []string, available func() bool, rank int) *Kernels {
	dot := func(a, b []float32) float32 {
		if len(a) == 0 {
			return 0
		}
		_ = b[len(a)-1]
		return s.dot(&a[0], &b[0], len(a))
	}
	matVec := func(out, w, x []float32) {
		rows, cols := len(out), len(x)
		if !rowArgs(out, w, cols) {
			return
		}
		s.gemv(&out[0], &w[0], &x[0], rows, cols, cols)
	}
	matMul := func(out []float32, ldo int, w, x []float32, n int) {
		if n == 0 {
			return
		}
		cols := len(x) / n
		rows := len(w) / cols
		if rows == 0 {
			return
		}
		_ = out[(n-1)*ldo+rows-1]
		_ = w[rows*cols-1]
		_ = x[n*cols-1]
		for r0 := 0; r0 < rows; r0 += rowBlock {
			nr := min(rowBlock, rows-r0)
			b := 0
			if s.gemm3 != nil {
				for ; b+3 <= n; b += 3 {
					s.gemm3(&out[b*ldo+r0], ldo, &w[r0*cols], &x[b*cols], nr, cols)
				}
			}
			for ; b+2 <= n; b += 2 {
				s.gemm2(&out[b*ldo+r0], ldo, &w[r0*cols], &x[b*cols], nr, cols)
			}
			if b < n {
				s.gemv(&out[b*ldo+r0], &w[r0*cols], &x[b*cols], nr, cols, cols)
			}
		}
	}
	matVecQ8 := func(out []float32, wq []int8, ws []float32, xq []int8, xs []float32, gs int) {
		if !s.q8fits(gs) {
			if s.q8any != nil {
				s.q8any(out, wq, ws, xq, xs, gs)
			} else {
				matVecQ8Go4(out, wq, ws, xq, xs, gs)
			}
			return
		}
		cols, gpr, ok := q8MatVecShape(out, wq, ws, xq, xs, gs)
		if !ok {
			return
		}
		s.gemvQ8(&out[0], &wq[0], &ws[0], &xq[0], &xs[0], len(out), cols, gs/s.q8chunk, gpr)
	}
	matMulQ8 := func(out []float32, ldo int, wq []int8, ws []float32, xq []int8, xs []float32, n, gs int) {
		if !s.q8fits(gs) {
			if s.q8anyMM != nil {
				s.q8anyMM(out, ldo, wq, ws, xq, xs, n, gs)
			} else {
				matMulQ8Go4(out, ldo, wq, ws, xq, xs, n, gs)
			}
			return
		}
		cols, rows, gpr, ok := q8MatMulShape(out, ldo, wq, ws, xq, xs, n, gs)
		if !ok {
			return
		}
		if s.gemmQ8 != nil && n >= 3 {
			s.matMulQ8Blocked(out, ldo, wq, ws, xq, xs, n, rows, cols, gpr, gs/s.q8chunk)
			return
		}
		for r0 := 0; r0 < rows; r0 += rowBlock {
			nr := min(rowBlock, rows-r0)
			for b := 0; b < n; b++ {
				s.gemvQ8(&out[b*ldo+r0], &wq[r0*cols], &ws[r0*gpr], &xq[b*cols], &xs[b*gpr], nr, cols, gs/s.q8chunk, gpr)
			}
		}
	}
	attnScores := func(out, q, k []float32, stride int) {
		hs := len(q)
		if len(out) == 0 {
			return
		}
		if hs == 0 {
			clear(out)
			return
		}
		_ = k[(len(out)-1)*stride+hs-1]
		s.gemv(&out[0], &k[0], &q[0], len(out), hs, stride)
		div := float32(math.Sqrt(float64(hs)))
		for t := range out {
			out[t] /= div
		}
	}
	attnMix := func(out, att, v []float32, stride int) {
		hs := len(out)
		if hs == 0 || len(att) == 0 {
			return
		}
		_ = v[(len(att)-1)*stride+hs-1]
		if s.mix != nil {
			s.mix(&out[0], &att[0], &v[0], stride, hs, len(att))
			return
		}
		for t, a := range att {
			s.axpy(a, &v[t*stride], &out[0], hs)
		}
	}
	return &Kernels{
		Name:       name,
		Features:   features,
		Available:  available,
		Rank:       rank,
		Dot:        dot,
		MatVec:     matVec,
		MatMul:     matMul,
		Quantize:   s.quantizer(),
		MatVecQ8:   matVecQ8,
		MatMulQ8:   matMulQ8,
		RMSNorm:    func(out, x, w []float32, eps float32) { rmsNormWith(dot, out, x, w, eps) },
		Softmax:    s.softmaxer(),
		SwiGLU:     s.swiGLUer(),
		AttnScores: attnScores,
		AttnMix:    attnMix,
		routine:    func(op string, gs int) string { return s.routine(name, op, gs) },
	}
}

// q8TileBytes bounds the weight rows matMulQ8Blocked runs every vector
// over, three at a time, before it moves on (a tile is at least two rows):
// they stay in L2 (512 KiB or more per core on the machines this runs on)
// beside the three widened vectors in use, 6·cols bytes.
const q8TileBytes = 192 << 10

// matMulQ8Blocked is MatMulQ8 through gemmQ8: the vectors widened to int16
// once, then for each tile of rows, three vectors at a time over pairs of
// rows; an odd row of a tile and the one or two vectors left over go
// through gemvQ8, which sums a row exactly as gemmQ8 does. Checked shapes
// only (the caller has bounds-checked every slice).
func (s *simdImpl) matMulQ8Blocked(out []float32, ldo int, wq []int8, ws []float32, xq []int8, xs []float32, n, rows, cols, gpr, cpg int) {
	p := i16Scratch.get(n * cols)
	x16 := *p
	for i, v := range xq[:n*cols] {
		x16[i] = int16(v)
	}
	tile := max(2, q8TileBytes/cols) &^ 1
	for r0 := 0; r0 < rows; r0 += tile {
		nr := min(tile, rows-r0)
		even := nr &^ 1
		b := 0
		for ; b+3 <= n; b += 3 {
			if even > 0 {
				s.gemmQ8(&out[b*ldo+r0], ldo, &wq[r0*cols], &ws[r0*gpr], &x16[b*cols], &xs[b*gpr], even, cols, cpg, gpr)
			}
			if odd := r0 + even; odd < r0+nr {
				for v := b; v < b+3; v++ {
					s.gemvQ8(&out[v*ldo+odd], &wq[odd*cols], &ws[odd*gpr], &xq[v*cols], &xs[v*gpr], 1, cols, cpg, gpr)
				}
			}
		}
		for ; b < n; b++ {
			s.gemvQ8(&out[b*ldo+r0], &wq[r0*cols], &ws[r0*gpr], &xq[b*cols], &xs[b*gpr], nr, cols, cpg, gpr)
		}
	}
	i16Scratch.put(p)
}
