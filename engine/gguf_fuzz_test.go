package engine

import (
	"context"
	"testing"
)

// FuzzGGUF feeds arbitrary bytes to the GGUF reader: it must return an
// error or a model whose forward pass and tokenizer run, never panic.
func FuzzGGUF(f *testing.F) {
	// Small shapes keep the inputs small (the fuzzer slows down on large
	// ones).
	c := Config{Dim: 8, HiddenDim: 12, Layers: 1, Heads: 2, KVHeads: 1, Vocab: 12, SeqLen: 4, Version: VGGUF}
	good := buildGGUF(tinyKVs(c), ggufTensorsOf(c, GGMLF32))
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:700])
	untied := c
	untied.Layers = 1
	untied.Shared = false
	f.Add(buildGGUF(tinyKVs(untied), ggufTensorsOf(untied, GGMLF32)))
	f.Add(buildGGUF([]GGUFKV{{Key: "a", Type: GGUFArray, Value: GGUFArrayValue{Elem: GGUFArray, Values: []GGUFArrayValue{{Elem: GGUFString, Values: []string{"x"}, Len: 1}}, Len: 1}}}, nil))
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := loadMapped(&mapping{data: data}, int64(len(data)), "fuzz.gguf", LoadOptions{})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if m.Params() <= 0 || m.WeightBytes() <= 0 {
			t.Fatalf("accepted a model with %d parameters", m.Params())
		}
		if m.Tok != nil {
			ids := m.Tok.Encode(string(data[len(data)-min(len(data), 32):]), true, true)
			for _, id := range ids {
				if id < 0 || id >= m.Vocab {
					t.Fatalf("token id %d outside the vocabulary of %d", id, m.Vocab)
				}
			}
		}
		if int64(len(data)) < 1<<18 {
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
