//go:build !noasm

package asm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestQ4_0AVX2Exact holds the AVX2 Q4_0 product to the portable reference
// bit for bit (the kernels sum each block exactly in integers and take
// the reference's float steps in its order), on every row count around
// the four-row blocks, one to 25 blocks a row, and the extreme values:
// nibbles all 0 or all 15 against x all 127 or all -128 (the largest
// int16 partial sums, 16·15·128 = 30720), besides random blocks.
func TestQ4_0AVX2Exact(t *testing.T) {
	if !hasAVX2F16C() {
		t.Skip("no AVX2/FMA/F16C: the AVX2 routines do not run here")
	}
	k, err := Lookup("avx2")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(41, 42))
	for _, nb := range []int{1, 2, 3, 4, 5, 7, 24, 25} {
		cols := nb * BlockSize
		for _, rows := range []int{1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 33, 70} {
			for _, kind := range []string{"random", "extreme"} {
				_, q4 := blockWeights(r, rows, cols)
				xq, xs := make([]int8, cols), make([]float32, nb)
				k.Quantize(xq, xs, randF32(r, cols), BlockSize)
				if kind == "extreme" {
					for b := 0; b < rows*nb; b++ {
						fill := []byte{0x00, 0xff, 0x0f, 0xf0}[b%4]
						for j := 2; j < Q4_0BlockBytes; j++ {
							q4[b*Q4_0BlockBytes+j] = fill
						}
					}
					for i := range xq {
						xq[i] = []int8{127, -128}[(i/BlockSize)%2]
					}
				}
				what := fmt.Sprintf("%s %dx%d", kind, rows, cols)
				got, want := make([]float32, rows), make([]float32, rows)
				k.MatVecQ4_0(got, q4, xq, xs)
				matVecQ4_0Go(want, q4, xq, xs)
				sameBits(t, what, got, want)
			}
		}
	}
}
