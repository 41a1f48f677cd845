package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memwall/memwall/internal/testdata"
)

// tiny is a small valid shape for building broken files from.
var tiny = Config{Dim: 16, HiddenDim: 40, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 32, SeqLen: 8, Shared: true}

func writeTiny(t *testing.T, c Config) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.bin")
	if err := WriteCheckpoint(p, c, Synthetic(1)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func setInt(b []byte, off int, v int32) []byte {
	b = append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(b[off:], uint32(v))
	return b
}

func TestBadCheckpoints(t *testing.T) {
	v0 := writeTiny(t, tiny)
	c1 := tiny
	c1.Version = V1
	v1 := writeTiny(t, c1)
	c2 := tiny
	c2.Version, c2.GroupSize = V2, 8
	v2 := writeTiny(t, c2)
	size0, _ := tiny.FileSize()
	layout, _ := tiny.Tensors()
	off := func(name string) int64 {
		for _, ti := range layout {
			if ti.Name == name {
				return ti.Offset
			}
		}
		t.Fatalf("no tensor %s", name)
		return 0
	}

	cases := []struct {
		name string
		data []byte
		want []string // substrings of the error
	}{
		{"empty file", nil, []string{"truncated", "header", "0"}},
		{"truncated header", v0[:10], []string{"truncated", "header", "implies 28 bytes", "has 10"}},
		{"truncated v1 header", v1[:100], []string{"256", "100"}},
		{"truncated in embedding", v0[:100], []string{"truncated", "tok_embeddings", "offset 28", "100"}},
		{"truncated in wq", v0[:off("layers.1.attention.wq")+5], []string{"layers.1.attention.wq", "truncated"}},
		{"truncated in final norm", v0[:off("norm")+4], []string{"section norm"}},
		{"truncated in rope tables", v0[:size0-3], []string{"freq_cis_imag"}},
		{"truncated v2 scales", v2[:len(v2)-1], []string{"scales", "truncated"}},
		{"trailing garbage", append(append([]byte(nil), v0...), 1, 2, 3), []string{"3 bytes of trailing garbage"}},
		{"wrong magic version", setInt(v1, 4, 7), []string{"version", "7"}},
		{"zero dim", setInt(v0, 0, 0), []string{"dim = 0", "positive"}},
		{"negative layers", setInt(v0, 8, -3), []string{"n_layers = -3", "positive"}},
		{"zero seq_len", setInt(v0, 24, 0), []string{"seq_len = 0"}},
		{"heads not dividing dim", setInt(v0, 12, 3), []string{"n_heads = 3", "divisor of dim 16"}},
		{"kv heads not dividing heads", setInt(v0, 16, 3), []string{"n_kv_heads = 3", "divisor of n_heads 4"}},
		{"odd head size", setInt(setInt(v0, 12, 16), 16, 16), []string{"even"}},
		{"huge sizes", setInt(setInt(setInt(v0, 0, 1<<24), 4, 1<<24), 8, 4096), []string{"overflow"}},
		{"too many layers", setInt(v0, 8, 1<<20), []string{"n_layers = 1048576", "at most 4096"}},
		{"absurd dim", setInt(v0, 0, 1<<30), []string{"dim = 1073741824", "at most"}},
		{"group size not dividing rows", setInt(v2, 37, 12), []string{"group_size = 12", "divisor"}},
		{"zero group size", setInt(v2, 37, 0), []string{"group_size = 0"}},
		{"bad shared flag", func() []byte { b := append([]byte(nil), v1...); b[36] = 9; return b }(), []string{"shared_classifier", "9"}},
		{"text file", []byte("hello, this is not a model at all, not even close to one"), []string{"checkpoint"}},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".bin")
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := Open(p, LoadOptions{})
			if err == nil {
				m.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, p) {
				t.Errorf("error does not name the file: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
	if _, err := Open(filepath.Join(dir, "missing.bin"), LoadOptions{}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestBadTokenizers(t *testing.T) {
	good, err := os.ReadFile(testdata.Model("tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		data  []byte
		vocab int
		want  []string
	}{
		{"empty", nil, 512, []string{"too short", "offset 0"}},
		{"cut in a piece", good[:1000], 512, []string{"cut short"}},
		{"cut in a score", good[:4+8+5+3], 512, []string{"token 1", "score and length"}},
		{"smaller than the model's vocabulary", good, 600, []string{"512 tokens", "600"}},
		{"negative length", setInt(good, 8, -5), 512, []string{"token 0", "length -5"}},
		{"bad max length", setInt(good, 0, 0), 512, []string{"max_token_length 0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTokenizer(tc.data, "tok.bin", tc.vocab)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestPromptTooLong(t *testing.T) {
	m := openModel(t, "tiny-untied.bin") // seq_len 64
	tok := openTok(t, "tok512.bin", m.Vocab)
	s, err := NewState(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Generate(context.Background(), tok, strings.Repeat("zq x ", 60), GenerateOptions{}, nil)
	if !errors.Is(err, ErrPromptTooLong) || !strings.Contains(err.Error(), "seq_len 64") {
		t.Fatalf("got %v", err)
	}
	if _, err := s.Forward(context.Background(), 1, 64); err == nil || !strings.Contains(err.Error(), "position 64") {
		t.Fatalf("pos >= seq_len: %v", err)
	}
	if _, err := s.Forward(context.Background(), 9999, 0); err == nil || !strings.Contains(err.Error(), "token id 9999") {
		t.Fatalf("bad token: %v", err)
	}
}

func TestErrorsNeverPanic(t *testing.T) {
	// Every prefix of a valid v2 file must give an error, not a panic.
	c2 := tiny
	c2.Version, c2.GroupSize = V2, 8
	v2 := writeTiny(t, c2)
	dir := t.TempDir()
	for n := 0; n < len(v2); n += 97 {
		p := filepath.Join(dir, "p.bin")
		if err := os.WriteFile(p, v2[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if m, err := Open(p, LoadOptions{}); err == nil {
			m.Close()
			t.Fatalf("prefix of %d bytes accepted", n)
		}
	}
	if !bytes.Equal(v2[:4], []byte("24ka")) {
		t.Errorf("v2 magic on disk is %q, want \"24ka\" (0x616b3432 little-endian)", v2[:4])
	}
}
