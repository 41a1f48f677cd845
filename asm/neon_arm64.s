//go:build !noasm

#include "textflag.h"

// NEON kernels. Go's arm64 assembler has no mnemonics for the vector
// floating-point (and dot-product) instructions used here, so they are
// emitted as WORDs by the macros below; each use names the instruction it
// encodes. The encodings were checked against GNU as/objdump.
//
// fp32 summation order, the same in gemvNEON (any number of rows) and
// gemm2NEON, so that a row gives the same bits however it is computed: two
// 4-lane accumulators per output, a and b; each chunk of 8 columns adds
// its first 4 products into a and its last 4 into b; a remaining chunk of 4
// goes into a; then a+b, lanes folded pairwise ((0+1)+(2+3)); then the last
// cols%4 products added one by one (multiply, then add).
//
// Q8_0: the int8 products of a group are summed exactly in int32 lanes
// (SDOT, or SMULL/SMULL2 + SADALP where the CPU lacks the dot-product
// extension), the lanes added (ADDV), and the group's sum converted to float
// and accumulated as float(sum)*ws*xs with separate multiply and add, in
// llama2.c's order: the result is the scalar variant's, bit for bit.

// d.4s += n.4s * m.4s
#define FMLA4S(d, n, m) WORD $(0x4E20CC00|((m)<<16)|((n)<<5)|(d))
// d.4s = n.4s + m.4s
#define FADD4S(d, n, m) WORD $(0x4E20D400|((m)<<16)|((n)<<5)|(d))
// d.4s = pairwise sums of n.4s then m.4s
#define FADDP4S(d, n, m) WORD $(0x6E20D400|((m)<<16)|((n)<<5)|(d))
// s_d = n.s[0] + n.s[1]
#define FADDPS(d, n) WORD $(0x7E30D800|((n)<<5)|(d))
// d.4s += dot products of the 4-byte groups of n.16b and m.16b (signed)
#define SDOT4S(d, n, m) WORD $(0x4E809400|((m)<<16)|((n)<<5)|(d))
// d.8h = n.8b * m.8b widened (signed), low halves
#define SMULL8H(d, n, m) WORD $(0x0E20C000|((m)<<16)|((n)<<5)|(d))
// d.8h = n.16b * m.16b widened (signed), high halves
#define SMULL2_8H(d, n, m) WORD $(0x4E20C000|((m)<<16)|((n)<<5)|(d))
// d.4s += pairwise sums of n.8h widened (signed)
#define SADALP4S(d, n) WORD $(0x4E606800|((n)<<5)|(d))

// FOLD adds accumulator b into a and folds a's lanes into s_a.
#define FOLD(a, b) \
	FADD4S(a, a, b);  \
	FADDP4S(a, a, a); \
	FADDPS(a, a)

// func gemvNEON(out, w, x *float32, rows, cols, ldw int)
// out[i] = sum_j w[i*ldw+j]*x[j] for i < rows, j < cols.
TEXT ·gemvNEON(SB), NOSPLIT, $0-48
	MOVD out+0(FP), R0
	MOVD w+8(FP), R1
	MOVD x+16(FP), R2
	MOVD rows+24(FP), R3
	MOVD cols+32(FP), R4
	MOVD ldw+40(FP), R5
	LSL  $2, R5, R5          // row stride in bytes
	LSR  $3, R4, R6          // chunks of 8
	AND  $4, R4, R7          // a chunk of 4 left?
	AND  $3, R4, R8          // single columns left

gemv_block4:
	CMP  $4, R3
	BLT  gemv_block1
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	MOVD R1, R10
	ADD  R5, R10, R11
	ADD  R5, R11, R12
	ADD  R5, R12, R13
	MOVD R2, R9
	MOVD R6, R14
	CBZ  R14, gemv_rem4

gemv_loop4:
	VLD1.P 32(R9), [V16.S4, V17.S4]
	VLD1.P 32(R10), [V18.S4, V19.S4]
	VLD1.P 32(R11), [V20.S4, V21.S4]
	VLD1.P 32(R12), [V22.S4, V23.S4]
	VLD1.P 32(R13), [V24.S4, V25.S4]
	FMLA4S(0, 18, 16)                 // fmla v0.4s, v18.4s, v16.4s
	FMLA4S(1, 19, 17)                 // fmla v1.4s, v19.4s, v17.4s
	FMLA4S(2, 20, 16)                 // fmla v2.4s, v20.4s, v16.4s
	FMLA4S(3, 21, 17)                 // fmla v3.4s, v21.4s, v17.4s
	FMLA4S(4, 22, 16)                 // fmla v4.4s, v22.4s, v16.4s
	FMLA4S(5, 23, 17)                 // fmla v5.4s, v23.4s, v17.4s
	FMLA4S(6, 24, 16)                 // fmla v6.4s, v24.4s, v16.4s
	FMLA4S(7, 25, 17)                 // fmla v7.4s, v25.4s, v17.4s
	SUBS   $1, R14, R14
	BNE    gemv_loop4

gemv_rem4:
	CBZ    R7, gemv_fold4
	VLD1.P 16(R9), [V16.S4]
	VLD1.P 16(R10), [V18.S4]
	VLD1.P 16(R11), [V20.S4]
	VLD1.P 16(R12), [V22.S4]
	VLD1.P 16(R13), [V24.S4]
	FMLA4S(0, 18, 16)                 // fmla v0.4s, v18.4s, v16.4s
	FMLA4S(2, 20, 16)                 // fmla v2.4s, v20.4s, v16.4s
	FMLA4S(4, 22, 16)                 // fmla v4.4s, v22.4s, v16.4s
	FMLA4S(6, 24, 16)                 // fmla v6.4s, v24.4s, v16.4s

gemv_fold4:
	FOLD(0, 1)                        // fadd v0.4s, v0.4s, v1.4s; faddp v0.4s, v0.4s, v0.4s; faddp s0, v0.2s
	FOLD(2, 3)                        // same for v2, v3
	FOLD(4, 5)                        // same for v4, v5
	FOLD(6, 7)                        // same for v6, v7
	MOVD R8, R14
	CBZ  R14, gemv_store4

gemv_tail4:
	FMOVS.P 4(R9), F16
	FMOVS.P 4(R10), F17
	FMOVS.P 4(R11), F18
	FMOVS.P 4(R12), F19
	FMOVS.P 4(R13), F20
	FMULS   F16, F17, F17
	FMULS   F16, F18, F18
	FMULS   F16, F19, F19
	FMULS   F16, F20, F20
	FADDS   F17, F0, F0
	FADDS   F18, F2, F2
	FADDS   F19, F4, F4
	FADDS   F20, F6, F6
	SUBS    $1, R14, R14
	BNE     gemv_tail4

gemv_store4:
	FMOVS F0, 0(R0)
	FMOVS F2, 4(R0)
	FMOVS F4, 8(R0)
	FMOVS F6, 12(R0)
	ADD   $16, R0, R0
	ADD   R5<<2, R1, R1
	SUB   $4, R3, R3
	B     gemv_block4

gemv_block1:
	CBZ  R3, gemv_done
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	MOVD R1, R10
	MOVD R2, R9
	MOVD R6, R14
	CBZ  R14, gemv_rem1

gemv_loop1:
	VLD1.P 32(R9), [V16.S4, V17.S4]
	VLD1.P 32(R10), [V18.S4, V19.S4]
	FMLA4S(0, 18, 16)                 // fmla v0.4s, v18.4s, v16.4s
	FMLA4S(1, 19, 17)                 // fmla v1.4s, v19.4s, v17.4s
	SUBS   $1, R14, R14
	BNE    gemv_loop1

gemv_rem1:
	CBZ    R7, gemv_fold1
	VLD1.P 16(R9), [V16.S4]
	VLD1.P 16(R10), [V18.S4]
	FMLA4S(0, 18, 16)                 // fmla v0.4s, v18.4s, v16.4s

gemv_fold1:
	FOLD(0, 1)                        // fadd v0.4s, v0.4s, v1.4s; faddp v0.4s, v0.4s, v0.4s; faddp s0, v0.2s
	MOVD R8, R14
	CBZ  R14, gemv_store1

gemv_tail1:
	FMOVS.P 4(R9), F16
	FMOVS.P 4(R10), F17
	FMULS   F16, F17, F17
	FADDS   F17, F0, F0
	SUBS    $1, R14, R14
	BNE     gemv_tail1

gemv_store1:
	FMOVS F0, 0(R0)
	ADD   $4, R0, R0
	ADD   R5, R1, R1
	SUB   $1, R3, R3
	B     gemv_block1

gemv_done:
	RET

// func gemm2NEON(out *float32, ldo int, w, x *float32, rows, cols int)
// out[i] = w_i·x0 and out[ldo+i] = w_i·x1 for x0 = x, x1 = x+cols, every
// load of w shared by both vectors; summed exactly as gemvNEON sums.
// Accumulators: row r, vector v: V(4r+2v) (a) and V(4r+2v+1) (b).
TEXT ·gemm2NEON(SB), NOSPLIT, $0-48
	MOVD out+0(FP), R0
	MOVD ldo+8(FP), R15
	LSL  $2, R15, R15        // output stride in bytes
	MOVD w+16(FP), R1
	MOVD x+24(FP), R2
	MOVD rows+32(FP), R3
	MOVD cols+40(FP), R4
	LSL  $2, R4, R5          // row stride (and x0->x1 distance) in bytes
	LSR  $3, R4, R6
	AND  $4, R4, R7
	AND  $3, R4, R8

gemm2_block4:
	CMP  $4, R3
	BLT  gemm2_block1
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	MOVD R1, R10
	ADD  R5, R10, R11
	ADD  R5, R11, R12
	ADD  R5, R12, R13
	MOVD R2, R9              // x0
	ADD  R5, R2, R16         // x1
	MOVD R6, R14
	CBZ  R14, gemm2_rem4

gemm2_loop4:
	VLD1.P 32(R9), [V16.S4, V17.S4]
	VLD1.P 32(R16), [V18.S4, V19.S4]
	VLD1.P 32(R10), [V20.S4, V21.S4]
	VLD1.P 32(R11), [V22.S4, V23.S4]
	VLD1.P 32(R12), [V24.S4, V25.S4]
	VLD1.P 32(R13), [V26.S4, V27.S4]
	FMLA4S(0, 20, 16)                 // fmla v0.4s, v20.4s, v16.4s
	FMLA4S(1, 21, 17)                 // fmla v1.4s, v21.4s, v17.4s
	FMLA4S(2, 20, 18)                 // fmla v2.4s, v20.4s, v18.4s
	FMLA4S(3, 21, 19)                 // fmla v3.4s, v21.4s, v19.4s
	FMLA4S(4, 22, 16)                 // fmla v4.4s, v22.4s, v16.4s
	FMLA4S(5, 23, 17)                 // fmla v5.4s, v23.4s, v17.4s
	FMLA4S(6, 22, 18)                 // fmla v6.4s, v22.4s, v18.4s
	FMLA4S(7, 23, 19)                 // fmla v7.4s, v23.4s, v19.4s
	FMLA4S(8, 24, 16)                 // fmla v8.4s, v24.4s, v16.4s
	FMLA4S(9, 25, 17)                 // fmla v9.4s, v25.4s, v17.4s
	FMLA4S(10, 24, 18)                // fmla v10.4s, v24.4s, v18.4s
	FMLA4S(11, 25, 19)                // fmla v11.4s, v25.4s, v19.4s
	FMLA4S(12, 26, 16)                // fmla v12.4s, v26.4s, v16.4s
	FMLA4S(13, 27, 17)                // fmla v13.4s, v27.4s, v17.4s
	FMLA4S(14, 26, 18)                // fmla v14.4s, v26.4s, v18.4s
	FMLA4S(15, 27, 19)                // fmla v15.4s, v27.4s, v19.4s
	SUBS   $1, R14, R14
	BNE    gemm2_loop4

gemm2_rem4:
	CBZ    R7, gemm2_fold4
	VLD1.P 16(R9), [V16.S4]
	VLD1.P 16(R16), [V18.S4]
	VLD1.P 16(R10), [V20.S4]
	VLD1.P 16(R11), [V22.S4]
	VLD1.P 16(R12), [V24.S4]
	VLD1.P 16(R13), [V26.S4]
	FMLA4S(0, 20, 16)                 // fmla v0.4s, v20.4s, v16.4s
	FMLA4S(2, 20, 18)                 // fmla v2.4s, v20.4s, v18.4s
	FMLA4S(4, 22, 16)                 // fmla v4.4s, v22.4s, v16.4s
	FMLA4S(6, 22, 18)                 // fmla v6.4s, v22.4s, v18.4s
	FMLA4S(8, 24, 16)                 // fmla v8.4s, v24.4s, v16.4s
	FMLA4S(10, 24, 18)                // fmla v10.4s, v24.4s, v18.4s
	FMLA4S(12, 26, 16)                // fmla v12.4s, v26.4s, v16.4s
	FMLA4S(14, 26, 18)                // fmla v14.4s, v26.4s, v18.4s

gemm2_fold4:
	FOLD(0, 1)                        // fadd v0.4s, v0.4s, v1.4s; faddp v0.4s, v0.4s, v0.4s; faddp s0, v0.2s
	FOLD(2, 3)                        // same for v2, v3
	FOLD(4, 5)                        // same for v4, v5
	FOLD(6, 7)                        // same for v6, v7
	FOLD(8, 9)                        // same for v8, v9
	FOLD(10, 11)                      // same for v10, v11
	FOLD(12, 13)                      // same for v12, v13
	FOLD(14, 15)                      // same for v14, v15
	MOVD R8, R14
	CBZ  R14, gemm2_store4

gemm2_tail4:
	FMOVS.P 4(R9), F16
	FMOVS.P 4(R16), F18
	FMOVS.P 4(R10), F20
	FMOVS.P 4(R11), F22
	FMOVS.P 4(R12), F24
	FMOVS.P 4(R13), F26
	FMULS   F20, F16, F28
	FADDS   F28, F0, F0
	FMULS   F20, F18, F28
	FADDS   F28, F2, F2
	FMULS   F22, F16, F28
	FADDS   F28, F4, F4
	FMULS   F22, F18, F28
	FADDS   F28, F6, F6
	FMULS   F24, F16, F28
	FADDS   F28, F8, F8
	FMULS   F24, F18, F28
	FADDS   F28, F10, F10
	FMULS   F26, F16, F28
	FADDS   F28, F12, F12
	FMULS   F26, F18, F28
	FADDS   F28, F14, F14
	SUBS    $1, R14, R14
	BNE     gemm2_tail4

gemm2_store4:
	ADD   R15, R0, R17
	FMOVS F0, 0(R0)
	FMOVS F2, 0(R17)
	FMOVS F4, 4(R0)
	FMOVS F6, 4(R17)
	FMOVS F8, 8(R0)
	FMOVS F10, 8(R17)
	FMOVS F12, 12(R0)
	FMOVS F14, 12(R17)
	ADD   $16, R0, R0
	ADD   R5<<2, R1, R1
	SUB   $4, R3, R3
	B     gemm2_block4

gemm2_block1:
	CBZ  R3, gemm2_done
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	MOVD R1, R10
	MOVD R2, R9
	ADD  R5, R2, R16
	MOVD R6, R14
	CBZ  R14, gemm2_rem1

gemm2_loop1:
	VLD1.P 32(R9), [V16.S4, V17.S4]
	VLD1.P 32(R16), [V18.S4, V19.S4]
	VLD1.P 32(R10), [V20.S4, V21.S4]
	FMLA4S(0, 20, 16)                 // fmla v0.4s, v20.4s, v16.4s
	FMLA4S(1, 21, 17)                 // fmla v1.4s, v21.4s, v17.4s
	FMLA4S(2, 20, 18)                 // fmla v2.4s, v20.4s, v18.4s
	FMLA4S(3, 21, 19)                 // fmla v3.4s, v21.4s, v19.4s
	SUBS   $1, R14, R14
	BNE    gemm2_loop1

gemm2_rem1:
	CBZ    R7, gemm2_fold1
	VLD1.P 16(R9), [V16.S4]
	VLD1.P 16(R16), [V18.S4]
	VLD1.P 16(R10), [V20.S4]
	FMLA4S(0, 20, 16)                 // fmla v0.4s, v20.4s, v16.4s
	FMLA4S(2, 20, 18)                 // fmla v2.4s, v20.4s, v18.4s

gemm2_fold1:
	FOLD(0, 1)                        // fadd v0.4s, v0.4s, v1.4s; faddp v0.4s, v0.4s, v0.4s; faddp s0, v0.2s
	FOLD(2, 3)                        // same for v2, v3
	MOVD R8, R14
	CBZ  R14, gemm2_store1

gemm2_tail1:
	FMOVS.P 4(R9), F16
	FMOVS.P 4(R16), F18
	FMOVS.P 4(R10), F20
	FMULS   F20, F16, F28
	FADDS   F28, F0, F0
	FMULS   F20, F18, F28
	FADDS   F28, F2, F2
	SUBS    $1, R14, R14
	BNE     gemm2_tail1

gemm2_store1:
	FMOVS F0, 0(R0)
	ADD   R15, R0, R17
	FMOVS F2, 0(R17)
	ADD   $4, R0, R0
	ADD   R5, R1, R1
	SUB   $1, R3, R3
	B     gemm2_block1

gemm2_done:
	RET

// func axpyNEON(a float32, x, y *float32, n int)
// y[i] += a*x[i]: fused in chunks of 4, multiply-then-add for the rest.
TEXT ·axpyNEON(SB), NOSPLIT, $0-32
	FMOVS a+0(FP), F0
	MOVD  x+8(FP), R1
	MOVD  y+16(FP), R2
	MOVD  n+24(FP), R3
	VDUP  V0.S[0], V1.S4
	LSR   $2, R3, R4
	AND   $3, R3, R5
	CBZ   R4, axpy_tail

axpy_loop:
	VLD1   (R2), [V2.S4]
	VLD1.P 16(R1), [V3.S4]
	FMLA4S(2, 3, 1)                   // fmla v2.4s, v3.4s, v1.4s
	VST1.P [V2.S4], 16(R2)
	SUBS   $1, R4, R4
	BNE    axpy_loop

axpy_tail:
	CBZ     R5, axpy_done
	FMOVS   (R2), F2
	FMOVS.P 4(R1), F3
	FMULS   F0, F3, F3
	FADDS   F3, F2, F2
	FMOVS.P F2, 4(R2)
	SUBS    $1, R5, R5
	B       axpy_tail

axpy_done:
	RET

// func sumNEON(x *float32, n int) float32
// The bandwidth probe's read loop: the sum of x read as four streams (its
// quarters, in step). n must be a multiple of 64.
TEXT ·sumNEON(SB), NOSPLIT, $0-20
	MOVD x+0(FP), R0
	MOVD n+8(FP), R1         // n floats = n bytes per quarter
	ADD  R1, R0, R2
	ADD  R1, R2, R3
	ADD  R1, R3, R4
	LSR  $4, R1, R1          // 4 floats per quarter per step
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	CBZ  R1, sum_done

sum_loop:
	VLD1.P 16(R0), [V4.S4]
	VLD1.P 16(R2), [V5.S4]
	VLD1.P 16(R3), [V6.S4]
	VLD1.P 16(R4), [V7.S4]
	FADD4S(0, 0, 4)                   // fadd v0.4s, v0.4s, v4.4s
	FADD4S(1, 1, 5)                   // fadd v1.4s, v1.4s, v5.4s
	FADD4S(2, 2, 6)                   // fadd v2.4s, v2.4s, v6.4s
	FADD4S(3, 3, 7)                   // fadd v3.4s, v3.4s, v7.4s
	SUBS   $1, R1, R1
	BNE    sum_loop

sum_done:
	FADD4S(0, 0, 2)                   // fadd v0.4s, v0.4s, v2.4s
	FADD4S(1, 1, 3)                   // fadd v1.4s, v1.4s, v3.4s
	FOLD(0, 1)                        // fadd v0.4s, v0.4s, v1.4s; faddp v0.4s, v0.4s, v0.4s; faddp s0, v0.2s
	FMOVS F0, ret+16(FP)
	RET

// func gemvQ8NEON(out *float32, wq *int8, ws *float32, xq *int8, xs *float32, rows, cols, cpg, gpr, sdot, tailadj int)
// Q8_0 matrix-vector product for any group size: cpg 16-byte chunks per
// group (gpr groups per row), the last of them, when the group size is
// not a multiple of 16, read as the 16 bytes ending at the group's end
// (the row pointers step back tailadj bytes first; 0 for none) against an
// x laid out in the same chunks with the overlap zeroed (the Go glue
// makes that copy; with gs a multiple of 16 it is xq itself). sdot != 0 selects
// the SDOT instruction (ARMv8.2 dot product); otherwise SMULL/SMULL2 widen
// the products to int16 and SADALP adds them pairwise into int32 lanes.
TEXT ·gemvQ8NEON(SB), NOSPLIT, $0-88
	MOVD out+0(FP), R0
	MOVD wq+8(FP), R1
	MOVD ws+16(FP), R2
	MOVD rows+40(FP), R3
	MOVD cols+48(FP), R4     // wq row stride in bytes
	MOVD cpg+56(FP), R5
	MOVD gpr+64(FP), R6
	MOVD sdot+72(FP), R7
	MOVD tailadj+80(FP), R23
	LSL  $2, R6, R8          // ws row stride in bytes

q8_block4:
	CMP  $4, R3
	BLT  q8_block1
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	MOVD R1, R10
	ADD  R4, R10, R11
	ADD  R4, R11, R12
	ADD  R4, R12, R13
	MOVD R2, R14
	ADD  R8, R14, R15
	ADD  R8, R15, R16
	ADD  R8, R16, R17
	MOVD xq+24(FP), R9
	MOVD xs+32(FP), R19
	MOVD R6, R20

q8_group4:
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	MOVD R5, R21

q8_chunk4:
	CMP    $1, R21
	BNE    q8_load4
	SUB    R23, R10, R10             // the last chunk ends at the group's end
	SUB    R23, R11, R11
	SUB    R23, R12, R12
	SUB    R23, R13, R13

q8_load4:
	VLD1.P 16(R9), [V16.B16]
	VLD1.P 16(R10), [V17.B16]
	VLD1.P 16(R11), [V18.B16]
	VLD1.P 16(R12), [V19.B16]
	VLD1.P 16(R13), [V20.B16]
	CBZ    R7, q8_widen4
	SDOT4S(4, 17, 16)                 // sdot v4.4s, v17.16b, v16.16b
	SDOT4S(5, 18, 16)                 // sdot v5.4s, v18.16b, v16.16b
	SDOT4S(6, 19, 16)                 // sdot v6.4s, v19.16b, v16.16b
	SDOT4S(7, 20, 16)                 // sdot v7.4s, v20.16b, v16.16b
	B      q8_next4

q8_widen4:
	SMULL8H(24, 17, 16)               // smull v24.8h, v17.8b, v16.8b
	SMULL2_8H(25, 17, 16)             // smull2 v25.8h, v17.16b, v16.16b
	SMULL8H(26, 18, 16)               // smull v26.8h, v18.8b, v16.8b
	SMULL2_8H(27, 18, 16)             // smull2 v27.8h, v18.16b, v16.16b
	SADALP4S(4, 24)                   // sadalp v4.4s, v24.8h
	SADALP4S(4, 25)                   // sadalp v4.4s, v25.8h
	SADALP4S(5, 26)                   // sadalp v5.4s, v26.8h
	SADALP4S(5, 27)                   // sadalp v5.4s, v27.8h
	SMULL8H(24, 19, 16)               // smull v24.8h, v19.8b, v16.8b
	SMULL2_8H(25, 19, 16)             // smull2 v25.8h, v19.16b, v16.16b
	SMULL8H(26, 20, 16)               // smull v26.8h, v20.8b, v16.8b
	SMULL2_8H(27, 20, 16)             // smull2 v27.8h, v20.16b, v16.16b
	SADALP4S(6, 24)                   // sadalp v6.4s, v24.8h
	SADALP4S(6, 25)                   // sadalp v6.4s, v25.8h
	SADALP4S(7, 26)                   // sadalp v7.4s, v26.8h
	SADALP4S(7, 27)                   // sadalp v7.4s, v27.8h

q8_next4:
	SUBS $1, R21, R21
	BNE  q8_chunk4

	// val += float32(float32(acc)*ws[r,g]*xs[g]), as the scalar variant.
	FMOVS.P 4(R19), F29
	VADDV   V4.S4, V4
	VADDV   V5.S4, V5
	VADDV   V6.S4, V6
	VADDV   V7.S4, V7
	VMOV    V4.S[0], R22
	SCVTFWS R22, F20
	VMOV    V5.S[0], R22
	SCVTFWS R22, F21
	VMOV    V6.S[0], R22
	SCVTFWS R22, F22
	VMOV    V7.S[0], R22
	SCVTFWS R22, F23
	FMOVS.P 4(R14), F24
	FMOVS.P 4(R15), F25
	FMOVS.P 4(R16), F26
	FMOVS.P 4(R17), F27
	FMULS   F24, F20, F20
	FMULS   F25, F21, F21
	FMULS   F26, F22, F22
	FMULS   F27, F23, F23
	FMULS   F29, F20, F20
	FMULS   F29, F21, F21
	FMULS   F29, F22, F22
	FMULS   F29, F23, F23
	FADDS   F20, F0, F0
	FADDS   F21, F1, F1
	FADDS   F22, F2, F2
	FADDS   F23, F3, F3
	SUBS    $1, R20, R20
	BNE     q8_group4

	FMOVS F0, 0(R0)
	FMOVS F1, 4(R0)
	FMOVS F2, 8(R0)
	FMOVS F3, 12(R0)
	ADD   $16, R0, R0
	ADD   R4<<2, R1, R1
	ADD   R8<<2, R2, R2
	SUB   $4, R3, R3
	B     q8_block4

q8_block1:
	CBZ  R3, q8_done
	VEOR V0.B16, V0.B16, V0.B16
	MOVD R1, R10
	MOVD R2, R14
	MOVD xq+24(FP), R9
	MOVD xs+32(FP), R19
	MOVD R6, R20

q8_group1:
	VEOR V4.B16, V4.B16, V4.B16
	MOVD R5, R21

q8_chunk1:
	CMP    $1, R21
	BNE    q8_load1
	SUB    R23, R10, R10

q8_load1:
	VLD1.P 16(R9), [V16.B16]
	VLD1.P 16(R10), [V17.B16]
	CBZ    R7, q8_widen1
	SDOT4S(4, 17, 16)                 // sdot v4.4s, v17.16b, v16.16b
	B      q8_next1

q8_widen1:
	SMULL8H(24, 17, 16)               // smull v24.8h, v17.8b, v16.8b
	SMULL2_8H(25, 17, 16)             // smull2 v25.8h, v17.16b, v16.16b
	SADALP4S(4, 24)                   // sadalp v4.4s, v24.8h
	SADALP4S(4, 25)                   // sadalp v4.4s, v25.8h

q8_next1:
	SUBS $1, R21, R21
	BNE  q8_chunk1

	FMOVS.P 4(R19), F29
	VADDV   V4.S4, V4
	VMOV    V4.S[0], R22
	SCVTFWS R22, F20
	FMOVS.P 4(R14), F24
	FMULS   F24, F20, F20
	FMULS   F29, F20, F20
	FADDS   F20, F0, F0
	SUBS    $1, R20, R20
	BNE     q8_group1

	FMOVS F0, 0(R0)
	ADD   $4, R0, R0
	ADD   R4, R1, R1
	ADD   R8, R2, R2
	SUB   $1, R3, R3
	B     q8_block1

q8_done:
	RET
