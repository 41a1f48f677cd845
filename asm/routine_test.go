package asm

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// awkwardGS are group sizes the Q8_0 format allows (any size that divides
// a row) and that stress the kernels' chunking: shorter than a chunk, a
// chunk and a tail, several chunks and a tail, odd sizes.
var awkwardGS = []int{1, 3, 4, 12, 20, 43, 48, 52, 64, 96, 100}

// Every SIMD variant runs SIMD int8 code at every group size, and says
// which; a fallback to the portable loop would have to name itself and
// its reason. The any-group-size kernels give the portable loop's bits,
// through the public API.
func TestQ8NoSilentFallback(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	for _, k := range available(t) {
		for _, gs := range awkwardGS {
			name := k.Routine(OpMatVecQ8, gs)
			if name == "" {
				t.Fatalf("%s gs=%d: empty routine name", k.Name, gs)
			}
			portable := strings.HasPrefix(name, "portable")
			if k.Rank >= 10 && portable {
				t.Errorf("%s gs=%d runs %q: SIMD variants must handle every group size", k.Name, gs, name)
			}
			if portable && k.Rank >= 10 && !strings.Contains(name, "needs") {
				t.Errorf("%s gs=%d: fallback %q does not say why", k.Name, gs, name)
			}
			if !strings.Contains(name, "any group size") && !strings.Contains(name, "8-row blocks") {
				continue
			}
			for _, rows := range []int{1, 5, 8, 19, 40} {
				cols := gs * 3
				wq, ws := quantized(r, rows*cols, gs)
				xq, xs := quantized(r, cols, gs)
				got, want := make([]float32, rows), make([]float32, rows)
				k.MatVecQ8(got, wq, ws, xq, xs, gs)
				ref().MatVecQ8(want, wq, ws, xq, xs, gs)
				sameBits(t, fmt.Sprintf("%s (%s) MatVecQ8 %dx%d gs=%d", k.Name, name, rows, cols, gs), got, want)
				xq2, xs2 := quantized(r, 3*cols, gs)
				got, want = make([]float32, 3*rows), make([]float32, 3*rows)
				k.MatMulQ8(got, rows, wq, ws, xq2, xs2, 3, gs)
				ref().MatMulQ8(want, rows, wq, ws, xq2, xs2, 3, gs)
				sameBits(t, fmt.Sprintf("%s (%s) MatMulQ8 %dx%d gs=%d n=3", k.Name, name, rows, cols, gs), got, want)
			}
		}
	}
}

// Routine names the variant itself for the ops every variant runs in
// full, and never an empty string.
func TestRoutineNames(t *testing.T) {
	for _, k := range available(t) {
		for _, op := range []string{OpMatVec, OpMatMul, OpMatVecQ8, OpMatMulQ8, OpQuantize, OpSwiGLU, OpSoftmax, OpRMSNorm, OpAttn} {
			for _, gs := range []int{32, 48, 43} {
				name := k.Routine(op, gs)
				if name == "" {
					t.Fatalf("%s %s gs=%d: empty", k.Name, op, gs)
				}
				if (op == OpMatVec || op == OpRMSNorm || op == OpAttn) && name != k.Name {
					t.Errorf("%s %s: %q, want the variant's name", k.Name, op, name)
				}
			}
		}
	}
}
