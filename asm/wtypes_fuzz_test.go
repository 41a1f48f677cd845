package asm

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

// FuzzWeightKernels holds every variant's products of the weight types
// against the portable ones on shapes and values from the fuzzer's bytes:
// f16 and bf16 rows of any length (any bit pattern but NaN and inf, which
// make tolerances meaningless), Q8_0 and Q4_0 blocks of any bytes (finite
// scales), each row also bit for bit as computed alone; and the
// conversions' round trips on the same bytes.
func FuzzWeightKernels(f *testing.F) {
	f.Add(uint16(17), uint16(33), []byte("seed"))
	f.Add(uint16(70), uint16(64), []byte{0x80, 0x7f, 0, 1, 0xff, 0x3c})
	f.Add(uint16(4), uint16(256), []byte{0xff, 0xff, 0x7b, 0x80})
	f.Fuzz(func(t *testing.T, rows16, cols16 uint16, data []byte) {
		rows := int(rows16%150) + 1
		cols := int(cols16%300) + 1
		if len(data) == 0 {
			data = []byte{1}
		}
		byteAt := func(i int) byte { return data[i%len(data)] ^ byte(i*37) }
		u16At := func(i int) uint16 { return uint16(byteAt(2*i)) | uint16(byteAt(2*i+1))<<8 }
		finite := func(h uint16, conv func(uint16) float32) uint16 {
			v := conv(h)
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 1e4 {
				return h & 0x83ff // a small value of the same sign
			}
			return h
		}
		f16, bf16 := make([]uint16, rows*cols), make([]uint16, rows*cols)
		for i := range f16 {
			f16[i] = finite(u16At(i), F16ToF32)
			bf16[i] = finite(u16At(i+5), BF16ToF32)
			// Round trips of the same patterns.
			if h := u16At(i); F16ToF32(h) == F16ToF32(h) && F32ToF16(F16ToF32(h)) != h {
				t.Fatalf("f16 %#04x does not round-trip", h)
			}
			if h := u16At(i); BF16ToF32(h) == BF16ToF32(h) && F32ToBF16(BF16ToF32(h)) != h {
				t.Fatalf("bf16 %#04x does not round-trip", h)
			}
		}
		x := make([]float32, cols)
		for i := range x {
			x[i] = float32(int8(byteAt(i+11))) / 32
		}
		nb := (cols + 31) / 32
		bcols := nb * 32
		q8, q4 := make([]byte, rows*nb*Q8BlockBytes), make([]byte, rows*nb*Q4_0BlockBytes)
		for i := range q8 {
			q8[i] = byteAt(i + 3)
		}
		for i := range q4 {
			q4[i] = byteAt(i + 9)
		}
		fixScales := func(w []byte, bb int) {
			for b := 0; b < len(w); b += bb {
				h := finite(binary.LittleEndian.Uint16(w[b:]), F16ToF32)
				binary.LittleEndian.PutUint16(w[b:], h)
			}
		}
		fixScales(q8, Q8BlockBytes)
		fixScales(q4, Q4_0BlockBytes)
		bx := make([]float32, bcols)
		for i := range bx {
			bx[i] = float32(int8(byteAt(i+17))) / 16
		}
		xq, xs := make([]int8, bcols), make([]float32, nb)
		quantizeGo(xq, xs, bx, BlockSize)
		for _, k := range available(t) {
			for _, c := range []struct {
				name string
				run  func(k *Kernels, out []float32, rows int)
				mag  func(r int) float64
			}{
				{"f16", func(k *Kernels, out []float32, r int) { k.MatVecF16(out, f16[:r*cols], x) }, func(r int) float64 {
					var m float64
					for j := 0; j < cols; j++ {
						m += math.Abs(float64(F16ToF32(f16[r*cols+j])) * float64(x[j]))
					}
					return m
				}},
				{"bf16", func(k *Kernels, out []float32, r int) { k.MatVecBF16(out, bf16[:r*cols], x) }, func(r int) float64 {
					var m float64
					for j := 0; j < cols; j++ {
						m += math.Abs(float64(BF16ToF32(bf16[r*cols+j])) * float64(x[j]))
					}
					return m
				}},
				{"q8_0", func(k *Kernels, out []float32, r int) { k.MatVecQ8B(out, q8[:r*nb*Q8BlockBytes], xq, xs) }, func(r int) float64 {
					deq := make([]float32, bcols)
					DequantizeQ8Blocks(deq, q8[r*nb*Q8BlockBytes:(r+1)*nb*Q8BlockBytes])
					return blockMag(deq, xq, xs)
				}},
				{"q4_0", func(k *Kernels, out []float32, r int) { k.MatVecQ4_0(out, q4[:r*nb*Q4_0BlockBytes], xq, xs) }, func(r int) float64 {
					deq := make([]float32, bcols)
					DequantizeQ4_0Blocks(deq, q4[r*nb*Q4_0BlockBytes:(r+1)*nb*Q4_0BlockBytes])
					return blockMag(deq, xq, xs)
				}},
			} {
				got, want := make([]float32, rows), make([]float32, rows)
				c.run(k, got, rows)
				c.run(ref(), want, rows)
				for r := range want {
					checkClose(t, fmt.Sprintf("%s %s %dx%d row %d", k.Name, c.name, rows, cols, r), got[r], want[r], c.mag(r))
				}
				// The last row alone, at the end of a one-row product.
				one := make([]float32, 1)
				switch c.name {
				case "f16":
					k.MatVecF16(one, f16[(rows-1)*cols:], x)
				case "bf16":
					k.MatVecBF16(one, bf16[(rows-1)*cols:], x)
				case "q8_0":
					k.MatVecQ8B(one, q8[(rows-1)*nb*Q8BlockBytes:], xq, xs)
				case "q4_0":
					k.MatVecQ4_0(one, q4[(rows-1)*nb*Q4_0BlockBytes:], xq, xs)
				}
				sameBits(t, fmt.Sprintf("%s %s %dx%d last row alone", k.Name, c.name, rows, cols), one, got[rows-1:])
			}
		}
	})
}
