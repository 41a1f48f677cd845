package engine

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/memwall/memwall/internal/testdata"
)

// mergeQuadratic is llama2.c's merge loop as written there: rescan every
// adjacent pair, merge the best (the first of equal scores), repeat. The
// heap-based Tokenizer.merge must give the same ids.
func (t *Tokenizer) mergeQuadratic(tokens []int, extra []string) []int {
	var buf []byte
	for {
		best, bestID, bestIdx := float32(-1e10), -1, -1
		for i := 0; i+1 < len(tokens); i++ {
			buf = append(append(buf[:0], t.pieceText(tokens[i], extra)...), t.pieceText(tokens[i+1], extra)...)
			id, ok := t.ids[string(buf)]
			if ok && t.Scores[id] > best {
				best, bestID, bestIdx = t.Scores[id], id, i
			}
		}
		if bestIdx < 0 {
			return tokens
		}
		tokens[bestIdx] = bestID
		tokens = append(tokens[:bestIdx+1], tokens[bestIdx+2:]...)
	}
}

func loadTestTokenizers(t *testing.T) map[string]*Tokenizer {
	out := map[string]*Tokenizer{}
	for _, name := range []string{"tok512.bin", "tokenizer.bin", "stories260K-f32.gguf"} {
		p := testdata.Model(name)
		if strings.HasSuffix(name, ".gguf") {
			p = testdata.GGUF(name) // llama.cpp's vocabulary, bytes after the merges
		}
		if _, err := os.Stat(p); err != nil {
			continue
		}
		tk, err := LoadTokenizer(p, 0)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = tk
	}
	if len(out) == 0 {
		t.Skip("no tokenizer files")
	}
	return out
}

// TestMergeMatchesLlama2c holds the heap merge against llama2.c's
// quadratic loop on random texts of English words, repeated letters (many
// equal-score ties), punctuation and multi-byte characters.
func TestMergeMatchesLlama2c(t *testing.T) {
	words := []string{"the", "a", "Once", "upon", "time", "little", "girl", "named", "Lily", "aaaa", "ab", "ba", "lll",
		",", ".", "!", "\n", "  ", "é", "日本", "😀", "don't", "12345", "\t", "xyzzy", "ing", "tion"}
	for name, tk := range loadTestTokenizers(t) {
		r := rand.New(rand.NewPCG(1, 2))
		for n := 0; n < 300; n++ {
			var b strings.Builder
			for k := r.IntN(80); k > 0; k-- {
				b.WriteString(words[r.IntN(len(words))])
				if r.IntN(3) > 0 {
					b.WriteByte(' ')
				}
			}
			text := b.String()
			got := tk.Encode(text, true, false)
			want := tk.encodeWith(text, true, tk.mergeQuadratic)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: %q:\n heap      %v\n quadratic %v", name, text, got, want)
			}
		}
	}
}

// BenchmarkEncodeLong times encoding 1 MB of text, which llama2.c's
// quadratic merge loop took 17 s for (go test -run '^$' -bench EncodeLong
// ./engine/). A speed goal is a benchmark that prints its number, not a
// test that fails on a slow machine.
func BenchmarkEncodeLong(b *testing.B) {
	tks := map[string]*Tokenizer{}
	for _, name := range []string{"tok512.bin", "tokenizer.bin"} {
		if tk, err := LoadTokenizer(testdata.Model(name), 0); err == nil {
			tks[name] = tk
		}
	}
	if len(tks) == 0 {
		b.Skip("no tokenizer files")
	}
	text := strings.Repeat("Once upon a time, there was a little girl named Lily. ", 1<<20/54)
	for name, tk := range tks {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for i := 0; i < b.N; i++ {
				tk.Encode(text, true, false)
			}
		})
	}
}
