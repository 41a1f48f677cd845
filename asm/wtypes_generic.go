//go:build noasm || !(amd64 || arm64)

package asm

// archWeightKernels: no SIMD routines for the new weight types in this
// build; every variant runs the portable ones.
func archWeightKernels(*Kernels) {}
