package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/internal/testdata"
)

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (the project keeps its goldens in testdata/golden)", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func openModel(t testing.TB, name string) *Model {
	t.Helper()
	m, err := Open(testdata.Model(name), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func openTok(t testing.TB, name string, vocab int) *Tokenizer {
	t.Helper()
	tok, err := LoadTokenizer(testdata.Model(name), vocab)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestGoldenEncode(t *testing.T) {
	for _, c := range []struct{ golden, tok string }{
		{"encode_tok512.json", "tok512.bin"},
		{"encode_tokenizer32000.json", "tokenizer.bin"},
	} {
		var cases []struct {
			Text string
			Bos  bool
			Eos  bool
			IDs  []int `json:"ids"`
		}
		readJSON(t, testdata.Golden(c.golden), &cases)
		tok := openTok(t, c.tok, 0)
		for _, tc := range cases {
			got := tok.Encode(tc.Text, tc.Bos, tc.Eos)
			if !slices.Equal(got, tc.IDs) {
				t.Errorf("%s: Encode(%q) =\n%v\nwant\n%v", c.tok, tc.Text, got, tc.IDs)
			}
		}
		if len(cases) == 0 {
			t.Errorf("%s: no cases", c.golden)
		}
	}
}

var goldenModels = []struct{ model, logits, generate string }{
	{"stories260K.bin", "logits_stories260K.json", "generate_stories260K.json"},
	{"tiny-untied.bin", "logits_tiny_untied.json", "generate_tiny_untied.json"},
	{"tiny-q8.bin", "logits_tiny_q8.json", "generate_tiny_q8.json"},
}

// logitsTol is the relative tolerance for logits against llama2.c: a
// difference is accepted when |got-want| <= logitsTol * max|want| over the
// position's logits. Summation order differs between kernels, so agreement
// is to rounding, not bit for bit.
const logitsTol = 1e-4

type goldenLogits struct {
	Prompt    string
	Positions []struct {
		Pos    int
		Token  int
		Logits []float32
	}
}

// checkLogits replays the golden run: the prompt's tokens (with BOS), then
// the argmax of each position's logits, comparing logits at the listed
// positions.
func checkLogits(t *testing.T, m *Model, tok *Tokenizer, ops *asm.Ops, gl goldenLogits) {
	t.Helper()
	s, err := NewState(m, ops)
	if err != nil {
		t.Fatal(err)
	}
	prompt := tok.Encode(gl.Prompt, true, false)
	last := gl.Positions[len(gl.Positions)-1].Pos
	token, k := prompt[0], 0
	for pos := 0; pos <= last; pos++ {
		logits, err := s.Forward(context.Background(), token, pos)
		if err != nil {
			t.Fatal(err)
		}
		if p := gl.Positions[k]; p.Pos == pos {
			if p.Token != token {
				t.Fatalf("%s pos %d: fed token %d, golden fed %d", ops.Name, pos, token, p.Token)
			}
			var scale float64
			for _, v := range p.Logits {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			for i, want := range p.Logits {
				if d := math.Abs(float64(logits[i] - want)); d > logitsTol*scale {
					t.Fatalf("%s pos %d logit %d: got %g want %g (diff %g, tolerance %g)", ops.Name, pos, i, logits[i], want, d, logitsTol*scale)
				}
			}
			k++
		}
		if pos+1 < len(prompt) {
			token = prompt[pos+1]
		} else {
			token = Argmax(logits)
		}
	}
	if k != len(gl.Positions) {
		t.Fatalf("checked %d of %d golden positions", k, len(gl.Positions))
	}
}

func TestGoldenLogits(t *testing.T) {
	for _, g := range goldenModels {
		var gl goldenLogits
		readJSON(t, testdata.Golden(g.logits), &gl)
		m := openModel(t, g.model)
		tok := openTok(t, "tok512.bin", m.Vocab)
		for _, v := range asm.Variants() {
			if !v.Available {
				continue
			}
			for _, threads := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s/%s/%d", g.model, v.Name, threads), func(t *testing.T) {
					checkLogits(t, m, tok, asm.MustNew(v.Name, threads), gl)
				})
			}
		}
	}
}

type goldenGen struct {
	Prompt      string
	Temperature float32
	Topp        float32
	Seed        uint64
	Steps       int
	IDs         []int `json:"ids"`
	Text        string
}

func TestGoldenGenerate(t *testing.T) {
	for _, g := range goldenModels {
		var cases []goldenGen
		readJSON(t, testdata.Golden(g.generate), &cases)
		m := openModel(t, g.model)
		tok := openTok(t, "tok512.bin", m.Vocab)
		for _, v := range asm.Variants() {
			if !v.Available {
				continue
			}
			ops := asm.MustNew(v.Name, 1)
			for i, c := range cases {
				// Under -short (the arm64 run under emulation), only the
				// fastest variant runs every case; the others run the first
				// of each sampling setting.
				if testing.Short() && v.Name != asm.Best() && i >= 4 {
					break
				}
				s, err := NewState(m, ops)
				if err != nil {
					t.Fatal(err)
				}
				gen, err := s.Generate(context.Background(), tok, c.Prompt, GenerateOptions{
					Steps: c.Steps, Temperature: c.Temperature, TopP: c.Topp, Seed: c.Seed,
				}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(gen.IDs, c.IDs) {
					i := 0
					for i < len(gen.IDs) && i < len(c.IDs) && gen.IDs[i] == c.IDs[i] {
						i++
					}
					t.Errorf("%s %s temp %v topp %v seed %d: sequences differ at index %d (got %d tokens, want %d)\ngot  %v\nwant %v",
						g.model, v.Name, c.Temperature, c.Topp, c.Seed, i, len(gen.IDs), len(c.IDs), gen.IDs, c.IDs)
				}
			}
		}
	}
}
