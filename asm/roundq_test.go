package asm

import (
	"math"
	"testing"
)

// TestRoundQ compares roundQ with math.Round on every float32 in
// [-127.5, 127.5] (about 2.1 billion values would take too long, so every
// float32 with magnitude below 1, which holds all the hard half-way and
// just-below-half cases near zero, then a stride over the rest, then every
// value within a few ulps of each half-integer).
func TestRoundQ(t *testing.T) {
	check := func(r float32) {
		if got, want := roundQ(r), int8(math.Round(float64(r))); got != want {
			t.Fatalf("roundQ(%v) = %d, math.Round gives %d", r, got, want)
		}
	}
	for b := math.Float32bits(0); b <= math.Float32bits(1); b += 97 {
		r := math.Float32frombits(b)
		check(r)
		check(-r)
	}
	for h := -127.5; h <= 127.5; h += 0.5 {
		c := float32(h)
		for i, v := 0, c; i < 8; i++ {
			check(v)
			v = math.Nextafter32(v, 200)
		}
		for i, v := 0, c; i < 8; i++ {
			check(v)
			v = math.Nextafter32(v, -200)
		}
	}
	check(float32(math.Nextafter32(0.5, 0)))
	check(-float32(math.Nextafter32(0.5, 0)))
}

func BenchmarkQuantize(b *testing.B) {
	x := make([]float32, 2048)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	q := make([]int8, len(x))
	s := make([]float32, len(x)/64)
	b.SetBytes(int64(4 * len(x)))
	for i := 0; i < b.N; i++ {
		quantizeGo(q, s, x, 64)
	}
}
