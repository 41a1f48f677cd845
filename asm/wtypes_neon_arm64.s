//go:build !noasm

#include "textflag.h"
#include "neonwords_arm64.h"

// NEON kernels for the 16-bit weight types (wtypes_simd.go spreads the
// rows and adds the column tails). Go's arm64 assembler lacks the vector
// float mnemonics, so they are WORDs, each use naming what it encodes.
// Each kernel takes one row or four (at w + k·stride bytes) and sums every
// row alike: per 8 columns, the first 4 products into accumulator a and
// the last 4 into b (fused multiply-add), then a+b and the lanes folded
// pairwise ((0+1)+(2+3)). n is a multiple of 8.

#define WFOLD(a, b) \
	WFADD4S(a, a, b);  \
	WFADDP4S(a, a, a); \
	WFADDPS(a, a)

// ROWSTEP converts row register r (8 weights) with LO/HI into t0/t1 and
// adds its products with x (V16, V17) to accumulators a, b.
#define ROWSTEP(LO, HI, r, t0, t1, a, b) \
	LO(t0, r);                \
	HI(t1, r);                \
	WFMLA4S(a, t0, 16);       \
	WFMLA4S(b, t1, 17)

#define H16X4N(LO, HI, LOOP, FOLD) \
	MOVD w+0(FP), R10;                  \
	MOVD stride+8(FP), R5;              \
	MOVD x+16(FP), R9;                  \
	MOVD n+24(FP), R6;                  \
	ADD  R5, R10, R11;                  \
	ADD  R5, R11, R12;                  \
	ADD  R5, R12, R13;                  \
	VEOR V0.B16, V0.B16, V0.B16;        \
	VEOR V1.B16, V1.B16, V1.B16;        \
	VEOR V2.B16, V2.B16, V2.B16;        \
	VEOR V3.B16, V3.B16, V3.B16;        \
	VEOR V4.B16, V4.B16, V4.B16;        \
	VEOR V5.B16, V5.B16, V5.B16;        \
	VEOR V6.B16, V6.B16, V6.B16;        \
	VEOR V7.B16, V7.B16, V7.B16;        \
	LSR  $3, R6, R6;                    \
	CBZ  R6, FOLD;                      \
LOOP:;                                  \
	VLD1.P 32(R9), [V16.S4, V17.S4];    \
	VLD1.P 16(R10), [V18.H8];           \
	VLD1.P 16(R11), [V19.H8];           \
	VLD1.P 16(R12), [V20.H8];           \
	VLD1.P 16(R13), [V21.H8];           \
	ROWSTEP(LO, HI, 18, 22, 23, 0, 1);  \
	ROWSTEP(LO, HI, 19, 24, 25, 2, 3);  \
	ROWSTEP(LO, HI, 20, 26, 27, 4, 5);  \
	ROWSTEP(LO, HI, 21, 28, 29, 6, 7);  \
	SUBS $1, R6, R6;                    \
	BNE  LOOP;                          \
FOLD:;                                  \
	WFOLD(0, 1);                        \
	WFOLD(2, 3);                        \
	WFOLD(4, 5);                        \
	WFOLD(6, 7);                        \
	MOVD  out+32(FP), R0;               \
	MOVD  ostride+40(FP), R1;           \
	FMOVS F0, (R0);                     \
	ADD   R1, R0, R0;                   \
	FMOVS F2, (R0);                     \
	ADD   R1, R0, R0;                   \
	FMOVS F4, (R0);                     \
	ADD   R1, R0, R0;                   \
	FMOVS F6, (R0);                     \
	RET

#define H16X1N(LO, HI, LOOP, FOLD) \
	MOVD w+0(FP), R10;                  \
	MOVD x+8(FP), R9;                   \
	MOVD n+16(FP), R6;                  \
	VEOR V0.B16, V0.B16, V0.B16;        \
	VEOR V1.B16, V1.B16, V1.B16;        \
	LSR  $3, R6, R6;                    \
	CBZ  R6, FOLD;                      \
LOOP:;                                  \
	VLD1.P 32(R9), [V16.S4, V17.S4];    \
	VLD1.P 16(R10), [V18.H8];           \
	ROWSTEP(LO, HI, 18, 22, 23, 0, 1);  \
	SUBS $1, R6, R6;                    \
	BNE  LOOP;                          \
FOLD:;                                  \
	WFOLD(0, 1);                        \
	FMOVS F0, ret+24(FP);               \
	RET

// The block kernels (SDOT, the ARMv8.2 dot-product extension): per
// block the int8 products are summed exactly in four int32 lanes, the
// lanes converted to float and added, times d·xs[b] (d the block's f16
// scale), into a 4-lane accumulator per row, folded pairwise at the end.
// Q4_0's nibbles are made signed (u-8) before the dot products, so no
// correction is needed.

// d.4s += dot products of the 4-byte groups of n.16b and m.16b (signed)
#define WSDOT4S(d, n, m) WORD $(0x4E809400|((m)<<16)|((n)<<5)|(d))
// scvtf d.4s, n.4s
#define WSCVTF4S(d, n) WORD $(0x4E21D800|((n)<<5)|(d))
// fcvt s_d, h_n
#define WFCVTSH(d, n) WORD $(0x1EE24000|((n)<<5)|(d))
// d.4s += n.4s * m.s[0]
#define WFMLAE(d, n, m) WORD $(0x4F801000|((m)<<16)|((n)<<5)|(d))
// d.16b = n.16b & m.16b
#define WAND16B(d, n, m) WORD $(0x4E201C00|((m)<<16)|((n)<<5)|(d))
// d.16b = n.16b - m.16b
#define WSUB16B(d, n, m) WORD $(0x6E208400|((m)<<16)|((n)<<5)|(d))
// d.16b = n.16b >> 4 (unsigned)
#define WUSHR4B(d, n) WORD $(0x6F0C0400|((n)<<5)|(d))

// BSCALEN sets s21 = d·xs[b] for the block at register p (xs[b] in s30).
#define BSCALEN(p) \
	MOVHU (p), R3;         \
	FMOVS R3, F21;         \
	WFCVTSH(21, 21);       \
	FMULS F30, F21, F21

// Q8ROWN adds the Q8_0 block at p (then p += 34) to accumulator a; x is
// in V16, V17.
#define Q8ROWN(p, a) \
	BSCALEN(p);                        \
	ADD    $2, p, R4;                  \
	VLD1   (R4), [V18.B16, V19.B16];   \
	VEOR   V20.B16, V20.B16, V20.B16;  \
	WSDOT4S(20, 18, 16);               \
	WSDOT4S(20, 19, 17);               \
	WSCVTF4S(20, 20);                  \
	WFMLAE(a, 20, 21);                 \
	ADD    $34, p, p

// Q4ROWN adds the Q4_0 block at p (then p += 18): low nibbles are weights
// 0..15 (with x in V16), high nibbles 16..31 (V17); V26 holds 0x0f bytes,
// V27 8s.
#define Q4ROWN(p, a) \
	BSCALEN(p);                        \
	ADD    $2, p, R4;                  \
	VLD1   (R4), [V18.B16];            \
	WUSHR4B(19, 18);                   \
	WAND16B(18, 18, 26);               \
	WSUB16B(18, 18, 27);               \
	WSUB16B(19, 19, 27);               \
	VEOR   V20.B16, V20.B16, V20.B16;  \
	WSDOT4S(20, 18, 16);               \
	WSDOT4S(20, 19, 17);               \
	WSCVTF4S(20, 20);                  \
	WFMLAE(a, 20, 21);                 \
	ADD    $18, p, p

#define BCONSTN \
	VMOVI $15, V26.B16; \
	VMOVI $8, V27.B16

#define BX4N(ROW, LOOP, FOLD) \
	MOVD w+0(FP), R10;                  \
	MOVD stride+8(FP), R5;              \
	MOVD xq+16(FP), R9;                 \
	MOVD xs+24(FP), R8;                 \
	MOVD nb+32(FP), R6;                 \
	ADD  R5, R10, R11;                  \
	ADD  R5, R11, R12;                  \
	ADD  R5, R12, R13;                  \
	BCONSTN;                            \
	VEOR V0.B16, V0.B16, V0.B16;        \
	VEOR V1.B16, V1.B16, V1.B16;        \
	VEOR V2.B16, V2.B16, V2.B16;        \
	VEOR V3.B16, V3.B16, V3.B16;        \
	CBZ  R6, FOLD;                      \
LOOP:;                                  \
	VLD1.P 32(R9), [V16.B16, V17.B16];  \
	FMOVS.P 4(R8), F30;                 \
	ROW(R10, 0);                        \
	ROW(R11, 1);                        \
	ROW(R12, 2);                        \
	ROW(R13, 3);                        \
	SUBS $1, R6, R6;                    \
	BNE  LOOP;                          \
FOLD:;                                  \
	WFADDP4S(0, 0, 0);                  \
	WFADDPS(0, 0);                      \
	WFADDP4S(1, 1, 1);                  \
	WFADDPS(1, 1);                      \
	WFADDP4S(2, 2, 2);                  \
	WFADDPS(2, 2);                      \
	WFADDP4S(3, 3, 3);                  \
	WFADDPS(3, 3);                      \
	MOVD  out+40(FP), R0;               \
	MOVD  ostride+48(FP), R1;           \
	FMOVS F0, (R0);                     \
	ADD   R1, R0, R0;                   \
	FMOVS F1, (R0);                     \
	ADD   R1, R0, R0;                   \
	FMOVS F2, (R0);                     \
	ADD   R1, R0, R0;                   \
	FMOVS F3, (R0);                     \
	RET

#define BX1N(ROW, LOOP, FOLD) \
	MOVD w+0(FP), R10;                  \
	MOVD xq+8(FP), R9;                  \
	MOVD xs+16(FP), R8;                 \
	MOVD nb+24(FP), R6;                 \
	BCONSTN;                            \
	VEOR V0.B16, V0.B16, V0.B16;        \
	CBZ  R6, FOLD;                      \
LOOP:;                                  \
	VLD1.P 32(R9), [V16.B16, V17.B16];  \
	FMOVS.P 4(R8), F30;                 \
	ROW(R10, 0);                        \
	SUBS $1, R6, R6;                    \
	BNE  LOOP;                          \
FOLD:;                                  \
	WFADDP4S(0, 0, 0);                  \
	WFADDPS(0, 0);                      \
	FMOVS F0, ret+32(FP);               \
	RET

// func bf16x4NEON(w *uint16, stride int, x *float32, n int, out *float32, ostride int)
TEXT ·bf16x4NEON(SB), NOSPLIT, $0-48
	H16X4N(BFLO, BFHI, nbf4_loop, nbf4_fold)

// func f16x4NEON(w *uint16, stride int, x *float32, n int, out *float32, ostride int)
TEXT ·f16x4NEON(SB), NOSPLIT, $0-48
	H16X4N(HFLO, HFHI, nhf4_loop, nhf4_fold)

// func bf16x1NEON(w *uint16, x *float32, n int) float32
TEXT ·bf16x1NEON(SB), NOSPLIT, $0-28
	H16X1N(BFLO, BFHI, nbf1_loop, nbf1_fold)

// func f16x1NEON(w *uint16, x *float32, n int) float32
TEXT ·f16x1NEON(SB), NOSPLIT, $0-28
	H16X1N(HFLO, HFHI, nhf1_loop, nhf1_fold)

// func q8bx4NEON(w *byte, stride int, xq *int8, xs *float32, nb int, out *float32, ostride int)
TEXT ·q8bx4NEON(SB), NOSPLIT, $0-56
	BX4N(Q8ROWN, nq84_loop, nq84_fold)

// func q40x4NEON(w *byte, stride int, xq *int8, xs *float32, nb int, out *float32, ostride int)
TEXT ·q40x4NEON(SB), NOSPLIT, $0-56
	BX4N(Q4ROWN, nq44_loop, nq44_fold)

// func q8bx1NEON(w *byte, xq *int8, xs *float32, nb int) float32
TEXT ·q8bx1NEON(SB), NOSPLIT, $0-36
	BX1N(Q8ROWN, nq81_loop, nq81_fold)

// func q40x1NEON(w *byte, xq *int8, xs *float32, nb int) float32
TEXT ·q40x1NEON(SB), NOSPLIT, $0-36
	BX1N(Q4ROWN, nq41_loop, nq41_fold)
