//go:build !noasm

#include "textflag.h"

// Q8ROWS_CHUNK adds one 32-byte chunk of the eight rows (R8-R15 at column
// offset SI) times the x chunk at DI into Y0-Y7, and steps SI and DI on.
#define Q8ROWS_CHUNK \
	VMOVDQU    (DI), Y8; \
	VPABSB     (R8)(SI*1), Y9; \
	VPSIGNB    (R8)(SI*1), Y8, Y10; \
	VPABSB     (R9)(SI*1), Y11; \
	VPSIGNB    (R9)(SI*1), Y8, Y15; \
	VPMADDUBSW Y10, Y9, Y9; \
	VPMADDUBSW Y15, Y11, Y11; \
	VPMADDWD   Y12, Y9, Y9; \
	VPMADDWD   Y12, Y11, Y11; \
	VPADDD     Y9, Y0, Y0; \
	VPADDD     Y11, Y1, Y1; \
	VPABSB     (R10)(SI*1), Y9; \
	VPSIGNB    (R10)(SI*1), Y8, Y10; \
	VPABSB     (R11)(SI*1), Y11; \
	VPSIGNB    (R11)(SI*1), Y8, Y15; \
	VPMADDUBSW Y10, Y9, Y9; \
	VPMADDUBSW Y15, Y11, Y11; \
	VPMADDWD   Y12, Y9, Y9; \
	VPMADDWD   Y12, Y11, Y11; \
	VPADDD     Y9, Y2, Y2; \
	VPADDD     Y11, Y3, Y3; \
	VPABSB     (R12)(SI*1), Y9; \
	VPSIGNB    (R12)(SI*1), Y8, Y10; \
	VPABSB     (R13)(SI*1), Y11; \
	VPSIGNB    (R13)(SI*1), Y8, Y15; \
	VPMADDUBSW Y10, Y9, Y9; \
	VPMADDUBSW Y15, Y11, Y11; \
	VPMADDWD   Y12, Y9, Y9; \
	VPMADDWD   Y12, Y11, Y11; \
	VPADDD     Y9, Y4, Y4; \
	VPADDD     Y11, Y5, Y5; \
	VPABSB     (R14)(SI*1), Y9; \
	VPSIGNB    (R14)(SI*1), Y8, Y10; \
	VPABSB     (R15)(SI*1), Y11; \
	VPSIGNB    (R15)(SI*1), Y8, Y15; \
	VPMADDUBSW Y10, Y9, Y9; \
	VPMADDUBSW Y15, Y11, Y11; \
	VPMADDWD   Y12, Y9, Y9; \
	VPMADDWD   Y12, Y11, Y11; \
	VPADDD     Y9, Y6, Y6; \
	VPADDD     Y11, Y7, Y7; \
	ADDQ       $32, SI; \
	ADDQ       $32, DI

// Q8ROWS_HALF is Q8ROWS_CHUNK for a 16-byte chunk (a group's tail of at
// most 16 bytes): the 128-bit operations clear the upper lanes, so adding
// their results to Y0-Y7 adds zeros there.
#define Q8ROWS_HALF \
	VMOVDQU    (DI), X8; \
	VPABSB     (R8)(SI*1), X9; \
	VPSIGNB    (R8)(SI*1), X8, X10; \
	VPABSB     (R9)(SI*1), X11; \
	VPSIGNB    (R9)(SI*1), X8, X15; \
	VPMADDUBSW X10, X9, X9; \
	VPMADDUBSW X15, X11, X11; \
	VPMADDWD   X12, X9, X9; \
	VPMADDWD   X12, X11, X11; \
	VPADDD     Y9, Y0, Y0; \
	VPADDD     Y11, Y1, Y1; \
	VPABSB     (R10)(SI*1), X9; \
	VPSIGNB    (R10)(SI*1), X8, X10; \
	VPABSB     (R11)(SI*1), X11; \
	VPSIGNB    (R11)(SI*1), X8, X15; \
	VPMADDUBSW X10, X9, X9; \
	VPMADDUBSW X15, X11, X11; \
	VPMADDWD   X12, X9, X9; \
	VPMADDWD   X12, X11, X11; \
	VPADDD     Y9, Y2, Y2; \
	VPADDD     Y11, Y3, Y3; \
	VPABSB     (R12)(SI*1), X9; \
	VPSIGNB    (R12)(SI*1), X8, X10; \
	VPABSB     (R13)(SI*1), X11; \
	VPSIGNB    (R13)(SI*1), X8, X15; \
	VPMADDUBSW X10, X9, X9; \
	VPMADDUBSW X15, X11, X11; \
	VPMADDWD   X12, X9, X9; \
	VPMADDWD   X12, X11, X11; \
	VPADDD     Y9, Y4, Y4; \
	VPADDD     Y11, Y5, Y5; \
	VPABSB     (R14)(SI*1), X9; \
	VPSIGNB    (R14)(SI*1), X8, X10; \
	VPABSB     (R15)(SI*1), X11; \
	VPSIGNB    (R15)(SI*1), X8, X15; \
	VPMADDUBSW X10, X9, X9; \
	VPMADDUBSW X15, X11, X11; \
	VPMADDWD   X12, X9, X9; \
	VPMADDWD   X12, X11, X11; \
	VPADDD     Y9, Y6, Y6; \
	VPADDD     Y11, Y7, Y7; \
	ADDQ       $16, SI; \
	ADDQ       $16, DI

// WSCOPY(k, loop) copies the scales of the block's row k into column k of
// wsbuf (gpr rows of eight floats), so that each group's eight scales are
// one vector: done on the integer side, where the kernel leaves room,
// instead of a gather per group.
#define WSCOPY(k, loop) \
	MOVQ    wsidx+40(FP), AX;  \
	MOVLQSX (k*4)(AX), AX;     \
	SHLQ    $2, AX;            \
	ADDQ    wsp-16(SP), AX;    \
	MOVQ    wsbuf+104(FP), BX; \
	ADDQ    $(k*4), BX;        \
	MOVQ    gpr+80(FP), CX;    \
loop:                          \
	MOVL    (AX), DX;          \
	MOVL    DX, (BX);          \
	ADDQ    $4, AX;            \
	ADDQ    $32, BX;           \
	DECQ    CX;                \
	JNZ     loop

// func q8rowsAVX2(out *float32, outidx *int, wq *int8, rowoff *int, ws *float32, wsidx *int32, x *int8, xs *float32, blocks, cols, gpr, nfull, tailadj int, wsbuf *float32, tailw int)
//
// The Q8_0 matrix-vector product in blocks of eight rows, for any group
// size, giving for every row exactly the bits of the portable loop:
//
//	val = 0; for each group g: val += (float32(Σ w·x) * ws[row,g]) * xs[g]
//
// The integer sum of each row and group is exact (in any order), so the
// kernel is free in how it gets it; the float steps are the portable ones,
// done for the eight rows at once, one row per lane.
//
// A block's rows are wq+rowoff[k] (k < 8), their scales ws+4·wsidx[k]
// (copied, transposed, to wsbuf: 32·gpr bytes) and their outputs out+4·outidx[k]; the next block is each of
// those plus one row (cols bytes, gpr scales, one output). The Go glue
// chooses the rows: spread a block's rows over the matrix, or repeat one
// (a repeated row is computed twice with the same bits and stored twice).
//
// Within a group, w is read in 32-byte chunks: nfull whole ones, then, when
// the group size is not a multiple of 32, one more ending at the group's
// end, tailw = 16 or 32 bytes wide (the pointer steps back by
// tailadj = tailw - gs%32 bytes first). x is read in the
// same chunks, one 32-byte chunk after another: xq itself when the group
// size is a multiple of 32, otherwise a copy laid out chunk by chunk in
// which the bytes of the overlapping chunk that belong to the step back are
// zero (so they add nothing).
//
// The products use the sign trick: VPSIGNB gives x with the sign of w (0
// where w is 0), VPMADDUBSW multiplies it by |w| as unsigned bytes (128 for
// -128) and adds pairs into int16 (|x| <= 127, |w| <= 128: at most 32512,
// never saturating; Quantize gives |x| <= 127, and x = -128 is the one
// input this does not take), VPMADDWD by ones widens pairs to int32. At the group's end the eight rows' eight-lane sums are reduced
// with a transposing tree into one vector of eight row sums.
TEXT ·q8rowsAVX2(SB), NOSPLIT, $16-120
	MOVQ $0x0001000100010001, AX
	MOVQ AX, X12
	VPBROADCASTQ X12, Y12          // int16 ones
	MOVQ rowoff+24(FP), AX
	MOVQ wq+16(FP), BX
	MOVQ 0(AX), R8
	ADDQ BX, R8
	MOVQ 8(AX), R9
	ADDQ BX, R9
	MOVQ 16(AX), R10
	ADDQ BX, R10
	MOVQ 24(AX), R11
	ADDQ BX, R11
	MOVQ 32(AX), R12
	ADDQ BX, R12
	MOVQ 40(AX), R13
	ADDQ BX, R13
	MOVQ 48(AX), R14
	ADDQ BX, R14
	MOVQ 56(AX), R15
	ADDQ BX, R15
	MOVQ out+0(FP), AX
	MOVQ AX, outp-8(SP)
	MOVQ ws+32(FP), AX
	MOVQ AX, wsp-16(SP)

q8r_block:
	WSCOPY(0, q8r_ws0)
	WSCOPY(1, q8r_ws1)
	WSCOPY(2, q8r_ws2)
	WSCOPY(3, q8r_ws3)
	WSCOPY(4, q8r_ws4)
	WSCOPY(5, q8r_ws5)
	WSCOPY(6, q8r_ws6)
	WSCOPY(7, q8r_ws7)
	VXORPS Y13, Y13, Y13           // the eight rows' sums
	XORQ   SI, SI                  // column offset in the rows
	MOVQ   x+48(FP), DI
	MOVQ   wsbuf+104(FP), DX       // scales of group g, one per row
	MOVQ   xs+56(FP), AX
	MOVQ   gpr+80(FP), BX

q8r_group:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	MOVQ  nfull+88(FP), CX
	TESTQ CX, CX
	JZ    q8r_tail

q8r_chunk:
	Q8ROWS_CHUNK
	DECQ CX
	JNZ  q8r_chunk

q8r_tail:
	MOVQ  tailw+112(FP), CX
	TESTQ CX, CX
	JZ    q8r_reduce
	SUBQ  tailadj+96(FP), SI
	CMPQ  CX, $16
	JEQ   q8r_half
	Q8ROWS_CHUNK
	JMP   q8r_reduce

q8r_half:
	Q8ROWS_HALF

q8r_reduce:
	// Pairs of rows: lanes j and j+2 of each 128-bit half.
	VPUNPCKLDQ Y1, Y0, Y8
	VPUNPCKHDQ Y1, Y0, Y9
	VPADDD     Y9, Y8, Y0          // a0+a2 b0+b2 a1+a3 b1+b3 | a4+a6 ...
	VPUNPCKLDQ Y3, Y2, Y8
	VPUNPCKHDQ Y3, Y2, Y9
	VPADDD     Y9, Y8, Y2
	VPUNPCKLDQ Y5, Y4, Y8
	VPUNPCKHDQ Y5, Y4, Y9
	VPADDD     Y9, Y8, Y4
	VPUNPCKLDQ Y7, Y6, Y8
	VPUNPCKHDQ Y7, Y6, Y9
	VPADDD     Y9, Y8, Y6
	// Quads: rows 0-3 and 4-7, each half holding its half's sums.
	VPUNPCKLQDQ Y2, Y0, Y8
	VPUNPCKHQDQ Y2, Y0, Y9
	VPADDD      Y9, Y8, Y0
	VPUNPCKLQDQ Y6, Y4, Y8
	VPUNPCKHQDQ Y6, Y4, Y9
	VPADDD      Y9, Y8, Y4
	// The two halves: lane k is row k's sum.
	VPERM2I128 $0x20, Y4, Y0, Y8
	VPERM2I128 $0x31, Y4, Y0, Y9
	VPADDD     Y9, Y8, Y0

	VCVTDQ2PS    Y0, Y0
	VMULPS       (DX), Y0, Y0      // float32(acc) * ws
	VBROADCASTSS (AX), Y2
	VMULPS       Y2, Y0, Y0        // * xs
	VADDPS       Y0, Y13, Y13
	ADDQ         $32, DX
	ADDQ         $4, AX
	DECQ         BX
	JNZ          q8r_group

	// Store the eight sums.
	MOVQ         outp-8(SP), CX
	MOVQ         outidx+8(FP), BX
	MOVQ         0(BX), AX
	VMOVSS       X13, (CX)(AX*4)
	MOVQ         8(BX), AX
	VEXTRACTPS   $1, X13, (CX)(AX*4)
	MOVQ         16(BX), AX
	VEXTRACTPS   $2, X13, (CX)(AX*4)
	MOVQ         24(BX), AX
	VEXTRACTPS   $3, X13, (CX)(AX*4)
	VEXTRACTF128 $1, Y13, X13
	MOVQ         32(BX), AX
	VMOVSS       X13, (CX)(AX*4)
	MOVQ         40(BX), AX
	VEXTRACTPS   $1, X13, (CX)(AX*4)
	MOVQ         48(BX), AX
	VEXTRACTPS   $2, X13, (CX)(AX*4)
	MOVQ         56(BX), AX
	VEXTRACTPS   $3, X13, (CX)(AX*4)

	// Next block: every row one row on.
	ADDQ $4, CX
	MOVQ CX, outp-8(SP)
	MOVQ gpr+80(FP), AX
	SHLQ $2, AX
	ADDQ AX, wsp-16(SP)
	MOVQ cols+72(FP), AX
	ADDQ AX, R8
	ADDQ AX, R9
	ADDQ AX, R10
	ADDQ AX, R11
	ADDQ AX, R12
	ADDQ AX, R13
	ADDQ AX, R14
	ADDQ AX, R15
	DECQ blocks+64(FP)
	JNZ  q8r_block

	VZEROUPPER
	RET

