package engine

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/memwall/memwall/internal/testdata"
)

// FuzzCheckpoint feeds arbitrary bytes to the checkpoint parser: it must
// return an error or a model whose forward pass runs, never panic.
func FuzzCheckpoint(f *testing.F) {
	for _, c := range []Config{
		{Dim: 8, HiddenDim: 12, Layers: 1, Heads: 2, KVHeads: 1, Vocab: 6, SeqLen: 4, Shared: true},
		{Dim: 8, HiddenDim: 16, Layers: 2, Heads: 2, KVHeads: 2, Vocab: 5, SeqLen: 3, Version: V1},
		{Dim: 8, HiddenDim: 16, Layers: 1, Heads: 2, KVHeads: 2, Vocab: 5, SeqLen: 3, Version: V2, GroupSize: 4},
		{Dim: 8, HiddenDim: 16, Layers: 1, Heads: 2, KVHeads: 2, Vocab: 5, SeqLen: 3, Version: V2, GroupSize: 8, Shared: false},
	} {
		p := f.TempDir() + "/seed.bin"
		if err := WriteCheckpoint(p, c, Synthetic(1)); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add([]byte("24ka\x02\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := newModel(&mapping{data: data}, int64(len(data)), "fuzz.bin")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if m.Params() <= 0 || m.WeightBytes() <= 0 {
			t.Fatalf("accepted model with params %d", m.Params())
		}
		// Small accepted models must run.
		if int64(len(data)) < 1<<16 {
			s, err := NewState(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Forward(context.Background(), 0, 0); err != nil {
				t.Fatalf("forward on an accepted model: %v", err)
			}
		}
	})
}

// FuzzTokenizerFile feeds arbitrary bytes to the tokenizer parser.
func FuzzTokenizerFile(f *testing.F) {
	good, err := os.ReadFile(testdata.Model("tok512.bin"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, 512)
	f.Add(good[:100], 0)
	f.Add([]byte{9, 0, 0, 0}, 3)
	f.Fuzz(func(t *testing.T, data []byte, vocab int) {
		if vocab < 0 || vocab > 1<<16 {
			return
		}
		tok, err := ParseTokenizer(data, "fuzz", vocab)
		if err != nil {
			return
		}
		if vocab > 0 && tok.VocabSize() != vocab {
			t.Fatalf("asked for %d tokens, got %d", vocab, tok.VocabSize())
		}
		tok.Encode(string(data[:min(len(data), 64)]), true, true)
	})
}

var fuzzToks = map[string]*Tokenizer{}

func fuzzTok(t testing.TB, name string) *Tokenizer {
	if tok, ok := fuzzToks[name]; ok {
		return tok
	}
	path := testdata.Model(name)
	if strings.HasSuffix(name, ".gguf") {
		path = testdata.GGUF(name) // the vocabulary inside llama.cpp's file
	}
	tok, err := LoadTokenizer(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	fuzzToks[name] = tok
	return tok
}

// FuzzEncode encodes arbitrary bytes with both vocabularies (and the one
// in llama.cpp's stories260K GGUF file): ids are in
// range and decoding gives the text back (byte fallback covers every byte).
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"Once upon a time", "", " ", "  double  spaces", "café naïve 日本語 🙂", "\xff\xfe invalid", "a\x00b", "<s></s>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 2048 {
			return // encoding is quadratic in length, as llama2.c's
		}
		for _, name := range []string{"tok512.bin", "tokenizer.bin", "stories260K-f32.gguf"} {
			tok := fuzzTok(t, name)
			ids := tok.Encode(text, true, false)
			for _, id := range ids {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("%s: id %d out of range for %q", name, id, text)
				}
			}
			// Pieces spelled like byte tokens ("<0x41>") decode to the
			// byte, so such texts need not round-trip.
			if strings.Contains(text, "<0x") {
				continue
			}
			if got := tok.DecodeAll(BOS, ids[1:]); got != text {
				t.Fatalf("%s: decode(encode(%q)) = %q (ids %v)", name, text, got, ids)
			}
		}
	})
}
