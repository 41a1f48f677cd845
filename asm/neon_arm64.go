//go:build !noasm

package asm

import "golang.org/x/sys/cpu"

//go:noescape
func gemvNEON(out, w, x *float32, rows, cols, ldw int)

//go:noescape
func gemm2NEON(out *float32, ldo int, w, x *float32, rows, cols int)

//go:noescape
func gemvQ8NEON(out *float32, wq *int8, ws *float32, xq *int8, xs *float32, rows, cols, cpg, gpr, sdot, tailadj int)

//go:noescape
func axpyNEON(a float32, x, y *float32, n int)

//go:noescape
func sumNEON(x *float32, n int) float32

// neonSDOT selects the int8 path of the "neon" variant: 1 uses SDOT (the
// ARMv8.2 dot-product extension, present on nearly every 64-bit ARM core
// since 2017), 0 the SMULL/SADALP sequence every ARMv8 core has. Both give
// identical results. It is a variable so tests can force the fallback.
var neonSDOT = boolInt(cpu.ARM64.HasASIMDDP)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// dotNEON is a one-row gemvNEON, so dot products and matrix rows agree.
func dotNEON(a, b *float32, n int) float32 {
	var r float32
	gemvNEON(&r, a, b, 1, n, n)
	return r
}

func neonQ8Name() string {
	if neonSDOT == 1 {
		return "neon int8 (SDOT)"
	}
	return "neon int8 (SMULL/SADALP)"
}

var neonImpl = &simdImpl{
	dot:   dotNEON,
	gemv:  gemvNEON,
	gemm2: gemm2NEON,
	gemvQ8: func(out *float32, wq *int8, ws *float32, xq *int8, xs *float32, rows, cols, cpg, gpr int) {
		gemvQ8NEON(out, wq, ws, xq, xs, rows, cols, cpg, gpr, neonSDOT, 0)
	},
	q8chunk: 16,
	q8Name:  neonQ8Name(),
	// Other group sizes: the same kernel with a tail chunk.
	q8any:     matVecQ8NEONAny,
	q8anyMM:   matMulQ8NEONAny,
	q8anyName: neonQ8Name() + ", any group size: 16-byte chunks and a tail",
	axpy:      axpyNEON,
}

func init() {
	features := []string{"ASIMD"}
	if cpu.ARM64.HasASIMDDP {
		features = append(features, "ASIMDDP")
	}
	Register(neonImpl.kernels("neon", features, always, 10))
	readSum, readSumName = sumNEONGo, "neon"
}

func sumNEONGo(x []float32) float32 {
	m := len(x) &^ 63
	var s float32
	if m > 0 {
		s = sumNEON(&x[0], m)
	}
	return s + sum4(x[m:])
}

// neonRows runs gemvQ8NEON over the rows of out for a group size that is
// not a multiple of 16, x already chunked (q8Shape, 16-byte chunks).
func neonRows(out []float32, wq []int8, ws []float32, x []int8, xs []float32, sh q8Shape, cols, gpr int) {
	cpg := sh.nfull + 1
	if sh.nfull == 0 && len(out) > 0 {
		// The tail chunk of the first group starts before the first row:
		// that row goes through a copy with room in front.
		p := i8Scratch.get(16 + cols)
		buf := *p
		clear(buf[:16])
		copy(buf[16:], wq[:cols])
		gemvQ8NEON(&out[0], &buf[16], &ws[0], &x[0], &xs[0], 1, cols, cpg, gpr, neonSDOT, sh.tailadj)
		i8Scratch.put(p)
		out, wq, ws = out[1:], wq[cols:], ws[gpr:]
	}
	if len(out) > 0 {
		gemvQ8NEON(&out[0], &wq[0], &ws[0], &x[0], &xs[0], len(out), cols, cpg, gpr, neonSDOT, sh.tailadj)
	}
}

// matVecQ8NEONAny is MatVecQ8 for group sizes that are not a multiple of
// 16 (it is called only for those).
func matVecQ8NEONAny(out []float32, wq []int8, ws []float32, xq []int8, xs []float32, gs int) {
	cols, gpr, ok := q8MatVecShape(out, wq, ws, xq, xs, gs)
	if !ok {
		return
	}
	sh := q8ShapeOf(gs, 16, false)
	p := i8Scratch.get(sh.chunkBytes(gpr))
	neonRows(out, wq, ws, sh.chunked(*p, xq, gpr), xs, sh, cols, gpr)
	i8Scratch.put(p)
}

// matMulQ8NEONAny is MatMulQ8 for group sizes that are not a multiple of
// 16, each vector's rows summed as matVecQ8NEONAny sums them.
func matMulQ8NEONAny(out []float32, ldo int, wq []int8, ws []float32, xq []int8, xs []float32, n, gs int) {
	cols, rows, gpr, ok := q8MatMulShape(out, ldo, wq, ws, xq, xs, n, gs)
	if !ok {
		return
	}
	sh := q8ShapeOf(gs, 16, false)
	xb := sh.chunkBytes(gpr)
	p := i8Scratch.get(n * xb)
	for b := 0; b < n; b++ {
		sh.chunked((*p)[b*xb:(b+1)*xb], xq[b*cols:(b+1)*cols], gpr)
	}
	x := *p
	for r0 := 0; r0 < rows; r0 += rowBlock {
		r1 := min(rows, r0+rowBlock)
		for b := 0; b < n; b++ {
			neonRows(out[b*ldo+r0:b*ldo+r1], wq[r0*cols:r1*cols], ws[r0*gpr:r1*gpr], x[b*xb:(b+1)*xb], xs[b*gpr:(b+1)*gpr], sh, cols, gpr)
		}
	}
	i8Scratch.put(p)
}
