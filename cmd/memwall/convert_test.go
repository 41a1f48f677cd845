package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/memwall/memwall/internal/testdata"
)

// TestConvertAndGGUFCommands converts the llama2.c stories260K to GGUF in
// two types and runs info, run, tokenize and bench on the results, and on
// llama.cpp's own file.
func TestConvertAndGGUFCommands(t *testing.T) {
	dir := t.TempDir()
	for _, typ := range []string{"f32", "q8_0"} {
		out := filepath.Join(dir, "s-"+typ+".gguf")
		_, errOut, code := runCmd(t, "convert", testdata.Model("stories260K.bin"), "-z", testdata.Model("tok512.bin"), "--type", typ, "-o", out)
		if code != 0 || !strings.Contains(errOut, "wrote "+out+": GGUF v3") || !strings.Contains(errOut, "read back: 260032 parameters") {
			t.Fatalf("convert --type %s: exit %d: %s", typ, code, errOut)
		}
		if typ == "q8_0" && !strings.Contains(errOut, "5 tensors stored as F16") {
			t.Errorf("no note of the F16 fallback: %s", errOut)
		}
		info, _, code := runCmd(t, "info", out)
		if code != 0 || !strings.Contains(info, "GGUF version 3") || !strings.Contains(info, "tokenizer.ggml.model = \"llama\"") {
			t.Errorf("info: exit %d: %s", code, info)
		}
		text, errOut, code := runCmd(t, "run", out, "-t", "0", "-n", "12", "-i", "Once upon a time")
		if code != 0 || !strings.HasPrefix(text, "Once upon a time, there was") {
			t.Errorf("run %s: exit %d: %q %s", typ, code, text, errOut)
		}
	}
	golden := testdata.GGUF("stories260K-f32.gguf")
	ids, _, code := runCmd(t, "tokenize", "-z", golden, "--ids", "Once upon a time")
	if code != 0 || strings.TrimSpace(ids) != "1 403 407 261 378" {
		t.Errorf("tokenize -z %s: exit %d: %q", golden, code, ids)
	}
	info, _, _ := runCmd(t, "info", golden)
	for _, want := range []string{"seq_len 128", "classifier:  separate", "llama.context_length = 128", "rope_freq_base 10000"} {
		if !strings.Contains(info, want) {
			t.Errorf("info of llama.cpp's file lacks %q:\n%s", want, info)
		}
	}
	_, errOut, code := runCmd(t, "run", golden, "--context-length", "512", "-t", "0", "-n", "4")
	if code != 0 || !strings.Contains(errOut, "warning: context length set to 512 by override") {
		t.Errorf("run --context-length: exit %d: %s", code, errOut)
	}
	_, errOut, code = runCmd(t, "run", testdata.GGUF("stories260K-q4_k_m.gguf"), "-n", "4")
	if code == 0 || !strings.Contains(errOut, `tensor "token_embd.weight" type`) || !strings.Contains(errOut, "found Q5_0") {
		t.Errorf("run on the Q5_0 file: exit %d: %s", code, errOut)
	}
	out, _, code := runCmd(t, "bench", filepath.Join(dir, "s-f32.gguf"), "-n", "4")
	if code != 0 || !strings.Contains(out, "of the read-bandwidth roof") {
		t.Errorf("bench: exit %d: %s", code, out)
	}
}
