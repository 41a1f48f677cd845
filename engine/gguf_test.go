package engine

import (
	"bytes"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/memwall/memwall/internal/testdata"
)

func openGGUF(t testing.TB, name string) *Model {
	t.Helper()
	m, err := Open(testdata.GGUF(name), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestGGUFWriteReadBack(t *testing.T) {
	src := openGGUF(t, "stories260K-f32.gguf")
	p := t.TempDir() + "/out.gguf"
	rep, err := WriteGGUF(p, src.Config, src.Tok, FromModel(src), GGUFWriteOptions{Type: GGMLF32})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	m, err := Open(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, ti := range src.Tensors {
		a, _, err := src.TensorValues(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := m.TensorValues(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d]: %v vs %v", ti.Name, i, a[i], b[i])
			}
		}
	}
}

// TestOpWeightBytes: the per-op weight bytes of the mixed Q8_0 file count
// ffn_down in f16 and the rest in 34-byte blocks of 32, and add up to
// WeightBytes with the norms.
func TestOpWeightBytes(t *testing.T) {
	m := openGGUF(t, "stories260K-q8_0.gguf")
	ob := m.OpWeightBytes()
	c := m.Config
	if want := int64(c.Layers * c.Dim * c.HiddenDim * 2); ob["w2"] != want {
		t.Errorf("w2 (f16): %d bytes, want %d", ob["w2"], want)
	}
	if want := int64(c.Layers * c.Dim * c.Dim / 32 * 34); ob["wq"] != want {
		t.Errorf("wq (q8_0 blocks): %d bytes, want %d", ob["wq"], want)
	}
	var sum int64
	for _, b := range ob {
		sum += b
	}
	norms := int64(4 * (2*c.Layers + 1) * c.Dim)
	if sum+norms != m.WeightBytes() {
		t.Errorf("ops %d + norms %d != WeightBytes %d", sum, norms, m.WeightBytes())
	}
}

// TestGGUFWriterMatchesLlamaCpp converts llama2.c's stories260K.bin with
// tok512.bin to GGUF in every type and compares the result with the files
// llama.cpp's own converter and quantizer made of the same model: every
// tensor has llama.cpp's type and bytes, and the vocabulary arrays are
// llama.cpp's byte for byte. (llama.cpp's files also hold a copy of the
// embedding as output.weight; memwall writes a tied model without it.)
func TestGGUFWriterMatchesLlamaCpp(t *testing.T) {
	src := openModel(t, "stories260K.bin")
	tok := openTok(t, "tok512.bin", src.Vocab)
	for _, c := range []struct {
		file string
		typ  GGMLType
	}{{"f32", GGMLF32}, {"f16", GGMLF16}, {"bf16", GGMLBF16}, {"q8_0", GGMLQ8_0}, {"q4_0", GGMLQ4_0}} {
		p := filepath.Join(t.TempDir(), c.file+".gguf")
		rep, err := WriteGGUF(p, src.Config, tok, FromModel(src), GGUFWriteOptions{Type: c.typ})
		if err != nil {
			t.Fatal(err)
		}
		ours, err := Open(p, LoadOptions{})
		if err != nil {
			t.Fatalf("%s: reading back: %v", c.file, err)
		}
		defer ours.Close()
		theirs := openGGUF(t, "stories260K-"+c.file+".gguf")
		for _, ot := range ours.GGUF.Tensors {
			tt := theirs.GGUF.Tensor(ot.Name)
			if tt == nil {
				t.Fatalf("%s: llama.cpp's file has no %s", c.file, ot.Name)
			}
			a := ours.m.data[ot.Offset : ot.Offset+ot.Bytes]
			b := theirs.m.data[tt.Offset : tt.Offset+tt.Bytes]
			if ot.Type != tt.Type || !bytes.Equal(a, b) {
				t.Errorf("%s: %s is %s (%d bytes), llama.cpp wrote %s (%d bytes)%s", c.file, ot.Name, ot.Type, ot.Bytes, tt.Type, tt.Bytes,
					map[bool]string{true: "", false: " with other bytes"}[bytes.Equal(a, b)])
			}
		}
		for _, key := range []string{"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.model", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
			"llama.embedding_length", "llama.feed_forward_length", "llama.block_count", "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.dimension_count", "llama.attention.layer_norm_rms_epsilon"} {
			a, b := ours.GGUF.Lookup(key), theirs.GGUF.Lookup(key)
			if a == nil || b == nil || a.Type != b.Type || !reflect.DeepEqual(a.Value, b.Value) {
				t.Errorf("%s: %s differs from llama.cpp's", c.file, key)
			}
		}
		if c.typ == GGMLQ8_0 || c.typ == GGMLQ4_0 {
			if len(rep.Fallback) != 5 {
				t.Errorf("%s: %d tensors fell back to F16 (%v), want the five 172-wide ffn_down", c.file, len(rep.Fallback), rep.Fallback)
			}
		}
	}
}
