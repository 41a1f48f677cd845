//go:build !noasm

package asm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/memwall/memwall/inspect"
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

// BenchmarkQ8AVX2Kernels times the two AVX2 int8 kernels against each
// other, interleaved over b.N rounds (medians reported): the 4-row kernel
// avx2 runs at group sizes that are multiples of 16 (gemvQ8AVX2) and the
// 8-row one it runs at every other (q8rowsAVX2, the portable loop's
// bits). "hot" reuses one matrix (in cache), "cold" walks 256 MiB as
// decoding does:
//
//	go test -run '^$' -bench Q8AVX2Kernels -benchtime 15x ./asm/
func BenchmarkQ8AVX2Kernels(b *testing.B) {
	if !hasAVX2() {
		b.Skip("no AVX2 on this CPU")
	}
	_, cold := coldBuffers()
	for _, c := range []struct {
		rows, cols, gs int
		cold           bool
	}{{768, 768, 32, false}, {768, 768, 64, false}, {768, 768, 48, false}, {2048, 768, 64, false}, {768, 2048, 32, false},
		{2048, 768, 32, true}, {2048, 768, 64, true}} {
		temp := "hot"
		if c.cold {
			temp = "cold"
		}
		b.Run(fmt.Sprintf("%dx%d/gs%d/%s", c.rows, c.cols, c.gs, temp), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			n := c.rows * c.cols
			gpr := c.cols / c.gs
			buf := randI8(r, n)
			if c.cold {
				buf = cold
			}
			ws := make([]float32, len(buf)/c.gs)
			for i := range ws {
				ws[i] = float32(r.Float64())
			}
			xq, xs := quantized(r, c.cols, c.gs)
			out := make([]float32, c.rows)
			reps := 64
			if c.cold {
				reps = len(buf) / n
			}
			walk := func(k func(w []int8, s []float32)) func() {
				return func() {
					for rep := 0; rep < reps; rep++ {
						o := rep * n % (len(buf) - n + 1)
						k(buf[o:o+n], ws[o/c.gs:(o+n)/c.gs])
					}
				}
			}
			secs := interleaved(b,
				walk(func(w []int8, s []float32) {
					gemvQ8AVX2(&out[0], &w[0], &s[0], &xq[0], &xs[0], c.rows, c.cols, c.gs/16, gpr)
				}),
				walk(func(w []int8, s []float32) { matVecQ8Rows(out, w, s, xq, xs, c.gs) }))
			gbps := func(j int) float64 { return float64(reps*n) / inspect.Percentile(secs[j], 50) / 1e9 }
			a, q := gbps(0), gbps(1)
			b.ReportMetric(a, "4row-GB/s")
			b.ReportMetric(q, "8row-GB/s")
			b.ReportMetric(q/a, "8row/4row")
		})
	}
}
