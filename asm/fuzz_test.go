package asm

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

// FuzzKernels drives every available variant with shapes and values taken
// from the fuzzer's bytes and holds each against the portable version:
// matrix products (fp32 and int8, with row counts that land anywhere in
// the spread blocks and the rows left after them) within the tolerance of
// a different summation order and each row bit for bit as computed alone;
// quantization, SwiGLU and softmax exactly where the variant promises it.
func FuzzKernels(f *testing.F) {
	f.Add(uint16(17), uint8(3), uint8(2), []byte("seed"))
	f.Add(uint16(70), uint8(12), uint8(1), []byte{0x80, 0x7f, 0, 1, 2, 3})
	f.Add(uint16(4), uint8(1), uint8(4), []byte{0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, rows16 uint16, groups8 uint8, gsSel uint8, data []byte) {
		rows := int(rows16%300) + 1
		groups := int(groups8%16) + 1
		gs := []int{16, 32, 48, 64, 96, 128, 8, 43}[gsSel%8]
		cols := gs * groups
		// Values cycle through the fuzzer's bytes: int8 weights as they
		// are, floats from each group of four bytes (non-finite ones
		// replaced, so tolerances stay meaningful).
		if len(data) == 0 {
			data = []byte{1}
		}
		byteAt := func(i int) byte { return data[i%len(data)] }
		floatAt := func(i int) float32 {
			var b [4]byte
			for j := range b {
				b[j] = byteAt(4*i+j) ^ byte(i*31+j)
			}
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 1e6 {
				v = float32(int8(b[0])) / 16
			}
			return v
		}
		wq := make([]int8, rows*cols)
		for i := range wq {
			wq[i] = int8(byteAt(i) ^ byte(i*7))
		}
		ws := make([]float32, rows*groups)
		for i := range ws {
			ws[i] = float32(math.Abs(float64(floatAt(i)))) / 1e3
		}
		x := make([]float32, cols)
		for i := range x {
			x[i] = floatAt(i + 7)
		}
		w := make([]float32, rows*cols)
		for i := range w {
			w[i] = floatAt(i + 13)
		}
		xq, xs := make([]int8, cols), make([]float32, groups)
		ref().Quantize(xq, xs, x, gs)

		for _, k := range available(t) {
			q, s := make([]int8, cols), make([]float32, groups)
			k.Quantize(q, s, x, gs)
			for i := range q {
				if q[i] != xq[i] {
					t.Fatalf("%s Quantize gs=%d: q[%d] = %d, want %d", k.Name, gs, i, q[i], xq[i])
				}
			}
			sameBits(t, k.Name+" Quantize scales", s, xs)

			got, want := make([]float32, rows), make([]float32, rows)
			k.MatVecQ8(got, wq, ws, xq, xs, gs)
			ref().MatVecQ8(want, wq, ws, xq, xs, gs)
			one := make([]float32, 1)
			for i := range want {
				what := fmt.Sprintf("%s MatVecQ8 %dx%d gs=%d row %d", k.Name, rows, cols, gs, i)
				checkClose(t, what, got[i], want[i], q8Mag(wq[i*cols:(i+1)*cols], ws[i*groups:(i+1)*groups], xq, xs, gs))
				k.MatVecQ8(one, wq[i*cols:(i+1)*cols], ws[i*groups:(i+1)*groups], xq, xs, gs)
				sameBits(t, what+" alone", one, got[i:i+1])
			}

			k.MatVec(got, w, x)
			ref().MatVec(want, w, x)
			for i := range want {
				what := fmt.Sprintf("%s MatVec %dx%d row %d", k.Name, rows, cols, i)
				checkClose(t, what, got[i], want[i], absDot(w[i*cols:(i+1)*cols], x))
				k.MatVec(one, w[i*cols:(i+1)*cols], x)
				sameBits(t, what+" alone", one, got[i:i+1])
			}

			a, b := append([]float32(nil), x...), w[:cols]
			a2 := append([]float32(nil), x...)
			k.SwiGLU(a, b)
			ref().SwiGLU(a2, b)
			for i := range a2 {
				checkClose(t, fmt.Sprintf("%s SwiGLU n=%d [%d]", k.Name, cols, i), a[i], a2[i], math.Abs(float64(a2[i])))
			}
			if k.Name == "avx512" {
				sameBits(t, "avx512 SwiGLU", a, a2)
			}
			a, a2 = append([]float32(nil), x...), append([]float32(nil), x...)
			k.Softmax(a)
			ref().Softmax(a2)
			for i := range a2 {
				checkClose(t, fmt.Sprintf("%s Softmax n=%d [%d]", k.Name, cols, i), a[i], a2[i], math.Abs(float64(a2[i])))
			}
			if k.Name == "avx512" {
				sameBits(t, "avx512 Softmax", a, a2)
			}
		}
	})
}
