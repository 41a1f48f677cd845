package asm

import (
	"math/rand/v2"
	"testing"

	"github.com/memwall/memwall/inspect"
)

// BenchmarkRoofFraction runs, in turn, the read-bandwidth probe and the
// best variant's fp32 and int8 matrix-vector kernels over the same 256 MiB
// of cold memory (2048×768 matrices back to back, 1 thread), b.N rounds,
// and reports each kernel's median GB/s as a percentage of the probe's
// median. Interleaving the three makes the comparison hold on a machine
// whose bandwidth drifts (run it with -benchtime 21x):
//
//	go test -run '^$' -bench RoofFraction -benchtime 21x ./asm/
func BenchmarkRoofFraction(b *testing.B) {
	k, err := Lookup("auto")
	if err != nil {
		b.Fatal(err)
	}
	f32, i8 := coldBuffers()
	const rows, cols, gs = 2048, 768, 64
	n := rows * cols
	r := rand.New(rand.NewPCG(3, 3))
	ws := make([]float32, len(i8)/gs)
	for i := range ws {
		ws[i] = float32(r.Float64())
	}
	xq, xs := quantized(r, cols, gs)
	xf := randF32(r, cols)
	out := make([]float32, rows)
	// The probe and the fp32 kernel read as many bytes as the int8 one.
	span := len(i8) / 4 / n * n
	runs := []roofRun{
		{"probe", float64(span) * 4, func() { readSum(f32[:span]) }},
		{"fp32", float64(span) * 4, func() {
			for c := 0; c < span; c += n {
				k.MatVec(out, f32[c:c+n], xf)
			}
		}},
		{"int8", float64(len(i8)) * (1 + 4.0/gs), func() {
			for c := 0; c+n <= len(i8); c += n {
				k.MatVecQ8(out, i8[c:c+n], ws[c/gs:(c+n)/gs], xq, xs, gs)
			}
		}},
	}
	roofRounds(b, runs)
	b.Logf("variant %s, %d rounds", k.Name, b.N)
}

// roofRun is one loop of a roof benchmark: its name, the bytes one run of
// it reads, and the run.
type roofRun struct {
	name  string
	bytes float64
	fn    func()
}

// roofRounds runs runs interleaved, b.N rounds, and reports each one's
// GB/s at its median time; runs[0] is the read probe, and the others are
// also reported as a percentage of it.
func roofRounds(b *testing.B, runs []roofRun) {
	fns := make([]func(), len(runs))
	for j, run := range runs {
		fns[j] = run.fn
	}
	secs := interleaved(b, fns...)
	gbps := func(j int) float64 { return runs[j].bytes / inspect.Percentile(secs[j], 50) / 1e9 }
	probe := gbps(0)
	b.ReportMetric(probe, runs[0].name+"-GB/s")
	for j := 1; j < len(runs); j++ {
		m := gbps(j)
		b.ReportMetric(m, runs[j].name+"-GB/s")
		b.ReportMetric(100*m/probe, runs[j].name+"-%probe")
	}
}
