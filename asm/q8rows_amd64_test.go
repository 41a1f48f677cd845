//go:build !noasm

package asm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The AVX2 int8 kernel gives the portable loop's bits at every group size
// (whole 32-byte chunks, a tail, groups shorter than a chunk), row count
// (blocks of eight spread over the matrix, rows left over, one row) and
// for every int8 weight, -128 included.
func TestQ8RowsExact(t *testing.T) {
	if !hasAVX2() {
		t.Skip("no AVX2 on this CPU")
	}
	r := rand.New(rand.NewPCG(61, 62))
	for _, gs := range []int{1, 2, 3, 4, 5, 12, 16, 20, 31, 32, 33, 43, 48, 52, 63, 64, 65, 96, 100, 128} {
		for _, groups := range []int{1, 2, 3, 7} {
			cols := gs * groups
			for _, extra := range []int{0, 1} { // columns past the last whole group are ignored
				if extra == 1 && gs == 1 {
					continue
				}
				cols := cols + extra*(gs-1)
				for _, rows := range []int{1, 2, 7, 8, 9, 16, 17, 23, 64, 67} {
					wq := make([]int8, rows*cols)
					for i := range wq {
						wq[i] = int8(r.Uint32())
					}
					wq[0] = -128
					xq, xs := quantized(r, cols, gs)
					xq[0] = 127
					ws := make([]float32, rows*groups)
					for i := range ws {
						ws[i] = float32(r.Float64()) * 0.05
					}
					got := make([]float32, rows+2)
					got[0], got[rows+1] = 7, 7 // guards
					want := make([]float32, rows)
					matVecQ8Rows(got[1:rows+1], wq, ws, xq, xs, gs)
					matVecQ8Scalar(want, wq, ws, xq, xs, gs)
					sameBits(t, fmt.Sprintf("q8rows %dx%d gs=%d", rows, cols, gs), got[1:rows+1], want)
					if got[0] != 7 || got[rows+1] != 7 {
						t.Fatalf("q8rows %dx%d gs=%d wrote outside out", rows, cols, gs)
					}
				}
			}
		}
	}
}
