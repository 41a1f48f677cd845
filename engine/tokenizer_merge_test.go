package engine

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/memwall/memwall/internal/testdata"
)

// mergeQuadratic is llama2.c's merge loop as written there: rescan every
// adjacent pair, merge the best (the first of equal scores), repeat. The
// heap-based Tokenizer.merge must give the same ids.
func (t *Tokenizer) mergeQuadratic(tokens []int) []int {
	var buf []byte
	for {
		best, bestID, bestIdx := float32(-1e10), -1, -1
		for i := 0; i+1 < len(tokens); i++ {
			buf = append(append(buf[:0], t.Pieces[tokens[i]]...), t.Pieces[tokens[i+1]]...)
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
	for _, name := range []string{"tok512.bin", "tokenizer.bin"} {
		p := testdata.Model(name)
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
			want := tk.encodeWith(text, tk.mergeQuadratic)
			if !equalIDs(got, want) {
				t.Fatalf("%s: %q:\n heap      %v\n quadratic %v", name, text, got, want)
			}
		}
	}
}

func equalIDs(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestEncodeLongTextIsFast: 1 MB of text encodes in a few seconds at most
// (llama2.c's loop took 17 s for this; the bound is loose so that a loaded
// machine does not fail it, and the time is printed).
func TestEncodeLongTextIsFast(t *testing.T) {
	for name, tk := range loadTestTokenizers(t) {
		size := 1 << 20
		if testing.Short() {
			size = 128 << 10 // -short runs under qemu-user in CI, 20-50x slower
		}
		text := strings.Repeat("Once upon a time, there was a little girl named Lily. ", size/54)
		start := time.Now()
		ids := tk.Encode(text, true, false)
		el := time.Since(start)
		t.Logf("%s: %d bytes → %d tokens in %v", name, len(text), len(ids), el)
		if el > 20*time.Second {
			t.Errorf("%s: encoding %d bytes took %v", name, len(text), el)
		}
	}
}
