//go:build !noasm

package asm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/memwall/memwall/inspect"
)

// BenchmarkMatMulQ8Prefill times the batched int8 product of a 64-token
// prefill, in cache (one matrix of the stories110M shape, 1 thread), with
// AVX2's register-blocked kernel (gemmQ8AVX2) and with the row-blocked
// matrix-vector loop it replaced, interleaved call by call, b.N rounds.
// It reports each one's median GMAC/s and logs inspect.Compare's verdict
// on the per-round time ratio (old / blocked: above 1 means the blocked
// kernel is faster):
//
//	go test -run '^$' -bench MatMulQ8Prefill -benchtime 15x ./asm/
func BenchmarkMatMulQ8Prefill(b *testing.B) {
	if !hasAVX2() {
		b.Skip("no AVX2 on this CPU: the kernel compared here cannot run")
	}
	rowsImpl := *avx2Impl
	rowsImpl.gemmQ8 = nil
	kernels := []*Kernels{
		avx2Impl.kernels("avx2", nil, hasAVX2, 0),
		rowsImpl.kernels("avx2-rowblocked", nil, hasAVX2, 0),
	}
	const n = 64
	for _, gs := range []int{32, 64} {
		for _, s := range []shape{{768, 768}, {2048, 768}, {768, 2048}} {
			b.Run(fmt.Sprintf("gs%d/%dx%d", gs, s.rows, s.cols), func(b *testing.B) {
				r := rand.New(rand.NewPCG(8, 8))
				wq, ws := quantized(r, s.rows*s.cols, gs)
				xq, xs := quantized(r, n*s.cols, gs)
				out := make([]float32, n*s.rows)
				fns := make([]func(), len(kernels))
				for j, k := range kernels {
					fns[j] = func() { k.MatMulQ8(out, s.rows, wq, ws, xq, xs, n, gs) }
					fns[j]() // warm both, and the pools
				}
				secs := interleaved(b, fns...)
				macs := float64(n * s.rows * s.cols)
				for j, k := range kernels {
					med := inspect.Percentile(secs[j], 50)
					b.ReportMetric(macs/med/1e9, k.Name+"-GMAC/s")
				}
				c := inspect.Compare(secs[0], secs[1], 0.95)
				b.Logf("time row-blocked / register-blocked: %s", c)
				b.ReportMetric(c.Ratio, "speedup")
			})
		}
	}
}
