package magic

import (
	"strings"
	"testing"

	"github.com/memwall/memwall/internal/testdata"
)

// TestGGUFMagics loads a mixed-type GGUF file and runs the magics on it:
// the card lists the general.* metadata and every tensor's type, the
// file's own vocabulary is used, and generation, inspection and the lens
// work on Q8_0 blocks.
func TestGGUFMagics(t *testing.T) {
	s := New(Options{WorkDir: t.TempDir(), CacheDir: t.TempDir()})
	t.Cleanup(func() { s.Close() })
	r := run(t, s, "%load "+testdata.GGUF("stories260K-q8_0.gguf"))
	txt := r.text()
	for _, want := range []string{"GGUF version 3", "general.architecture", `"llama"`, "general.file_type", "blk.0.ffn_down.weight", "F16", "Q8_0", "vocabulary inside the GGUF file", "rope_freq_base"} {
		if !strings.Contains(txt, want) {
			t.Errorf("model card lacks %q:\n%s", want, txt)
		}
	}
	js := r.lastJSON(t)
	g, ok := js["gguf"].(map[string]any)
	if !ok || len(g["tensors"].([]any)) != 48 {
		t.Fatalf("card JSON has no gguf section with 48 tensors: %v", js["gguf"])
	}
	r = run(t, s, `%generate -n 20 -t 0 Once upon a time`)
	if !strings.Contains(r.text(), "there was a little") {
		t.Errorf("greedy text on the Q8_0 file: %q", r.text())
	}
	for _, cell := range []string{"%tokens Once upon a time", "%attention --layer 1", "%lens", "%model", "%weights blk.0.attn_q.weight",
		"%weights layers.0.feed_forward.w2", "%topk -k 5", "%activations blocks.0.mlp.hook_post", "%cache blocks.*.hook_resid_post",
		"%ablate blocks.1.attn.hook_z --head 2", "%ablate --clear", "%step", "%step op", "%time -n 4"} {
		run(t, s, cell)
	}
	r = run(t, s, "%load --context-length 256 "+testdata.GGUF("stories260K-f32.gguf"))
	if !strings.Contains(r.text(), "context length set to 256 by override") || !strings.Contains(r.text(), "llama.context_length is 128") {
		t.Errorf("no warning for the override: %q", r.text())
	}
	fail(t, s, "%load "+testdata.GGUF("stories260K-q4_k_m.gguf"), `tensor "token_embd.weight" type`, "Q5_0")
}
