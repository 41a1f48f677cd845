//go:build !noasm

#include "textflag.h"
#include "spread_amd64.h"
#include "hsum_amd64.h"

// AVX2+FMA kernels. The layout mirrors avx512_amd64.s with 8-lane YMM
// registers: one 8-lane accumulator per output, column chunks of 8 added in
// order, the last partial chunk loaded with VMASKMOVPS (lanes past the end
// read as zero and never touch memory), then the lanes folded by halves
// (4+4, 2+2, 1+1). Every fp32 matrix kernel sums an output this same way.

// tailmask<> is eight all-ones int32 followed by eight zeros: the mask of
// the first r lanes is the eight int32 starting at element 8-r.
DATA tailmask<>+0(SB)/4, $0xffffffff
DATA tailmask<>+4(SB)/4, $0xffffffff
DATA tailmask<>+8(SB)/4, $0xffffffff
DATA tailmask<>+12(SB)/4, $0xffffffff
DATA tailmask<>+16(SB)/4, $0xffffffff
DATA tailmask<>+20(SB)/4, $0xffffffff
DATA tailmask<>+24(SB)/4, $0xffffffff
DATA tailmask<>+28(SB)/4, $0xffffffff
DATA tailmask<>+32(SB)/4, $0
DATA tailmask<>+36(SB)/4, $0
DATA tailmask<>+40(SB)/4, $0
DATA tailmask<>+44(SB)/4, $0
DATA tailmask<>+48(SB)/4, $0
DATA tailmask<>+52(SB)/4, $0
DATA tailmask<>+56(SB)/4, $0
DATA tailmask<>+60(SB)/4, $0
GLOBL tailmask<>(SB), RODATA|NOPTR, $64

// TAILMASK8 loads into M the lane mask of the last n%8 columns. It
// clobbers AX and CX.
#define TAILMASK8(n, M) \
	MOVQ    n, CX;                 \
	ANDQ    $7, CX;                \
	NEGQ    CX;                    \
	LEAQ    tailmask<>+32(SB), AX; \
	VMOVDQU (AX)(CX*4), M

// func dotAVX2(a, b *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), R8
	TAILMASK8(R8, Y15)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   R8, CX
	SHRQ   $5, CX
	JZ     dot_single

dot_loop4:
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	DECQ        CX
	JNZ         dot_loop4

dot_single:
	MOVQ R8, CX
	ANDQ $31, CX
	SHRQ $3, CX
	JZ   dot_tail

dot_loop1:
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNZ         dot_loop1

dot_tail:
	VMASKMOVPS  (SI), Y15, Y4
	VMASKMOVPS  (DI), Y15, Y5
	VFMADD231PS Y5, Y4, Y0
	VADDPS      Y1, Y0, Y0
	VADDPS      Y3, Y2, Y2
	VADDPS      Y2, Y0, Y0
	HSUM8(Y0, X0, X8)
	VMOVSS      X0, ret+24(FP)
	VZEROUPPER
	RET

// func sumAVX2(x *float32, n int) float32
// The bandwidth probe's read loop: the sum of x read as four streams (its
// quarters, in step). n must be a multiple of 64.
TEXT ·sumAVX2(SB), NOSPLIT, $0-20
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), R11      // n floats = n bytes per quarter
	LEAQ   (SI)(R11*2), R12
	MOVQ   R11, CX
	SHRQ   $5, CX            // 8 floats per quarter per step
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JZ     sum_done

sum_loop:
	VADDPS (SI), Y0, Y0
	VADDPS (SI)(R11*1), Y1, Y1
	VADDPS (R12), Y2, Y2
	VADDPS (R12)(R11*1), Y3, Y3
	ADDQ   $32, SI
	ADDQ   $32, R12
	DECQ   CX
	JNZ    sum_loop

sum_done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8(Y0, X0, X8)
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func axpyAVX2(a float32, x, y *float32, n int)
// y[i] += a*x[i], fused.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y0
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), R8
	TAILMASK8(R8, Y15)
	MOVQ         R8, CX
	SHRQ         $3, CX
	JZ           axpy_tail

axpy_loop:
	VMOVUPS     (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNZ         axpy_loop

axpy_tail:
	VMASKMOVPS  (DI), Y15, Y1
	VMASKMOVPS  (SI), Y15, Y2
	VFMADD231PS Y2, Y0, Y1
	VMASKMOVPS  Y1, Y15, (DI)
	VZEROUPPER
	RET

// func gemvAVX2(out, w, x *float32, rows, cols, ldw int)
// out[i] = sum_j w[i*ldw+j]*x[j] for i < rows, j < cols. Rows go four at a
// time, a quarter of the matrix apart (rows i, i+q, i+2q, i+3q with
// q = rows/4), which the hardware prefetchers follow better than adjacent
// rows, then one at a time; each row is summed the same way wherever it
// falls.
TEXT ·gemvAVX2(SB), NOSPLIT, $8-48
	MOVQ out+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ cols+32(FP), R9
	MOVQ ldw+40(FP), R15
	SHLQ $2, R15         // row stride in bytes
	MOVQ R15, R11
	TAILMASK8(R9, Y15)
	SHRQ $3, R9

	MOVQ  R8, CX
	ANDQ  $3, CX
	MOVQ  CX, left-8(SP) // rows after the blocks of four
	SHRQ  $2, R8         // q: blocks of four, and the rows between a block's rows
	JZ    gemv_rest
	MOVQ  R8, R10
	SHLQ  $2, R10        // q·4: bytes between a block's outputs
	IMULQ R8, R11        // q·ldw·4: bytes between a block's rows

gemv_block4:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   SI, R12
	LEAQ   (SI)(R11*2), R13
	MOVQ   DX, BX
	MOVQ   R9, CX
	TESTQ  CX, CX
	JZ     gemv_tail4

gemv_loop4:
	VMOVUPS     (BX), Y4
	VFMADD231PS (R12), Y4, Y0
	VFMADD231PS (R12)(R11*1), Y4, Y1
	VFMADD231PS (R13), Y4, Y2
	VFMADD231PS (R13)(R11*1), Y4, Y3
	ADDQ        $32, BX
	ADDQ        $32, R12
	ADDQ        $32, R13
	DECQ        CX
	JNZ         gemv_loop4

gemv_tail4:
	VMASKMOVPS  (BX), Y15, Y4
	VMASKMOVPS  (R12), Y15, Y5
	VFMADD231PS Y5, Y4, Y0
	VMASKMOVPS  (R12)(R11*1), Y15, Y6
	VFMADD231PS Y6, Y4, Y1
	VMASKMOVPS  (R13), Y15, Y7
	VFMADD231PS Y7, Y4, Y2
	VMASKMOVPS  (R13)(R11*1), Y15, Y8
	VFMADD231PS Y8, Y4, Y3
	HSUM8(Y0, X0, X8)
	HSUM8(Y1, X1, X8)
	HSUM8(Y2, X2, X8)
	HSUM8(Y3, X3, X8)
	LEAQ        (DI)(R10*2), R12
	VMOVSS      X0, (DI)
	VMOVSS      X1, (DI)(R10*1)
	VMOVSS      X2, (R12)
	VMOVSS      X3, (R12)(R10*1)
	ADDQ        $4, DI
	ADDQ        R15, SI
	DECQ        R8
	JNZ         gemv_block4

	// Past the last quarter: rows 4q onwards, adjacent again.
	LEAQ (R10)(R10*2), CX
	ADDQ CX, DI          // + 3·q·4
	LEAQ (R11)(R11*2), CX
	ADDQ CX, SI          // + 3·q·ldw·4
	MOVQ R15, R11

gemv_rest:
	MOVQ left-8(SP), R8

gemv_block1:
	TESTQ  R8, R8
	JZ     gemv_done
	VXORPS Y0, Y0, Y0
	MOVQ   SI, R12
	MOVQ   DX, BX
	MOVQ   R9, CX
	TESTQ  CX, CX
	JZ     gemv_tail1

gemv_loop1:
	VMOVUPS     (BX), Y4
	VFMADD231PS (R12), Y4, Y0
	ADDQ        $32, BX
	ADDQ        $32, R12
	DECQ        CX
	JNZ         gemv_loop1

gemv_tail1:
	VMASKMOVPS  (BX), Y15, Y4
	VMASKMOVPS  (R12), Y15, Y5
	VFMADD231PS Y5, Y4, Y0
	HSUM8(Y0, X0, X8)
	VMOVSS      X0, (DI)
	ADDQ        $4, DI
	ADDQ        R11, SI
	DECQ        R8
	JMP         gemv_block1

gemv_done:
	VZEROUPPER
	RET

// func gemm2AVX2(out *float32, ldo int, w, x *float32, rows, cols int)
// Two input vectors (x and x+cols) sharing every load of w, summed exactly
// as gemvAVX2 sums.
TEXT ·gemm2AVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), R10
	SHLQ $2, R10
	MOVQ w+16(FP), SI
	MOVQ x+24(FP), DX
	MOVQ rows+32(FP), R8
	MOVQ cols+40(FP), R9
	MOVQ R9, R11
	SHLQ $2, R11
	TAILMASK8(R9, Y15)
	SHRQ $3, R9

gemm2_block4:
	CMPQ   R8, $4
	JLT    gemm2_block1
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ   SI, R12
	LEAQ   (SI)(R11*2), R13
	MOVQ   DX, BX
	MOVQ   R9, CX
	TESTQ  CX, CX
	JZ     gemm2_tail4

gemm2_loop4:
	VMOVUPS     (BX), Y8
	VMOVUPS     (BX)(R11*1), Y9
	VMOVUPS     (R12), Y10
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y10, Y9, Y1
	VMOVUPS     (R12)(R11*1), Y11
	VFMADD231PS Y11, Y8, Y2
	VFMADD231PS Y11, Y9, Y3
	VMOVUPS     (R13), Y12
	VFMADD231PS Y12, Y8, Y4
	VFMADD231PS Y12, Y9, Y5
	VMOVUPS     (R13)(R11*1), Y13
	VFMADD231PS Y13, Y8, Y6
	VFMADD231PS Y13, Y9, Y7
	ADDQ        $32, BX
	ADDQ        $32, R12
	ADDQ        $32, R13
	DECQ        CX
	JNZ         gemm2_loop4

gemm2_tail4:
	VMASKMOVPS  (BX), Y15, Y8
	VMASKMOVPS  (BX)(R11*1), Y15, Y9
	VMASKMOVPS  (R12), Y15, Y10
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y10, Y9, Y1
	VMASKMOVPS  (R12)(R11*1), Y15, Y11
	VFMADD231PS Y11, Y8, Y2
	VFMADD231PS Y11, Y9, Y3
	VMASKMOVPS  (R13), Y15, Y12
	VFMADD231PS Y12, Y8, Y4
	VFMADD231PS Y12, Y9, Y5
	VMASKMOVPS  (R13)(R11*1), Y15, Y13
	VFMADD231PS Y13, Y8, Y6
	VFMADD231PS Y13, Y9, Y7
	HSUM8(Y0, X0, X14)
	HSUM8(Y1, X1, X14)
	HSUM8(Y2, X2, X14)
	HSUM8(Y3, X3, X14)
	HSUM8(Y4, X4, X14)
	HSUM8(Y5, X5, X14)
	HSUM8(Y6, X6, X14)
	HSUM8(Y7, X7, X14)
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
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ   SI, R12
	MOVQ   DX, BX
	MOVQ   R9, CX
	TESTQ  CX, CX
	JZ     gemm2_tail1

gemm2_loop1:
	VMOVUPS     (BX), Y8
	VMOVUPS     (BX)(R11*1), Y9
	VMOVUPS     (R12), Y10
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y10, Y9, Y1
	ADDQ        $32, BX
	ADDQ        $32, R12
	DECQ        CX
	JNZ         gemm2_loop1

gemm2_tail1:
	VMASKMOVPS  (BX), Y15, Y8
	VMASKMOVPS  (BX)(R11*1), Y15, Y9
	VMASKMOVPS  (R12), Y15, Y10
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y10, Y9, Y1
	HSUM8(Y0, X0, X14)
	HSUM8(Y1, X1, X14)
	VMOVSS      X0, (DI)
	VMOVSS      X1, (DI)(R10*1)
	ADDQ        $4, DI
	ADDQ        R11, SI
	DECQ        R8
	JMP         gemm2_block1

gemm2_done:
	VZEROUPPER
	RET

// func gemvQ8AVX2(out *float32, wq *int8, ws *float32, xq *int8, xs *float32, rows, cols, cpg, gpr int)
// Q8_0 matrix-vector product for group sizes that are multiples of 16
// (cpg = gs/16 chunks per group): each 16-byte chunk is widened to int16
// (VPMOVSXBW) and VPMADDWD multiplies and adds pairs into 8 exact int32
// lanes, lane l holding pairs 2l and 2l+1 of every chunk; the four-row
// blocks widen and multiply the chunk's two 8-byte halves in 128-bit
// registers (lanes 0-3 and 4-7, joined before the float step), the
// one-row loop the whole chunk in a 256-bit one. At the end of a group the
// lanes, converted to float, are added times ws[row,g]*xs[g] into an
// 8-lane float accumulator folded once per row. Rows go four at a time, a
// quarter of the matrix apart (rows i, i+q, i+2q, i+3q with q = rows/4),
// as in the AVX-512 kernels, then one at a time.
TEXT ·gemvQ8AVX2(SB), NOSPLIT, $16-72
	MOVQ out+0(FP), DI
	MOVQ wq+8(FP), SI
	MOVQ ws+16(FP), DX
	MOVQ rows+40(FP), R8
	MOVQ cols+48(FP), R11
	MOVQ gpr+64(FP), AX
	SHLQ $2, AX

	Q8SPREAD_SETUP(q8_rest)

q8_block4:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   SI, R12
	LEAQ   (SI)(R10*2), R13
	MOVQ   DX, R14
	MOVQ   xq+24(FP), BX
	MOVQ   xs+32(FP), R9
	MOVQ   gpr+64(FP), R15

q8_group4:
	// Fetch well ahead: with this many instructions per weight byte the
	// out-of-order window alone keeps too few cache misses in flight.
	PREFETCHT0 2048(R12)
	PREFETCHT0 2048(R12)(R10*1)
	PREFETCHT0 2048(R13)
	PREFETCHT0 2048(R13)(R10*1)
	VPXOR      X4, X4, X4
	VPXOR      X5, X5, X5
	VPXOR      X6, X6, X6
	VPXOR      X7, X7, X7
	VPXOR      X8, X8, X8
	VPXOR      X9, X9, X9
	VPXOR      X10, X10, X10
	VPXOR      X11, X11, X11
	MOVQ       cpg+56(FP), CX

q8_chunk4:
	// Each 16-byte chunk is widened as two 8-byte halves into 128-bit
	// registers: VPMOVSXBW to a 256-bit register crosses lanes and issues
	// at half the rate of these 128-bit multiplies on this class of core
	// (0.5 a cycle against 1), the 128-bit widening at four times its rate
	// (2; internal/cpuprobe measures all three). Row r's int32 lanes 0-3 (X4+2r) and 4-7
	// (X5+2r) are the one-row loop's eight lanes: lane l holds the pairs
	// 2l, 2l+1 of every chunk.
	VPMOVSXBW (BX), X12
	VPMOVSXBW 8(BX), X13
	VPMOVSXBW (R12), X14
	VPMOVSXBW 8(R12), X15
	VPMADDWD  X12, X14, X14
	VPMADDWD  X13, X15, X15
	VPADDD    X14, X4, X4
	VPADDD    X15, X5, X5
	VPMOVSXBW (R12)(R10*1), X14
	VPMOVSXBW 8(R12)(R10*1), X15
	VPMADDWD  X12, X14, X14
	VPMADDWD  X13, X15, X15
	VPADDD    X14, X6, X6
	VPADDD    X15, X7, X7
	VPMOVSXBW (R13), X14
	VPMOVSXBW 8(R13), X15
	VPMADDWD  X12, X14, X14
	VPMADDWD  X13, X15, X15
	VPADDD    X14, X8, X8
	VPADDD    X15, X9, X9
	VPMOVSXBW (R13)(R10*1), X14
	VPMOVSXBW 8(R13)(R10*1), X15
	VPMADDWD  X12, X14, X14
	VPMADDWD  X13, X15, X15
	VPADDD    X14, X10, X10
	VPADDD    X15, X11, X11
	ADDQ      $16, BX
	ADDQ      $16, R12
	ADDQ      $16, R13
	DECQ      CX
	JNZ       q8_chunk4

	// The eight lanes of each row joined into one register, then as
	// always: sums += float32(lanes) * (xs[g]*ws[row,g]).
	VBROADCASTSS (R9), Y12
	VBROADCASTSS (R14), Y13
	VBROADCASTSS (R14)(AX*1), Y14
	VMULPS       Y12, Y13, Y13
	VMULPS       Y12, Y14, Y14
	VINSERTI128  $1, X5, Y4, Y4
	VINSERTI128  $1, X7, Y6, Y6
	VCVTDQ2PS    Y4, Y4
	VCVTDQ2PS    Y6, Y6
	VFMADD231PS  Y13, Y4, Y0
	VFMADD231PS  Y14, Y6, Y1
	VBROADCASTSS (R14)(AX*2), Y13
	LEAQ         (R14)(AX*2), CX
	VBROADCASTSS (CX)(AX*1), Y14
	VMULPS       Y12, Y13, Y13
	VMULPS       Y12, Y14, Y14
	VINSERTI128  $1, X9, Y8, Y8
	VINSERTI128  $1, X11, Y10, Y10
	VCVTDQ2PS    Y8, Y8
	VCVTDQ2PS    Y10, Y10
	VFMADD231PS  Y13, Y8, Y2
	VFMADD231PS  Y14, Y10, Y3
	ADDQ         $4, R9
	ADDQ         $4, R14
	DECQ         R15
	JNZ          q8_group4

	HSUM8(Y0, X0, X8)
	HSUM8(Y1, X1, X8)
	HSUM8(Y2, X2, X8)
	HSUM8(Y3, X3, X8)
	Q8SPREAD_NEXT(q8_block4)
	Q8SPREAD_PAST

q8_rest:
	Q8SPREAD_REST

q8_block1:
	TESTQ  R8, R8
	JZ     q8_done
	VXORPS Y0, Y0, Y0
	MOVQ   SI, R12
	MOVQ   DX, R14
	MOVQ   xq+24(FP), BX
	MOVQ   xs+32(FP), R9
	MOVQ   gpr+64(FP), R15

q8_group1:
	VPMOVSXBW (BX), Y8
	VPMOVSXBW (R12), Y9
	VPMADDWD  Y9, Y8, Y4
	ADDQ      $16, BX
	ADDQ      $16, R12
	MOVQ      cpg+56(FP), CX
	DECQ      CX
	JZ        q8_scale1

q8_chunk1:
	VPMOVSXBW (BX), Y8
	VPMOVSXBW (R12), Y9
	VPMADDWD  Y9, Y8, Y9
	VPADDD    Y9, Y4, Y4
	ADDQ      $16, BX
	ADDQ      $16, R12
	DECQ      CX
	JNZ       q8_chunk1

q8_scale1:
	VBROADCASTSS (R9), Y8
	VBROADCASTSS (R14), Y9
	VMULPS       Y8, Y9, Y9
	VCVTDQ2PS    Y4, Y4
	VFMADD231PS  Y9, Y4, Y0
	ADDQ         $4, R9
	ADDQ         $4, R14
	DECQ         R15
	JNZ          q8_group1

	HSUM8(Y0, X0, X8)
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   R11, SI
	ADDQ   AX, DX
	DECQ   R8
	JMP    q8_block1

q8_done:
	VZEROUPPER
	RET

// func gemm3AVX2(out *float32, ldo int, w, x *float32, rows, cols int)
// Three input vectors (x, x+cols, x+2·cols) over four rows at a time: 12
// accumulators, each w chunk loaded once for three products, each x chunk
// once for four, summed exactly as gemvAVX2 sums (one 8-lane accumulator
// per output, chunks in order, the masked tail, HSUM8). With all 16
// registers taken, the tail goes in two steps (vectors 0 and 1, then 2),
// each accumulator still getting its one tail FMA. Rows left over go one
// at a time.
TEXT ·gemm3AVX2(SB), NOSPLIT, $32-48
	MOVQ    out+0(FP), DI
	MOVQ    ldo+8(FP), R10
	SHLQ    $2, R10
	MOVQ    w+16(FP), SI
	MOVQ    x+24(FP), DX
	MOVQ    rows+32(FP), R8
	MOVQ    cols+40(FP), R9
	MOVQ    R9, R11
	SHLQ    $2, R11
	TAILMASK8(R9, Y15)
	VMOVDQU Y15, mask-32(SP)
	SHRQ    $3, R9

gemm3_block4:
	CMPQ   R8, $4
	JLT    gemm3_block1
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	MOVQ   SI, R12
	LEAQ   (SI)(R11*2), R13
	MOVQ   DX, BX
	MOVQ   R9, CX
	TESTQ  CX, CX
	JZ     gemm3_tail4

gemm3_loop4:
	VMOVUPS     (BX), Y12
	VMOVUPS     (BX)(R11*1), Y13
	VMOVUPS     (BX)(R11*2), Y14
	VMOVUPS     (R12), Y15
	VFMADD231PS Y15, Y12, Y0
	VFMADD231PS Y15, Y13, Y1
	VFMADD231PS Y15, Y14, Y2
	VMOVUPS     (R12)(R11*1), Y15
	VFMADD231PS Y15, Y12, Y3
	VFMADD231PS Y15, Y13, Y4
	VFMADD231PS Y15, Y14, Y5
	VMOVUPS     (R13), Y15
	VFMADD231PS Y15, Y12, Y6
	VFMADD231PS Y15, Y13, Y7
	VFMADD231PS Y15, Y14, Y8
	VMOVUPS     (R13)(R11*1), Y15
	VFMADD231PS Y15, Y12, Y9
	VFMADD231PS Y15, Y13, Y10
	VFMADD231PS Y15, Y14, Y11
	ADDQ        $32, BX
	ADDQ        $32, R12
	ADDQ        $32, R13
	DECQ        CX
	JNZ         gemm3_loop4

gemm3_tail4:
	VMOVDQU     mask-32(SP), Y15
	VMASKMOVPS  (BX), Y15, Y12
	VMASKMOVPS  (BX)(R11*1), Y15, Y13
	VMASKMOVPS  (R12), Y15, Y14
	VFMADD231PS Y14, Y12, Y0
	VFMADD231PS Y14, Y13, Y1
	VMASKMOVPS  (R12)(R11*1), Y15, Y14
	VFMADD231PS Y14, Y12, Y3
	VFMADD231PS Y14, Y13, Y4
	VMASKMOVPS  (R13), Y15, Y14
	VFMADD231PS Y14, Y12, Y6
	VFMADD231PS Y14, Y13, Y7
	VMASKMOVPS  (R13)(R11*1), Y15, Y14
	VFMADD231PS Y14, Y12, Y9
	VFMADD231PS Y14, Y13, Y10
	VMASKMOVPS  (BX)(R11*2), Y15, Y12
	VMASKMOVPS  (R12), Y15, Y14
	VFMADD231PS Y14, Y12, Y2
	VMASKMOVPS  (R12)(R11*1), Y15, Y14
	VFMADD231PS Y14, Y12, Y5
	VMASKMOVPS  (R13), Y15, Y14
	VFMADD231PS Y14, Y12, Y8
	VMASKMOVPS  (R13)(R11*1), Y15, Y14
	VFMADD231PS Y14, Y12, Y11
	HSUM8(Y0, X0, X14)
	HSUM8(Y1, X1, X14)
	HSUM8(Y2, X2, X14)
	HSUM8(Y3, X3, X14)
	HSUM8(Y4, X4, X14)
	HSUM8(Y5, X5, X14)
	HSUM8(Y6, X6, X14)
	HSUM8(Y7, X7, X14)
	HSUM8(Y8, X8, X14)
	HSUM8(Y9, X9, X14)
	HSUM8(Y10, X10, X14)
	HSUM8(Y11, X11, X14)
	VMOVSS      X0, (DI)
	VMOVSS      X1, (DI)(R10*1)
	VMOVSS      X2, (DI)(R10*2)
	VMOVSS      X3, 4(DI)
	VMOVSS      X4, 4(DI)(R10*1)
	VMOVSS      X5, 4(DI)(R10*2)
	VMOVSS      X6, 8(DI)
	VMOVSS      X7, 8(DI)(R10*1)
	VMOVSS      X8, 8(DI)(R10*2)
	VMOVSS      X9, 12(DI)
	VMOVSS      X10, 12(DI)(R10*1)
	VMOVSS      X11, 12(DI)(R10*2)
	ADDQ        $16, DI
	LEAQ        (SI)(R11*4), SI
	SUBQ        $4, R8
	JMP         gemm3_block4

gemm3_block1:
	TESTQ   R8, R8
	JZ      gemm3_done
	VXORPS  Y0, Y0, Y0
	VXORPS  Y1, Y1, Y1
	VXORPS  Y2, Y2, Y2
	VMOVDQU mask-32(SP), Y15
	MOVQ    SI, R12
	MOVQ    DX, BX
	MOVQ    R9, CX
	TESTQ   CX, CX
	JZ      gemm3_tail1

gemm3_loop1:
	VMOVUPS     (BX), Y12
	VMOVUPS     (BX)(R11*1), Y13
	VMOVUPS     (BX)(R11*2), Y14
	VMOVUPS     (R12), Y10
	VFMADD231PS Y10, Y12, Y0
	VFMADD231PS Y10, Y13, Y1
	VFMADD231PS Y10, Y14, Y2
	ADDQ        $32, BX
	ADDQ        $32, R12
	DECQ        CX
	JNZ         gemm3_loop1

gemm3_tail1:
	VMASKMOVPS  (BX), Y15, Y12
	VMASKMOVPS  (BX)(R11*1), Y15, Y13
	VMASKMOVPS  (BX)(R11*2), Y15, Y14
	VMASKMOVPS  (R12), Y15, Y10
	VFMADD231PS Y10, Y12, Y0
	VFMADD231PS Y10, Y13, Y1
	VFMADD231PS Y10, Y14, Y2
	HSUM8(Y0, X0, X14)
	HSUM8(Y1, X1, X14)
	HSUM8(Y2, X2, X14)
	VMOVSS      X0, (DI)
	VMOVSS      X1, (DI)(R10*1)
	VMOVSS      X2, (DI)(R10*2)
	ADDQ        $4, DI
	ADDQ        R11, SI
	DECQ        R8
	JMP         gemm3_block1

gemm3_done:
	VZEROUPPER
	RET

// func gemmQ8AVX2(out *float32, ldo int, wq *int8, ws *float32, x16 *int16, xs *float32, rows, cols, cpg, gpr int)
//
// The Q8_0 product of rows (even) weight rows with three input vectors at
// once, for batched prefill: out[t·ldo+i] = w_i·x_t for t < 3. The vectors
// come already widened to int16 (x16: three rows of cols int16 each) and
// their scales xs are three rows of gpr floats. Two weight rows at a time:
// each 16-byte chunk of a row is widened once (VPMOVSXBW) and multiplied
// with the three vectors, six exact int32 accumulators (Y0-Y5) and six
// 8-lane float sums (Y6-Y11). Every row is summed exactly as gemvQ8AVX2
// sums it (the same lanes, the same FMA per group, the same HSUM8), so a
// row's bits do not depend on which kernel ran it: what is saved is the
// widening and the loads, and the multiplies come in independent chains.
//
// Registers: DI out (row i, vector 0), R10 ldo·4, SI row i, R11 cols,
// DX ws of row i, AX gpr·4 (the stride of both ws and xs), BX x16 chunk of
// vector 0, R12 cols·2 (x16's stride), R9 xs of group g of vector 0, R13
// ws of group g of row i, R14 chunk of row i, R8 pairs of rows left, R15
// groups left, CX chunks left.
TEXT ·gemmQ8AVX2(SB), NOSPLIT, $0-80
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), R10
	SHLQ $2, R10
	MOVQ wq+16(FP), SI
	MOVQ ws+24(FP), DX
	MOVQ rows+48(FP), R8
	SHRQ $1, R8
	JZ   gq8_done
	MOVQ cols+56(FP), R11
	MOVQ R11, R12
	SHLQ $1, R12
	MOVQ gpr+72(FP), AX
	SHLQ $2, AX

gq8_pair:
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	MOVQ   SI, R14
	MOVQ   DX, R13
	MOVQ   x16+32(FP), BX
	MOVQ   xs+40(FP), R9
	MOVQ   gpr+72(FP), R15

gq8_group:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	MOVQ  cpg+64(FP), CX

gq8_chunk:
	VPMOVSXBW (R14), Y12
	VPMADDWD  (BX), Y12, Y13
	VPADDD    Y13, Y0, Y0
	VPMADDWD  (BX)(R12*1), Y12, Y14
	VPADDD    Y14, Y1, Y1
	VPMADDWD  (BX)(R12*2), Y12, Y15
	VPADDD    Y15, Y2, Y2
	VPMOVSXBW (R14)(R11*1), Y12
	VPMADDWD  (BX), Y12, Y13
	VPADDD    Y13, Y3, Y3
	VPMADDWD  (BX)(R12*1), Y12, Y14
	VPADDD    Y14, Y4, Y4
	VPMADDWD  (BX)(R12*2), Y12, Y15
	VPADDD    Y15, Y5, Y5
	ADDQ      $16, R14
	ADDQ      $32, BX
	DECQ      CX
	JNZ       gq8_chunk

	// As gemvQ8AVX2: lanes += float32(lanes) * (ws[row,g]*xs[t,g]), the
	// six scale products taken as scalars and broadcast (the same float32
	// products, without six 8-lane multiplies on the FMA pipes).
	VMOVSS       (R13), X12
	VMULSS       (R9), X12, X13
	VMULSS       (R9)(AX*1), X12, X14
	VMULSS       (R9)(AX*2), X12, X15
	VBROADCASTSS X13, Y13
	VBROADCASTSS X14, Y14
	VBROADCASTSS X15, Y15
	VCVTDQ2PS    Y0, Y0
	VCVTDQ2PS    Y1, Y1
	VCVTDQ2PS    Y2, Y2
	VFMADD231PS  Y13, Y0, Y6
	VFMADD231PS  Y14, Y1, Y7
	VFMADD231PS  Y15, Y2, Y8
	VMOVSS       (R13)(AX*1), X12
	VMULSS       (R9), X12, X13
	VMULSS       (R9)(AX*1), X12, X14
	VMULSS       (R9)(AX*2), X12, X15
	VBROADCASTSS X13, Y13
	VBROADCASTSS X14, Y14
	VBROADCASTSS X15, Y15
	VCVTDQ2PS    Y3, Y3
	VCVTDQ2PS    Y4, Y4
	VCVTDQ2PS    Y5, Y5
	VFMADD231PS  Y13, Y3, Y9
	VFMADD231PS  Y14, Y4, Y10
	VFMADD231PS  Y15, Y5, Y11
	ADDQ         $4, R13
	ADDQ         $4, R9
	DECQ         R15
	JNZ          gq8_group

	HSUM8(Y6, X6, X12)
	HSUM8(Y7, X7, X12)
	HSUM8(Y8, X8, X12)
	HSUM8(Y9, X9, X12)
	HSUM8(Y10, X10, X12)
	HSUM8(Y11, X11, X12)
	VMOVSS X6, (DI)
	VMOVSS X7, (DI)(R10*1)
	VMOVSS X8, (DI)(R10*2)
	VMOVSS X9, 4(DI)
	VMOVSS X10, 4(DI)(R10*1)
	VMOVSS X11, 4(DI)(R10*2)
	ADDQ   $8, DI
	LEAQ   (SI)(R11*2), SI
	LEAQ   (DX)(AX*2), DX
	DECQ   R8
	JNZ    gq8_pair

gq8_done:
	VZEROUPPER
	RET
