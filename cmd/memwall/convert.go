package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/memwall/memwall/engine"
)

// ggufTypes are the tensor types convert --type accepts, by memwall's names.
var ggufTypes = map[string]engine.GGMLType{
	"f32": engine.GGMLF32, "fp32": engine.GGMLF32, "f16": engine.GGMLF16, "bf16": engine.GGMLBF16,
	"q8_0": engine.GGMLQ8_0, "q4_0": engine.GGMLQ4_0,
}

// cmdConvert writes any model memwall reads as a GGUF file, then reads it
// back and checks it describes the same model.
func cmdConvert(e *env, args []string) error {
	fs := newFlags(e, "convert")
	out := fs.String("o", "", "output .gguf file (required)")
	typ := fs.String("type", "f32", "type of the matrices: f32, f16, bf16, q8_0 or q4_0 (norms stay f32)")
	tokPath := fs.String("z", "", "tokenizer to store in the file (default: the model's own, or the one beside it)")
	name := fs.String("name", "", "general.name (default: the input's file name)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	in, err := oneArg(pos, "input MODEL")
	if err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: -o OUT.gguf is required", errUsage)
	}
	gt, ok := ggufTypes[strings.ToLower(*typ)]
	if !ok {
		return fmt.Errorf("%w: --type %q: want f32, f16, bf16, q8_0 or q4_0", errUsage, *typ)
	}
	if in, err = findModel(in); err != nil {
		return err
	}
	m, err := engine.Open(in, engine.LoadOptions{})
	if err != nil {
		return err
	}
	defer m.Close()
	// Without a tokenizer the file is still written, with a warning below.
	tok, err := modelTokenizer(m, in, *tokPath)
	if err != nil && !errors.Is(err, errNoTokenizer) {
		return err
	}
	if *name == "" {
		*name = strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
	}
	start := time.Now()
	rep, err := engine.WriteGGUF(*out, m.Config, tok, engine.FromModel(m), engine.GGUFWriteOptions{Type: gt, Name: *name})
	if err != nil {
		return err
	}
	took := time.Since(start)
	// Read it back: the same shape, every tensor present.
	back, err := engine.Open(*out, engine.LoadOptions{})
	if err != nil {
		return fmt.Errorf("reading back %s: %w", *out, err)
	}
	defer back.Close()
	a, b := m.Config, back.Config
	if a.Dim != b.Dim || a.HiddenDim != b.HiddenDim || a.Layers != b.Layers || a.Heads != b.Heads || a.KVHeads != b.KVHeads || a.Vocab != b.Vocab || a.SeqLen != b.SeqLen || a.Shared != b.Shared {
		return fmt.Errorf("reading back %s: the shape changed (%+v, wrote %+v)", *out, b, a)
	}
	var types []string
	for t, n := range rep.Types {
		types = append(types, fmt.Sprintf("%d %s", n, t))
	}
	sort.Strings(types)
	fmt.Fprintf(e.stderr, "wrote %s: GGUF v3, %d bytes (%s tensors) in %v; read back: %d parameters, %d weight bytes per token\n",
		*out, rep.Bytes, strings.Join(types, ", "), took.Round(time.Millisecond), back.Params(), back.WeightBytes())
	if len(rep.Fallback) > 0 {
		fmt.Fprintf(e.stderr, "note: %d tensors stored as F16 because their rows are not a whole number of %s blocks: %s\n",
			len(rep.Fallback), gt, strings.Join(rep.Fallback, ", "))
	}
	if rep.NoVocab {
		fmt.Fprintf(e.stderr, "warning: no tokenizer found beside %s (give one with -z): the file has no vocabulary, so llama.cpp will not load it\n", in)
	}
	return nil
}
