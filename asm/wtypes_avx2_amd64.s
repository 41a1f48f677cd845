//go:build !noasm

#include "textflag.h"
#include "hsum_amd64.h"

// AVX2 kernels for the 16-bit and block weight types (wtypes_amd64.go
// spreads the rows and adds the column tails). Each kernel takes one row or
// four rows (at w, w+stride, w+2·stride, w+3·stride) and sums every row
// the same way in both: for the 16-bit types two 8-lane accumulators,
// columns j%16 < 8 in the first, then one more chunk of 8 into the first
// when n%16 = 8, the two added and folded by halves; for the block types
// one 8-lane accumulator gets each block's eight int32 lane sums, converted
// to float and times d·xs[b], block after block.

// CVF16 converts the eight f16 weights at m into the float32 lanes of Y
// (F16C).
#define CVF16(m, Y) \
	VCVTPH2PS m, Y

// H16X4 is the body of a four-row 16-bit kernel with conversion CV.
#define H16X4(CV, LOOP, EIGHT, FOLD) \
	MOVQ   w+0(FP), SI;          \
	MOVQ   stride+8(FP), R10;    \
	MOVQ   x+16(FP), DX;         \
	MOVQ   n+24(FP), CX;         \
	LEAQ   (SI)(R10*2), R13;     \
	VXORPS Y0, Y0, Y0;           \
	VXORPS Y1, Y1, Y1;           \
	VXORPS Y2, Y2, Y2;           \
	VXORPS Y3, Y3, Y3;           \
	VXORPS Y4, Y4, Y4;           \
	VXORPS Y5, Y5, Y5;           \
	VXORPS Y6, Y6, Y6;           \
	VXORPS Y7, Y7, Y7;           \
	MOVQ   CX, R9;               \
	SHRQ   $4, R9;               \
	JZ     EIGHT;          \
LOOP:;                     \
	VMOVUPS     (DX), Y8;        \
	VMOVUPS     32(DX), Y9;      \
	CV((SI), Y10);               \
	CV(16(SI), Y11);             \
	VFMADD231PS Y8, Y10, Y0;     \
	VFMADD231PS Y9, Y11, Y1;     \
	CV((SI)(R10*1), Y12);        \
	CV(16(SI)(R10*1), Y13);      \
	VFMADD231PS Y8, Y12, Y2;     \
	VFMADD231PS Y9, Y13, Y3;     \
	CV((R13), Y10);              \
	CV(16(R13), Y11);            \
	VFMADD231PS Y8, Y10, Y4;     \
	VFMADD231PS Y9, Y11, Y5;     \
	CV((R13)(R10*1), Y12);       \
	CV(16(R13)(R10*1), Y13);     \
	VFMADD231PS Y8, Y12, Y6;     \
	VFMADD231PS Y9, Y13, Y7;     \
	ADDQ        $32, SI;         \
	ADDQ        $32, R13;        \
	ADDQ        $64, DX;         \
	DECQ        R9;              \
	JNZ         LOOP;      \
EIGHT:;                    \
	TESTQ       $8, CX;          \
	JZ          FOLD;      \
	VMOVUPS     (DX), Y8;        \
	CV((SI), Y10);               \
	VFMADD231PS Y8, Y10, Y0;     \
	CV((SI)(R10*1), Y12);        \
	VFMADD231PS Y8, Y12, Y2;     \
	CV((R13), Y10);              \
	VFMADD231PS Y8, Y10, Y4;     \
	CV((R13)(R10*1), Y12);       \
	VFMADD231PS Y8, Y12, Y6;     \
FOLD:;                     \
	VADDPS      Y1, Y0, Y0;      \
	VADDPS      Y3, Y2, Y2;      \
	VADDPS      Y5, Y4, Y4;      \
	VADDPS      Y7, Y6, Y6;      \
	HSUM8(Y0, X0, X8);          \
	HSUM8(Y2, X2, X8);          \
	HSUM8(Y4, X4, X8);          \
	HSUM8(Y6, X6, X8);          \
	MOVQ        out+32(FP), DI;  \
	MOVQ        ostride+40(FP), R11; \
	VMOVSS      X0, (DI);        \
	VMOVSS      X2, (DI)(R11*1); \
	LEAQ        (DI)(R11*2), DI; \
	VMOVSS      X4, (DI);        \
	VMOVSS      X6, (DI)(R11*1); \
	VZEROUPPER;                  \
	RET

// H16X1 is the one-row kernel, summed as one row of H16X4.
#define H16X1(CV, LOOP, EIGHT, FOLD) \
	MOVQ   w+0(FP), SI;       \
	MOVQ   x+8(FP), DX;       \
	MOVQ   n+16(FP), CX;      \
	VXORPS Y0, Y0, Y0;        \
	VXORPS Y1, Y1, Y1;        \
	MOVQ   CX, R9;            \
	SHRQ   $4, R9;            \
	JZ     EIGHT;       \
LOOP:;                  \
	VMOVUPS     (DX), Y8;     \
	VMOVUPS     32(DX), Y9;   \
	CV((SI), Y10);            \
	CV(16(SI), Y11);          \
	VFMADD231PS Y8, Y10, Y0;  \
	VFMADD231PS Y9, Y11, Y1;  \
	ADDQ        $32, SI;      \
	ADDQ        $64, DX;      \
	DECQ        R9;           \
	JNZ         LOOP;   \
EIGHT:;                 \
	TESTQ       $8, CX;       \
	JZ          FOLD;   \
	VMOVUPS     (DX), Y8;     \
	CV((SI), Y10);            \
	VFMADD231PS Y8, Y10, Y0;  \
FOLD:;                  \
	VADDPS      Y1, Y0, Y0;   \
	HSUM8(Y0, X0, X8);       \
	VMOVSS      X0, ret+24(FP); \
	VZEROUPPER;               \
	RET

// BF16 rows are read 16 weights (32 bytes) at a time and split without
// any widening: the even weights shifted up 16 bits and the odd ones
// masked are their float32 values (w[2k] in lane k of the first, w[2k+1]
// in the second). x comes deinterleaved to match (per 16 columns: the 8
// even ones, then the 8 odd ones; see matVecBF16AVX2), so each row has two
// 8-lane accumulators, even and odd columns, added and folded at the end.
// n is a multiple of 16.

#define BFPAIR(m, XE, XO, ACCE, ACCO) \
	VMOVDQU     m, Y10;           \
	VPSLLD      $16, Y10, Y11;    \
	VPAND       Y15, Y10, Y10;    \
	VFMADD231PS XE, Y11, ACCE;    \
	VFMADD231PS XO, Y10, ACCO

#define BFMASK \
	MOVL         $0xffff0000, AX; \
	VMOVD        AX, X15;         \
	VPBROADCASTD X15, Y15


// BSCALE puts d·xs[b] in all lanes of Y, d the f16 at m (X its low half).
#define BSCALE(m, Y, X) \
	MOVWLZX   m, AX;       \
	VMOVD     AX, X;       \
	VCVTPH2PS X, X;        \
	VMULSS    (R9), X, X;  \
	VBROADCASTSS X, Y

// Q8DOT sets Y11 to one row's block (at m: the f16 scale, then 32 int8)
// times the x block in Y8 as eight float lanes of int32 sums: the products
// made with VPMADDUBSW, which takes unsigned by signed bytes, from |w|
// (0..128, exact as unsigned) and x·sign(w) (|x| ≤ 127 from Quantize, so
// never overflowing), summed in int16 pairs (at most 2·128·127) and then
// in int32 fours.
#define Q8DOT(m) \
	VMOVDQU    2 m, Y10;          \
	VPSIGNB    Y10, Y10, Y11;     \
	VPSIGNB    Y10, Y8, Y12;      \
	VPMADDUBSW Y12, Y11, Y11;     \
	VPMADDWD   Y14, Y11, Y11;     \
	VCVTDQ2PS  Y11, Y11

// Q4DOT is Q8DOT for a Q4_0 block (at m: the f16 scale, then 16 bytes):
// the 16 bytes in both halves of Y10, the upper half shifted right by 4
// (Y6: dword shift counts 0 0 0 0 4 4 4 4) and masked, give the nibbles
// u in weight order (0..15 low, 16..31 high), times x, less 8·Σx (in
// Y9, the x block's int32 lane sums times 8), so each lane sums (u-8)·x.
#define Q4DOT(m) \
	VBROADCASTI128 2 m, Y10;      \
	VPSRLVD     Y6, Y10, Y10;     \
	VPAND       Y15, Y10, Y10;    \
	VPMADDUBSW  Y8, Y10, Y10;     \
	VPMADDWD    Y14, Y10, Y11;    \
	VPSUBD      Y9, Y11, Y11;     \
	VCVTDQ2PS   Y11, Y11

// SCALES4 stores d·xs[b] of the four rows' blocks (at SI, SI+R10, R12,
// R12+R10) to sc-16(SP)..sc-4(SP): the f16 scales gathered in a general
// register (the vector pipes are the busy ones) and converted together,
// each product rounded as BSCALE rounds it. Clobbers AX, DX.
#define SCALES4 \
	MOVWLZX      (SI), AX;                  \
	MOVWLZX      (SI)(R10*1), DX;           \
	SHLQ         $16, DX;                   \
	ORQ          DX, AX;                    \
	MOVWLZX      (R12), DX;                 \
	SHLQ         $32, DX;                   \
	ORQ          DX, AX;                    \
	MOVWLZX      (R12)(R10*1), DX;          \
	SHLQ         $48, DX;                   \
	ORQ          DX, AX;                    \
	MOVQ         AX, X13;                   \
	VCVTPH2PS    X13, X13;                  \
	VBROADCASTSS (R9), X12;                 \
	VMULPS       X12, X13, X13;             \
	VMOVUPS      X13, sc-16(SP)

// ROW4 adds row k's block product, times its scale, to ACC.
#define ROW4(DOT, m, off, ACC) \
	DOT(m);                       \
	VBROADCASTSS off(SP), Y13;    \
	VFMADD231PS  Y13, Y11, ACC

// BCONST sets Y14 to int16 ones, Y15 to the low-nibble mask, Y7 to byte
// ones and Y6 to the shift counts of Q4DOT.
#define BCONST \
	MOVL         $4, AX;          \
	VMOVD        AX, X6;          \
	VPBROADCASTD X6, Y6;          \
	VPXOR        X5, X5, X5;      \
	VINSERTI128  $0, X5, Y6, Y6;  \
	MOVL         $0x00010001, AX; \
	VMOVD        AX, X14;         \
	VPBROADCASTD X14, Y14;        \
	MOVL         $0x0f0f0f0f, AX; \
	VMOVD        AX, X15;         \
	VPBROADCASTD X15, Y15;        \
	MOVL         $0x01010101, AX; \
	VMOVD        AX, X7;          \
	VPBROADCASTD X7, Y7

// XSUM8 sets Y9 to 8·Σx per int32 lane of the x block in Y8.
#define XSUM8 \
	VPMADDUBSW Y8, Y7, Y9;  \
	VPMADDWD   Y14, Y9, Y9; \
	VPSLLD     $3, Y9, Y9

// BX4 is the body of a four-row block kernel: ROW the per-row step, bb
// the block bytes, XPREP what each x block needs first.
#define BX4(ROW, bb, XPREP, LOOP, FOLD) \
	MOVQ   w+0(FP), SI;          \
	MOVQ   stride+8(FP), R10;    \
	MOVQ   xq+16(FP), BX;        \
	MOVQ   xs+24(FP), R9;        \
	MOVQ   nb+32(FP), CX;        \
	LEAQ   (SI)(R10*2), R12;     \
	BCONST;                      \
	VXORPS Y0, Y0, Y0;           \
	VXORPS Y1, Y1, Y1;           \
	VXORPS Y2, Y2, Y2;           \
	VXORPS Y3, Y3, Y3;           \
	TESTQ  CX, CX;               \
	JZ     FOLD;           \
LOOP:;                     \
	PREFETCHT0 512(SI);          \
	PREFETCHT0 512(SI)(R10*1);   \
	PREFETCHT0 512(R12);         \
	PREFETCHT0 512(R12)(R10*1);  \
	VMOVDQU (BX), Y8;            \
	XPREP;                       \
	SCALES4;                     \
	ROW4(ROW, (SI), sc-16, Y0);  \
	ROW4(ROW, (SI)(R10*1), sc-12, Y1); \
	ROW4(ROW, (R12), sc-8, Y2);  \
	ROW4(ROW, (R12)(R10*1), sc-4, Y3); \
	ADDQ    $bb, SI;             \
	ADDQ    $bb, R12;            \
	ADDQ    $32, BX;             \
	ADDQ    $4, R9;              \
	DECQ    CX;                  \
	JNZ     LOOP;          \
FOLD:;                     \
	HSUM8(Y0, X0, X8);          \
	HSUM8(Y1, X1, X8);          \
	HSUM8(Y2, X2, X8);          \
	HSUM8(Y3, X3, X8);          \
	MOVQ   out+40(FP), DI;       \
	MOVQ   ostride+48(FP), R11;  \
	VMOVSS X0, (DI);             \
	VMOVSS X1, (DI)(R11*1);      \
	LEAQ   (DI)(R11*2), DI;      \
	VMOVSS X2, (DI);             \
	VMOVSS X3, (DI)(R11*1);      \
	VZEROUPPER;                  \
	RET

// BX1 is the one-row block kernel, summed as one row of BX4.
#define BX1(ROW, bb, XPREP, LOOP, FOLD) \
	MOVQ   w+0(FP), SI;     \
	MOVQ   xq+8(FP), BX;    \
	MOVQ   xs+16(FP), R9;   \
	MOVQ   nb+24(FP), CX;   \
	BCONST;                 \
	VXORPS Y0, Y0, Y0;      \
	TESTQ  CX, CX;          \
	JZ     FOLD;      \
LOOP:;                \
	VMOVDQU (BX), Y8;       \
	XPREP;                  \
	ROW((SI));              \
	BSCALE((SI), Y13, X13); \
	VFMADD231PS Y13, Y11, Y0; \
	ADDQ    $bb, SI;        \
	ADDQ    $32, BX;        \
	ADDQ    $4, R9;         \
	DECQ    CX;             \
	JNZ     LOOP;     \
FOLD:;                \
	HSUM8(Y0, X0, X8);     \
	VMOVSS X0, ret+32(FP);  \
	VZEROUPPER;             \
	RET

#define NOPREP

// func f16x4AVX2(w *uint16, stride int, x *float32, n int, out *float32, ostride int)
TEXT ·f16x4AVX2(SB), NOSPLIT, $0-48
	H16X4(CVF16, hf4_loop, hf4_eight, hf4_fold)

// func f16x1AVX2(w *uint16, x *float32, n int) float32
TEXT ·f16x1AVX2(SB), NOSPLIT, $0-28
	H16X1(CVF16, hf1_loop, hf1_eight, hf1_fold)

// func q8bx4AVX2(w *byte, stride int, xq *int8, xs *float32, nb int, out *float32, ostride int)
// nb Q8_0 blocks (34 bytes) per row.
TEXT ·q8bx4AVX2(SB), NOSPLIT, $16-56
	BX4(Q8DOT, 34, NOPREP, q84_loop, q84_fold)

// func q8bx1AVX2(w *byte, xq *int8, xs *float32, nb int) float32
TEXT ·q8bx1AVX2(SB), NOSPLIT, $0-36
	BX1(Q8DOT, 34, NOPREP, q81_loop, q81_fold)

// func bf16px4AVX2(w *uint16, stride int, x *float32, n int, out *float32, ostride int)
TEXT ·bf16px4AVX2(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   stride+8(FP), R10
	MOVQ   x+16(FP), DX
	MOVQ   n+24(FP), CX
	LEAQ   (SI)(R10*2), R13
	BFMASK
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	SHRQ   $4, CX
	JZ     bfp4_fold

bfp4_loop:
	VMOVUPS (DX), Y8
	VMOVUPS 32(DX), Y9
	BFPAIR((SI), Y8, Y9, Y0, Y1)
	BFPAIR((SI)(R10*1), Y8, Y9, Y2, Y3)
	BFPAIR((R13), Y8, Y9, Y4, Y5)
	BFPAIR((R13)(R10*1), Y8, Y9, Y6, Y7)
	ADDQ    $32, SI
	ADDQ    $32, R13
	ADDQ    $64, DX
	DECQ    CX
	JNZ     bfp4_loop

bfp4_fold:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	HSUM8(Y0, X0, X8)
	HSUM8(Y2, X2, X8)
	HSUM8(Y4, X4, X8)
	HSUM8(Y6, X6, X8)
	MOVQ   out+32(FP), DI
	MOVQ   ostride+40(FP), R11
	VMOVSS X0, (DI)
	VMOVSS X2, (DI)(R11*1)
	LEAQ   (DI)(R11*2), DI
	VMOVSS X4, (DI)
	VMOVSS X6, (DI)(R11*1)
	VZEROUPPER
	RET

// func bf16px1AVX2(w *uint16, x *float32, n int) float32
TEXT ·bf16px1AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DX
	MOVQ   n+16(FP), CX
	BFMASK
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SHRQ   $4, CX
	JZ     bfp1_fold

bfp1_loop:
	VMOVUPS (DX), Y8
	VMOVUPS 32(DX), Y9
	BFPAIR((SI), Y8, Y9, Y0, Y1)
	ADDQ    $32, SI
	ADDQ    $64, DX
	DECQ    CX
	JNZ     bfp1_loop

bfp1_fold:
	VADDPS Y1, Y0, Y0
	HSUM8(Y0, X0, X8)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// The bf16 kernels by unpacking. VPUNPCKLWD and VPUNPCKHWD of 16 weights
// (32 bytes, read by the instruction itself) against a zero register put
// each weight in the high half of a dword, which is its float32 value:
// per 128-bit lane the low four weights, then the high four, so one gives
// columns 0-3 and 8-11 of the 16, the other 4-7 and 12-15, and x comes
// permuted to match (bf16Unpacked). On Zen 1 the unpacks issue on two
// pipes (FP1, FP2) beside the FMAs (FP0, FP1), where the shift of
// bf16px4AVX2 has one (FP2) and its mask competes with the FMAs for any.
// Each row has two 8-lane accumulators, one per unpack, added and folded
// at the end, alike in the four-row and the one-row kernel. n is a
// multiple of 16.

#define BFUNPACK(m, XL, XH, ACCL, ACCH) \
	VPUNPCKLWD  m, Y15, Y10;    \
	VPUNPCKHWD  m, Y15, Y11;    \
	VFMADD231PS XL, Y10, ACCL;  \
	VFMADD231PS XH, Y11, ACCH

// func bf16ux4AVX2(w *uint16, stride int, x *float32, n int, out *float32, ostride int)
//
// 32 columns a pass (each row's two halves into the same accumulators, in
// column order, so the sums are the one-row kernel's), then one more 16 if
// n%32 = 16. Each pass prefetches every row 512 bytes ahead (one line of
// each row a pass), which over cold memory measured 5-10% faster than
// none, 256 or 1024 (BenchmarkWeightKernelsOldNew's cold case).
TEXT ·bf16ux4AVX2(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   stride+8(FP), R10
	MOVQ   x+16(FP), DX
	MOVQ   n+24(FP), CX
	LEAQ   (SI)(R10*2), R13
	VPXOR  Y15, Y15, Y15
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ   CX, R9
	SHRQ   $5, R9
	JZ     bfu4_sixteen

	PCALIGN $64
bfu4_loop:
	PREFETCHT0 512(SI)
	PREFETCHT0 512(SI)(R10*1)
	PREFETCHT0 512(R13)
	PREFETCHT0 512(R13)(R10*1)
	VMOVUPS (DX), Y8
	VMOVUPS 32(DX), Y9
	BFUNPACK((SI), Y8, Y9, Y0, Y1)
	BFUNPACK((SI)(R10*1), Y8, Y9, Y2, Y3)
	BFUNPACK((R13), Y8, Y9, Y4, Y5)
	BFUNPACK((R13)(R10*1), Y8, Y9, Y6, Y7)
	VMOVUPS 64(DX), Y8
	VMOVUPS 96(DX), Y9
	BFUNPACK(32(SI), Y8, Y9, Y0, Y1)
	BFUNPACK(32(SI)(R10*1), Y8, Y9, Y2, Y3)
	BFUNPACK(32(R13), Y8, Y9, Y4, Y5)
	BFUNPACK(32(R13)(R10*1), Y8, Y9, Y6, Y7)
	ADDQ    $64, SI
	ADDQ    $64, R13
	ADDQ    $128, DX
	DECQ    R9
	JNZ     bfu4_loop

bfu4_sixteen:
	TESTQ   $16, CX
	JZ      bfu4_fold
	VMOVUPS (DX), Y8
	VMOVUPS 32(DX), Y9
	BFUNPACK((SI), Y8, Y9, Y0, Y1)
	BFUNPACK((SI)(R10*1), Y8, Y9, Y2, Y3)
	BFUNPACK((R13), Y8, Y9, Y4, Y5)
	BFUNPACK((R13)(R10*1), Y8, Y9, Y6, Y7)

bfu4_fold:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	HSUM8(Y0, X0, X8)
	HSUM8(Y2, X2, X8)
	HSUM8(Y4, X4, X8)
	HSUM8(Y6, X6, X8)
	MOVQ   out+32(FP), DI
	MOVQ   ostride+40(FP), R11
	VMOVSS X0, (DI)
	VMOVSS X2, (DI)(R11*1)
	LEAQ   (DI)(R11*2), DI
	VMOVSS X4, (DI)
	VMOVSS X6, (DI)(R11*1)
	VZEROUPPER
	RET

// func bf16ux1AVX2(w *uint16, x *float32, n int) float32
TEXT ·bf16ux1AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DX
	MOVQ   n+16(FP), CX
	VPXOR  Y15, Y15, Y15
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SHRQ   $4, CX
	JZ     bfu1_fold

	PCALIGN $64
bfu1_loop:
	VMOVUPS (DX), Y8
	VMOVUPS 32(DX), Y9
	BFUNPACK((SI), Y8, Y9, Y0, Y1)
	ADDQ    $32, SI
	ADDQ    $64, DX
	DECQ    CX
	JNZ     bfu1_loop

bfu1_fold:
	VADDPS Y1, Y0, Y0
	HSUM8(Y0, X0, X8)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET
