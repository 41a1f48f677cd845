//go:build !noasm

package asm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/memwall/memwall/inspect"
	"github.com/memwall/memwall/internal/cpuprobe"
)

// BenchmarkWeightKernelsOldNew times the AVX2 bf16 and Q4_0
// matrix-vector products of session 4 (bf16px4AVX2: shift and mask;
// q40px4AVX2: two rows per 256-bit register) against the ones that
// replaced them (bf16ux4AVX2: unpacks; q40x8AVX2: 128-bit, eight rows,
// four folded at a time), interleaved call by call, b.N rounds, 1 thread: "hot" runs 64
// products of one 256×768 matrix that stays in cache, "cold" one product
// of each 2048×768 matrix over 128 MiB. It reports each one's median GB/s
// of weights and logs inspect.Compare's verdict on the per-round time
// ratio old / new (above 1: the new kernel is faster):
//
//	go test -run '^$' -bench WeightKernelsOldNew -benchtime 15x ./asm/
func BenchmarkWeightKernelsOldNew(b *testing.B) {
	if !hasAVX2F16C() {
		b.Skip("no AVX2/FMA/F16C: the kernels compared here cannot run")
	}
	type mv16 = func(out []float32, w []uint16, x []float32)
	type mvB = func(out []float32, w []byte, xq []int8, xs []float32)
	oldBF, newBF := matVecBF16Permuted(bf16px4AVX2, bf16px1AVX2, bf16EvenOdd), matVecBF16Permuted(bf16ux4AVX2, bf16ux1AVX2, bf16Unpacked)
	oldQ4, newQ4 := matVecQ4Pairs(q40px4AVX2, q40px1AVX2), matVecQ4Exact(q40x8AVX2, q40x4AVX2, q40x1AVX2)
	const cols = 768
	r := rand.New(rand.NewPCG(7, 7))
	x := randF32(r, cols)
	xq, xs := make([]int8, cols), make([]float32, cols/BlockSize)
	quantizeGo(xq, xs, x, BlockSize)
	for _, c := range []struct {
		name  string
		rows  int
		span  int // bytes of weights swept per call
		calls int // products per call over the same matrix (hot)
	}{{"hot", 256, 0, 64}, {"cold", 2048, 128 << 20, 1}} {
		rows := c.rows
		n := rows * cols
		span := max(c.span, n*2)
		h := AlignedUint16(span / 2 / n * n)
		f := randF32(r, n)
		for o := 0; o < len(h); o += n {
			F32ToBF16s(h[o:o+n], f)
		}
		rb := cols / BlockSize * Q4_0BlockBytes
		q4 := AlignedBytes(max(c.span, rows*rb) / (rows * rb) * (rows * rb))
		for o := 0; o < len(q4); o += rows * rb {
			QuantizeQ4_0Blocks(q4[o:o+rows*rb], f)
		}
		out := make([]float32, rows)
		bf := func(k mv16) func() {
			return func() {
				for i := 0; i < c.calls; i++ {
					for o := 0; o < len(h); o += n {
						k(out, h[o:o+n], x)
					}
				}
			}
		}
		q := func(k mvB) func() {
			return func() {
				for i := 0; i < c.calls; i++ {
					for o := 0; o < len(q4); o += rows * rb {
						k(out, q4[o:o+rows*rb], xq, xs)
					}
				}
			}
		}
		for _, t := range []struct {
			typ      string
			bytes    float64
			old, new func()
		}{
			{"bf16", float64(2 * len(h) * c.calls), bf(oldBF), bf(newBF)},
			{"q4_0", float64(len(q4) * c.calls), q(oldQ4), q(newQ4)},
		} {
			b.Run(fmt.Sprintf("%s/%s", t.typ, c.name), func(b *testing.B) {
				t.old()
				t.new()
				secs := interleaved(b, t.old, t.new)
				b.ReportMetric(t.bytes/inspect.Percentile(secs[0], 50)/1e9, "old-GB/s")
				b.ReportMetric(t.bytes/inspect.Percentile(secs[1], 50)/1e9, "new-GB/s")
				cmp := inspect.Compare(secs[1], secs[0], 0.95)
				b.Logf("time old / new: %s", cmp)
				b.ReportMetric(cmp.Ratio, "speedup")
			})
		}
	}
}

// BenchmarkWeightKernelsL1 times the four- and eight-row AVX2 kernels
// alone, old and new, on rows of 768 columns that stay in L1 (4 or 8 rows,
// 2.7 to 12 KB), and reports each in cycles per 32 weights of one row at
// the clock internal/cpuprobe measures (best of b.N rounds of 20000
// calls, each kernel's rounds after the other's; for the interleaved
// verdict see BenchmarkWeightKernelsOldNew):
//
//	go test -run '^$' -bench WeightKernelsL1 -benchtime 7x ./asm/
func BenchmarkWeightKernelsL1(b *testing.B) {
	if !hasAVX2F16C() {
		b.Skip("no AVX2/FMA/F16C: the kernels timed here cannot run")
	}
	ghz := cpuprobe.ClockGHz(2_000_000, 5)
	r := rand.New(rand.NewPCG(1, 2))
	const nb = 24
	const cols = nb * BlockSize
	f := randF32(r, 8*cols)
	q4 := make([]byte, 8*nb*Q4_0BlockBytes)
	QuantizeQ4_0Blocks(q4, f)
	h := make([]uint16, 4*cols)
	F32ToBF16s(h, f[:4*cols])
	x := randF32(r, cols)
	xq, xs := make([]int8, cols), make([]float32, nb)
	quantizeGo(xq, xs, x, BlockSize)
	c8, cf := make([]int32, nb), make([]float32, nb)
	for i := range c8 {
		for _, v := range xq[i*BlockSize : (i+1)*BlockSize] {
			c8[i] += 8 * int32(v)
		}
		cf[i] = float32(c8[i]) * xs[i]
	}
	out := make([]float32, 8)
	rb := nb * Q4_0BlockBytes
	for _, k := range []struct {
		name string
		rows int
		fn   func()
	}{
		{"q4_0-old-4rows", 4, func() { q40px4AVX2(&q4[0], rb, &xq[0], &xs[0], &cf[0], nb, &out[0], 4) }},
		{"q4_0-new-4rows", 4, func() { q40x4AVX2(&q4[0], rb, &xq[0], &xs[0], &c8[0], nb, &out[0], 4) }},
		{"q4_0-new-8rows", 8, func() { q40x8AVX2(&q4[0], rb, &xq[0], &xs[0], &c8[0], nb, &out[0], 4) }},
		{"bf16-old-4rows", 4, func() { bf16px4AVX2(&h[0], cols, &x[0], cols, &out[0], 4) }},
		{"bf16-new-4rows", 4, func() { bf16ux4AVX2(&h[0], cols, &x[0], cols, &out[0], 4) }},
	} {
		b.Run(k.name, func(b *testing.B) {
			best := 0.0
			for i := 0; i < b.N; i++ {
				t := time.Now()
				for j := 0; j < 20000; j++ {
					k.fn()
				}
				if d := time.Since(t).Seconds(); best == 0 || d < best {
					best = d
				}
			}
			b.ReportMetric(best*ghz*1e9/(20000*float64(k.rows*nb)), "cycles/32w")
			b.ReportMetric(ghz, "GHz")
		})
	}
}
