// WORD encodings of the NEON float instructions Go's arm64 assembler has
// no mnemonics for, shared by the kernels that use them (included by
// wtypes_neon_arm64.s and attn_h16_arm64.s). d, n, m are register numbers.

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
