//go:build !noasm

#include "textflag.h"

// AVX-512F element-wise kernels: activation quantization, SwiGLU and the
// exponentials of softmax. Each gives the same bits as the portable Go
// routine it replaces (see the notes on each).

// Taylor coefficients 1/k! of exp, k = 0..13, and the constants of the
// range reduction x = n·ln2 + r, |r| <= ln2/2 (ln2 split in a high part
// with trailing zero bits and a low part, so n·ln2hi is exact).
DATA expc<>+0(SB)/8, $1.0
DATA expc<>+8(SB)/8, $1.0
DATA expc<>+16(SB)/8, $0.5
DATA expc<>+24(SB)/8, $0.16666666666666666
DATA expc<>+32(SB)/8, $0.041666666666666664
DATA expc<>+40(SB)/8, $0.008333333333333333
DATA expc<>+48(SB)/8, $0.001388888888888889
DATA expc<>+56(SB)/8, $0.0001984126984126984
DATA expc<>+64(SB)/8, $2.48015873015873e-05
DATA expc<>+72(SB)/8, $2.755731922398589e-06
DATA expc<>+80(SB)/8, $2.755731922398589e-07
DATA expc<>+88(SB)/8, $2.505210838544172e-08
DATA expc<>+96(SB)/8, $2.08767569878681e-09
DATA expc<>+104(SB)/8, $1.6059043836821613e-10
DATA expc<>+112(SB)/8, $1.4426950408889634   // log2(e)
DATA expc<>+120(SB)/8, $0.6931471803691238   // ln2 high
DATA expc<>+128(SB)/8, $1.9082149292705877e-10 // ln2 low
DATA expc<>+136(SB)/8, $200.0
DATA expc<>+144(SB)/8, $-200.0
GLOBL expc<>(SB), RODATA|NOPTR, $152

// EXP8(Y, Z, T) replaces the 8 float32 lanes of Y (the low half of Z) with
// exp of each, computed in float64 and rounded once to float32, as the
// portable expf (float32(math.Exp(float64(x)))) is: the float64 result is
// within a few units in its last place, so rounding it to float32 gives
// the same float32 unless the exact value lies within ~1e-16 (relative) of
// a rounding boundary between two float32s. T is a scratch register.
// Inputs are clamped to [-200, 200] (exp underflows or overflows float32
// well inside that) with Z10 = 200 and Z11 = -200 set by the caller (VMINPD
// and VMAXPD return their second source when either is NaN, so x goes
// there and NaN passes through). Clobbers Z12, Z13.
#define EXP8(Y, Z, T) \
	VCVTPS2PD         Y, Z;                    \
	VMINPD            Z, Z10, Z;               \
	VMAXPD            Z, Z11, Z;               \
	VMULPD.BCST       expc<>+112(SB), Z, T;    \
	VRNDSCALEPD       $0, T, T;                \
	VFNMADD231PD.BCST expc<>+120(SB), T, Z;    \
	VFNMADD231PD.BCST expc<>+128(SB), T, Z;    \
	VBROADCASTSD      expc<>+104(SB), Z12;     \
	VFMADD213PD.BCST  expc<>+96(SB), Z, Z12;   \
	VFMADD213PD.BCST  expc<>+88(SB), Z, Z12;   \
	VFMADD213PD.BCST  expc<>+80(SB), Z, Z12;   \
	VFMADD213PD.BCST  expc<>+72(SB), Z, Z12;   \
	VFMADD213PD.BCST  expc<>+64(SB), Z, Z12;   \
	VFMADD213PD.BCST  expc<>+56(SB), Z, Z12;   \
	VFMADD213PD.BCST  expc<>+48(SB), Z, Z12;   \
	VFMADD213PD.BCST  expc<>+40(SB), Z, Z12;   \
	VFMADD213PD.BCST  expc<>+32(SB), Z, Z12;   \
	VFMADD213PD.BCST  expc<>+24(SB), Z, Z12;   \
	VFMADD213PD.BCST  expc<>+16(SB), Z, Z12;   \
	VFMADD213PD.BCST  expc<>+8(SB), Z, Z12;    \
	VFMADD213PD.BCST  expc<>+0(SB), Z, Z12;    \
	VSCALEFPD         T, Z12, Z13;             \
	VCVTPD2PS         Z13, Y

// func swiGLUAVX512(a, b *float32, n int)
// a[i] = silu(a[i])*b[i], silu(v) = v*(1/(1+exp(-v))), in the float32
// operations of the portable loop; n must be a multiple of 8.
TEXT ·swiGLUAVX512(SB), NOSPLIT, $0-24
	MOVQ         a+0(FP), DI
	MOVQ         b+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $3, CX
	JZ           sw_done
	MOVL         $0x3f800000, AX
	VPBROADCASTD AX, Y15        // 1.0
	MOVL         $0x80000000, AX
	VPBROADCASTD AX, Y14        // the sign bit
	VBROADCASTSD expc<>+136(SB), Z10
	VBROADCASTSD expc<>+144(SB), Z11

sw_loop:
	VMOVUPS (DI), Y0            // v
	VXORPS  Y14, Y0, Y1         // -v
	EXP8(Y1, Z1, Z2)            // e = exp(-v)
	VADDPS  Y15, Y1, Y1         // 1 + e
	VDIVPS  Y1, Y15, Y1         // 1/(1 + e)
	VMULPS  Y1, Y0, Y0          // v·(1/(1+e))
	VMULPS  (SI), Y0, Y0        // ·b
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	DECQ    CX
	JNZ     sw_loop

sw_done:
	VZEROUPPER
	RET

// func expSubAVX512(x *float32, n int, sub float32)
// x[i] = exp(x[i]-sub), the subtraction in float32; n a multiple of 8.
TEXT ·expSubAVX512(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSS sub+16(FP), Y15
	VBROADCASTSD expc<>+136(SB), Z10
	VBROADCASTSD expc<>+144(SB), Z11
	SHRQ         $3, CX
	JZ           ex_done

ex_loop:
	VMOVUPS (DI), Y0
	VSUBPS  Y15, Y0, Y0
	EXP8(Y0, Z0, Z2)
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     ex_loop

ex_done:
	VZEROUPPER
	RET

// func quantizeAVX512(q *int8, s *float32, x *float32, groups, gs int)
// Q8_0 quantization of groups·gs values, gs a multiple of 16, exactly as
// quantizeGo: s = max|x|/127 (one float32 division), q = x/s (a float32
// division per value) rounded half away from zero. The rounding is done
// exactly in float32: with a = |x/s| and t = trunc(a), a-t is exact, and
// the result is t+1 where a-t >= 0.5, else t, given x's sign.
TEXT ·quantizeAVX512(SB), NOSPLIT, $0-40
	MOVQ         q+0(FP), DI
	MOVQ         s+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         groups+24(FP), R8
	MOVQ         gs+32(FP), R9
	SHRQ         $4, R9               // chunks of 16 per group
	MOVL         $0x7fffffff, AX
	VPBROADCASTD AX, Z15              // all but the sign bit
	MOVL         $0x80000000, AX
	VPBROADCASTD AX, Z14              // the sign bit
	MOVL         $0x3f000000, AX
	VPBROADCASTD AX, Z13              // 0.5
	MOVL         $0x3f800000, AX
	VPBROADCASTD AX, Z12              // 1
	MOVL         $0x42fe0000, AX
	VMOVD        AX, X11              // 127

qz_group:
	TESTQ  R8, R8
	JZ     qz_done
	VPXORD Z0, Z0, Z0
	MOVQ   DX, BX
	MOVQ   R9, CX

qz_max:
	VPANDD (BX), Z15, Z1
	VMAXPS Z1, Z0, Z0
	ADDQ   $64, BX
	DECQ   CX
	JNZ    qz_max

	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPS        X1, X0, X0
	VMOVHLPS      X0, X0, X1
	VMAXPS        X1, X0, X0
	VMOVSHDUP     X0, X1
	VMAXSS        X1, X0, X0
	VDIVSS        X11, X0, X0         // scale = max/127
	VMOVSS        X0, (SI)
	ADDQ          $4, SI
	MOVQ          DX, BX
	MOVQ          R9, CX
	VPXORD        X1, X1, X1
	VUCOMISS      X1, X0
	JNE           qz_scale
	JPS           qz_scale

qz_zero:
	// A group of zeros: scale 0, values 0.
	VMOVDQU X1, (DI)
	ADDQ    $16, DI
	DECQ    CX
	JNZ     qz_zero
	JMP     qz_next

qz_scale:
	VBROADCASTSS X0, Z2

qz_round:
	VMOVUPS      (BX), Z3
	VDIVPS       Z2, Z3, Z3           // r = x/scale
	VPANDD       Z15, Z3, Z4          // a = |r|
	VRNDSCALEPS  $11, Z4, Z5          // t = trunc(a)
	VSUBPS       Z5, Z4, Z6           // a - t, exact
	VCMPPS       $0x1d, Z13, Z6, K1   // a - t >= 0.5
	VADDPS       Z12, Z5, K1, Z5      // t+1 there
	VPANDD       Z14, Z3, Z7
	VPORD        Z7, Z5, Z5           // with r's sign
	VCVTTPS2DQ   Z5, Z5
	VPMOVSDB     Z5, X5
	VMOVDQU      X5, (DI)
	ADDQ         $64, BX
	ADDQ         $16, DI
	DECQ         CX
	JNZ          qz_round

qz_next:
	MOVQ R9, AX
	SHLQ $6, AX
	ADDQ AX, DX
	DECQ R8
	JMP  qz_group

qz_done:
	VZEROUPPER
	RET
