//go:build !noasm

package asm

// archWeightKernels sets the NEON routines of the new weight types: bf16
// (widened with SHLL) and f16 (FCVTL), fused multiply-adds in fp32. The
// block types run the portable routines on arm64 for now, and WeightKernel
// says so.
func archWeightKernels(k *Kernels) {
	if k.Name != "neon" {
		return
	}
	k.MatVecBF16 = matVecH16(bf16x4NEON, bf16x1NEON, BF16ToF32)
	k.MatVecF16 = matVecH16(f16x4NEON, f16x1NEON, F16ToF32)
	kernel := map[string]string{
		TypeBF16:     "NEON: bf16 widened by SHLL #16, fp32 FMLA (exact products)",
		TypeF16:      "NEON: f16 converted by FCVTL, fp32 FMLA",
		TypeQ8Blocks: "portable Go, four accumulators (no NEON routine yet)",
		TypeQ4_0:     "portable Go, four accumulators (no NEON routine yet)",
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
