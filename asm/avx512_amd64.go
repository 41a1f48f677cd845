//go:build !noasm

package asm

import "golang.org/x/sys/cpu"

//go:noescape
func dotAVX512(a, b *float32, n int) float32

//go:noescape
func sumAVX512(x *float32, n int) float32

//go:noescape
func axpyAVX512(a float32, x, y *float32, n int)

//go:noescape
func gemvAVX512(out, w, x *float32, rows, cols, ldw int)

//go:noescape
func gemm2AVX512(out *float32, ldo int, w, x *float32, rows, cols int)

//go:noescape
func gemvQ8AVX512(out *float32, wq *int8, ws *float32, xq *int8, xs *float32, rows, cols, cpg, gpr int)

//go:noescape
func gemvQ8VNNIAVX512(out *float32, wq *int8, ws *float32, xq *int8, xs *float32, rows, cols, cpg, gpr int)

// avx512VNNI selects the int8 path of the "avx512" variant: true uses
// VPDPBUSD (AVX-512 VNNI, Cascade Lake, Ice Lake, Zen 4 and later), false
// the AVX-512BW widening sequence every AVX-512 CPU has. It is a variable so
// tests can run both paths on a VNNI machine.
var avx512VNNI = cpu.X86.HasAVX512VNNI

func gemvQ8AVX512Any(out *float32, wq *int8, ws *float32, xq *int8, xs *float32, rows, cols, cpg, gpr int) {
	if avx512VNNI {
		gemvQ8VNNIAVX512(out, wq, ws, xq, xs, rows, cols, cpg, gpr)
		return
	}
	gemvQ8AVX512(out, wq, ws, xq, xs, rows, cols, cpg, gpr)
}

func avx512Q8Name() string {
	if avx512VNNI {
		return "avx512 int8 (VNNI)"
	}
	return "avx512 int8 (BW)"
}

func hasAVX512() bool {
	return cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
}

var avx512Impl = &simdImpl{
	dot:     dotAVX512,
	gemv:    gemvAVX512,
	gemm2:   gemm2AVX512,
	gemvQ8:  gemvQ8AVX512Any,
	q8chunk: 32,
	q8Name:  avx512Q8Name(),
	// Group sizes that are not a multiple of 32 take the AVX2 kernel
	// (every AVX-512 CPU has AVX2).
	q8any:     matVecQ8Rows,
	q8anyMM:   matMulQ8Rows,
	q8anyName: "avx2 int8 (8-row blocks; avx512 int8 needs a group size that is a multiple of 32)",
	axpy:      axpyAVX512,
	quantize:  quantizeAVX512,
	swiGLU:    swiGLUAVX512,
	expSub:    expSubAVX512,
}

func init() {
	features := []string{"AVX512F", "AVX512BW", "AVX512VL"}
	if cpu.X86.HasAVX512VNNI {
		features = append(features, "AVX512VNNI")
	}
	Register(avx512Impl.kernels("avx512", features, hasAVX512, 20))
}

func init() {
	if hasAVX512() {
		readSum, readSumName = sumAVX512Go, "avx512"
	}
}

// sumAVX512Go is the bandwidth probe's read loop.
func sumAVX512Go(x []float32) float32 {
	m := len(x) &^ 63
	var s float32
	if m > 0 {
		s = sumAVX512(&x[0], m)
	}
	return s + sum4(x[m:])
}

//go:noescape
func swiGLUAVX512(a, b *float32, n int)

//go:noescape
func expSubAVX512(x *float32, n int, sub float32)

//go:noescape
func quantizeAVX512(q *int8, s *float32, x *float32, groups, gs int)
