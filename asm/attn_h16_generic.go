//go:build noasm || !(amd64 || arm64)

package asm

// archKVKernels: no SIMD routines for the 16-bit key/value cache in this
// build; every variant runs the portable ones.
func archKVKernels(*Kernels) {}
