// Shared by the int8 matrix-vector kernels (gemvQ8AVX2, gemvQ8AVX512,
// gemvQ8VNNIAVX512), which take rows in blocks of four spread over the
// matrix: with q = rows/4, block i is rows i, i+q, i+2q, i+3q, and the
// rows%4 left over are done one at a time after. All three have the
// signature (out *float32, wq *int8, ws *float32, xq *int8, xs *float32,
// rows, cols, cpg, gpr int), a 16-byte frame (left-8(SP), qout-16(SP)) and
// these registers: DI out, SI wq, DX ws, R8 rows, R11 cols (bytes per wq
// row), AX gpr·4 (bytes per ws row).

// Q8SPREAD_SETUP saves rows%4 for the one-row loop, sets R8 = q (jumping
// to rest if there is no block of four), and turns the strides into
// distances between a block's rows: R10 = q·cols in wq, AX = q·gpr·4 in
// ws, qout = q·4 between its outputs.
#define Q8SPREAD_SETUP(rest) \
	MOVQ  R8, CX;            \
	ANDQ  $3, CX;            \
	MOVQ  CX, left-8(SP);    \
	SHRQ  $2, R8;            \
	JZ    rest;              \
	MOVQ  R8, CX;            \
	SHLQ  $2, CX;            \
	MOVQ  CX, qout-16(SP);   \
	MOVQ  R8, R10;           \
	IMULQ R11, R10;          \
	IMULQ R8, AX

// Q8SPREAD_NEXT stores the block's four sums (the low lanes of X0-X3) to
// out[i], out[i+q], out[i+2q], out[i+3q], moves SI, DX and DI on to row
// i+1, and loops to block while blocks remain. Clobbers CX, R12.
#define Q8SPREAD_NEXT(block)   \
	MOVQ   qout-16(SP), CX;     \
	LEAQ   (DI)(CX*2), R12;     \
	VMOVSS X0, (DI);            \
	VMOVSS X1, (DI)(CX*1);      \
	VMOVSS X2, (R12);           \
	VMOVSS X3, (R12)(CX*1);     \
	ADDQ   $4, DI;              \
	ADDQ   R11, SI;             \
	MOVQ   gpr+64(FP), CX;      \
	SHLQ   $2, CX;              \
	ADDQ   CX, DX;              \
	DECQ   R8;                  \
	JNZ    block

// Q8SPREAD_PAST moves DI, SI and DX past the last quarter, to row 4q.
#define Q8SPREAD_PAST         \
	MOVQ qout-16(SP), CX;     \
	LEAQ (CX)(CX*2), CX;      \
	ADDQ CX, DI;              \
	LEAQ (R10)(R10*2), CX;    \
	ADDQ CX, SI;              \
	LEAQ (AX)(AX*2), CX;      \
	ADDQ CX, DX

// Q8SPREAD_REST sets R8 to the rows left over and AX back to gpr·4 for
// the one-row loop.
#define Q8SPREAD_REST         \
	MOVQ left-8(SP), R8;      \
	MOVQ gpr+64(FP), AX;      \
	SHLQ $2, AX
