package asm

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkWeightsHot times each weight type's product on a 256×768
// matrix that stays in cache: the kernels' own speed, without DRAM
// (bytes/s of weights).
func BenchmarkWeightsHot(b *testing.B) {
	k, _ := Lookup("auto")
	const rows, cols = 256, 768
	r := rand.New(rand.NewPCG(6, 6))
	f := randF32(r, rows*cols)
	h := make([]uint16, rows*cols)
	F32ToBF16s(h, f)
	q8 := make([]byte, rows*cols/32*Q8BlockBytes)
	q4 := make([]byte, rows*cols/32*Q4_0BlockBytes)
	QuantizeQ8Blocks(q8, f)
	QuantizeQ4_0Blocks(q4, f)
	x := randF32(r, cols)
	xq, xs := make([]int8, cols), make([]float32, cols/32)
	k.Quantize(xq, xs, x, 32)
	out := make([]float32, rows)
	b.Run("fp32", func(b *testing.B) {
		b.SetBytes(int64(4 * len(f)))
		for i := 0; i < b.N; i++ {
			k.MatVec(out, f, x)
		}
	})
	b.Run("bf16", func(b *testing.B) {
		b.SetBytes(int64(2 * len(h)))
		for i := 0; i < b.N; i++ {
			k.MatVecBF16(out, h, x)
		}
	})
	b.Run("f16", func(b *testing.B) {
		b.SetBytes(int64(2 * len(h)))
		for i := 0; i < b.N; i++ {
			k.MatVecF16(out, h, x)
		}
	})
	b.Run("q8_0", func(b *testing.B) {
		b.SetBytes(int64(len(q8)))
		for i := 0; i < b.N; i++ {
			k.MatVecQ8B(out, q8, xq, xs)
		}
	})
	b.Run("q4_0", func(b *testing.B) {
		b.SetBytes(int64(len(q4)))
		for i := 0; i < b.N; i++ {
			k.MatVecQ4_0(out, q4, xq, xs)
		}
	})
}
