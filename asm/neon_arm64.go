//go:build !noasm

package asm

import "golang.org/x/sys/cpu"

//go:noescape
func gemvNEON(out, w, x *float32, rows, cols, ldw int)

//go:noescape
func gemm2NEON(out *float32, ldo int, w, x *float32, rows, cols int)

//go:noescape
func gemvQ8NEON(out *float32, wq *int8, ws *float32, xq *int8, xs *float32, rows, cols, cpg, gpr, sdot int)

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
		gemvQ8NEON(out, wq, ws, xq, xs, rows, cols, cpg, gpr, neonSDOT)
	},
	q8chunk: 16,
	q8Name:  neonQ8Name(),
	axpy:    axpyNEON,
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
