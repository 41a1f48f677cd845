package engine

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/memwall/memwall/asm"
)

// BenchmarkGGUFAgainstLlama2c decodes synthetic stories110M-shape models
// stored as llama2.c files and as GGUF files of the same weights (fp32 v1
// against GGUF F32, llama2.c Q8_0 v2 against GGUF Q8_0), interleaving the
// two of a pair token by token so that other load on the machine falls on
// both alike, and reports each pair's median ratio of time per token
// (GGUF / llama2.c) with the kernel that ran. Weights per token are the
// same in each pair, so the ratio is the inverse ratio of roof fractions.
//
//	go test ./engine -run '^$' -bench GGUFAgainstLlama2c -benchtime 1x
func BenchmarkGGUFAgainstLlama2c(b *testing.B) {
	dir := b.TempDir()
	c := Shapes["stories110M"]
	c.Version = V1
	v1 := filepath.Join(dir, "s110.bin")
	if err := WriteCheckpoint(v1, c, Synthetic(1)); err != nil {
		b.Fatal(err)
	}
	c2 := c
	c2.Version, c2.GroupSize = V2, 32
	v2 := filepath.Join(dir, "s110q.bin")
	if err := WriteCheckpoint(v2, c2, Synthetic(1)); err != nil {
		b.Fatal(err)
	}
	gf := filepath.Join(dir, "s110-f32.gguf")
	gq := filepath.Join(dir, "s110-q8_0.gguf")
	for _, o := range []struct {
		path string
		typ  GGMLType
	}{{gf, GGMLF32}, {gq, GGMLQ8_0}} {
		if _, err := WriteGGUF(o.path, c, nil, Synthetic(1), GGUFWriteOptions{Type: o.typ}); err != nil {
			b.Fatal(err)
		}
	}
	ops := asm.MustNew("auto", 1)
	for _, pair := range [][2]string{{v1, gf}, {v2, gq}} {
		var st [2]*State
		for i, p := range pair {
			m, err := Open(p, LoadOptions{Prefault: true})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			if st[i], err = NewState(m, ops); err != nil {
				b.Fatal(err)
			}
		}
		const tokens = 24
		var ratios []float64
		var times [2][]float64
		tok := [2]int{BOS, BOS}
		for pos := 0; pos < tokens; pos++ {
			var d [2]float64
			for i := range st {
				t0 := time.Now()
				logits, err := st[i].Forward(context.Background(), tok[i], pos)
				if err != nil {
					b.Fatal(err)
				}
				d[i] = time.Since(t0).Seconds()
				tok[i] = Argmax(logits)
				times[i] = append(times[i], d[i])
			}
			if pos >= 2 { // leave out the first tokens (page faults, cold caches)
				ratios = append(ratios, d[1]/d[0])
			}
		}
		sort.Float64s(ratios)
		med := func(x []float64) float64 {
			y := append([]float64(nil), x...)
			sort.Float64s(y)
			return y[len(y)/2]
		}
		m0, m1 := st[0].M, st[1].M
		b.Logf("%s (%s) %.1f ms/token; %s (%s) %.1f ms/token; median ratio GGUF/llama2.c %.3f (quartiles %.3f-%.3f over %d interleaved tokens); weight bytes %d vs %d",
			filepath.Base(pair[0]), KernelFor(ops, m0.W.Layers[0].Wq.kind()), 1e3*med(times[0]),
			filepath.Base(pair[1]), KernelFor(ops, m1.W.Layers[0].Wq.kind()), 1e3*med(times[1]),
			ratios[len(ratios)/2], ratios[len(ratios)/4], ratios[3*len(ratios)/4], len(ratios), m0.WeightBytes(), m1.WeightBytes())
	}
}
