package engine

import (
	"sort"
	"strings"

	"github.com/memwall/memwall/asm"
)

// KernelRoutines names, for each kind of op this model runs, the routine
// the kernels actually run for it at the model's shapes: the variant's own
// where its SIMD code handles the op, or the code it falls back to and
// why. A variant's speed is reported together with this, so that a
// fallback (say, int8 products at a group size the variant's kernel does
// not take) is never reported under the variant's name alone.
func KernelRoutines(m *Model, k *asm.Kernels) map[string]string {
	r := map[string]string{
		"rmsnorm":   k.Routine(asm.OpRMSNorm, 0),
		"softmax":   k.Routine(asm.OpSoftmax, 0),
		"swiglu":    k.Routine(asm.OpSwiGLU, 0),
		"attention": k.Routine(asm.OpAttn, 0),
	}
	for _, t := range m.W.Types(m.Shared) {
		switch t {
		case WeightQ8:
			gs := m.GroupSize
			r["matvec"] = k.Routine(asm.OpMatVecQ8, gs)
			r["matmul"] = k.Routine(asm.OpMatMulQ8, gs)
			r["quantize"] = k.Routine(asm.OpQuantize, gs)
		case WeightF32:
			r["matvec"] = k.Routine(asm.OpMatVec, 0)
			r["matmul"] = k.Routine(asm.OpMatMul, 0)
		default:
			// The weight types of their own (f16, bf16, GGUF blocks):
			// the routine the variant runs for each.
			r["matvec "+t.String()] = k.WeightKernel(t.asmType())
		}
	}
	return r
}

// KernelSummary is the kernels as one line: the variant's name, then,
// in parentheses, each op that runs something other than the variant
// itself ("avx2 (matvec: avx2 int8 (8-row blocks, any group size);
// quantize: portable (no avx2 quantize))").
func KernelSummary(m *Model, k *asm.Kernels) string {
	r := KernelRoutines(m, k)
	ops := make([]string, 0, len(r))
	for op := range r {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var other []string
	for _, op := range ops {
		if r[op] != k.Name {
			other = append(other, op+": "+r[op])
		}
	}
	if len(other) == 0 {
		return k.Name
	}
	return k.Name + " (" + strings.Join(other, "; ") + ")"
}
