package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/memwall/memwall/internal/testdata"
)

func TestBenchKV(t *testing.T) {
	model := testdata.Model("stories260K.bin")
	_, e, code := runCmd(t, "bench", model, "--kv", "int4", "-n", "4")
	if code == 0 || !strings.Contains(e, "int4") {
		t.Fatalf("--kv int4: code %d, %q", code, e)
	}
	out, e, code := runCmd(t, "bench", model, "--kv", "f16", "--context", "40", "-n", "4", "--warmup", "1", "--json")
	if code != 0 {
		t.Fatal(e)
	}
	var r benchReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.KV != "f16" || r.KVKernel == "" || r.Tokens != 4 {
		t.Errorf("--kv f16: kv %q, kernel %q, tokens %d", r.KV, r.KVKernel, r.Tokens)
	}
}

func TestBenchSpeculative(t *testing.T) {
	model := testdata.Model("stories260K.bin")
	_, e, code := runCmd(t, "bench", model, "--speculative", "layers:7", "-n", "4")
	if code == 0 || !strings.Contains(e, "layers:7") {
		t.Fatalf("--speculative layers:7: code %d, %q", code, e)
	}
	out, e, code := runCmd(t, "bench", model, "--speculative", "q8_0,f16", "--k", "3", "-n", "24", "--repeats", "3", "--kv", "f16", "--json")
	if code != 0 {
		t.Fatal(e)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r["identical_to_greedy"] != true || r["tokens"] != 24.0 || r["kv_cache"] != "f16" || r["k"] != 3.0 {
		t.Errorf("JSON: identical %v, tokens %v, kv %v, k %v", r["identical_to_greedy"], r["tokens"], r["kv_cache"], r["k"])
	}
	if n := len(r["plain_tok_per_s"].([]any)); n != 3 {
		t.Errorf("%d plain repeats, want 3", n)
	}
	if _, ok := r["verdict"].(string); !ok {
		t.Errorf("no verdict: %v", r["verdict"])
	}
	txt, e, code := runCmd(t, "bench", model, "--speculative", "layers:2", "--k", "2", "-n", "16", "--repeats", "3")
	if code != 0 {
		t.Fatal(e)
	}
	for _, want := range []string{"draft:", "tokens per read of its weights", "a verifying pass"} {
		if !strings.Contains(txt, want) && !strings.Contains(txt, strings.TrimSuffix(want, ":")) {
			t.Errorf("text lacks %q:\n%s", want, txt)
		}
	}
}
