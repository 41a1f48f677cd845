package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/memwall/memwall/builtin"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/internal/locate"
)

// findModel resolves a MODEL argument the way %load does (package locate
// has the order; the built-in stories260K comes last).
func findModel(name string) (string, error) {
	r, err := locate.Search{}.Find("model", name, ".bin")
	return r.Path, err
}

// errNoTokenizer is findTokenizer's error: no tokenizer beside the model
// nor among the built-in files.
var errNoTokenizer = errors.New("no tokenizer")

// findTokenizer picks the tokenizer beside a model, by the names
// locate.TokenizerNames gives for its vocabulary, then the same names
// among the built-in files.
func findTokenizer(model string, vocab int) (string, error) {
	dir := filepath.Dir(model)
	cands := locate.TokenizerNames(vocab)
	for _, c := range cands {
		p := filepath.Join(dir, c)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	for _, c := range cands {
		if r, ok, err := (locate.Search{}).Builtin(c); ok {
			return r.Path, err
		}
	}
	return "", fmt.Errorf("%w beside %s (looked for %s, also among the built-in ones); give one with -z", errNoTokenizer, model, strings.Join(cands, ", "))
}

// modelTokenizer is the tokenizer for m, the model at path: the file -z
// named (given, looked up like a model), else the vocabulary a GGUF file
// carries, else the file findTokenizer picks.
func modelTokenizer(m *engine.Model, path, given string) (*engine.Tokenizer, error) {
	if given == "" && m.Tok != nil {
		return m.Tok, nil
	}
	var p string
	var err error
	if given != "" {
		var r locate.Result
		r, err = locate.Search{}.Find("tokenizer", given, ".bin")
		p = r.Path
	} else {
		p, err = findTokenizer(path, m.Vocab)
	}
	if err != nil {
		return nil, err
	}
	return engine.LoadTokenizer(p, m.Vocab)
}

// builtinNote describes a built-in file for the command line's reports, or
// "" for any other file.
func builtinNote(path string, copied int64) string {
	if f, ok := builtin.Describe(path); ok {
		return f.Source(path, copied)
	}
	return ""
}
