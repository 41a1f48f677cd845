//go:build !noasm

package asm

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// Both amd64 read loops, whichever the probe picked.
func TestReadSumAMD64(t *testing.T) {
	for _, f := range []struct {
		name string
		ok   bool
		sum  func([]float32) float32
	}{{"avx2", hasAVX2(), sumAVX2Go}, {"avx512", hasAVX512(), sumAVX512Go}} {
		if !f.ok {
			continue
		}
		for _, n := range []int{0, 63, 64, 200, 4096 + 17} {
			x := make([]float32, n)
			var want float32
			for i := range x {
				x[i] = float32(i%5) - 2
				want += x[i]
			}
			if got := f.sum(x); got != want {
				t.Errorf("%s sum of %d: %v, want %v", f.name, n, got, want)
			}
		}
	}
}

// The avx512 int8 products run through VPDPBUSD where the CPU has AVX-512
// VNNI; force the AVX-512BW path and run the int8 tests again, so both are
// checked on a VNNI machine.
func TestAVX512WithoutVNNI(t *testing.T) {
	if !hasAVX512() {
		t.Skip("no AVX-512 on this CPU")
	}
	defer func(old bool) { avx512VNNI = old }(avx512VNNI)
	avx512VNNI = false
	t.Run("MatVecQ8", TestMatVecQ8)
	t.Run("MatMulQ8", TestMatMulQ8)
	t.Run("Threads", TestThreadsBitIdentical)
}

// The VNNI kernel's integer sums are exact for every int8 value, -128
// included (the top-bit flip maps it to 0, and the 128·Σx correction makes
// up the difference), and its row order (blocks of rows a quarter of the
// matrix apart) leaves every row as computed alone, at any row count.
func TestAVX512VNNIExact(t *testing.T) {
	if !hasAVX512() || !cpu.X86.HasAVX512VNNI {
		t.Skip("no AVX-512 VNNI on this CPU")
	}
	r := rand.New(rand.NewPCG(41, 42))
	for _, gs := range []int{32, 64, 96, 128} {
		for _, rows := range []int{1, 3, 4, 7, 8, 11, 64, 67, 130} {
			cols := gs * 3
			wq := make([]int8, rows*cols)
			for i := range wq {
				wq[i] = int8(r.Uint32()) // the full range, -128 included
			}
			wq[0], wq[1] = -128, 127
			xq := make([]int8, cols)
			for i := range xq {
				xq[i] = int8(r.Uint32())
			}
			xq[0], xq[1] = -128, -128
			// Scales of 1 make every group's float sum its exact integer
			// dot product (all well below 2^24).
			ws := make([]float32, rows*3)
			xs := make([]float32, 3)
			for i := range ws {
				ws[i] = 1
			}
			for i := range xs {
				xs[i] = 1
			}
			got := make([]float32, rows)
			gemvQ8VNNIAVX512(&got[0], &wq[0], &ws[0], &xq[0], &xs[0], rows, cols, gs/32, 3)
			for i := 0; i < rows; i++ {
				var want int64
				for k := 0; k < cols; k++ {
					want += int64(wq[i*cols+k]) * int64(xq[k])
				}
				if got[i] != float32(want) {
					t.Fatalf("gs=%d rows=%d row %d: %v, want %d", gs, rows, i, got[i], want)
				}
			}
		}
	}
}
