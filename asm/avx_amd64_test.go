//go:build !noasm

package asm

import "testing"

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
