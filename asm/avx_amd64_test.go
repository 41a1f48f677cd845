//go:build !noasm

package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// Both amd64 read loops, whichever the probe picked.
func TestReadSumAMD64(t *testing.T) {
	for _, f := range []struct {
		name string
		ok   bool
		sum  func([]float32) float32
	}{{"avx2", hasAVX2(), sumAVX2Go}, {"avx512", hasAVX512(), sumAVX512Go}} {
		if !f.ok {
			continue
		}
		for _, n := range []int{0, 63, 64, 200, 4096 + 17} {
			x := make([]float32, n)
			var want float32
			for i := range x {
				x[i] = float32(i%5) - 2
				want += x[i]
			}
			if got := f.sum(x); got != want {
				t.Errorf("%s sum of %d: %v, want %v", f.name, n, got, want)
			}
		}
	}
}

// The avx512 int8 products run through VPDPBUSD where the CPU has AVX-512
// VNNI; force the AVX-512BW path and run the int8 tests again, so both are
// checked on a VNNI machine.
func TestAVX512WithoutVNNI(t *testing.T) {
	if !hasAVX512() {
		t.Skip("no AVX-512 on this CPU")
	}
	defer func(old bool) { avx512VNNI = old }(avx512VNNI)
	avx512VNNI = false
	t.Run("MatVecQ8", TestMatVecQ8)
	t.Run("MatMulQ8", TestMatMulQ8)
	t.Run("Threads", TestThreadsBitIdentical)
}

// The VNNI kernel's integer sums are exact for every int8 value, -128
// included (the top-bit flip maps it to 0, and the 128·Σx correction makes
// up the difference), and its row order (blocks of rows a quarter of the
// matrix apart) leaves every row as computed alone, at any row count.
func TestAVX512VNNIExact(t *testing.T) {
	if !hasAVX512() || !cpu.X86.HasAVX512VNNI {
		t.Skip("no AVX-512 VNNI on this CPU")
	}
	r := rand.New(rand.NewPCG(41, 42))
	for _, gs := range []int{32, 64, 96, 128} {
		for _, rows := range []int{1, 3, 4, 7, 8, 11, 64, 67, 130} {
			cols := gs * 3
			wq := make([]int8, rows*cols)
			for i := range wq {
				wq[i] = int8(r.Uint32()) // the full range, -128 included
			}
			wq[0], wq[1] = -128, 127
			xq := make([]int8, cols)
			for i := range xq {
				xq[i] = int8(r.Uint32())
			}
			xq[0], xq[1] = -128, -128
			// Scales of 1 make every group's float sum its exact integer
			// dot product (all well below 2^24).
			ws := make([]float32, rows*3)
			xs := make([]float32, 3)
			for i := range ws {
				ws[i] = 1
			}
			for i := range xs {
				xs[i] = 1
			}
			got := make([]float32, rows)
			gemvQ8VNNIAVX512(&got[0], &wq[0], &ws[0], &xq[0], &xs[0], rows, cols, gs/32, 3)
			for i := 0; i < rows; i++ {
				var want int64
				for k := 0; k < cols; k++ {
					want += int64(wq[i*cols+k]) * int64(xq[k])
				}
				if got[i] != float32(want) {
					t.Fatalf("gs=%d rows=%d row %d: %v, want %d", gs, rows, i, got[i], want)
				}
			}
		}
	}
}

// elementwiseImpls are the amd64 variants with element-wise kernels, and
// their exponential.
var elementwiseImpls = []struct {
	name   string
	ok     func() bool
	expSub func(x *float32, n int, sub float32)
}{{"avx512", hasAVX512, expSubAVX512}, {"avx2", hasAVX2, expSubAVX2}}

// The AVX-512 and AVX2 exponentials (softmax, SwiGLU) against the portable
// expf, bit for bit, on every 251st float32 bit pattern of both signs, 4M
// values spread over [-104, 89] and the special values. The exhaustive run
// over all finite float32 is TestExpExhaustive (go test -tags exhaustive).
func TestSIMDExpMatchesExpf(t *testing.T) {
	var src []float32
	for b := uint64(0); b < 1<<32; b += 251 {
		src = append(src, math.Float32frombits(uint32(b)))
	}
	// Densely over the range where exp is finite and not zero, where the
	// polynomial's error matters most.
	for i := 0; i < 1<<22; i++ {
		src = append(src, float32(-104+193*float64(i)/(1<<22)))
	}
	src = append(src, float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)),
		88.72283, 88.72284, -103.97208, -103.97209, math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32)
	for len(src)%8 != 0 {
		src = append(src, 1)
	}
	ran := false
	for _, impl := range elementwiseImpls {
		if !impl.ok() {
			t.Logf("%s: not on this CPU", impl.name)
			continue
		}
		ran = true
		got := append([]float32(nil), src...)
		impl.expSub(&got[0], len(got), 0)
		for i, v := range src {
			want := expf(v)
			if math.IsNaN(float64(want)) {
				if !math.IsNaN(float64(got[i])) {
					t.Fatalf("%s: exp(%v) = %v, want NaN", impl.name, v, got[i])
				}
				continue
			}
			if math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Fatalf("%s: exp(%v) (bits %#x) = %v, portable %v", impl.name, v, math.Float32bits(v), got[i], want)
			}
		}
	}
	if !ran {
		t.Skip("no AVX2 or AVX-512 on this CPU")
	}
}

// Quantize, SwiGLU and Softmax of the avx512 and avx2 variants against
// the portable routines, bit for bit, on inputs of many magnitudes and on
// values that fall exactly halfway between two quantization steps.
func TestSIMDElementwiseExact(t *testing.T) {
	ran := false
	for _, impl := range elementwiseImpls {
		if !impl.ok() {
			continue
		}
		ran = true
		k, err := Lookup(impl.name)
		if err != nil {
			t.Fatal(err)
		}
		elementwiseExact(t, k)
	}
	if !ran {
		t.Skip("no AVX2 or AVX-512 on this CPU")
	}
}

func elementwiseExact(t *testing.T, k *Kernels) {
	r := rand.New(rand.NewPCG(51, 52))
	for trial := 0; trial < 400; trial++ {
		gs := []int{16, 32, 48, 64, 128, 8, 24, 40}[trial%8]
		groups := 1 + r.IntN(9)
		n := gs * groups
		x := make([]float32, n)
		mag := math.Pow(10, float64(r.IntN(16)-8))
		for i := range x {
			x[i] = float32(r.NormFloat64() * mag)
		}
		switch trial % 4 {
		case 1: // scale exactly 1: halves land on the rounding rule
			x[0] = 127
			for i := 1; i < gs; i++ {
				x[i] = float32(r.IntN(254)-127) + 0.5
			}
		case 2: // just below and above halves
			x[0] = -127
			for i := 1; i < gs; i++ {
				h := float64(r.IntN(254)-127) + 0.5
				x[i] = float32(math.Nextafter32(float32(h), float32(math.Inf(1-2*(i%2)))))
			}
		case 3: // a group of zeros, signed
			for i := 0; i < gs; i++ {
				x[i] = float32(math.Copysign(0, float64(i%2)-0.5))
			}
		}
		gq, gsc := make([]int8, n), make([]float32, groups)
		wq, wsc := make([]int8, n), make([]float32, groups)
		k.Quantize(gq, gsc, x, gs)
		quantizeGo(wq, wsc, x, gs)
		for i := range wq {
			if gq[i] != wq[i] {
				t.Fatalf("Quantize trial %d gs=%d: q[%d] = %d, want %d (x = %v, scale %v)", trial, gs, i, gq[i], wq[i], x[i], wsc[i/gs])
			}
		}
		sameBits(t, fmt.Sprintf("Quantize scales trial %d", trial), gsc, wsc)

		m := 1 + r.IntN(300)
		a := randF32(r, m)
		for i := range a {
			a[i] *= float32(mag * 10)
		}
		b := randF32(r, m)
		ga, wa := append([]float32(nil), a...), append([]float32(nil), a...)
		k.SwiGLU(ga, b)
		swiGLUGo(wa, b)
		sameBits(t, fmt.Sprintf("SwiGLU trial %d n=%d", trial, m), ga, wa)

		ga, wa = append([]float32(nil), a...), append([]float32(nil), a...)
		k.Softmax(ga)
		softmaxGo(wa)
		sameBits(t, fmt.Sprintf("Softmax trial %d n=%d", trial, m), ga, wa)
	}
}
