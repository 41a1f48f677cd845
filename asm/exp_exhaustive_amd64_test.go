//go:build exhaustive && !noasm

package asm

import (
	"math"
	"testing"
)

// TestExpExhaustive runs the AVX-512 and AVX2 exponentials (those this CPU
// has) over every finite float32 and compares them bit for bit with the
// portable expf (about 70 s each):
//
//	go test -tags exhaustive -run ExpExhaustive ./asm
//
// The sampled version in the ordinary tests is TestSIMDExpMatchesExpf.
func TestExpExhaustive(t *testing.T) {
	ran := false
	for _, impl := range elementwiseImpls {
		if impl.ok() {
			ran = true
			t.Run(impl.name, func(t *testing.T) { expExhaustive(t, impl.expSub) })
		}
	}
	if !ran {
		t.Fatal("this test needs AVX2 or AVX-512")
	}
}

func expExhaustive(t *testing.T, expSub func(x *float32, n int, sub float32)) {
	const batch = 1 << 16
	src := make([]float32, batch)
	got := make([]float32, batch)
	bad, total := 0, 0
	for _, sign := range []uint32{0, 1 << 31} {
		for start := uint32(0); start < 0x7f800000; start += batch {
			for i := range src {
				src[i] = math.Float32frombits(sign | (start + uint32(i)))
			}
			copy(got, src)
			expSub(&got[0], batch, 0)
			for i, v := range src {
				if math.Float32bits(got[i]) != math.Float32bits(expf(v)) {
					if bad < 10 {
						t.Errorf("exp(%g): %g, portable %g", v, got[i], expf(v))
					}
					bad++
				}
			}
			total += batch
		}
	}
	t.Logf("%d of %d finite float32 inputs differ", bad, total)
}
