package asm

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkRoofFractionWeights is BenchmarkRoofFraction for the weight
// types: the read probe and the best variant's fp32, bf16, f16, Q8_0-block
// and Q4_0 products (2048×768 matrices back to back over 128 MiB of cold
// memory each, 1 thread), interleaved round by round, each reported as its
// median GB/s of weight bytes and as a percentage of the probe's median:
//
//	go test -run '^$' -bench RoofFractionWeights -benchtime 15x ./asm/
func BenchmarkRoofFractionWeights(b *testing.B) {
	k, err := Lookup("auto")
	if err != nil {
		b.Fatal(err)
	}
	const rows, cols = 2048, 768
	const span = 128 << 20
	n := rows * cols
	r := rand.New(rand.NewPCG(5, 5))
	f32 := AlignedFloat32(span / 4)
	for i := range f32 {
		f32[i] = float32(r.NormFloat64())
	}
	h := AlignedUint16(span / 2)
	F32ToBF16s(h[:len(f32)], f32)
	F32ToBF16s(h[len(f32):], f32)
	q8 := AlignedBytes(span / Q8BlockBytes * Q8BlockBytes)
	q4 := AlignedBytes(span / Q4_0BlockBytes * Q4_0BlockBytes)
	for i := range q8 {
		q8[i] = byte(r.Uint32() & 0x3f7f) // keep f16 scales finite
	}
	for i := range q4 {
		q4[i] = byte(r.Uint32() & 0x3f7f)
	}
	x := randF32(r, cols)
	xq, xs := make([]int8, cols), make([]float32, cols/BlockSize)
	k.Quantize(xq, xs, x, BlockSize)
	out := make([]float32, rows)
	nf := len(f32) / n * n
	nh := len(h) / n * n
	rb8, rb4 := cols/BlockSize*Q8BlockBytes, cols/BlockSize*Q4_0BlockBytes
	n8, n4 := len(q8)/(rows*rb8)*(rows*rb8), len(q4)/(rows*rb4)*(rows*rb4)
	runs := []roofRun{
		{"probe", float64(nf) * 4, func() { readSum(f32[:nf]) }},
		{"fp32", float64(nf) * 4, func() {
			for c := 0; c < nf; c += n {
				k.MatVec(out, f32[c:c+n], x)
			}
		}},
		{"bf16", float64(nh) * 2, func() {
			for c := 0; c < nh; c += n {
				k.MatVecBF16(out, h[c:c+n], x)
			}
		}},
		{"f16", float64(nh) * 2, func() {
			for c := 0; c < nh; c += n {
				k.MatVecF16(out, h[c:c+n], x)
			}
		}},
		{"q8_0", float64(n8), func() {
			for c := 0; c < n8; c += rows * rb8 {
				k.MatVecQ8B(out, q8[c:c+rows*rb8], xq, xs)
			}
		}},
		{"q4_0", float64(n4), func() {
			for c := 0; c < n4; c += rows * rb4 {
				k.MatVecQ4_0(out, q4[c:c+rows*rb4], xq, xs)
			}
		}},
	}
	roofRounds(b, runs)
	b.Logf("variant %s, %d rounds; kernels: bf16 %s; q4_0 %s", k.Name, b.N, k.WeightKernel(TypeBF16), k.WeightKernel(TypeQ4_0))
}
