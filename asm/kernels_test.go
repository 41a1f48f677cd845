package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Tolerances. Every variant is held against the portable "scalar" variant.
// Float sums in a different order (or fused) differ by rounding: a result
// passes if |got-want| <= relTol*sum_i|a_i*b_i| + absTol, i.e. relative to
// the magnitude of the terms summed, which stays meaningful when the sum
// itself cancels to near zero. Quantize must match exactly.
const (
	relTol = 1e-5
	absTol = 1e-6
)

func available(t testing.TB) []*Kernels {
	var ks []*Kernels
	for _, v := range Variants() {
		if !v.Available {
			t.Logf("variant %s not available on this CPU, skipped", v.Name)
			continue
		}
		k, err := Lookup(v.Name)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	return ks
}

func ref() *Kernels {
	k, err := Lookup("scalar")
	if err != nil {
		panic(err)
	}
	return k
}

func randF32(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func randI8(r *rand.Rand, n int) []int8 {
	x := make([]int8, n)
	for i := range x {
		x[i] = int8(r.IntN(255) - 127)
	}
	return x
}

func absDot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += math.Abs(float64(a[i]) * float64(b[i]))
	}
	return s
}

func checkClose(t *testing.T, what string, got, want float32, mag float64) {
	t.Helper()
	if d := math.Abs(float64(got) - float64(want)); d > relTol*mag+absTol || math.IsNaN(float64(got)) {
		t.Fatalf("%s: got %v want %v (diff %g, magnitude %g)", what, got, want, d, mag)
	}
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d: %v (%#x) != %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// lengths is 0..300 and a few large ones: every tail of every vector width.
func lengths() []int {
	var ls []int
	for n := 0; n <= 300; n++ {
		ls = append(ls, n)
	}
	return append(ls, 511, 768, 1000, 2048, 4099)
}

func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range available(t) {
		for _, n := range lengths() {
			// Offset by one element so that the kernels see unaligned data.
			a := randF32(r, n+1)[1:]
			b := randF32(r, n+1)[1:]
			checkClose(t, fmt.Sprintf("%s Dot n=%d", k.Name, n), k.Dot(a, b), ref().Dot(a, b), absDot(a, b))
		}
	}
}

func TestMatVec(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	// Past 16 rows the SIMD kernels take blocks of rows spread over the
	// matrix (rows i, i+q, ...), with rows left over after them.
	rowsSet := []int{1, 2, 3, 4, 5, 7, 8, 13, 16, 27, 70}
	for _, k := range available(t) {
		for _, cols := range lengths() {
			if cols == 0 {
				continue
			}
			for _, rows := range rowsSet {
				if cols > 1000 && rows > 5 {
					continue
				}
				w := randF32(r, rows*cols)
				x := randF32(r, cols)
				got := make([]float32, rows)
				want := make([]float32, rows)
				k.MatVec(got, w, x)
				ref().MatVec(want, w, x)
				for i := range want {
					checkClose(t, fmt.Sprintf("%s MatVec %dx%d row %d", k.Name, rows, cols, i), got[i], want[i], absDot(w[i*cols:(i+1)*cols], x))
				}
				// Each row alone must give the same bits as in the block.
				for i := range want {
					one := make([]float32, 1)
					k.MatVec(one, w[i*cols:(i+1)*cols], x)
					sameBits(t, fmt.Sprintf("%s MatVec %dx%d row %d alone", k.Name, rows, cols, i), one, got[i:i+1])
				}
			}
		}
	}
}

func TestMatMul(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, k := range available(t) {
		for _, cols := range []int{1, 3, 8, 15, 16, 17, 31, 33, 64, 100, 257, 768} {
			for _, rows := range []int{1, 3, 4, 5, 16, 17, 35} {
				for _, n := range []int{1, 2, 3, 5} {
					w := randF32(r, rows*cols)
					x := randF32(r, n*cols)
					ldo := rows + 3
					got := make([]float32, n*ldo)
					want := make([]float32, n*ldo)
					k.MatMul(got, ldo, w, x, n)
					ref().MatMul(want, ldo, w, x, n)
					for b := 0; b < n; b++ {
						for i := 0; i < rows; i++ {
							checkClose(t, fmt.Sprintf("%s MatMul %dx%d n=%d [%d,%d]", k.Name, rows, cols, n, b, i),
								got[b*ldo+i], want[b*ldo+i], absDot(w[i*cols:(i+1)*cols], x[b*cols:(b+1)*cols]))
						}
						// MatMul is n MatVecs, bit for bit.
						mv := make([]float32, rows)
						k.MatVec(mv, w, x[b*cols:(b+1)*cols])
						sameBits(t, fmt.Sprintf("%s MatMul %dx%d n=%d vector %d vs MatVec", k.Name, rows, cols, n, b), got[b*ldo:b*ldo+rows], mv)
					}
				}
			}
		}
	}
}

// quantized returns a random Q8_0 vector of n elements in groups of gs.
func quantized(r *rand.Rand, n, gs int) ([]int8, []float32) {
	q := randI8(r, n)
	s := make([]float32, n/gs)
	for i := range s {
		s[i] = float32(r.Float64()) * 0.05
	}
	return q, s
}

func q8Mag(wq []int8, ws []float32, xq []int8, xs []float32, gs int) float64 {
	var m float64
	for g := range xs {
		var acc float64
		for k := g * gs; k < (g+1)*gs; k++ {
			acc += math.Abs(float64(wq[k]) * float64(xq[k]))
		}
		m += acc * math.Abs(float64(ws[g])*float64(xs[g]))
	}
	return m
}

func TestMatVecQ8(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range available(t) {
		for _, gs := range []int{1, 4, 12, 16, 32, 43, 48, 64, 96, 128} {
			for _, groups := range []int{1, 2, 3, 5, 12, 24} {
				cols := gs * groups
				for _, rows := range []int{1, 2, 3, 4, 5, 9, 17, 38} {
					wq, ws := quantized(r, rows*cols, gs)
					xq, xs := quantized(r, cols, gs)
					got := make([]float32, rows)
					want := make([]float32, rows)
					k.MatVecQ8(got, wq, ws, xq, xs, gs)
					ref().MatVecQ8(want, wq, ws, xq, xs, gs)
					gpr := groups
					for i := range want {
						checkClose(t, fmt.Sprintf("%s MatVecQ8 %dx%d gs=%d row %d", k.Name, rows, cols, gs, i), got[i], want[i],
							q8Mag(wq[i*cols:(i+1)*cols], ws[i*gpr:(i+1)*gpr], xq, xs, gs))
						one := make([]float32, 1)
						k.MatVecQ8(one, wq[i*cols:(i+1)*cols], ws[i*gpr:(i+1)*gpr], xq, xs, gs)
						sameBits(t, fmt.Sprintf("%s MatVecQ8 %dx%d gs=%d row %d alone", k.Name, rows, cols, gs, i), one, got[i:i+1])
					}
				}
			}
		}
	}
}

func TestMatMulQ8(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, k := range available(t) {
		for _, gs := range []int{4, 32, 43, 64} {
			for _, groups := range []int{1, 3, 8} {
				cols := gs * groups
				for _, rows := range []int{1, 5, 16, 35} {
					for _, n := range []int{1, 2, 3} {
						wq, ws := quantized(r, rows*cols, gs)
						xq, xs := quantized(r, n*cols, gs)
						ldo := rows + 1
						got := make([]float32, n*ldo)
						want := make([]float32, n*ldo)
						k.MatMulQ8(got, ldo, wq, ws, xq, xs, n, gs)
						ref().MatMulQ8(want, ldo, wq, ws, xq, xs, n, gs)
						for b := 0; b < n; b++ {
							xqb, xsb := xq[b*cols:(b+1)*cols], xs[b*groups:(b+1)*groups]
							for i := 0; i < rows; i++ {
								checkClose(t, fmt.Sprintf("%s MatMulQ8 %dx%d gs=%d n=%d [%d,%d]", k.Name, rows, cols, gs, n, b, i), got[b*ldo+i], want[b*ldo+i],
									q8Mag(wq[i*cols:(i+1)*cols], ws[i*groups:(i+1)*groups], xqb, xsb, gs))
							}
							mv := make([]float32, rows)
							k.MatVecQ8(mv, wq, ws, xqb, xsb, gs)
							sameBits(t, fmt.Sprintf("%s MatMulQ8 %dx%d gs=%d n=%d vector %d vs MatVecQ8", k.Name, rows, cols, gs, n, b), got[b*ldo:b*ldo+rows], mv)
						}
					}
				}
			}
		}
	}
}

func TestQuantize(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, k := range available(t) {
		for _, gs := range []int{1, 4, 12, 32, 43, 64} {
			for _, groups := range []int{1, 2, 7} {
				n := gs * groups
				x := randF32(r, n)
				// Values exactly halfway between quantization steps, and a
				// group of zeros, exercise the rounding rule.
				if gs >= 4 {
					x[0], x[1], x[2] = 127, 0.5, -2.5
				}
				if groups > 1 {
					clear(x[gs : 2*gs])
				}
				gq, gsc := make([]int8, n), make([]float32, groups)
				wq, wsc := make([]int8, n), make([]float32, groups)
				k.Quantize(gq, gsc, x, gs)
				ref().Quantize(wq, wsc, x, gs)
				for i := range wq {
					if gq[i] != wq[i] {
						t.Fatalf("%s Quantize n=%d gs=%d: q[%d] = %d, want %d", k.Name, n, gs, i, gq[i], wq[i])
					}
				}
				sameBits(t, fmt.Sprintf("%s Quantize scales n=%d gs=%d", k.Name, n, gs), gsc, wsc)
			}
		}
	}
}

func TestSmallOps(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, k := range available(t) {
		for _, n := range lengths() {
			if n == 0 {
				continue
			}
			x := randF32(r, n)
			w := randF32(r, n)
			got, want := make([]float32, n), make([]float32, n)
			k.RMSNorm(got, x, w, 1e-5)
			ref().RMSNorm(want, x, w, 1e-5)
			for i := range want {
				checkClose(t, fmt.Sprintf("%s RMSNorm n=%d [%d]", k.Name, n, i), got[i], want[i], math.Abs(float64(want[i])))
			}

			copy(got, x)
			copy(want, x)
			k.Softmax(got)
			ref().Softmax(want)
			for i := range want {
				checkClose(t, fmt.Sprintf("%s Softmax n=%d [%d]", k.Name, n, i), got[i], want[i], math.Abs(float64(want[i])))
			}

			copy(got, x)
			copy(want, x)
			k.SwiGLU(got, w)
			ref().SwiGLU(want, w)
			for i := range want {
				checkClose(t, fmt.Sprintf("%s SwiGLU n=%d [%d]", k.Name, n, i), got[i], want[i], math.Abs(float64(want[i])))
			}
		}
		for _, hs := range []int{1, 7, 16, 33, 48, 64, 128} {
			for _, T := range []int{1, 2, 5, 17, 100} {
				stride := hs*3 + 1
				q := randF32(r, hs)
				kc := randF32(r, T*stride)
				got, want := make([]float32, T), make([]float32, T)
				k.AttnScores(got, q, kc, stride)
				ref().AttnScores(want, q, kc, stride)
				for i := range want {
					checkClose(t, fmt.Sprintf("%s AttnScores hs=%d T=%d [%d]", k.Name, hs, T, i), got[i], want[i], absDot(q, kc[i*stride:i*stride+hs]))
				}
				att := randF32(r, T)
				go1, wo := make([]float32, hs), make([]float32, hs)
				k.AttnMix(go1, att, kc, stride)
				ref().AttnMix(wo, att, kc, stride)
				for i := range wo {
					var mag float64
					for tt := 0; tt < T; tt++ {
						mag += math.Abs(float64(att[tt]) * float64(kc[tt*stride+i]))
					}
					checkClose(t, fmt.Sprintf("%s AttnMix hs=%d T=%d [%d]", k.Name, hs, T, i), go1[i], wo[i], mag)
				}
				// Continued over two calls (the engine's blocks of
				// positions), the sum has the bits of one call.
				split := make([]float32, hs)
				cut := T / 3
				k.AttnMix(split, att[:cut], kc, stride)
				k.AttnMix(split, att[cut:], kc[cut*stride:], stride)
				sameBits(t, fmt.Sprintf("%s AttnMix hs=%d T=%d cut at %d", k.Name, hs, T, cut), split, go1)
			}
		}
	}
}

// TestMatMulQ8Batches holds the batched int8 product to each variant's own
// MatVecQ8, bit for bit, at the shapes where prefill's register-blocked
// kernels split their work: batches that are not multiples of three, odd
// rows in a tile, several tiles of rows (4096 columns), group sizes that
// are multiples of 16 but not of 32, and the extreme byte -128 on both
// sides (Quantize never gives it; a weight file may).
func TestMatMulQ8Batches(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, k := range available(t) {
		for _, s := range []struct{ rows, cols, gs int }{{7, 96, 16}, {34, 96, 48}, {101, 4096, 64}, {9, 256, 32}} {
			for _, n := range []int{3, 4, 5, 7} {
				gpr := s.cols / s.gs
				wq, ws := quantized(r, s.rows*s.cols, s.gs)
				xq, xs := quantized(r, n*s.cols, s.gs)
				wq[0], wq[len(wq)-1], xq[1], xq[len(xq)-2] = -128, -128, -128, -128
				ldo := s.rows + 3
				got := make([]float32, n*ldo)
				k.MatMulQ8(got, ldo, wq, ws, xq, xs, n, s.gs)
				for b := 0; b < n; b++ {
					want := make([]float32, s.rows)
					k.MatVecQ8(want, wq, ws, xq[b*s.cols:(b+1)*s.cols], xs[b*gpr:(b+1)*gpr], s.gs)
					sameBits(t, fmt.Sprintf("%s MatMulQ8 %dx%d gs=%d n=%d vector %d", k.Name, s.rows, s.cols, s.gs, n, b), got[b*ldo:b*ldo+s.rows], want)
					for i := s.rows; i < ldo; i++ {
						if got[b*ldo+i] != 0 {
							t.Fatalf("%s MatMulQ8 n=%d wrote past its rows: out[%d] = %v", k.Name, n, b*ldo+i, got[b*ldo+i])
						}
					}
				}
			}
		}
	}
}
