//go:build !noasm

package asm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The four-position score routines give every score the bits of the
// one-position routines, for head sizes with and without a 16-column
// remainder, any position count (groups of four and the rest) and strides
// wider than a head.
func TestScores4MatchOnePosition(t *testing.T) {
	if !hasAVX2F16C() {
		t.Skip("no AVX2+F16C on this CPU")
	}
	r := rand.New(rand.NewPCG(31, 32))
	for _, c := range []struct {
		name  string
		f, f4 func(out, q *float32, k *uint16, stride, n, nt int, div float32)
		conv  func(float32) uint16
	}{{"f16", f16scoresAVX2, f16scores4AVX2, F32ToF16}, {"bf16", bf16scoresAVX2, bf16scores4AVX2, F32ToBF16}} {
		one, four := attnScoresH16(c.f, nil), attnScoresH16(c.f, c.f4)
		for _, hs := range []int{8, 16, 24, 40, 64, 72, 128} {
			for _, extra := range []int{0, 3, 2 * hs} {
				stride := hs + extra
				for _, nt := range []int{1, 3, 4, 5, 7, 8, 13, 33} {
					k := make([]uint16, (nt-1)*stride+hs)
					for i := range k {
						k[i] = c.conv(float32(r.NormFloat64() * 4))
					}
					q := randF32(r, hs)
					want, got := make([]float32, nt), make([]float32, nt)
					one(want, q, k, stride)
					four(got, q, k, stride)
					sameBits(t, fmt.Sprintf("%s hs=%d stride=%d nt=%d", c.name, hs, stride, nt), got, want)
				}
			}
		}
	}
}

// The fp32 cache's mix gives the bits of the axpy-per-position loop it
// replaced, for head sizes with every kind of remainder.
func TestF32MixMatchesAxpy(t *testing.T) {
	if !hasAVX2F16C() {
		t.Skip("no AVX2+F16C on this CPU")
	}
	k, err := Lookup("avx2")
	if err != nil || !k.Available() {
		t.Skip("no avx2 variant here")
	}
	r := rand.New(rand.NewPCG(33, 34))
	for _, hs := range []int{1, 5, 8, 13, 32, 40, 64, 71, 128} {
		for _, extra := range []int{0, 3, hs} {
			stride := hs + extra
			for _, nt := range []int{1, 2, 7, 33} {
				v := randF32(r, (nt-1)*stride+hs)
				att := randF32(r, nt)
				want := randF32(r, hs)
				got := append([]float32(nil), want...)
				for ti, a := range att {
					axpyAVX2(a, &v[ti*stride], &want[0], hs)
				}
				k.AttnMix(got, att, v, stride)
				sameBits(t, fmt.Sprintf("hs=%d stride=%d nt=%d", hs, stride, nt), got, want)
			}
		}
	}
}
