package engine

import (
	"context"
	"math"
	"testing"

	"github.com/memwall/memwall/asm"
)

// Without hooks decoding runs each head's scores, softmax and mix in one
// pass (one hand-off per layer); with a hook it runs them as three steps
// over all heads, so that hooks see every head in between. Both must give
// the same bits, split between threads or not.
func TestAttentionFusedMatchesSteps(t *testing.T) {
	defer func(old int) { attnSplitMin = old }(attnSplitMin)
	m := openModel(t, "stories260K.bin")
	tokens := []int{1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315}
	for _, threads := range []int{1, 2} {
		for _, min := range []int{0, 1 << 30} { // always split, never split
			attnSplitMin = min
			ops := asm.MustNew("", threads)
			plain, _ := NewState(m, ops)
			hooked, _ := NewState(m, ops)
			calls := 0
			if _, err := hooked.AddHook("blocks.*.attn.hook_pattern", func(*HookEvent) { calls++ }); err != nil {
				t.Fatal(err)
			}
			for i, tk := range tokens {
				a, err := plain.Forward(context.Background(), tk, i)
				if err != nil {
					t.Fatal(err)
				}
				a = append([]float32(nil), a...)
				b, err := hooked.Forward(context.Background(), tk, i)
				if err != nil {
					t.Fatal(err)
				}
				for j := range a {
					if math.Float32bits(a[j]) != math.Float32bits(b[j]) {
						t.Fatalf("threads=%d split-min=%d pos %d logit %d: fused %v, stepwise %v", threads, min, i, j, a[j], b[j])
					}
				}
			}
			if calls != len(tokens)*m.Config.Layers {
				t.Errorf("the pattern hook ran %d times, want %d", calls, len(tokens)*m.Config.Layers)
			}
			ops.Close()
		}
	}
}
