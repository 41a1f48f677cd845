//go:build !noasm

package asm

import "golang.org/x/sys/cpu"

// archWeightKernels sets the SIMD routines of the new weight types for the
// amd64 variants. Both "avx2" and "avx512" run the AVX2 routines (every
// AVX-512 CPU has AVX2 and F16C): AVX-512 versions, VDPBF16PS among them,
// are not written yet, because no machine this was developed on exposes
// AVX-512 (and qemu 7.2 does not emulate it), and an untested kernel is not
// shipped. WeightKernel says so.
func archWeightKernels(k *Kernels) {
	switch k.Name {
	case "avx2", "avx512":
	default:
		return
	}
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA || !cpu.X86.HasF16C {
		return // the variant cannot run here anyway; keep the portable ones
	}
	k.MatVecBF16 = matVecBF16Pairs(bf16px4AVX2, bf16px1AVX2)
	k.MatVecF16 = matVecH16(f16x4AVX2, f16x1AVX2, F16ToF32)
	k.MatVecQ8B = matVecBlocks(q8bx4AVX2, q8bx1AVX2, Q8BlockBytes)
	k.MatVecQ4_0 = matVecBlocks(q40x4AVX2, q40x1AVX2, Q4_0BlockBytes)
	kernel := map[string]string{
		TypeBF16:     "AVX2: bf16 split into even and odd weights by a shift and a mask, fp32 FMA (exact products)",
		TypeF16:      "AVX2: f16 converted by F16C VCVTPH2PS, fp32 FMA",
		TypeQ8Blocks: "AVX2: VPMADDUBSW int8 products, int32 block sums",
		TypeQ4_0:     "AVX2: nibbles unpacked, VPMADDUBSW int8 products, int32 block sums",
	}
	if k.Name == "avx512" {
		for t, d := range kernel {
			kernel[t] = d + " (the AVX2 routine: no AVX-512 one yet)"
		}
	}
	k.WeightKernel = func(t string) string { return kernel[t] }
}

//go:noescape
func f16x4AVX2(w *uint16, stride int, x *float32, n int, out *float32, ostride int)

//go:noescape
func f16x1AVX2(w *uint16, x *float32, n int) float32

//go:noescape
func q8bx4AVX2(w *byte, stride int, xq *int8, xs *float32, nb int, out *float32, ostride int)

//go:noescape
func q40x4AVX2(w *byte, stride int, xq *int8, xs *float32, nb int, out *float32, ostride int)

//go:noescape
func q8bx1AVX2(w *byte, xq *int8, xs *float32, nb int) float32

//go:noescape
func q40x1AVX2(w *byte, xq *int8, xs *float32, nb int) float32

//go:noescape
func bf16px4AVX2(w *uint16, stride int, x *float32, n int, out *float32, ostride int)

//go:noescape
func bf16px1AVX2(w *uint16, x *float32, n int) float32
