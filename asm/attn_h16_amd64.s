//go:build !noasm

#include "textflag.h"
#include "hsum_amd64.h"

// Attention over a 16-bit key/value cache (see attn_h16_amd64.go). R9 is
// scratch for the one-value conversions.

#define CV8F16(m, Y) \
	VCVTPH2PS m, Y

#define CV8BF16(m, Y) \
	VPMOVZXWD m, Y; \
	VPSLLD    $16, Y, Y

#define CV1F16(m, X) \
	MOVWLZX   m, R9; \
	VMOVD     R9, X; \
	VCVTPH2PS X, X

#define CV1BF16(m, X) \
	MOVWLZX m, R9; \
	SHLL    $16, R9; \
	VMOVD   R9, X

// SCORES(CV8, CV1): out[t] = (q · k[t]) / div for t < nt.
// DI out, R8 q, SI k (row t), R10 stride in bytes, CX n, R11 nt.
#define SCORES(CV8, CV1, ROW, L16, E8, FOLD, TAIL, TAILL, STORE, DONE) \
	MOVQ   out+0(FP), DI;       \
	MOVQ   q+8(FP), R8;         \
	MOVQ   k+16(FP), SI;        \
	MOVQ   stride+24(FP), R10;  \
	SHLQ   $1, R10;             \
	MOVQ   n+32(FP), CX;        \
	MOVQ   nt+40(FP), R11;      \
	VMOVSS div+48(FP), X15;     \
ROW:;                           \
	VXORPS Y0, Y0, Y0;          \
	VXORPS Y1, Y1, Y1;          \
	MOVQ   SI, AX;              \
	MOVQ   R8, DX;              \
	MOVQ   CX, BX;              \
	SHRQ   $4, BX;              \
	JZ     E8;                  \
L16:;                           \
	VMOVUPS     (DX), Y8;       \
	VMOVUPS     32(DX), Y9;     \
	CV8((AX), Y10);             \
	CV8(16(AX), Y11);           \
	VFMADD231PS Y8, Y10, Y0;    \
	VFMADD231PS Y9, Y11, Y1;    \
	ADDQ        $32, AX;        \
	ADDQ        $64, DX;        \
	DECQ        BX;             \
	JNZ         L16;            \
E8:;                            \
	TESTQ       $8, CX;         \
	JZ          FOLD;           \
	VMOVUPS     (DX), Y8;       \
	CV8((AX), Y10);             \
	VFMADD231PS Y8, Y10, Y0;    \
	ADDQ        $16, AX;        \
	ADDQ        $32, DX;        \
FOLD:;                          \
	VADDPS       Y1, Y0, Y0;    \
	HSUM8(Y0, X0, X1);          \
	MOVQ         CX, BX;        \
	ANDQ         $7, BX;        \
	JZ           STORE;         \
TAILL:;                         \
	VMOVSS      (DX), X8;       \
	CV1((AX), X10);             \
	VFMADD231SS X8, X10, X0;    \
	ADDQ        $2, AX;         \
	ADDQ        $4, DX;         \
	DECQ        BX;             \
	JNZ         TAILL;          \
STORE:;                         \
	VDIVSS X15, X0, X0;         \
	VMOVSS X0, (DI);            \
	ADDQ   $4, DI;              \
	ADDQ   R10, SI;             \
	DECQ   R11;                 \
	JNZ    ROW;                 \
DONE:;                          \
	VZEROUPPER;                 \
	RET

// SCORES4(CV8): SCORES for four positions at a time, for n a multiple of
// 8: each position keeps its own two accumulators and is folded, divided
// and stored exactly as SCORES does it, so every score has the same bits;
// the four share each load of q, and their independent chains keep the
// converter and the FMA units busy where one position's chain waits.
// DI out, R8 q, SI k (row t), R10 stride in bytes, R12 3·stride, CX n,
// R11 groups of four positions.
#define SCORES4(CV8, ROW, L16, E8, FOLD, DONE) \
	MOVQ   out+0(FP), DI;             \
	MOVQ   q+8(FP), R8;               \
	MOVQ   k+16(FP), SI;              \
	MOVQ   stride+24(FP), R10;        \
	SHLQ   $1, R10;                   \
	LEAQ   (R10)(R10*2), R12;         \
	MOVQ   n+32(FP), CX;              \
	MOVQ   groups+40(FP), R11;        \
	VMOVSS div+48(FP), X15;           \
ROW:;                                 \
	VXORPS Y0, Y0, Y0;                \
	VXORPS Y1, Y1, Y1;                \
	VXORPS Y2, Y2, Y2;                \
	VXORPS Y3, Y3, Y3;                \
	VXORPS Y4, Y4, Y4;                \
	VXORPS Y5, Y5, Y5;                \
	VXORPS Y6, Y6, Y6;                \
	VXORPS Y7, Y7, Y7;                \
	MOVQ   SI, AX;                    \
	MOVQ   R8, DX;                    \
	MOVQ   CX, BX;                    \
	SHRQ   $4, BX;                    \
	JZ     E8;                        \
L16:;                                 \
	VMOVUPS     (DX), Y8;             \
	VMOVUPS     32(DX), Y9;           \
	CV8((AX), Y10);                   \
	CV8(16(AX), Y11);                 \
	VFMADD231PS Y8, Y10, Y0;          \
	VFMADD231PS Y9, Y11, Y1;          \
	CV8((AX)(R10*1), Y12);            \
	CV8(16(AX)(R10*1), Y13);          \
	VFMADD231PS Y8, Y12, Y2;          \
	VFMADD231PS Y9, Y13, Y3;          \
	CV8((AX)(R10*2), Y10);            \
	CV8(16(AX)(R10*2), Y11);          \
	VFMADD231PS Y8, Y10, Y4;          \
	VFMADD231PS Y9, Y11, Y5;          \
	CV8((AX)(R12*1), Y12);            \
	CV8(16(AX)(R12*1), Y13);          \
	VFMADD231PS Y8, Y12, Y6;          \
	VFMADD231PS Y9, Y13, Y7;          \
	ADDQ        $32, AX;              \
	ADDQ        $64, DX;              \
	DECQ        BX;                   \
	JNZ         L16;                  \
E8:;                                  \
	TESTQ       $8, CX;               \
	JZ          FOLD;                 \
	VMOVUPS     (DX), Y8;             \
	CV8((AX), Y10);                   \
	VFMADD231PS Y8, Y10, Y0;          \
	CV8((AX)(R10*1), Y11);            \
	VFMADD231PS Y8, Y11, Y2;          \
	CV8((AX)(R10*2), Y12);            \
	VFMADD231PS Y8, Y12, Y4;          \
	CV8((AX)(R12*1), Y13);            \
	VFMADD231PS Y8, Y13, Y6;          \
FOLD:;                                \
	VADDPS       Y1, Y0, Y0;          \
	HSUM8(Y0, X0, X1);                \
	VADDPS       Y3, Y2, Y2;          \
	HSUM8(Y2, X2, X3);                \
	VADDPS       Y5, Y4, Y4;          \
	HSUM8(Y4, X4, X5);                \
	VADDPS       Y7, Y6, Y6;          \
	HSUM8(Y6, X6, X7);                \
	VDIVSS       X15, X0, X0;         \
	VDIVSS       X15, X2, X2;         \
	VDIVSS       X15, X4, X4;         \
	VDIVSS       X15, X6, X6;         \
	VMOVSS       X0, (DI);            \
	VMOVSS       X2, 4(DI);           \
	VMOVSS       X4, 8(DI);           \
	VMOVSS       X6, 12(DI);          \
	ADDQ         $16, DI;             \
	LEAQ         (SI)(R10*4), SI;     \
	DECQ         R11;                 \
	JNZ          ROW;                 \
DONE:;                                \
	VZEROUPPER;                       \
	RET

// MIX(CV8, CV1, SH, O1, O2, O3): out[i] += att[t]*v[t][i] for t < nt,
// i < n: 32 columns at a time in four accumulators, then 8, then one by
// one. Values are 1<<SH bytes; O1-O3 are the byte offsets of 8, 16 and 24
// values.
// DI out, R8 att, SI v (column block), R10 stride in bytes, CX columns
// left, R11 nt.
#define MIX(CV8, CV1, SH, O1, O2, O3, B32, L32, B8, L8, B1, L1, DONE) \
	MOVQ out+0(FP), DI;         \
	MOVQ att+8(FP), R8;         \
	MOVQ v+16(FP), SI;          \
	MOVQ stride+24(FP), R10;    \
	SHLQ $SH, R10;              \
	MOVQ n+32(FP), CX;          \
	MOVQ nt+40(FP), R11;        \
B32:;                           \
	CMPQ    CX, $32;            \
	JLT     B8;                 \
	VMOVUPS (DI), Y0;           \
	VMOVUPS 32(DI), Y1;         \
	VMOVUPS 64(DI), Y2;         \
	VMOVUPS 96(DI), Y3;         \
	MOVQ    SI, AX;             \
	MOVQ    R8, BX;             \
	MOVQ    R11, DX;            \
L32:;                           \
	VBROADCASTSS (BX), Y4;      \
	CV8((AX), Y5);              \
	CV8(O1(AX), Y6);            \
	CV8(O2(AX), Y7);            \
	CV8(O3(AX), Y8);            \
	VFMADD231PS  Y4, Y5, Y0;    \
	VFMADD231PS  Y4, Y6, Y1;    \
	VFMADD231PS  Y4, Y7, Y2;    \
	VFMADD231PS  Y4, Y8, Y3;    \
	ADDQ         $4, BX;        \
	ADDQ         R10, AX;       \
	DECQ         DX;            \
	JNZ          L32;           \
	VMOVUPS Y0, (DI);           \
	VMOVUPS Y1, 32(DI);         \
	VMOVUPS Y2, 64(DI);         \
	VMOVUPS Y3, 96(DI);         \
	ADDQ    $128, DI;           \
	ADDQ    $(4*O1), SI;        \
	SUBQ    $32, CX;            \
	JMP     B32;                \
B8:;                            \
	CMPQ    CX, $8;             \
	JLT     B1;                 \
	VMOVUPS (DI), Y0;           \
	MOVQ    SI, AX;             \
	MOVQ    R8, BX;             \
	MOVQ    R11, DX;            \
L8:;                            \
	VBROADCASTSS (BX), Y4;      \
	CV8((AX), Y5);              \
	VFMADD231PS  Y4, Y5, Y0;    \
	ADDQ         $4, BX;        \
	ADDQ         R10, AX;       \
	DECQ         DX;            \
	JNZ          L8;            \
	VMOVUPS Y0, (DI);           \
	ADDQ    $32, DI;            \
	ADDQ    $O1, SI;            \
	SUBQ    $8, CX;             \
	JMP     B8;                 \
B1:;                            \
	TESTQ   CX, CX;             \
	JZ      DONE;               \
	VMOVSS  (DI), X0;           \
	MOVQ    SI, AX;             \
	MOVQ    R8, BX;             \
	MOVQ    R11, DX;            \
L1:;                            \
	VMOVSS      (BX), X4;       \
	CV1((AX), X5);              \
	VFMADD231SS X4, X5, X0;     \
	ADDQ        $4, BX;         \
	ADDQ        R10, AX;        \
	DECQ        DX;             \
	JNZ         L1;             \
	VMOVSS  X0, (DI);           \
	ADDQ    $4, DI;             \
	ADDQ    $(O1/8), SI;        \
	DECQ    CX;                 \
	JMP     B1;                 \
DONE:;                          \
	VZEROUPPER;                 \
	RET

// func f16scoresAVX2(out, q *float32, k *uint16, stride, n, nt int, div float32)
TEXT ·f16scoresAVX2(SB), NOSPLIT, $0-52
	SCORES(CV8F16, CV1F16, hs_row, hs_l16, hs_e8, hs_fold, hs_tail, hs_taill, hs_store, hs_done)

// func bf16scoresAVX2(out, q *float32, k *uint16, stride, n, nt int, div float32)
TEXT ·bf16scoresAVX2(SB), NOSPLIT, $0-52
	SCORES(CV8BF16, CV1BF16, bs_row, bs_l16, bs_e8, bs_fold, bs_tail, bs_taill, bs_store, bs_done)

// func f16mixAVX2(out, att *float32, v *uint16, stride, n, nt int)
TEXT ·f16mixAVX2(SB), NOSPLIT, $0-48
	MIX(CV8F16, CV1F16, 1, 16, 32, 48, hm_b32, hm_l32, hm_b8, hm_l8, hm_b1, hm_l1, hm_done)

// func bf16mixAVX2(out, att *float32, v *uint16, stride, n, nt int)
TEXT ·bf16mixAVX2(SB), NOSPLIT, $0-48
	MIX(CV8BF16, CV1BF16, 1, 16, 32, 48, bm_b32, bm_l32, bm_b8, bm_l8, bm_b1, bm_l1, bm_done)

// func f16scores4AVX2(out, q *float32, k *uint16, stride, n, groups int, div float32)
TEXT ·f16scores4AVX2(SB), NOSPLIT, $0-52
	SCORES4(CV8F16, hs4_row, hs4_l16, hs4_e8, hs4_fold, hs4_done)

// func bf16scores4AVX2(out, q *float32, k *uint16, stride, n, groups int, div float32)
TEXT ·bf16scores4AVX2(SB), NOSPLIT, $0-52
	SCORES4(CV8BF16, bs4_row, bs4_l16, bs4_e8, bs4_fold, bs4_done)

#define CV8F32(m, Y) \
	VMOVUPS m, Y

#define CV1F32(m, X) \
	VMOVSS m, X

// func f32mixAVX2(out, att *float32, v *float32, stride, n, nt int)
TEXT ·f32mixAVX2(SB), NOSPLIT, $0-48
	MIX(CV8F32, CV1F32, 2, 32, 64, 96, fm_b32, fm_l32, fm_b8, fm_l8, fm_b1, fm_l1, fm_done)
