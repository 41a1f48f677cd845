//go:build !noasm

package asm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The int8 products run through SDOT where the CPU has it; force the
// SMULL/SADALP fallback (qemu-user emulates a CPU with SDOT) and run the
// int8 tests again.
func TestNEONWithoutSDOT(t *testing.T) {
	defer func(old int) { neonSDOT = old }(neonSDOT)
	neonSDOT = 0
	t.Run("MatVecQ8", TestMatVecQ8)
	t.Run("MatMulQ8", TestMatMulQ8)
	t.Run("Threads", TestThreadsBitIdentical)
}

// Both NEON int8 paths sum in llama2.c's order and so match the scalar
// variant bit for bit, at every group size (tails included), through
// MatVecQ8 and MatMulQ8.
func TestNEONQ8ExactlyScalar(t *testing.T) {
	defer func(old int) { neonSDOT = old }(neonSDOT)
	r := rand.New(rand.NewPCG(31, 32))
	neon, _ := Lookup("neon")
	for _, sdot := range []int{0, 1} {
		neonSDOT = sdot
		for _, gs := range append([]int{16, 32, 64}, awkwardGS...) {
			for _, rows := range []int{1, 4, 7, 9} {
				cols := gs * 5
				wq, ws := quantized(r, rows*cols, gs)
				xq, xs := quantized(r, cols, gs)
				got, want := make([]float32, rows), make([]float32, rows)
				neon.MatVecQ8(got, wq, ws, xq, xs, gs)
				ref().MatVecQ8(want, wq, ws, xq, xs, gs)
				sameBits(t, fmt.Sprintf("sdot=%d gs=%d rows=%d", sdot, gs, rows), got, want)
				xq2, xs2 := quantized(r, 3*cols, gs)
				got, want = make([]float32, 3*rows), make([]float32, 3*rows)
				neon.MatMulQ8(got, rows, wq, ws, xq2, xs2, 3, gs)
				ref().MatMulQ8(want, rows, wq, ws, xq2, xs2, 3, gs)
				sameBits(t, fmt.Sprintf("MatMulQ8 sdot=%d gs=%d rows=%d", sdot, gs, rows), got, want)
			}
		}
	}
}
