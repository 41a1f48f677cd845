package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/memwall/memwall/internal/testdata"
)

func TestBenchWeights(t *testing.T) {
	model := testdata.Model("stories260K.bin")
	// stories260K's feed_forward.w2 has rows of 172 weights: no q4_0.
	_, e, code := runCmd(t, "bench", model, "--weights", "q4_0", "-n", "4", "--json")
	if code == 0 || !strings.Contains(e, "layers.0.feed_forward.w2") || !strings.Contains(e, "172") {
		t.Fatalf("bench --weights q4_0 on 172-wide rows: code %d, %q", code, e)
	}
	_, e, code = runCmd(t, "bench", model, "--weights", "q5_k", "-n", "4")
	if code == 0 || !strings.Contains(e, "q5_k") {
		t.Fatalf("unknown type: code %d, %q", code, e)
	}
	var fp32 benchReport
	out, e, code := runCmd(t, "bench", model, "-n", "4", "--warmup", "1", "--json")
	if code != 0 {
		t.Fatal(e)
	}
	if err := json.Unmarshal([]byte(out), &fp32); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ arg, weights string }{
		{"bf16", "bf16"}, {"f16", "f16"},
		{"q4_0,f16", "q4_0 (ggml blocks of 32, f16 scale) + f16"},
		{"q8_0,f16", "q8_0 (ggml blocks of 32, f16 scale) + f16"},
	} {
		out, e, code := runCmd(t, "bench", model, "--weights", c.arg, "-n", "4", "--warmup", "1", "--json")
		if code != 0 {
			t.Fatalf("--weights %s: %s", c.arg, e)
		}
		var r benchReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if r.Weights != c.weights || r.CopiedBytes == 0 || !strings.Contains(r.Converted, "from fp32") || r.Kernels["matvec "+strings.SplitN(c.arg, ",", 2)[0]] == "" {
			t.Errorf("--weights %s: weights %q, copied %d, converted %q, kernels %v", c.arg, r.Weights, r.CopiedBytes, r.Converted, r.Kernels)
		}
		if r.WeightBytes >= fp32.WeightBytes {
			t.Errorf("--weights %s streams %d bytes per token, fp32 %d", c.arg, r.WeightBytes, fp32.WeightBytes)
		}
	}
}
