//go:build !noasm

#include "textflag.h"
#include "spread_amd64.h"

// AVX-512 kernels (AVX-512F for fp32, AVX-512BW for the int8 products).
//
// Every fp32 matrix kernel here sums each output the same way, so that a row
// gives the same bits whether it is computed alone, in a block of 4 or 8 rows,
// or next to a second input vector: one 16-lane accumulator per output,
// column chunks of 16 added in order, the last partial chunk added with a
// lane mask (K1, lanes past the end untouched), then the 16 lanes folded by
// halves (8+8, 4+4, 2+2, 1+1).

// HSUM16 folds the 16 lanes of Z into the low lane of X (Y is the same
// register's 256-bit name); TY/TX is a scratch register.
#define HSUM16(Z, Y, X, TY, TX) \
	VEXTRACTF64X4 $1, Z, TY; \
	VADDPS        TY, Y, Y;  \
	VEXTRACTF128  $1, Y, TX; \
	VADDPS        TX, X, X;  \
	VMOVHLPS      X, X, TX;  \
	VADDPS        TX, X, X;  \
	VMOVSHDUP     X, TX;     \
	VADDSS        TX, X, X

// TAILMASK16 sets K1 to the lanes of the last partial chunk of n columns:
// (1 << (n%16)) - 1. It clobbers AX and CX.
#define TAILMASK16(n) \
	MOVQ  n, CX;   \
	ANDQ  $15, CX; \
	MOVL  $1, AX;  \
	SHLL  CX, AX;  \
	DECL  AX;      \
	KMOVW AX, K1

// func dotAVX512(a, b *float32, n int) float32
TEXT ·dotAVX512(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), R8
	TAILMASK16(R8)
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	MOVQ   R8, CX
	SHRQ   $6, CX
	JZ     dot_single

dot_loop4:
	VMOVUPS     (SI), Z4
	VMOVUPS     64(SI), Z5
	VMOVUPS     128(SI), Z6
	VMOVUPS     192(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $256, SI
	ADDQ        $256, DI
	DECQ        CX
	JNZ         dot_loop4

dot_single:
	MOVQ R8, CX
	ANDQ $63, CX
	SHRQ $4, CX
	JZ   dot_tail

dot_loop1:
	VMOVUPS     (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $64, SI
	ADDQ        $64, DI
	DECQ        CX
	JNZ         dot_loop1

dot_tail:
	VMOVUPS.Z   (SI), K1, Z4
	VFMADD231PS (DI), Z4, K1, Z0
	VADDPS      Z1, Z0, Z0
	VADDPS      Z3, Z2, Z2
	VADDPS      Z2, Z0, Z0
	HSUM16(Z0, Y0, X0, Y8, X8)
	VMOVSS      X0, ret+24(FP)
	VZEROUPPER
	RET

// func sumAVX512(x *float32, n int) float32
// The bandwidth probe's read loop: the sum of x, read as four streams
// (its quarters, in step), as a matrix-vector product reads its rows; a
// single stream keeps fewer misses in flight. n must be a multiple of 64.
TEXT ·sumAVX512(SB), NOSPLIT, $0-20
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), R11      // n floats = n bytes per quarter
	LEAQ   (SI)(R11*2), R12  // third quarter
	MOVQ   R11, CX
	SHRQ   $6, CX            // 16 floats per quarter per step
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	TESTQ  CX, CX
	JZ     sum_done

sum_loop:
	VADDPS (SI), Z0, Z0
	VADDPS (SI)(R11*1), Z1, Z1
	VADDPS (R12), Z2, Z2
	VADDPS (R12)(R11*1), Z3, Z3
	ADDQ   $64, SI
	ADDQ   $64, R12
	DECQ   CX
	JNZ    sum_loop

sum_done:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	HSUM16(Z0, Y0, X0, Y8, X8)
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func axpyAVX512(a float32, x, y *float32, n int)
// y[i] += a*x[i], fused.
TEXT ·axpyAVX512(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Z0
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), R8
	TAILMASK16(R8)
	MOVQ         R8, CX
	SHRQ         $4, CX
	JZ           axpy_tail

axpy_loop:
	VMOVUPS     (DI), Z1
	VFMADD231PS (SI), Z0, Z1
	VMOVUPS     Z1, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	DECQ        CX
	JNZ         axpy_loop

axpy_tail:
	VMOVUPS.Z   (DI), K1, Z1
	VFMADD231PS (SI), Z0, K1, Z1
	VMOVUPS     Z1, K1, (DI)
	VZEROUPPER
	RET

// func gemvAVX512(out, w, x *float32, rows, cols, ldw int)
// out[i] = sum_j w[i*ldw+j]*x[j] for i < rows, j < cols.
//
// Rows go eight at a time, sharing each load of x, and like the int8
// kernel's blocks they are spread out: with q = rows/8, block i takes rows
// i, i+q, ..., i+7q, eight streams an eighth of the matrix apart, which
// the hardware prefetchers follow better than eight adjacent rows. The
// rows%8 left over go four and then one at a time. Each row is summed the
// same way wherever it falls.
TEXT ·gemvAVX512(SB), NOSPLIT, $8-48
	MOVQ out+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ cols+32(FP), R9
	MOVQ ldw+40(FP), R15
	SHLQ $2, R15         // row stride in bytes
	MOVQ R15, R11
	TAILMASK16(R9)
	SHRQ $4, R9          // full chunks per row

	MOVQ  R8, CX
	ANDQ  $7, CX
	MOVQ  CX, left-8(SP) // rows after the blocks of eight
	SHRQ  $3, R8         // q: blocks of eight, and the rows between a block's rows
	JZ    gemv_rest
	MOVQ  R8, AX
	SHLQ  $2, AX         // q·4: bytes between a block's outputs
	IMULQ R8, R11        // q·ldw·4: bytes between a block's rows

gemv_block8:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	VXORPS Z9, Z9, Z9
	MOVQ   SI, R12              // row i (row i+q at +R11)
	LEAQ   (SI)(R11*2), R13     // row i+2q (row i+3q at +R11)
	LEAQ   (R13)(R11*2), R14    // row i+4q (row i+5q at +R11)
	LEAQ   (R14)(R11*2), R10    // row i+6q (row i+7q at +R11)
	MOVQ   DX, BX
	MOVQ   R9, CX
	TESTQ  CX, CX
	JZ     gemv_tail8

gemv_loop8:
	VMOVUPS     (BX), Z4
	VFMADD231PS (R12), Z4, Z0
	VFMADD231PS (R12)(R11*1), Z4, Z1
	VFMADD231PS (R13), Z4, Z2
	VFMADD231PS (R13)(R11*1), Z4, Z3
	VFMADD231PS (R14), Z4, Z5
	VFMADD231PS (R14)(R11*1), Z4, Z6
	VFMADD231PS (R10), Z4, Z7
	VFMADD231PS (R10)(R11*1), Z4, Z9
	ADDQ        $64, BX
	ADDQ        $64, R12
	ADDQ        $64, R13
	ADDQ        $64, R14
	ADDQ        $64, R10
	DECQ        CX
	JNZ         gemv_loop8

gemv_tail8:
	VMOVUPS.Z   (BX), K1, Z4
	VFMADD231PS (R12), Z4, K1, Z0
	VFMADD231PS (R12)(R11*1), Z4, K1, Z1
	VFMADD231PS (R13), Z4, K1, Z2
	VFMADD231PS (R13)(R11*1), Z4, K1, Z3
	VFMADD231PS (R14), Z4, K1, Z5
	VFMADD231PS (R14)(R11*1), Z4, K1, Z6
	VFMADD231PS (R10), Z4, K1, Z7
	VFMADD231PS (R10)(R11*1), Z4, K1, Z9
	HSUM16(Z0, Y0, X0, Y8, X8)
	HSUM16(Z1, Y1, X1, Y8, X8)
	HSUM16(Z2, Y2, X2, Y8, X8)
	HSUM16(Z3, Y3, X3, Y8, X8)
	HSUM16(Z5, Y5, X5, Y8, X8)
	HSUM16(Z6, Y6, X6, Y8, X8)
	HSUM16(Z7, Y7, X7, Y8, X8)
	HSUM16(Z9, Y9, X9, Y8, X8)
	LEAQ        (DI)(AX*2), R12
	LEAQ        (R12)(AX*2), R13
	LEAQ        (R13)(AX*2), R14
	VMOVSS      X0, (DI)
	VMOVSS      X1, (DI)(AX*1)
	VMOVSS      X2, (R12)
	VMOVSS      X3, (R12)(AX*1)
	VMOVSS      X5, (R13)
	VMOVSS      X6, (R13)(AX*1)
	VMOVSS      X7, (R14)
	VMOVSS      X9, (R14)(AX*1)
	ADDQ        $4, DI
	ADDQ        R15, SI
	DECQ        R8
	JNZ         gemv_block8

	// Past the last eighth: rows 8q onwards, adjacent again.
	LEAQ (AX)(AX*2), CX
	LEAQ (CX)(AX*4), CX
	ADDQ CX, DI          // + 7·q·4
	LEAQ (R11)(R11*2), CX
	LEAQ (CX)(R11*4), CX
	ADDQ CX, SI          // + 7·q·ldw·4
	MOVQ R15, R11

gemv_rest:
	MOVQ left-8(SP), R8

gemv_block4:
	CMPQ   R8, $4
	JLT    gemv_block1
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	MOVQ   SI, R12              // row 0 (row 1 at +R11)
	LEAQ   (SI)(R11*2), R13     // row 2 (row 3 at +R11)
	MOVQ   DX, BX
	MOVQ   R9, CX
	TESTQ  CX, CX
	JZ     gemv_tail4

gemv_loop4:
	VMOVUPS     (BX), Z4
	VFMADD231PS (R12), Z4, Z0
	VFMADD231PS (R12)(R11*1), Z4, Z1
	VFMADD231PS (R13), Z4, Z2
	VFMADD231PS (R13)(R11*1), Z4, Z3
	ADDQ        $64, BX
	ADDQ        $64, R12
	ADDQ        $64, R13
	DECQ        CX
	JNZ         gemv_loop4

gemv_tail4:
	VMOVUPS.Z   (BX), K1, Z4
	VFMADD231PS (R12), Z4, K1, Z0
	VFMADD231PS (R12)(R11*1), Z4, K1, Z1
	VFMADD231PS (R13), Z4, K1, Z2
	VFMADD231PS (R13)(R11*1), Z4, K1, Z3
	HSUM16(Z0, Y0, X0, Y8, X8)
	HSUM16(Z1, Y1, X1, Y8, X8)
	HSUM16(Z2, Y2, X2, Y8, X8)
	HSUM16(Z3, Y3, X3, Y8, X8)
	VMOVSS      X0, (DI)
	VMOVSS      X1, 4(DI)
	VMOVSS      X2, 8(DI)
	VMOVSS      X3, 12(DI)
	ADDQ        $16, DI
	LEAQ        (SI)(R11*4), SI
	SUBQ        $4, R8
	JMP         gemv_block4

gemv_block1:
	TESTQ  R8, R8
	JZ     gemv_done
	VXORPS Z0, Z0, Z0
	MOVQ   SI, R12
	MOVQ   DX, BX
	MOVQ   R9, CX
	TESTQ  CX, CX
	JZ     gemv_tail1

gemv_loop1:
	VMOVUPS     (BX), Z4
	VFMADD231PS (R12), Z4, Z0
	ADDQ        $64, BX
	ADDQ        $64, R12
	DECQ        CX
	JNZ         gemv_loop1

gemv_tail1:
	VMOVUPS.Z   (BX), K1, Z4
	VFMADD231PS (R12), Z4, K1, Z0
	HSUM16(Z0, Y0, X0, Y8, X8)
	VMOVSS      X0, (DI)
	ADDQ        $4, DI
	ADDQ        R11, SI
	DECQ        R8
	JMP         gemv_block1

gemv_done:
	VZEROUPPER
	RET

// func gemm2AVX512(out *float32, ldo int, w, x *float32, rows, cols int)
// Two input vectors at once (x and x+cols), sharing every load of w:
// out[i] = w_i·x0, out[ldo+i] = w_i·x1. Same summation as gemvAVX512.
TEXT ·gemm2AVX512(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), R10
	SHLQ $2, R10         // output stride in bytes
	MOVQ w+16(FP), SI
	MOVQ x+24(FP), DX
	MOVQ rows+32(FP), R8
	MOVQ cols+40(FP), R9
	MOVQ R9, R11
	SHLQ $2, R11         // row stride (and x0->x1 distance) in bytes
	TAILMASK16(R9)
	SHRQ $4, R9

gemm2_block4:
	CMPQ   R8, $4
	JLT    gemm2_block1
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	MOVQ   SI, R12
	LEAQ   (SI)(R11*2), R13
	MOVQ   DX, BX
	MOVQ   R9, CX
	TESTQ  CX, CX
	JZ     gemm2_tail4

gemm2_loop4:
	VMOVUPS     (BX), Z8
	VMOVUPS     (BX)(R11*1), Z9
	VMOVUPS     (R12), Z10
	VFMADD231PS Z10, Z8, Z0
	VFMADD231PS Z10, Z9, Z1
	VMOVUPS     (R12)(R11*1), Z11
	VFMADD231PS Z11, Z8, Z2
	VFMADD231PS Z11, Z9, Z3
	VMOVUPS     (R13), Z12
	VFMADD231PS Z12, Z8, Z4
	VFMADD231PS Z12, Z9, Z5
	VMOVUPS     (R13)(R11*1), Z13
	VFMADD231PS Z13, Z8, Z6
	VFMADD231PS Z13, Z9, Z7
	ADDQ        $64, BX
	ADDQ        $64, R12
	ADDQ        $64, R13
	DECQ        CX
	JNZ         gemm2_loop4

gemm2_tail4:
	VMOVUPS.Z   (BX), K1, Z8
	VMOVUPS.Z   (BX)(R11*1), K1, Z9
	VMOVUPS.Z   (R12), K1, Z10
	VFMADD231PS Z10, Z8, K1, Z0
	VFMADD231PS Z10, Z9, K1, Z1
	VMOVUPS.Z   (R12)(R11*1), K1, Z11
	VFMADD231PS Z11, Z8, K1, Z2
	VFMADD231PS Z11, Z9, K1, Z3
	VMOVUPS.Z   (R13), K1, Z12
	VFMADD231PS Z12, Z8, K1, Z4
	VFMADD231PS Z12, Z9, K1, Z5
	VMOVUPS.Z   (R13)(R11*1), K1, Z13
	VFMADD231PS Z13, Z8, K1, Z6
	VFMADD231PS Z13, Z9, K1, Z7
	HSUM16(Z0, Y0, X0, Y14, X14)
	HSUM16(Z1, Y1, X1, Y14, X14)
	HSUM16(Z2, Y2, X2, Y14, X14)
	HSUM16(Z3, Y3, X3, Y14, X14)
	HSUM16(Z4, Y4, X4, Y14, X14)
	HSUM16(Z5, Y5, X5, Y14, X14)
	HSUM16(Z6, Y6, X6, Y14, X14)
	HSUM16(Z7, Y7, X7, Y14, X14)
	VMOVSS      X0, (DI)
	VMOVSS      X1, (DI)(R10*1)
	VMOVSS      X2, 4(DI)
	VMOVSS      X3, 4(DI)(R10*1)
	VMOVSS      X4, 8(DI)
	VMOVSS      X5, 8(DI)(R10*1)
	VMOVSS      X6, 12(DI)
	VMOVSS      X7, 12(DI)(R10*1)
	ADDQ        $16, DI
	LEAQ        (SI)(R11*4), SI
	SUBQ        $4, R8
	JMP         gemm2_block4

gemm2_block1:
	TESTQ  R8, R8
	JZ     gemm2_done
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	MOVQ   SI, R12
	MOVQ   DX, BX
	MOVQ   R9, CX
	TESTQ  CX, CX
	JZ     gemm2_tail1

gemm2_loop1:
	VMOVUPS     (BX), Z8
	VMOVUPS     (BX)(R11*1), Z9
	VMOVUPS     (R12), Z10
	VFMADD231PS Z10, Z8, Z0
	VFMADD231PS Z10, Z9, Z1
	ADDQ        $64, BX
	ADDQ        $64, R12
	DECQ        CX
	JNZ         gemm2_loop1

gemm2_tail1:
	VMOVUPS.Z   (BX), K1, Z8
	VMOVUPS.Z   (BX)(R11*1), K1, Z9
	VMOVUPS.Z   (R12), K1, Z10
	VFMADD231PS Z10, Z8, K1, Z0
	VFMADD231PS Z10, Z9, K1, Z1
	HSUM16(Z0, Y0, X0, Y14, X14)
	HSUM16(Z1, Y1, X1, Y14, X14)
	VMOVSS      X0, (DI)
	VMOVSS      X1, (DI)(R10*1)
	ADDQ        $4, DI
	ADDQ        R11, SI
	DECQ        R8
	JMP         gemm2_block1

gemm2_done:
	VZEROUPPER
	RET

// The group-end and row-end steps the two AVX-512 int8 kernels
// (gemvQ8AVX512, gemvQ8VNNIAVX512) share; their registers: Z4-Z7 the
// group's int32 sums of the block's four rows, Z0-Z3 the rows' float
// accumulators, R9 &xs[g], R14 &ws[row, g] (the block's other rows at
// +AX, +2AX, +3AX), R15 the groups left.

// Q8_SCALE4 adds the group's sums, times ws[row, g]·xs[g], into Z0-Z3 and
// steps to the next group (the caller loops while R15 is not zero).
#define Q8_SCALE4 \
	VBROADCASTSS (R9), Z8;          \
	VBROADCASTSS (R14), Z9;         \
	VBROADCASTSS (R14)(AX*1), Z10;  \
	VBROADCASTSS (R14)(AX*2), Z11;  \
	LEAQ         (R14)(AX*2), CX;   \
	VBROADCASTSS (CX)(AX*1), Z12;   \
	VMULPS       Z8, Z9, Z9;        \
	VMULPS       Z8, Z10, Z10;      \
	VMULPS       Z8, Z11, Z11;      \
	VMULPS       Z8, Z12, Z12;      \
	VCVTDQ2PS    Z4, Z4;            \
	VCVTDQ2PS    Z5, Z5;            \
	VCVTDQ2PS    Z6, Z6;            \
	VCVTDQ2PS    Z7, Z7;            \
	VFMADD231PS  Z9, Z4, Z0;        \
	VFMADD231PS  Z10, Z5, Z1;       \
	VFMADD231PS  Z11, Z6, Z2;       \
	VFMADD231PS  Z12, Z7, Z3;       \
	ADDQ         $4, R9;            \
	ADDQ         $4, R14;           \
	DECQ         R15

// Q8_FOLD4 folds the four accumulators into the low lanes of X0-X3.
#define Q8_FOLD4 \
	HSUM16(Z0, Y0, X0, Y8, X8); \
	HSUM16(Z1, Y1, X1, Y8, X8); \
	HSUM16(Z2, Y2, X2, Y8, X8); \
	HSUM16(Z3, Y3, X3, Y8, X8)

// Q8_SCALE1 is Q8_SCALE4 for one row (sums in Z4, accumulator Z0).
#define Q8_SCALE1 \
	VBROADCASTSS (R9), Z8;   \
	VBROADCASTSS (R14), Z9;  \
	VMULPS       Z8, Z9, Z9; \
	VCVTDQ2PS    Z4, Z4;     \
	VFMADD231PS  Z9, Z4, Z0; \
	ADDQ         $4, R9;     \
	ADDQ         $4, R14;    \
	DECQ         R15

// Q8_NEXT1 stores the one row's result, steps to the next row and jumps
// back to the one-row loop.
#define Q8_NEXT1(loop) \
	HSUM16(Z0, Y0, X0, Y8, X8); \
	VMOVSS X0, (DI);            \
	ADDQ   $4, DI;              \
	ADDQ   R11, SI;             \
	ADDQ   AX, DX;              \
	DECQ   R8;                  \
	JMP    loop

// func gemvQ8AVX512(out *float32, wq *int8, ws *float32, xq *int8, xs *float32, rows, cols, cpg, gpr int)
// Q8_0 matrix-vector product for group sizes that are multiples of 32
// (cpg = gs/32 chunks per group, gpr = groups per row). Within a group the
// int8 products are widened to int16 (VPMOVSXBW), multiplied and summed in
// pairs into 16 int32 lanes (VPMADDWD, exact); at the group's end the lanes
// are converted to float and added, times ws[row,g]*xs[g], into a 16-lane
// float accumulator, which is folded once per row. Rows are done four at a
// time (sharing the widened x), spread a quarter of the matrix apart as in
// gemvQ8VNNIAVX512, and the rest one at a time, summed alike.
TEXT ·gemvQ8AVX512(SB), NOSPLIT, $16-72
	MOVQ out+0(FP), DI
	MOVQ wq+8(FP), SI
	MOVQ ws+16(FP), DX
	MOVQ rows+40(FP), R8
	MOVQ cols+48(FP), R11    // wq row stride in bytes
	MOVQ gpr+64(FP), AX
	SHLQ $2, AX              // ws row stride in bytes

	Q8SPREAD_SETUP(q8_rest)

q8_block4:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	MOVQ   SI, R12
	LEAQ   (SI)(R10*2), R13
	MOVQ   DX, R14              // ws of row 0, group g
	MOVQ   xq+24(FP), BX
	MOVQ   xs+32(FP), R9
	MOVQ   gpr+64(FP), R15

q8_group4:
	// The group's first chunk writes the int32 lanes, the others add.
	PREFETCHT0 2048(R12)
	PREFETCHT0 2048(R12)(R10*1)
	PREFETCHT0 2048(R13)
	PREFETCHT0 2048(R13)(R10*1)
	VPMOVSXBW  (BX), Z8
	VPMOVSXBW  (R12), Z9
	VPMADDWD   Z9, Z8, Z4
	VPMOVSXBW  (R12)(R10*1), Z10
	VPMADDWD   Z10, Z8, Z5
	VPMOVSXBW  (R13), Z11
	VPMADDWD   Z11, Z8, Z6
	VPMOVSXBW  (R13)(R10*1), Z12
	VPMADDWD   Z12, Z8, Z7
	ADDQ       $32, BX
	ADDQ       $32, R12
	ADDQ       $32, R13
	MOVQ       cpg+56(FP), CX
	DECQ       CX
	JZ         q8_scale4

q8_chunk4:
	// Fetch well ahead: with this many instructions per weight byte the
	// out-of-order window alone keeps too few cache misses in flight.
	PREFETCHT0 2048(R12)
	PREFETCHT0 2048(R12)(R10*1)
	PREFETCHT0 2048(R13)
	PREFETCHT0 2048(R13)(R10*1)
	VPMOVSXBW (BX), Z8
	VPMOVSXBW (R12), Z9
	VPMADDWD  Z9, Z8, Z9
	VPADDD    Z9, Z4, Z4
	VPMOVSXBW (R12)(R10*1), Z10
	VPMADDWD  Z10, Z8, Z10
	VPADDD    Z10, Z5, Z5
	VPMOVSXBW (R13), Z11
	VPMADDWD  Z11, Z8, Z11
	VPADDD    Z11, Z6, Z6
	VPMOVSXBW (R13)(R10*1), Z12
	VPMADDWD  Z12, Z8, Z12
	VPADDD    Z12, Z7, Z7
	ADDQ      $32, BX
	ADDQ      $32, R12
	ADDQ      $32, R13
	DECQ      CX
	JNZ       q8_chunk4

q8_scale4:
	Q8_SCALE4
	JNZ          q8_group4

	Q8_FOLD4
	Q8SPREAD_NEXT(q8_block4)
	Q8SPREAD_PAST

q8_rest:
	Q8SPREAD_REST

q8_block1:
	TESTQ  R8, R8
	JZ     q8_done
	VXORPS Z0, Z0, Z0
	MOVQ   SI, R12
	MOVQ   DX, R14
	MOVQ   xq+24(FP), BX
	MOVQ   xs+32(FP), R9
	MOVQ   gpr+64(FP), R15

q8_group1:
	VPMOVSXBW (BX), Z8
	VPMOVSXBW (R12), Z9
	VPMADDWD  Z9, Z8, Z4
	ADDQ      $32, BX
	ADDQ      $32, R12
	MOVQ      cpg+56(FP), CX
	DECQ      CX
	JZ        q8_scale1

q8_chunk1:
	VPMOVSXBW (BX), Z8
	VPMOVSXBW (R12), Z9
	VPMADDWD  Z9, Z8, Z9
	VPADDD    Z9, Z4, Z4
	ADDQ      $32, BX
	ADDQ      $32, R12
	DECQ      CX
	JNZ       q8_chunk1

q8_scale1:
	Q8_SCALE1
	JNZ          q8_group1

	Q8_NEXT1(q8_block1)

q8_done:
	VZEROUPPER
	RET

// func gemvQ8VNNIAVX512(out *float32, wq *int8, ws *float32, xq *int8, xs *float32, rows, cols, cpg, gpr int)
// The Q8_0 matrix-vector product of gemvQ8AVX512 with AVX-512 VNNI, for
// group sizes that are multiples of 32 (cpg = gs/32 as there).
//
// VPDPBUSD multiplies unsigned by signed bytes and adds each four adjacent
// products into an int32 lane in one instruction, where the AVX-512BW path
// needs a widening, a multiply and an add per 32 bytes. The weights are made
// unsigned by flipping their top bit (w^0x80 = w+128); what that adds,
// 128·Σx per lane, is summed alongside from the same x chunk (ones·x, also
// VPDPBUSD) and taken off at the group's end, so each lane's sum is exact.
// Lanes cover four adjacent columns here (two in the BW path), so the float
// sums may differ from that path's in the last bits; both are held against
// the portable version. Groups are read 64 bytes at a time, with one
// 32-byte step when gs/32 is odd.
//
// Rows go four at a time, sharing each x chunk, but not four adjacent rows:
// with q = rows/4, block i takes rows i, i+q, i+2q and i+3q, so the four
// weight streams are a quarter of the matrix apart. Adjacent int8 rows lie
// in the same few pages and look like one stream to the hardware
// prefetchers; four distant ones keep more misses in flight (on the
// 2-vCPU Xeon this project measures on, 98% of the read-bandwidth probe
// against 82% for adjacent rows). Each row is summed the same way in either
// order, and the rows left over (rows%4) are done one at a time after.
TEXT ·gemvQ8VNNIAVX512(SB), NOSPLIT, $16-72
	MOVQ         out+0(FP), DI
	MOVQ         wq+8(FP), SI
	MOVQ         ws+16(FP), DX
	MOVQ         rows+40(FP), R8
	MOVQ         cols+48(FP), R11 // wq row stride in bytes
	MOVQ         gpr+64(FP), AX
	SHLQ         $2, AX           // ws row stride in bytes
	MOVL         $0x80808080, CX
	VPBROADCASTD CX, Z14          // the top bit of every byte
	MOVL         $0x01010101, CX
	VPBROADCASTD CX, Z15          // unsigned ones

	Q8SPREAD_SETUP(vq_rest)

vq_block4:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	MOVQ   SI, R12             // row i (row i+q at +R10)
	LEAQ   (SI)(R10*2), R13    // row i+2q (row i+3q at +R10)
	MOVQ   DX, R14             // ws of row i, group g (the others at +AX)
	MOVQ   xq+24(FP), BX
	MOVQ   xs+32(FP), R9
	MOVQ   gpr+64(FP), R15

vq_group4:
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z13, Z13, Z13
	MOVQ   cpg+56(FP), CX
	SHRQ   $1, CX
	JZ     vq_half4

vq_chunk4:
	// One prefetch per stream and cache line, 2 KB ahead: without it
	// the kernel reaches about 90% of what it does with it.
	PREFETCHT0 2048(R12)
	PREFETCHT0 2048(R12)(R10*1)
	PREFETCHT0 2048(R13)
	PREFETCHT0 2048(R13)(R10*1)
	VMOVDQU64  (BX), Z8
	VPDPBUSD   Z8, Z15, Z13                // Σx per lane
	VPXORD     (R12), Z14, Z9
	VPDPBUSD   Z8, Z9, Z4
	VPXORD     (R12)(R10*1), Z14, Z10
	VPDPBUSD   Z8, Z10, Z5
	VPXORD     (R13), Z14, Z11
	VPDPBUSD   Z8, Z11, Z6
	VPXORD     (R13)(R10*1), Z14, Z12
	VPDPBUSD   Z8, Z12, Z7
	ADDQ       $64, BX
	ADDQ       $64, R12
	ADDQ       $64, R13
	DECQ       CX
	JNZ        vq_chunk4

vq_half4:
	// An odd 32-byte step: the loads clear the upper 32 bytes, where x
	// is then zero and adds nothing.
	MOVQ     cpg+56(FP), CX
	TESTQ    $1, CX
	JZ       vq_scale4
	VMOVDQU  (BX), Y8
	VPDPBUSD Z8, Z15, Z13
	VMOVDQU  (R12), Y9
	VPXORD   Z14, Z9, Z9
	VPDPBUSD Z8, Z9, Z4
	VMOVDQU  (R12)(R10*1), Y10
	VPXORD   Z14, Z10, Z10
	VPDPBUSD Z8, Z10, Z5
	VMOVDQU  (R13), Y11
	VPXORD   Z14, Z11, Z11
	VPDPBUSD Z8, Z11, Z6
	VMOVDQU  (R13)(R10*1), Y12
	VPXORD   Z14, Z12, Z12
	VPDPBUSD Z8, Z12, Z7
	ADDQ     $32, BX
	ADDQ     $32, R12
	ADDQ     $32, R13

vq_scale4:
	VPSLLD       $7, Z13, Z13      // 128·Σx
	VPSUBD       Z13, Z4, Z4
	VPSUBD       Z13, Z5, Z5
	VPSUBD       Z13, Z6, Z6
	VPSUBD       Z13, Z7, Z7
	Q8_SCALE4
	JNZ          vq_group4

	Q8_FOLD4
	Q8SPREAD_NEXT(vq_block4)
	Q8SPREAD_PAST

vq_rest:
	Q8SPREAD_REST

vq_block1:
	TESTQ  R8, R8
	JZ     vq_done
	VXORPS Z0, Z0, Z0
	MOVQ   SI, R12
	MOVQ   DX, R14
	MOVQ   xq+24(FP), BX
	MOVQ   xs+32(FP), R9
	MOVQ   gpr+64(FP), R15

vq_group1:
	VPXORD Z4, Z4, Z4
	VPXORD Z13, Z13, Z13
	MOVQ   cpg+56(FP), CX
	SHRQ   $1, CX
	JZ     vq_half1

vq_chunk1:
	VMOVDQU64 (BX), Z8
	VPDPBUSD  Z8, Z15, Z13
	VPXORD    (R12), Z14, Z9
	VPDPBUSD  Z8, Z9, Z4
	ADDQ      $64, BX
	ADDQ      $64, R12
	DECQ      CX
	JNZ       vq_chunk1

vq_half1:
	MOVQ     cpg+56(FP), CX
	TESTQ    $1, CX
	JZ       vq_scale1
	VMOVDQU  (BX), Y8
	VPDPBUSD Z8, Z15, Z13
	VMOVDQU  (R12), Y9
	VPXORD   Z14, Z9, Z9
	VPDPBUSD Z8, Z9, Z4
	ADDQ     $32, BX
	ADDQ     $32, R12

vq_scale1:
	VPSLLD       $7, Z13, Z13
	VPSUBD       Z13, Z4, Z4
	Q8_SCALE1
	JNZ          vq_group1

	Q8_NEXT1(vq_block1)

vq_done:
	VZEROUPPER
	RET
