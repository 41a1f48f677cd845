//go:build !noasm

#include "textflag.h"

// NEON kernels for the 16-bit weight types (wtypes_simd.go spreads the
// rows and adds the column tails). Go's arm64 assembler lacks the vector
// float mnemonics, so they are WORDs, each use naming what it encodes.
// Each kernel takes one row or four (at w + k·stride bytes) and sums every
// row alike: per 8 columns, the first 4 products into accumulator a and
// the last 4 into b (fused multiply-add), then a+b and the lanes folded
// pairwise ((0+1)+(2+3)). n is a multiple of 8.

// d.4s += n.4s * m.4s
#define WFMLA4S(d, n, m) WORD $(0x4E20CC00|((m)<<16)|((n)<<5)|(d))
// d.4s = n.4s + m.4s
#define WFADD4S(d, n, m) WORD $(0x4E20D400|((m)<<16)|((n)<<5)|(d))
// d.4s = pairwise sums of n.4s then m.4s
#define WFADDP4S(d, n, m) WORD $(0x6E20D400|((m)<<16)|((n)<<5)|(d))
// s_d = n.s[0] + n.s[1]
#define WFADDPS(d, n) WORD $(0x7E30D800|((n)<<5)|(d))
// shll d.4s, n.4h, #16: the low 4 bf16 of n as float32
#define BFLO(d, n) WORD $(0x2E613800|((n)<<5)|(d))
// shll2 d.4s, n.8h, #16: the high 4
#define BFHI(d, n) WORD $(0x6E613800|((n)<<5)|(d))
// fcvtl d.4s, n.4h: the low 4 f16 of n as float32
#define HFLO(d, n) WORD $(0x0E217800|((n)<<5)|(d))
// fcvtl2 d.4s, n.8h: the high 4
#define HFHI(d, n) WORD $(0x4E217800|((n)<<5)|(d))

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
