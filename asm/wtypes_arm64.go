//go:build !noasm

package asm

import "golang.org/x/sys/cpu"

// archWeightKernels sets the NEON routines of the new weight types: bf16
// (widened with SHLL) and f16 (FCVTL), fused multiply-adds in fp32; the
// block types with SDOT where the CPU has the dot-product extension (the
// portable routines otherwise, and WeightKernel says so).
func archWeightKernels(k *Kernels) {
	if k.Name != "neon" {
		return
	}
	k.MatVecBF16 = matVecH16(bf16x4NEON, bf16x1NEON, BF16ToF32)
	k.MatVecF16 = matVecH16(f16x4NEON, f16x1NEON, F16ToF32)
	kernel := map[string]string{
		TypeBF16:     "NEON: bf16 widened by SHLL #16, fp32 FMLA (exact products)",
		TypeF16:      "NEON: f16 converted by FCVTL, fp32 FMLA",
		TypeQ8Blocks: "portable Go, four accumulators (this CPU lacks SDOT)",
		TypeQ4_0:     "portable Go, four accumulators (this CPU lacks SDOT)",
	}
	if neonBlocksSDOT {
		k.MatVecQ8B = matVecBlocks(q8bx4NEON, q8bx1NEON, Q8BlockBytes)
		k.MatVecQ4_0 = matVecBlocks(q40x4NEON, q40x1NEON, Q4_0BlockBytes)
		kernel[TypeQ8Blocks] = "NEON: SDOT int8 products, int32 block sums"
		kernel[TypeQ4_0] = "NEON: nibbles made signed, SDOT int8 products, int32 block sums"
	}
	k.WeightKernel = func(t string) string { return kernel[t] }
}

//go:noescape
func bf16x4NEON(w *uint16, stride int, x *float32, n int, out *float32, ostride int)

//go:noescape
func f16x4NEON(w *uint16, stride int, x *float32, n int, out *float32, ostride int)

//go:noescape
func bf16x1NEON(w *uint16, x *float32, n int) float32

//go:noescape
func f16x1NEON(w *uint16, x *float32, n int) float32

// neonBlocksSDOT selects the SDOT block kernels (package variable, read
// when the variants are registered).
var neonBlocksSDOT = cpu.ARM64.HasASIMDDP

//go:noescape
func q8bx4NEON(w *byte, stride int, xq *int8, xs *float32, nb int, out *float32, ostride int)

//go:noescape
func q40x4NEON(w *byte, stride int, xq *int8, xs *float32, nb int, out *float32, ostride int)

//go:noescape
func q8bx1NEON(w *byte, xq *int8, xs *float32, nb int) float32

//go:noescape
func q40x1NEON(w *byte, xq *int8, xs *float32, nb int) float32
