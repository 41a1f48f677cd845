//go:build !noasm

#include "textflag.h"

// AVX2+FMA element-wise kernels: activation quantization, SwiGLU and the
// exponentials of softmax, each giving the portable routine's bits. They
// follow avx512_elementwise_amd64.s step for step with 256-bit registers:
// the exponential of 4 lanes at a time in float64, the power of two made
// from its exponent bits (exact, as VSCALEFPD is, for the n in
// [-289, 289] the clamped inputs give).

// exp4c<> holds each constant four times (one 256-bit operand): the
// Taylor coefficients 1/k!, k = 0..13 (at 32·k), log2(e), ln2 split high
// and low, the clamps 200 and -200, and the exponent bias 1023 as int64.
DATA exp4c<>+0(SB)/8, $1.0
DATA exp4c<>+8(SB)/8, $1.0
DATA exp4c<>+16(SB)/8, $1.0
DATA exp4c<>+24(SB)/8, $1.0
DATA exp4c<>+32(SB)/8, $1.0
DATA exp4c<>+40(SB)/8, $1.0
DATA exp4c<>+48(SB)/8, $1.0
DATA exp4c<>+56(SB)/8, $1.0
DATA exp4c<>+64(SB)/8, $0.5
DATA exp4c<>+72(SB)/8, $0.5
DATA exp4c<>+80(SB)/8, $0.5
DATA exp4c<>+88(SB)/8, $0.5
DATA exp4c<>+96(SB)/8, $0.16666666666666666
DATA exp4c<>+104(SB)/8, $0.16666666666666666
DATA exp4c<>+112(SB)/8, $0.16666666666666666
DATA exp4c<>+120(SB)/8, $0.16666666666666666
DATA exp4c<>+128(SB)/8, $0.041666666666666664
DATA exp4c<>+136(SB)/8, $0.041666666666666664
DATA exp4c<>+144(SB)/8, $0.041666666666666664
DATA exp4c<>+152(SB)/8, $0.041666666666666664
DATA exp4c<>+160(SB)/8, $0.008333333333333333
DATA exp4c<>+168(SB)/8, $0.008333333333333333
DATA exp4c<>+176(SB)/8, $0.008333333333333333
DATA exp4c<>+184(SB)/8, $0.008333333333333333
DATA exp4c<>+192(SB)/8, $0.001388888888888889
DATA exp4c<>+200(SB)/8, $0.001388888888888889
DATA exp4c<>+208(SB)/8, $0.001388888888888889
DATA exp4c<>+216(SB)/8, $0.001388888888888889
DATA exp4c<>+224(SB)/8, $0.0001984126984126984
DATA exp4c<>+232(SB)/8, $0.0001984126984126984
DATA exp4c<>+240(SB)/8, $0.0001984126984126984
DATA exp4c<>+248(SB)/8, $0.0001984126984126984
DATA exp4c<>+256(SB)/8, $2.48015873015873e-05
DATA exp4c<>+264(SB)/8, $2.48015873015873e-05
DATA exp4c<>+272(SB)/8, $2.48015873015873e-05
DATA exp4c<>+280(SB)/8, $2.48015873015873e-05
DATA exp4c<>+288(SB)/8, $2.755731922398589e-06
DATA exp4c<>+296(SB)/8, $2.755731922398589e-06
DATA exp4c<>+304(SB)/8, $2.755731922398589e-06
DATA exp4c<>+312(SB)/8, $2.755731922398589e-06
DATA exp4c<>+320(SB)/8, $2.755731922398589e-07
DATA exp4c<>+328(SB)/8, $2.755731922398589e-07
DATA exp4c<>+336(SB)/8, $2.755731922398589e-07
DATA exp4c<>+344(SB)/8, $2.755731922398589e-07
DATA exp4c<>+352(SB)/8, $2.505210838544172e-08
DATA exp4c<>+360(SB)/8, $2.505210838544172e-08
DATA exp4c<>+368(SB)/8, $2.505210838544172e-08
DATA exp4c<>+376(SB)/8, $2.505210838544172e-08
DATA exp4c<>+384(SB)/8, $2.08767569878681e-09
DATA exp4c<>+392(SB)/8, $2.08767569878681e-09
DATA exp4c<>+400(SB)/8, $2.08767569878681e-09
DATA exp4c<>+408(SB)/8, $2.08767569878681e-09
DATA exp4c<>+416(SB)/8, $1.6059043836821613e-10
DATA exp4c<>+424(SB)/8, $1.6059043836821613e-10
DATA exp4c<>+432(SB)/8, $1.6059043836821613e-10
DATA exp4c<>+440(SB)/8, $1.6059043836821613e-10
DATA exp4c<>+448(SB)/8, $1.4426950408889634 // log2(e)
DATA exp4c<>+456(SB)/8, $1.4426950408889634
DATA exp4c<>+464(SB)/8, $1.4426950408889634
DATA exp4c<>+472(SB)/8, $1.4426950408889634
DATA exp4c<>+480(SB)/8, $0.6931471803691238 // ln2 high
DATA exp4c<>+488(SB)/8, $0.6931471803691238
DATA exp4c<>+496(SB)/8, $0.6931471803691238
DATA exp4c<>+504(SB)/8, $0.6931471803691238
DATA exp4c<>+512(SB)/8, $1.9082149292705877e-10 // ln2 low
DATA exp4c<>+520(SB)/8, $1.9082149292705877e-10
DATA exp4c<>+528(SB)/8, $1.9082149292705877e-10
DATA exp4c<>+536(SB)/8, $1.9082149292705877e-10
DATA exp4c<>+544(SB)/8, $200.0
DATA exp4c<>+552(SB)/8, $200.0
DATA exp4c<>+560(SB)/8, $200.0
DATA exp4c<>+568(SB)/8, $200.0
DATA exp4c<>+576(SB)/8, $-200.0
DATA exp4c<>+584(SB)/8, $-200.0
DATA exp4c<>+592(SB)/8, $-200.0
DATA exp4c<>+600(SB)/8, $-200.0
DATA exp4c<>+608(SB)/8, $1023
DATA exp4c<>+616(SB)/8, $1023
DATA exp4c<>+624(SB)/8, $1023
DATA exp4c<>+632(SB)/8, $1023
GLOBL exp4c<>(SB), RODATA|NOPTR, $640

// EXP4(IN, D, T, P) replaces the 4 float32 lanes of the XMM register IN
// with exp of each, computed as avx512's EXP8 computes it: in float64,
// rounded once to float32. D, T and P are scratch YMM registers; Y10 and
// Y11 must hold 200 and -200 (VMINPD/VMAXPD return x, their second
// source, when it is NaN, so NaN passes through).
#define EXP4(IN, D, T, P) \
	VCVTPS2PD    IN, D;                            \
	VMINPD       D, Y10, D;                        \
	VMAXPD       D, Y11, D;                        \
	VMULPD       exp4c<>+448(SB), D, T;          \
	VROUNDPD     $0, T, T;                         \
	VFNMADD231PD exp4c<>+480(SB), T, D;        \
	VFNMADD231PD exp4c<>+512(SB), T, D;        \
	VMOVUPD      exp4c<>+416(SB), P;            \
	VFMADD213PD  exp4c<>+384(SB), D, P;        \
	VFMADD213PD  exp4c<>+352(SB), D, P;        \
	VFMADD213PD  exp4c<>+320(SB), D, P;        \
	VFMADD213PD  exp4c<>+288(SB), D, P;        \
	VFMADD213PD  exp4c<>+256(SB), D, P;        \
	VFMADD213PD  exp4c<>+224(SB), D, P;        \
	VFMADD213PD  exp4c<>+192(SB), D, P;        \
	VFMADD213PD  exp4c<>+160(SB), D, P;        \
	VFMADD213PD  exp4c<>+128(SB), D, P;        \
	VFMADD213PD  exp4c<>+96(SB), D, P;        \
	VFMADD213PD  exp4c<>+64(SB), D, P;        \
	VFMADD213PD  exp4c<>+32(SB), D, P;        \
	VFMADD213PD  exp4c<>+0(SB), D, P;        \
	VCVTPD2DQY   T, IN;                            \
	VPMOVSXDQ    IN, T;                            \
	VPADDQ       exp4c<>+608(SB), T, T;         \
	VPSLLQ       $52, T, T;                        \
	VMULPD       T, P, P;                          \
	VCVTPD2PSY   P, IN

// EXP8Y replaces the 8 lanes of Y0 (X0 its low half) with their
// exponentials. Clobbers X1, Y2-Y7.
#define EXP8Y \
	VEXTRACTF128 $1, Y0, X1;     \
	EXP4(X0, Y2, Y3, Y4);        \
	EXP4(X1, Y5, Y6, Y7);        \
	VINSERTF128  $1, X1, Y0, Y0

// func swiGLUAVX2(a, b *float32, n int)
// a[i] = silu(a[i])*b[i], silu(v) = v*(1/(1+exp(-v))), in the float32
// operations of the portable loop; n must be a multiple of 8.
TEXT ·swiGLUAVX2(SB), NOSPLIT, $0-24
	MOVQ         a+0(FP), DI
	MOVQ         b+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $3, CX
	JZ           sw_done
	MOVL         $0x3f800000, AX
	MOVQ         AX, X15
	VPBROADCASTD X15, Y15       // 1.0
	MOVL         $0x80000000, AX
	MOVQ         AX, X14
	VPBROADCASTD X14, Y14       // the sign bit
	VMOVUPD      exp4c<>+544(SB), Y10
	VMOVUPD      exp4c<>+576(SB), Y11

sw_loop:
	VMOVUPS (DI), Y8            // v
	VXORPS  Y14, Y8, Y0         // -v
	EXP8Y                       // e = exp(-v)
	VADDPS  Y15, Y0, Y0         // 1 + e
	VDIVPS  Y0, Y15, Y0         // 1/(1 + e)
	VMULPS  Y0, Y8, Y8          // v·(1/(1+e))
	VMULPS  (SI), Y8, Y8        // ·b
	VMOVUPS Y8, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	DECQ    CX
	JNZ     sw_loop

sw_done:
	VZEROUPPER
	RET

// func expSubAVX2(x *float32, n int, sub float32)
// x[i] = exp(x[i]-sub), the subtraction in float32; n a multiple of 8.
TEXT ·expSubAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSS sub+16(FP), Y15
	VMOVUPD      exp4c<>+544(SB), Y10
	VMOVUPD      exp4c<>+576(SB), Y11
	SHRQ         $3, CX
	JZ           ex_done

ex_loop:
	VMOVUPS (DI), Y0
	VSUBPS  Y15, Y0, Y0
	EXP8Y
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     ex_loop

ex_done:
	VZEROUPPER
	RET

// func quantizeAVX2(q *int8, s *float32, x *float32, groups, gs int)
// Q8_0 quantization of groups·gs values, gs a multiple of 8, exactly as
// quantizeGo and quantizeAVX512 (which see): s = max|x|/127, q = x/s
// rounded half away from zero, the rounding exact in float32.
TEXT ·quantizeAVX2(SB), NOSPLIT, $0-40
	MOVQ         q+0(FP), DI
	MOVQ         s+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         groups+24(FP), R8
	MOVQ         gs+32(FP), R9
	SHRQ         $3, R9               // chunks of 8 per group
	MOVL         $0x7fffffff, AX
	MOVQ         AX, X15
	VPBROADCASTD X15, Y15             // all but the sign bit
	MOVL         $0x80000000, AX
	MOVQ         AX, X14
	VPBROADCASTD X14, Y14             // the sign bit
	MOVL         $0x3f000000, AX
	MOVQ         AX, X13
	VPBROADCASTD X13, Y13             // 0.5
	MOVL         $0x3f800000, AX
	MOVQ         AX, X12
	VPBROADCASTD X12, Y12             // 1
	MOVL         $0x42fe0000, AX
	MOVQ         AX, X11              // 127

qz_group:
	TESTQ  R8, R8
	JZ     qz_done
	VXORPS Y0, Y0, Y0
	MOVQ   DX, BX
	MOVQ   R9, CX

qz_max:
	VANDPS (BX), Y15, Y1
	VMAXPS Y1, Y0, Y0
	ADDQ   $32, BX
	DECQ   CX
	JNZ    qz_max

	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VMAXSS       X1, X0, X0
	VDIVSS       X11, X0, X0          // scale = max/127
	VMOVSS       X0, (SI)
	ADDQ         $4, SI
	MOVQ         DX, BX
	MOVQ         R9, CX
	VXORPS       X1, X1, X1
	VUCOMISS     X1, X0
	JNE          qz_scale
	JPS          qz_scale

qz_zero:
	// A group of zeros: scale 0, values 0.
	MOVQ    $0, (DI)
	ADDQ    $8, DI
	DECQ    CX
	JNZ     qz_zero
	JMP     qz_next

qz_scale:
	VBROADCASTSS X0, Y2

qz_round:
	VMOVUPS      (BX), Y3
	VDIVPS       Y2, Y3, Y3           // r = x/scale
	VANDPS       Y15, Y3, Y4          // a = |r|
	VROUNDPS     $11, Y4, Y5          // t = trunc(a)
	VSUBPS       Y5, Y4, Y6           // a - t, exact
	VCMPPS       $0x1d, Y13, Y6, Y7   // a - t >= 0.5
	VANDPS       Y12, Y7, Y7
	VADDPS       Y7, Y5, Y5           // t+1 there (t+0 elsewhere)
	VANDPS       Y14, Y3, Y8
	VORPS        Y8, Y5, Y5           // with r's sign
	VCVTTPS2DQ   Y5, Y5
	VEXTRACTI128 $1, Y5, X6
	VPACKSSDW    X6, X5, X5
	VPACKSSWB    X5, X5, X5
	VMOVQ        X5, (DI)
	ADDQ         $32, BX
	ADDQ         $8, DI
	DECQ         CX
	JNZ          qz_round

qz_next:
	MOVQ R9, AX
	SHLQ $5, AX
	ADDQ AX, DX
	DECQ R8
	JMP  qz_group

qz_done:
	VZEROUPPER
	RET
