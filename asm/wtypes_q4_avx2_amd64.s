//go:build !noasm

#include "textflag.h"

// The AVX2 Q4_0 kernels, two rows to a register. A block's 16 bytes of
// nibbles of one row fill the low 128 bits and the next row's the high
// 128; the low nibbles (weights 0..15) multiply x[0..15] and the high
// nibbles (16..31) x[16..31], each x half broadcast to both lanes, so one
// VPMADDUBSW pair serves two rows. The nibbles u are unsigned (0..15):
// each lane sums u·x exactly in int32, and the 8·Σx that u-8 would take
// off is taken off once per row at the end, as Σ_b d_b·c_b with c_b =
// 8·Σx_b·xs_b (given by the caller, per block). Per block and row the
// lanes, as float, times d_b·xs_b go into a 4-lane accumulator (the low or
// high half of a register); a row's result is its 4 lanes folded
// ((0+2)+(1+3)) minus its correction. Both kernels sum every row alike.

// HSUM4 folds the 4 lanes of X into its low lane; T is scratch.
#define HSUM4(X, T) \
	VMOVHLPS  X, X, T; \
	VADDPS    T, X, X; \
	VMOVSHDUP X, T;    \
	VADDSS    T, X, X

// Q4PAIRDOT turns the pair's block nibbles in Y10 (one row per half; for
// one row the high half is zeros) into eight float lanes of int32 sums of
// u·x in Y11. Y8 and Y9 hold x[0..15] and x[16..31] in both halves, Y15
// the nibble mask, Y14 int16 ones; the int16 pair sums stay below
// 2·2·15·127.
#define Q4PAIRDOT \
	VPAND      Y15, Y10, Y11;  \
	VPSRLW     $4, Y10, Y10;   \
	VPAND      Y15, Y10, Y10;  \
	VPMADDUBSW Y8, Y11, Y11;   \
	VPMADDUBSW Y9, Y10, Y10;   \
	VPADDW     Y10, Y11, Y11;  \
	VPMADDWD   Y14, Y11, Y11;  \
	VCVTDQ2PS  Y11, Y11

// q4perm is VPERMPS's lane indices that spread the four rows' scales over
// the two pairs: 0 0 0 0 1 1 1 1, then 2 2 2 2 3 3 3 3.
DATA q4perm<>+0(SB)/4, $0
DATA q4perm<>+4(SB)/4, $0
DATA q4perm<>+8(SB)/4, $0
DATA q4perm<>+12(SB)/4, $0
DATA q4perm<>+16(SB)/4, $1
DATA q4perm<>+20(SB)/4, $1
DATA q4perm<>+24(SB)/4, $1
DATA q4perm<>+28(SB)/4, $1
DATA q4perm<>+32(SB)/4, $2
DATA q4perm<>+36(SB)/4, $2
DATA q4perm<>+40(SB)/4, $2
DATA q4perm<>+44(SB)/4, $2
DATA q4perm<>+48(SB)/4, $3
DATA q4perm<>+52(SB)/4, $3
DATA q4perm<>+56(SB)/4, $3
DATA q4perm<>+60(SB)/4, $3
GLOBL q4perm<>(SB), RODATA|NOPTR, $64

#define Q4CONST \
	MOVL         $0x00010001, AX; \
	VMOVD        AX, X14;         \
	VPBROADCASTD X14, Y14;        \
	MOVL         $0x0f0f0f0f, AX; \
	VMOVD        AX, X15;         \
	VPBROADCASTD X15, Y15

// func q40px4AVX2(w *byte, stride int, xq *int8, xs *float32, c *float32, nb int, out *float32, ostride int)
TEXT ·q40px4AVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ stride+8(FP), R10
	MOVQ xq+16(FP), BX
	MOVQ xs+24(FP), R9
	MOVQ c+32(FP), R8
	MOVQ nb+40(FP), CX
	LEAQ (SI)(R10*2), R12
	Q4CONST
	VMOVDQU      q4perm<>+0(SB), Y6
	VMOVDQU      q4perm<>+32(SB), Y7
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1
	VXORPS       X5, X5, X5          // the four corrections
	TESTQ        CX, CX
	JZ           q4p_fold

q4p_loop:
	PREFETCHT0     512(SI)
	PREFETCHT0     512(SI)(R10*1)
	PREFETCHT0     512(R12)
	PREFETCHT0     512(R12)(R10*1)
	VBROADCASTI128 (BX), Y8
	VBROADCASTI128 16(BX), Y9
	// The four rows' scales d, gathered in a general register (the vector
	// pipes are the busy ones), converted together; s = d·xs.
	MOVWLZX        (SI), AX
	MOVWLZX        (SI)(R10*1), DX
	SHLQ           $16, DX
	ORQ            DX, AX
	MOVWLZX        (R12), DX
	SHLQ           $32, DX
	ORQ            DX, AX
	MOVWLZX        (R12)(R10*1), DX
	SHLQ           $48, DX
	ORQ            DX, AX
	MOVQ           AX, X13
	VCVTPH2PS      X13, X13
	VBROADCASTSS   (R9), X12
	VMULPS         X12, X13, X12
	VBROADCASTSS   (R8), X4
	VFMADD231PS    X4, X13, X5         // corrections += d·c_b
	// Rows 0 and 1.
	VMOVDQU        2(SI), X10
	VINSERTI128    $1, 2(SI)(R10*1), Y10, Y10
	Q4PAIRDOT
	VPERMPS        Y12, Y6, Y13
	VFMADD231PS    Y13, Y11, Y0
	// Rows 2 and 3.
	VMOVDQU        2(R12), X10
	VINSERTI128    $1, 2(R12)(R10*1), Y10, Y10
	Q4PAIRDOT
	VPERMPS        Y12, Y7, Y13
	VFMADD231PS    Y13, Y11, Y1
	ADDQ           $18, SI
	ADDQ           $18, R12
	ADDQ           $32, BX
	ADDQ           $4, R9
	ADDQ           $4, R8
	DECQ           CX
	JNZ            q4p_loop

q4p_fold:
	VEXTRACTF128 $1, Y0, X2
	VEXTRACTF128 $1, Y1, X3
	HSUM4(X0, X8)
	HSUM4(X2, X8)
	HSUM4(X1, X8)
	HSUM4(X3, X8)
	MOVQ   out+48(FP), DI
	MOVQ   ostride+56(FP), R11
	VSUBSS X5, X0, X0
	VMOVSS X0, (DI)
	VMOVSHDUP X5, X4
	VSUBSS X4, X2, X2
	VMOVSS X2, (DI)(R11*1)
	LEAQ   (DI)(R11*2), DI
	VMOVHLPS X5, X5, X4
	VSUBSS X4, X1, X1
	VMOVSS X1, (DI)
	VPSHUFD $3, X5, X4
	VSUBSS X4, X3, X3
	VMOVSS X3, (DI)(R11*1)
	VZEROUPPER
	RET

// func q40px1AVX2(w *byte, xq *int8, xs *float32, c *float32, nb int) float32
TEXT ·q40px1AVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ xq+8(FP), BX
	MOVQ xs+16(FP), R9
	MOVQ c+24(FP), R8
	MOVQ nb+32(FP), CX
	Q4CONST
	VXORPS Y0, Y0, Y0
	VXORPS X5, X5, X5
	TESTQ  CX, CX
	JZ     q4p1_fold

q4p1_loop:
	VBROADCASTI128 (BX), Y8
	VBROADCASTI128 16(BX), Y9
	MOVWLZX        (SI), AX
	VMOVD          AX, X13
	VCVTPH2PS      X13, X13
	VMULSS         (R9), X13, X12
	VFMADD231SS    (R8), X13, X5
	VMOVDQU        2(SI), X10          // the high half is zero
	Q4PAIRDOT
	VBROADCASTSS   X12, Y13
	VFMADD231PS    Y13, Y11, Y0
	ADDQ           $18, SI
	ADDQ           $32, BX
	ADDQ           $4, R9
	ADDQ           $4, R8
	DECQ           CX
	JNZ            q4p1_loop

q4p1_fold:
	HSUM4(X0, X8)
	VSUBSS X5, X0, X0
	VMOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// The 128-bit Q4_0 kernels. On a core that splits 256-bit operations in
// two (Zen 1) a ymm instruction costs what two xmm ones do, and the
// lane-crossing moves the two-rows-per-register layout needs cost extra;
// these keep each row's block in one xmm register and never cross lanes.
// Per block and row: the nibbles u, the low ones (weights 0..15) by a mask
// and the high ones (16..31) by the inverted mask and a shift, both ANDs
// reading the block from memory; two VPMADDUBSW against x (|u·x| ≤ 15·128,
// int16 pairs ≤ 3840) and their sum, 8 int16 lanes of 4 products each
// (≤ 7680). The four rows' lanes are then folded together in int16 (a
// transpose by unpacks, each sum of at most 16 products ≤ 30720) and the
// last pair summed by VPMADDWD, giving row k's exact Σu·x in lane k. Less
// the block's 8·Σx (given, int32) that is exactly the reference's integer
// Σ(u-8)·x, and the float step is the reference's too:
// val += (float(sum)·d)·xs, each operation rounded in float32. So every
// row is the portable matVecQ4_0Go's bits, whichever kernel sums it.

// Q4ROW sets X to the 8 int16 lanes of the block at m (its f16 scale
// first) times the x block in X12 (x[0..15]) and X13 (x[16..31]); T is
// scratch. X15 holds the nibble mask.
#define Q4ROW(m, X, T) \
	VPAND      2 m, X15, X;  \
	VPANDN     2 m, X15, T;  \
	VPSRLW     $4, T, T;     \
	VPMADDUBSW X12, X, X;    \
	VPMADDUBSW X13, T, T;    \
	VPADDW     T, X, X

// Q4SUMS sets X4 to the four rows' exact Σu·x of the block at offset 0
// from SI, SI+R10, R12, R12+R10, int32 lane k for row k, with x[0..15] in
// X12 and x[16..31] in X13. Clobbers X5-X9. Rows a and b's lanes are
// interleaved by dwords (a0 b0 a1 b1 + a2 b2 a3 b3, each dword two int16),
// so are c and d's, then the two by quadwords (ab0 cd0 + ab1 cd1): int16
// pairs a a b b c c d d, which VPMADDWD against ones sums.
#define Q4SUMS \
	Q4ROW((SI), X4, X5);           \
	Q4ROW((SI)(R10*1), X6, X7);    \
	VPUNPCKLDQ  X6, X4, X5;        \
	VPUNPCKHDQ  X6, X4, X4;        \
	VPADDW      X5, X4, X4;        \
	Q4ROW((R12), X6, X7);          \
	Q4ROW((R12)(R10*1), X8, X9);   \
	VPUNPCKLDQ  X8, X6, X7;        \
	VPUNPCKHDQ  X8, X6, X6;        \
	VPADDW      X7, X6, X6;        \
	VPUNPCKLQDQ X6, X4, X5;        \
	VPUNPCKHQDQ X6, X4, X4;        \
	VPADDW      X5, X4, X4;        \
	VPMADDWD    X14, X4, X4

// func q40x4AVX2(w *byte, stride int, xq *int8, xs *float32, c8 *int32, nb int, out *float32, ostride int)
//
// Software-pipelined: each pass computes block b's integer sums (Q4SUMS)
// and, woven between those instructions, block b-1's float step from the
// sums the previous pass left in X1, so that the scheduler always has
// independent work at hand (the integer chain of a block is some 20
// cycles long). The float steps still run in block order, so the sum is
// the same.
TEXT ·q40x4AVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ stride+8(FP), R10
	MOVQ xq+16(FP), BX
	MOVQ xs+24(FP), R9
	MOVQ c8+32(FP), R8
	MOVQ nb+40(FP), CX
	LEAQ (SI)(R10*2), R12
	Q4CONST
	VXORPS  X0, X0, X0
	TESTQ   CX, CX
	JZ      q4x_store
	VMOVDQU (BX), X12
	VMOVDQU 16(BX), X13
	Q4SUMS
	VMOVDQA X4, X1
	ADDQ    $18, SI
	ADDQ    $18, R12
	ADDQ    $32, BX
	DECQ    CX
	JZ      q4x_last

	PCALIGN $64
q4x_loop:
	// Block b's sums, with block b-1's float step (X1; scales at -18
	// from the row pointers, c8 and xs at R8 and R9) in between.
	VMOVDQU        (BX), X12
	VMOVDQU        16(BX), X13
	VPBROADCASTD   (R8), X2
	VPAND          2(SI), X15, X4
	VPANDN         2(SI), X15, X5
	VPSUBD         X2, X1, X1          // Σu·x - 8·Σx = Σ(u-8)·x
	VPSRLW         $4, X5, X5
	VPMADDUBSW     X12, X4, X4
	MOVWLZX        -18(SI), AX         // the four scales d, in a general register
	VPMADDUBSW     X13, X5, X5
	VPADDW         X5, X4, X4
	MOVWLZX        -18(SI)(R10*1), DX
	VPAND          2(SI)(R10*1), X15, X6
	VPANDN         2(SI)(R10*1), X15, X7
	SHLQ           $16, DX
	VPSRLW         $4, X7, X7
	VPMADDUBSW     X12, X6, X6
	ORQ            DX, AX
	VPMADDUBSW     X13, X7, X7
	VPADDW         X7, X6, X6
	VCVTDQ2PS      X1, X1
	VPUNPCKLDQ     X6, X4, X5
	VPUNPCKHDQ     X6, X4, X4
	MOVWLZX        -18(R12), DX
	VPADDW         X5, X4, X4
	VPAND          2(R12), X15, X6
	SHLQ           $32, DX
	VPANDN         2(R12), X15, X7
	VPSRLW         $4, X7, X7
	ORQ            DX, AX
	VPMADDUBSW     X12, X6, X6
	VPMADDUBSW     X13, X7, X7
	MOVWLZX        -18(R12)(R10*1), DX
	VPADDW         X7, X6, X6
	VPAND          2(R12)(R10*1), X15, X8
	SHLQ           $48, DX
	VPANDN         2(R12)(R10*1), X15, X9
	VPSRLW         $4, X9, X9
	ORQ            DX, AX
	VPMADDUBSW     X12, X8, X8
	VPMADDUBSW     X13, X9, X9
	MOVQ           AX, X3
	VPADDW         X9, X8, X8
	VPUNPCKLDQ     X8, X6, X7
	VCVTPH2PS      X3, X3
	VPUNPCKHDQ     X8, X6, X6
	VPADDW         X7, X6, X6
	VMULPS         X3, X1, X1          // float(Σ)·d
	VPUNPCKLQDQ    X6, X4, X5
	VPUNPCKHQDQ    X6, X4, X4
	VBROADCASTSS   (R9), X2
	VPADDW         X5, X4, X4
	VPMADDWD       X14, X4, X4
	VMULPS         X2, X1, X1          // ·xs
	VADDPS         X1, X0, X0          // val +=
	VMOVDQA        X4, X1
	ADDQ           $18, SI
	ADDQ           $18, R12
	ADDQ           $32, BX
	ADDQ           $4, R9
	ADDQ           $4, R8
	DECQ           CX
	JNZ            q4x_loop

q4x_last:
	// The float step of the last block.
	VPBROADCASTD (R8), X2
	VPSUBD       X2, X1, X1
	VCVTDQ2PS    X1, X1
	MOVWLZX      -18(SI), AX
	MOVWLZX      -18(SI)(R10*1), DX
	SHLQ         $16, DX
	ORQ          DX, AX
	MOVWLZX      -18(R12), DX
	SHLQ         $32, DX
	ORQ          DX, AX
	MOVWLZX      -18(R12)(R10*1), DX
	SHLQ         $48, DX
	ORQ          DX, AX
	MOVQ         AX, X3
	VCVTPH2PS    X3, X3
	VMULPS       X3, X1, X1
	VBROADCASTSS (R9), X2
	VMULPS       X2, X1, X1
	VADDPS       X1, X0, X0

q4x_store:
	MOVQ       out+48(FP), DI
	MOVQ       ostride+56(FP), R11
	VMOVSS     X0, (DI)
	VEXTRACTPS $1, X0, (DI)(R11*1)
	LEAQ       (DI)(R11*2), DI
	VEXTRACTPS $2, X0, (DI)
	VEXTRACTPS $3, X0, (DI)(R11*1)
	RET

// func q40x8AVX2(w *byte, stride int, xq *int8, xs *float32, c8 *int32, nb int, out *float32, ostride int)
//
// q40x4AVX2 for eight rows (at w + k·stride, k = 0..7; results at out +
// k·ostride bytes): two four-row halves (rows 0-3 summed into X1 then
// X0, rows 4-7 into X2 then X3), each as q40x4AVX2 sums its rows, so every
// row is again the reference's bits. The x block, the loop and the c8 and
// xs loads are shared by eight rows instead of four: 8% fewer cycles a
// block than q40x4AVX2 in L1 on Zen 1 (3.96 against 4.30). Generated from
// the four-row kernel's pattern (each half's float step for block b-1
// woven between its integer instructions for block b); nb ≥ 1.
TEXT ·q40x8AVX2(SB), NOSPLIT, $0-64
	MOVQ           w+0(FP), SI
	MOVQ           stride+8(FP), R10
	MOVQ           xq+16(FP), BX
	MOVQ           xs+24(FP), R9
	MOVQ           c8+32(FP), R8
	MOVQ           nb+40(FP), CX
	LEAQ           (SI)(R10*2), R12
	LEAQ           (R12)(R10*2), R13
	LEAQ           (R13)(R10*2), R11
	MOVL           $0x00010001, AX
	VMOVD          AX, X14
	VPBROADCASTD   X14, X14
	MOVL           $0x0f0f0f0f, AX
	VMOVD          AX, X15
	VPBROADCASTD   X15, X15
	VXORPS         X0, X0, X0
	VXORPS         X3, X3, X3
	VMOVDQU        (BX), X12
	VMOVDQU        16(BX), X13
	VPAND          2(SI), X15, X4
	VPANDN         2(SI), X15, X5
	VPSRLW         $4, X5, X5
	VPMADDUBSW     X12, X4, X4
	VPMADDUBSW     X13, X5, X5
	VPADDW         X5, X4, X4
	VPAND          2(SI)(R10*1), X15, X6
	VPANDN         2(SI)(R10*1), X15, X7
	VPSRLW         $4, X7, X7
	VPMADDUBSW     X12, X6, X6
	VPMADDUBSW     X13, X7, X7
	VPADDW         X7, X6, X6
	VPUNPCKLDQ     X6, X4, X5
	VPUNPCKHDQ     X6, X4, X4
	VPADDW         X5, X4, X4
	VPAND          2(R12), X15, X6
	VPANDN         2(R12), X15, X7
	VPSRLW         $4, X7, X7
	VPMADDUBSW     X12, X6, X6
	VPMADDUBSW     X13, X7, X7
	VPADDW         X7, X6, X6
	VPAND          2(R12)(R10*1), X15, X8
	VPANDN         2(R12)(R10*1), X15, X9
	VPSRLW         $4, X9, X9
	VPMADDUBSW     X12, X8, X8
	VPMADDUBSW     X13, X9, X9
	VPADDW         X9, X8, X8
	VPUNPCKLDQ     X8, X6, X7
	VPUNPCKHDQ     X8, X6, X6
	VPADDW         X7, X6, X6
	VPUNPCKLQDQ    X6, X4, X5
	VPUNPCKHQDQ    X6, X4, X4
	VPADDW         X5, X4, X4
	VPMADDWD       X14, X4, X4
	VMOVDQA        X4, X1
	VPAND          2(R13), X15, X4
	VPANDN         2(R13), X15, X5
	VPSRLW         $4, X5, X5
	VPMADDUBSW     X12, X4, X4
	VPMADDUBSW     X13, X5, X5
	VPADDW         X5, X4, X4
	VPAND          2(R13)(R10*1), X15, X6
	VPANDN         2(R13)(R10*1), X15, X7
	VPSRLW         $4, X7, X7
	VPMADDUBSW     X12, X6, X6
	VPMADDUBSW     X13, X7, X7
	VPADDW         X7, X6, X6
	VPUNPCKLDQ     X6, X4, X5
	VPUNPCKHDQ     X6, X4, X4
	VPADDW         X5, X4, X4
	VPAND          2(R11), X15, X6
	VPANDN         2(R11), X15, X7
	VPSRLW         $4, X7, X7
	VPMADDUBSW     X12, X6, X6
	VPMADDUBSW     X13, X7, X7
	VPADDW         X7, X6, X6
	VPAND          2(R11)(R10*1), X15, X8
	VPANDN         2(R11)(R10*1), X15, X9
	VPSRLW         $4, X9, X9
	VPMADDUBSW     X12, X8, X8
	VPMADDUBSW     X13, X9, X9
	VPADDW         X9, X8, X8
	VPUNPCKLDQ     X8, X6, X7
	VPUNPCKHDQ     X8, X6, X6
	VPADDW         X7, X6, X6
	VPUNPCKLQDQ    X6, X4, X5
	VPUNPCKHQDQ    X6, X4, X4
	VPADDW         X5, X4, X4
	VPMADDWD       X14, X4, X4
	VMOVDQA        X4, X2
	ADDQ           $18, SI
	ADDQ           $18, R12
	ADDQ           $18, R13
	ADDQ           $18, R11
	ADDQ           $32, BX
	DECQ           CX
	JZ             q4x8_last
	PCALIGN $64
q4x8_loop:
	VMOVDQU        (BX), X12
	VMOVDQU        16(BX), X13
	VPBROADCASTD   (R8), X11
	VPAND          2(SI), X15, X4
	VPANDN         2(SI), X15, X5
	VPSUBD         X11, X1, X1
	VPSRLW         $4, X5, X5
	VPMADDUBSW     X12, X4, X4
	MOVWLZX        -18(SI), AX
	VPMADDUBSW     X13, X5, X5
	VPADDW         X5, X4, X4
	MOVWLZX        -18(SI)(R10*1), DX
	VPAND          2(SI)(R10*1), X15, X6
	VPANDN         2(SI)(R10*1), X15, X7
	SHLQ           $16, DX
	VPSRLW         $4, X7, X7
	VPMADDUBSW     X12, X6, X6
	ORQ            DX, AX
	VPMADDUBSW     X13, X7, X7
	VPADDW         X7, X6, X6
	VCVTDQ2PS      X1, X1
	VPUNPCKLDQ     X6, X4, X5
	VPUNPCKHDQ     X6, X4, X4
	MOVWLZX        -18(R12), DX
	VPADDW         X5, X4, X4
	VPAND          2(R12), X15, X6
	SHLQ           $32, DX
	VPANDN         2(R12), X15, X7
	VPSRLW         $4, X7, X7
	ORQ            DX, AX
	VPMADDUBSW     X12, X6, X6
	VPMADDUBSW     X13, X7, X7
	MOVWLZX        -18(R12)(R10*1), DX
	VPADDW         X7, X6, X6
	VPAND          2(R12)(R10*1), X15, X8
	SHLQ           $48, DX
	VPANDN         2(R12)(R10*1), X15, X9
	VPSRLW         $4, X9, X9
	ORQ            DX, AX
	VPMADDUBSW     X12, X8, X8
	VPMADDUBSW     X13, X9, X9
	MOVQ           AX, X10
	VPADDW         X9, X8, X8
	VPUNPCKLDQ     X8, X6, X7
	VCVTPH2PS      X10, X10
	VPUNPCKHDQ     X8, X6, X6
	VPADDW         X7, X6, X6
	VMULPS         X10, X1, X1
	VPUNPCKLQDQ    X6, X4, X5
	VPUNPCKHQDQ    X6, X4, X4
	VBROADCASTSS   (R9), X11
	VPADDW         X5, X4, X4
	VPMADDWD       X14, X4, X4
	VMULPS         X11, X1, X1
	VADDPS         X1, X0, X0
	VMOVDQA        X4, X1
	VPAND          2(R13), X15, X4
	VPANDN         2(R13), X15, X5
	VPBROADCASTD   (R8), X11
	VPSRLW         $4, X5, X5
	VPMADDUBSW     X12, X4, X4
	VPSUBD         X11, X2, X2
	VPMADDUBSW     X13, X5, X5
	VPADDW         X5, X4, X4
	MOVWLZX        -18(R13), AX
	VPAND          2(R13)(R10*1), X15, X6
	VPANDN         2(R13)(R10*1), X15, X7
	MOVWLZX        -18(R13)(R10*1), DX
	VPSRLW         $4, X7, X7
	VPMADDUBSW     X12, X6, X6
	SHLQ           $16, DX
	VPMADDUBSW     X13, X7, X7
	VPADDW         X7, X6, X6
	ORQ            DX, AX
	VPUNPCKLDQ     X6, X4, X5
	VPUNPCKHDQ     X6, X4, X4
	VCVTDQ2PS      X2, X2
	VPADDW         X5, X4, X4
	VPAND          2(R11), X15, X6
	MOVWLZX        -18(R11), DX
	VPANDN         2(R11), X15, X7
	VPSRLW         $4, X7, X7
	SHLQ           $32, DX
	VPMADDUBSW     X12, X6, X6
	VPMADDUBSW     X13, X7, X7
	ORQ            DX, AX
	VPADDW         X7, X6, X6
	VPAND          2(R11)(R10*1), X15, X8
	MOVWLZX        -18(R11)(R10*1), DX
	VPANDN         2(R11)(R10*1), X15, X9
	VPSRLW         $4, X9, X9
	SHLQ           $48, DX
	VPMADDUBSW     X12, X8, X8
	VPMADDUBSW     X13, X9, X9
	ORQ            DX, AX
	VPADDW         X9, X8, X8
	VPUNPCKLDQ     X8, X6, X7
	MOVQ           AX, X10
	VPUNPCKHDQ     X8, X6, X6
	VPADDW         X7, X6, X6
	VCVTPH2PS      X10, X10
	VPUNPCKLQDQ    X6, X4, X5
	VPUNPCKHQDQ    X6, X4, X4
	VMULPS         X10, X2, X2
	VPADDW         X5, X4, X4
	VPMADDWD       X14, X4, X4
	VBROADCASTSS   (R9), X11
	VMULPS         X11, X2, X2
	VADDPS         X2, X3, X3
	VMOVDQA        X4, X2
	ADDQ           $18, SI
	ADDQ           $18, R12
	ADDQ           $18, R13
	ADDQ           $18, R11
	ADDQ           $32, BX
	ADDQ           $4, R9
	ADDQ           $4, R8
	DECQ           CX
	JNZ            q4x8_loop
q4x8_last:
	VPBROADCASTD   (R8), X11
	VPSUBD         X11, X1, X1
	MOVWLZX        -18(SI), AX
	MOVWLZX        -18(SI)(R10*1), DX
	SHLQ           $16, DX
	ORQ            DX, AX
	VCVTDQ2PS      X1, X1
	MOVWLZX        -18(R12), DX
	SHLQ           $32, DX
	ORQ            DX, AX
	MOVWLZX        -18(R12)(R10*1), DX
	SHLQ           $48, DX
	ORQ            DX, AX
	MOVQ           AX, X10
	VCVTPH2PS      X10, X10
	VMULPS         X10, X1, X1
	VBROADCASTSS   (R9), X11
	VMULPS         X11, X1, X1
	VADDPS         X1, X0, X0
	VPBROADCASTD   (R8), X11
	VPSUBD         X11, X2, X2
	MOVWLZX        -18(R13), AX
	MOVWLZX        -18(R13)(R10*1), DX
	SHLQ           $16, DX
	ORQ            DX, AX
	VCVTDQ2PS      X2, X2
	MOVWLZX        -18(R11), DX
	SHLQ           $32, DX
	ORQ            DX, AX
	MOVWLZX        -18(R11)(R10*1), DX
	SHLQ           $48, DX
	ORQ            DX, AX
	MOVQ           AX, X10
	VCVTPH2PS      X10, X10
	VMULPS         X10, X2, X2
	VBROADCASTSS   (R9), X11
	VMULPS         X11, X2, X2
	VADDPS         X2, X3, X3
	MOVQ           out+48(FP), DI
	MOVQ           ostride+56(FP), DX
	VMOVSS         X0, (DI)
	VEXTRACTPS     $1, X0, (DI)(DX*1)
	LEAQ           (DI)(DX*2), DI
	VEXTRACTPS     $2, X0, (DI)
	VEXTRACTPS     $3, X0, (DI)(DX*1)
	LEAQ           (DI)(DX*2), DI
	VMOVSS         X3, (DI)
	VEXTRACTPS     $1, X3, (DI)(DX*1)
	LEAQ           (DI)(DX*2), DI
	VEXTRACTPS     $2, X3, (DI)
	VEXTRACTPS     $3, X3, (DI)(DX*1)
	RET


// func q40x1AVX2(w *byte, xq *int8, xs *float32, c8 *int32, nb int) float32
TEXT ·q40x1AVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ xq+8(FP), BX
	MOVQ xs+16(FP), R9
	MOVQ c8+24(FP), R8
	MOVQ nb+32(FP), CX
	Q4CONST
	VXORPS X0, X0, X0
	TESTQ  CX, CX
	JZ     q4x1_fold

q4x1_loop:
	VMOVDQU   (BX), X12
	VMOVDQU   16(BX), X13
	Q4ROW((SI), X4, X5)
	VPMADDWD  X14, X4, X4
	VPSHUFD   $0x4e, X4, X5
	VPADDD    X5, X4, X4
	VPSHUFD   $0xb1, X4, X5
	VPADDD    X5, X4, X4
	VMOVD     (R8), X5
	VPSUBD    X5, X4, X4
	VCVTDQ2PS X4, X4
	MOVWLZX   (SI), AX
	VMOVD     AX, X7
	VCVTPH2PS X7, X7
	VMULSS    X7, X4, X4
	VMULSS    (R9), X4, X4
	VADDSS    X4, X0, X0
	ADDQ      $18, SI
	ADDQ      $32, BX
	ADDQ      $4, R9
	ADDQ      $4, R8
	DECQ      CX
	JNZ       q4x1_loop

q4x1_fold:
	VMOVSS X0, ret+40(FP)
	RET
