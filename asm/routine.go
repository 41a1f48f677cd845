package asm

// The ops Kernels.Routine names.
const (
	OpMatVec   = "matvec"
	OpMatMul   = "matmul"
	OpMatVecQ8 = "matvec_q8"
	OpMatMulQ8 = "matmul_q8"
	OpQuantize = "quantize"
	OpSwiGLU   = "swiglu"
	OpSoftmax  = "softmax"
	OpRMSNorm  = "rmsnorm"
	OpAttn     = "attention"
)

// Routine names the code that actually runs op (one of the Op constants)
// for group size gs (ignored by the fp32 ops) in this variant: the
// variant's own name when its SIMD routine handles the shape, and what it
// falls back to, saying why, when it does not. Reports of a variant's
// speed carry this, so that a fallback is never reported as the variant.
func (k *Kernels) Routine(op string, gs int) string {
	if k.routine != nil {
		return k.routine(op, gs)
	}
	return k.Name
}

// Q8Routine is Routine for the int8 matrix-vector product, the op that
// decides an int8 model's speed.
func (k *Kernels) Q8Routine(gs int) string { return k.Routine(OpMatVecQ8, gs) }
