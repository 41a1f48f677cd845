//go:build !noasm

package asm

// archWeightKernels sets the SIMD routines of the new weight types for the
// amd64 variants.
func archWeightKernels(k *Kernels) {}
