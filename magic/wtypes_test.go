package magic

import (
	"strings"
	"testing"
)

func TestLoadWeights(t *testing.T) {
	s := newTest(t)
	fail(t, s, "%load stories260K --weights q4_0", "layers.0.feed_forward.w2", "172", "q4_0,f16")
	fail(t, s, "%load stories260K --weights int3", "int3")
	// The failed loads left the fp32 model in place.
	if got := s.model.WeightTypes(); got != "fp32" {
		t.Fatalf("after failed loads: %s", got)
	}
	r := run(t, s, "%load stories260K --weights bf16")
	txt := r.text()
	if !strings.Contains(txt, "bf16, converted at load from fp32") || !strings.Contains(txt, "matvec bf16") {
		t.Fatalf("model card: %s", txt)
	}
	js := r.displays[len(r.displays)-1].Data["application/json"].(map[string]any)
	if js["weights"] != "bf16" || js["copied_bytes"].(int64) == 0 {
		t.Fatalf("card JSON: weights %v, copied %v", js["weights"], js["copied_bytes"])
	}
	// Generation, the lens and %variant work on the converted weights.
	run(t, s, "%%generate -n 8 -t 0\nOnce upon a time")
	run(t, s, "%lens")
	v := run(t, s, "%variant").text()
	if !strings.Contains(v, "matvec bf16: ") {
		t.Fatalf("%%variant: %s", v)
	}
	run(t, s, "%load stories260K --weights q4_0,f16")
	if got := s.model.WeightTypes(); got != "q4_0 (ggml blocks of 32, f16 scale) + f16" {
		t.Fatalf("q4_0,f16: %s", got)
	}
	run(t, s, "%%generate -n 8 -t 0\nOnce upon a time")
}
