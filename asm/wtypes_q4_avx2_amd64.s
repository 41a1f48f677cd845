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
