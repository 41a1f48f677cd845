//go:build !noasm

#include "textflag.h"
#include "neonwords_arm64.h"

// The mix of attention over a 16-bit value cache (attn_h16_arm64.go).
// The instruction WORDs are in neonwords_arm64.h.

// H16MIX(LO, HI): for each position t, att[t] in every lane of V16, then
// eight columns at a time: the values converted (V1, V2), out loaded
// (V3, V4), one fused multiply-add each, out stored.
// R0 out, R1 att, R2 v (position t), R3 stride in bytes, R4 chunks of 8
// columns, R5 positions left; R6, R7, R8 walk one position.
#define H16MIX(LO, HI, TLOOP, CLOOP, DONE) \
	MOVD  out+0(FP), R0;              \
	MOVD  att+8(FP), R1;              \
	MOVD  v+16(FP), R2;               \
	MOVD  stride+24(FP), R3;          \
	LSL   $1, R3, R3;                 \
	MOVD  n+32(FP), R4;               \
	MOVD  nt+40(FP), R5;              \
	LSR   $3, R4, R4;                 \
	CBZ   R4, DONE;                   \
	CBZ   R5, DONE;                   \
TLOOP:;                               \
	VLD1R (R1), [V16.S4];             \
	ADD   $4, R1, R1;                 \
	MOVD  R0, R6;                     \
	MOVD  R2, R7;                     \
	MOVD  R4, R8;                     \
CLOOP:;                               \
	VLD1.P 16(R7), [V0.H8];           \
	VLD1   (R6), [V3.S4, V4.S4];      \
	LO(1, 0);                         \
	HI(2, 0);                         \
	WFMLA4S(3, 1, 16);                \
	WFMLA4S(4, 2, 16);                \
	VST1.P [V3.S4, V4.S4], 32(R6);    \
	SUBS   $1, R8, R8;                \
	BNE    CLOOP;                     \
	ADD    R3, R2, R2;                \
	SUBS   $1, R5, R5;                \
	BNE    TLOOP;                     \
DONE:;                                \
	RET

// func f16mixNEON(out, att *float32, v *uint16, stride, n, nt int)
TEXT ·f16mixNEON(SB), NOSPLIT, $0-48
	H16MIX(HFLO, HFHI, f16m_t, f16m_c, f16m_done)

// func bf16mixNEON(out, att *float32, v *uint16, stride, n, nt int)
TEXT ·bf16mixNEON(SB), NOSPLIT, $0-48
	H16MIX(BFLO, BFHI, bf16m_t, bf16m_c, bf16m_done)
