//go:build !noasm

package asm

import "golang.org/x/sys/cpu"

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func sumAVX2(x *float32, n int) float32

//go:noescape
func axpyAVX2(a float32, x, y *float32, n int)

//go:noescape
func gemvAVX2(out, w, x *float32, rows, cols, ldw int)

//go:noescape
func gemm2AVX2(out *float32, ldo int, w, x *float32, rows, cols int)

//go:noescape
func gemm3AVX2(out *float32, ldo int, w, x *float32, rows, cols int)

//go:noescape
func gemmQ8AVX2(out *float32, ldo int, wq *int8, ws *float32, x16 *int16, xs *float32, rows, cols, cpg, gpr int)

//go:noescape
func gemvQ8AVX2(out *float32, wq *int8, ws *float32, xq *int8, xs *float32, rows, cols, cpg, gpr int)

func hasAVX2() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

var avx2Impl = &simdImpl{
	dot:   dotAVX2,
	gemv:  gemvAVX2,
	gemm2: gemm2AVX2,
	gemm3: gemm3AVX2,
	axpy:  axpyAVX2,
	mix:   f32mixAVX2,

	quantize: quantizeAVX2,
	qstep:    8,
	swiGLU:   swiGLUAVX2,
	expSub:   expSubAVX2,

	gemvQ8:  gemvQ8AVX2,
	q8chunk: 16,
	q8Name:  "avx2 int8 (4-row blocks)",
	// Batches of three or more vectors (prefill): register-blocked.
	gemmQ8:     gemmQ8AVX2,
	gemmQ8Name: "avx2 int8 (2 rows x 3 vectors per block; fewer vectors: 4-row blocks)",
	// Other group sizes: the 8-row kernel, which takes any.
	q8any:     matVecQ8Rows,
	q8anyMM:   matMulQ8Rows,
	q8anyName: "avx2 int8 (8-row blocks, any group size)",
}

func init() {
	Register(avx2Impl.kernels("avx2", []string{"AVX2", "FMA"}, hasAVX2, 10))
	if hasAVX2() && !hasAVX512() {
		readSum, readSumName = sumAVX2Go, "avx2"
	}
}

func sumAVX2Go(x []float32) float32 {
	m := len(x) &^ 63
	var s float32
	if m > 0 {
		s = sumAVX2(&x[0], m)
	}
	return s + sum4(x[m:])
}

//go:noescape
func swiGLUAVX2(a, b *float32, n int)

//go:noescape
func expSubAVX2(x *float32, n int, sub float32)

//go:noescape
func quantizeAVX2(q *int8, s *float32, x *float32, groups, gs int)
