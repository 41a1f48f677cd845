package asm

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/memwall/memwall/inspect"
)

// Benchmarks at stories110M's shapes (dim 768, hidden 2048, vocab 32000) and
// at small shapes that live in cache. SetBytes counts the weight bytes
// streamed per operation (fp32: 4 per weight; Q8_0: 1 per weight plus 4 per
// group scale), so the MB/s column is the weight bandwidth achieved.
//
// "cold" runs rotate through copies of the matrix filling 256 MiB, so every
// operation reads its weights from DRAM, as the forward pass of a model much
// larger than the last-level cache does; "hot" runs reuse one copy.

type shape struct{ rows, cols int }

var benchShapes = []shape{{768, 768}, {2048, 768}, {768, 2048}, {32000, 768}}
var smallShapes = []shape{{64, 64}, {256, 256}}

const coldBytes = 256 << 20

var (
	coldOnce sync.Once
	coldF32  []float32
	coldI8   []int8
)

func coldBuffers() ([]float32, []int8) {
	coldOnce.Do(func() {
		r := rand.New(rand.NewPCG(1, 1))
		coldF32 = AlignedFloat32(coldBytes / 4)
		for i := range coldF32 {
			coldF32[i] = float32(r.NormFloat64())
		}
		coldI8 = AlignedInt8(coldBytes)
		for i := range coldI8 {
			coldI8[i] = int8(r.Uint32())
		}
	})
	return coldF32, coldI8
}

func benchVariants(b *testing.B) []*Kernels {
	var ks []*Kernels
	for _, v := range Variants() {
		if v.Available {
			k, _ := Lookup(v.Name)
			ks = append(ks, k)
		}
	}
	return ks
}

func benchCases(b *testing.B, fn func(b *testing.B, k *Kernels, threads int, s shape, cold bool)) {
	for _, k := range benchVariants(b) {
		for _, threads := range []int{1, 2} {
			for _, s := range benchShapes {
				for _, cold := range []bool{true, false} {
					temp := "hot"
					if cold {
						temp = "cold"
					}
					b.Run(fmt.Sprintf("%s/t%d/%dx%d/%s", k.Name, threads, s.rows, s.cols, temp), func(b *testing.B) {
						fn(b, k, threads, s, cold)
					})
				}
			}
			for _, s := range smallShapes {
				b.Run(fmt.Sprintf("%s/t%d/%dx%d/hot", k.Name, threads, s.rows, s.cols), func(b *testing.B) {
					fn(b, k, threads, s, false)
				})
			}
		}
	}
}

func BenchmarkMatVec(b *testing.B) {
	benchCases(b, func(b *testing.B, k *Kernels, threads int, s shape, cold bool) {
		if k.Rank == 0 && cold && threads == 2 {
			b.Skip("scalar is compute bound; skipping the slow runs")
		}
		o := MustNew(k.Name, threads)
		defer o.Close()
		n := s.rows * s.cols
		buf, _ := coldBuffers()
		copies := 1
		if cold {
			copies = len(buf) / n
		}
		x := randF32(rand.New(rand.NewPCG(2, 2)), s.cols)
		out := make([]float32, s.rows)
		b.SetBytes(int64(n) * 4)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c := i % copies
			o.MatVec(out, buf[c*n:(c+1)*n], x)
		}
	})
}

func BenchmarkMatVecQ8(b *testing.B) {
	b.Run("gs32", func(b *testing.B) { benchMatVecQ8(b, 32) })
	b.Run("gs64", func(b *testing.B) { benchMatVecQ8(b, 64) })
}

func benchMatVecQ8(b *testing.B, gs int) {
	benchCases(b, func(b *testing.B, k *Kernels, threads int, s shape, cold bool) {
		o := MustNew(k.Name, threads)
		defer o.Close()
		n := s.rows * s.cols
		_, buf := coldBuffers()
		copies := 1
		if cold {
			copies = len(buf) / n
		}
		r := rand.New(rand.NewPCG(3, 3))
		ws := make([]float32, n/gs)
		for i := range ws {
			ws[i] = float32(r.Float64())
		}
		xq, xs := quantized(r, s.cols, gs)
		out := make([]float32, s.rows)
		b.SetBytes(int64(n) + int64(n/gs)*4)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c := i % copies
			o.MatVecQ8(out, buf[c*n:(c+1)*n], ws, xq, xs, gs)
		}
	})
}

func BenchmarkMatMul(b *testing.B) {
	const batch = 8
	for _, k := range benchVariants(b) {
		for _, s := range []shape{{768, 768}, {2048, 768}} {
			b.Run(fmt.Sprintf("%s/n%d/%dx%d", k.Name, batch, s.rows, s.cols), func(b *testing.B) {
				o := MustNew(k.Name, 1)
				defer o.Close()
				r := rand.New(rand.NewPCG(4, 4))
				w := randF32(r, s.rows*s.cols)
				x := randF32(r, batch*s.cols)
				out := make([]float32, batch*s.rows)
				b.SetBytes(int64(len(w)) * 4)
				for i := 0; i < b.N; i++ {
					o.MatMul(out, w, x, batch)
				}
			})
		}
	}
}

func BenchmarkMatMulQ8(b *testing.B) {
	const batch, gs = 8, 32
	for _, k := range benchVariants(b) {
		for _, s := range []shape{{768, 768}, {2048, 768}} {
			b.Run(fmt.Sprintf("%s/n%d/%dx%d", k.Name, batch, s.rows, s.cols), func(b *testing.B) {
				o := MustNew(k.Name, 1)
				defer o.Close()
				r := rand.New(rand.NewPCG(5, 5))
				wq, ws := quantized(r, s.rows*s.cols, gs)
				xq, xs := quantized(r, batch*s.cols, gs)
				out := make([]float32, batch*s.rows)
				b.SetBytes(int64(len(wq)) + int64(len(ws))*4)
				for i := 0; i < b.N; i++ {
					o.MatMulQ8(out, wq, ws, xq, xs, batch, gs)
				}
			})
		}
	}
}

func BenchmarkSmallOps(b *testing.B) {
	r := rand.New(rand.NewPCG(6, 6))
	const dim, hs, T = 768, 64, 256
	x, w := randF32(r, dim), randF32(r, dim)
	out := make([]float32, dim)
	kc := randF32(r, T*dim)
	q := randF32(r, hs)
	att := randF32(r, T)
	for _, k := range benchVariants(b) {
		b.Run(k.Name+"/Dot768", func(b *testing.B) {
			b.SetBytes(2 * 4 * dim)
			for i := 0; i < b.N; i++ {
				out[0] = k.Dot(x, w)
			}
		})
		b.Run(k.Name+"/RMSNorm768", func(b *testing.B) {
			b.SetBytes(2 * 4 * dim)
			for i := 0; i < b.N; i++ {
				k.RMSNorm(out, x, w, 1e-5)
			}
		})
		b.Run(k.Name+"/Softmax256", func(b *testing.B) {
			b.SetBytes(4 * T)
			y := make([]float32, T)
			for i := 0; i < b.N; i++ {
				copy(y, att)
				k.Softmax(y)
			}
		})
		b.Run(k.Name+"/SwiGLU2048", func(b *testing.B) {
			a, c := randF32(r, 2048), randF32(r, 2048)
			b.SetBytes(2 * 4 * 2048)
			for i := 0; i < b.N; i++ {
				k.SwiGLU(a, c)
			}
		})
		b.Run(k.Name+"/Quantize768", func(b *testing.B) {
			qq, ss := make([]int8, dim), make([]float32, dim/32)
			b.SetBytes(4 * dim)
			for i := 0; i < b.N; i++ {
				k.Quantize(qq, ss, x, 32)
			}
		})
		b.Run(k.Name+"/AttnScores64x256", func(b *testing.B) {
			b.SetBytes(4 * hs * T)
			for i := 0; i < b.N; i++ {
				k.AttnScores(out[:T], q, kc, dim)
			}
		})
		b.Run(k.Name+"/AttnMix64x256", func(b *testing.B) {
			b.SetBytes(4 * hs * T)
			for i := 0; i < b.N; i++ {
				clear(out[:hs])
				k.AttnMix(out[:hs], att, kc, dim)
			}
		})
	}
}

// BenchmarkSplit measures what a second thread buys each product of a
// stories110M-shape decoding step (cold weights, as decoding reads them)
// and what the split itself costs: for each op, 1 and 2 threads
// interleaved over b.N rounds (medians), their ratio, and the round trip
// of handing an empty job to the polling worker (the hand-off floor):
//
//	go test -run '^$' -bench Split -benchtime 15x ./asm/
func BenchmarkSplit(b *testing.B) {
	k, err := Lookup("auto")
	if err != nil {
		b.Fatal(err)
	}
	f32, i8 := coldBuffers()
	const gs = 64
	r := rand.New(rand.NewPCG(7, 7))
	ws := make([]float32, len(i8)/gs)
	for i := range ws {
		ws[i] = float32(r.Float64())
	}
	for _, c := range []struct {
		name       string
		rows, cols int
		q8         bool
	}{{"wq-fp32", 768, 768, false}, {"w1-fp32", 2048, 768, false}, {"w2-fp32", 768, 2048, false},
		{"wq-int8", 768, 768, true}, {"w1-int8", 2048, 768, true}, {"w2-int8", 768, 2048, true}, {"cls-int8", 32000, 768, true}} {
		b.Run(c.name, func(b *testing.B) {
			one, two := MustNew(k.Name, 1), MustNew(k.Name, 2)
			defer one.Close()
			defer two.Close()
			n := c.rows * c.cols
			xf := randF32(r, c.cols)
			xq, xs := quantized(r, c.cols, gs)
			out := make([]float32, c.rows)
			// Walk the cold buffer so every call reads from memory.
			var off int
			run := func(o *Ops) {
				if c.q8 {
					if off+n > len(i8) {
						off = 0
					}
					o.MatVecQ8(out, i8[off:off+n], ws[off/gs:(off+n)/gs], xq, xs, gs)
				} else {
					if off+n > len(f32) {
						off = 0
					}
					o.MatVec(out, f32[off:off+n], xf)
				}
				off += n
			}
			const reps = 32
			repeat := func(f func()) func() {
				return func() {
					for j := 0; j < reps; j++ {
						f()
					}
				}
			}
			secs := interleaved(b,
				repeat(func() { run(one) }),
				repeat(func() { run(two) }),
				repeat(func() { two.Parallel(2, func(lo, hi int) {}) }))
			us := func(j int) float64 { return inspect.Percentile(secs[j], 50) / reps * 1e6 }
			m1, m2 := us(0), us(1)
			b.ReportMetric(m1, "us-1t")
			b.ReportMetric(m2, "us-2t")
			b.ReportMetric(m1/m2, "speedup")
			b.ReportMetric(us(2), "us-handoff")
		})
	}
}

// interleaved runs each of fns once a round, in turn, for b.N rounds (the
// timer covers only the rounds), and returns each one's seconds round by
// round: taking turns keeps a comparison fair on a machine whose speed
// drifts.
func interleaved(b *testing.B, fns ...func()) [][]float64 {
	secs := make([][]float64, len(fns))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, fn := range fns {
			t := time.Now()
			fn()
			secs[j] = append(secs[j], time.Since(t).Seconds())
		}
	}
	b.StopTimer()
	return secs
}
