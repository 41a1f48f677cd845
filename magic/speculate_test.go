package magic

import (
	"strings"
	"testing"
)

func TestKVMagic(t *testing.T) {
	s := newTest(t)
	fail(t, s, "%kv int4", "int4")
	run(t, s, "%generate -n 4 Once upon a time")
	r := run(t, s, "%kv f16")
	if txt := r.text(); !strings.Contains(txt, "f16 (2 bytes a value)") || !strings.Contains(txt, "context was cleared") {
		t.Fatalf("%%kv f16: %s", txt)
	}
	if len(s.ids) != 0 || s.st.KV().String() != "f16" {
		t.Fatalf("after %%kv f16: %d context tokens, cache %s", len(s.ids), s.st.KV())
	}
	// The greedy text of the real stories260K with the f16 cache is the
	// fp32 cache's here (the engine's tests measure how close the logits are).
	f16 := run(t, s, "%generate -n 24 Once upon a time").text()
	run(t, s, "%kv fp32")
	fp32 := run(t, s, "%generate -n 24 Once upon a time").text()
	if first(f16) != first(fp32) {
		t.Errorf("f16 cache generated %q, fp32 %q", first(f16), first(fp32))
	}
	// The setting survives a load, and %load --kv sets it.
	run(t, s, "%load stories260K --kv bf16")
	if s.st.KV().String() != "bf16" {
		t.Fatalf("%%load --kv bf16: cache %s", s.st.KV())
	}
	fail(t, s, "%load stories260K --kv f8", "f8")
}

// first is a generation's streamed text (before the summary).
func first(s string) string { return strings.SplitN(s, "\n", 2)[0] }

func TestSpeculateMagic(t *testing.T) {
	s := newTest(t)
	fail(t, s, "%speculate --draft layers:9 Once", "layers:9")
	fail(t, s, "%speculate -k 0 Once", "at least 1")
	r := run(t, s, "%speculate --draft q8_0,f16 -k 3 -n 20 --repeats 3 Once upon a time")
	js := r.lastJSON(t)
	if js["identical_to_greedy"] != true || js["tokens"].(float64) != 20 {
		t.Fatalf("%%speculate JSON: identical %v, tokens %v", js["identical_to_greedy"], js["tokens"])
	}
	if acc := js["acceptance_rate"].(float64); acc < 0.5 {
		t.Errorf("acceptance of the q8_0 draft on stories260K: %.2f", acc)
	}
	txt := r.text()
	for _, want := range []string{"tokens per read of its weights", "speculative decoding is", "token for token plain greedy"} {
		if !strings.Contains(txt, want) {
			t.Errorf("%%speculate text lacks %q:\n%s", want, txt)
		}
	}
}
