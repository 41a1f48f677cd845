//go:build !noasm

package asm

import (
	"strings"
	"testing"
)

// TestWeightKernelsFallback: a CPU without the features of the SIMD
// routines gets the portable ones, and WeightKernel says so.
func TestWeightKernelsFallback(t *testing.T) {
	for _, name := range []string{"avx2", "avx512"} {
		k := &Kernels{Name: name}
		weightKernelsAVX2(k, false)
		portableWeightKernels(k)
		for _, typ := range []string{TypeF16, TypeBF16, TypeQ8Blocks, TypeQ4_0} {
			if d := k.WeightKernel(typ); !strings.HasPrefix(d, "portable Go") {
				t.Errorf("%s without AVX2/F16C, %s: %q", name, typ, d)
			}
		}
		k = &Kernels{Name: name}
		weightKernelsAVX2(k, true)
		portableWeightKernels(k)
		d := k.WeightKernel(TypeBF16)
		if !strings.HasPrefix(d, "AVX2") || (name == "avx512") != strings.Contains(d, "no AVX-512 one yet") {
			t.Errorf("%s with AVX2: %q", name, d)
		}
	}
}
