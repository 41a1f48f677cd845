// Shared by the AVX2 float kernels (avx2_amd64.s, wtypes_avx2_amd64.s,
// attn_h16_amd64.s), so that every 8-lane sum is folded the same way.

// HSUM8 folds the 8 lanes of Y (X is its low half) into the low lane of X
// by halves (4+4, 2+2, 1+1); TX is scratch.
#define HSUM8(Y, X, TX) \
	VEXTRACTF128 $1, Y, TX; \
	VADDPS       TX, X, X;  \
	VMOVHLPS     X, X, TX;  \
	VADDPS       TX, X, X;  \
	VMOVSHDUP    X, TX;     \
	VADDSS       TX, X, X
