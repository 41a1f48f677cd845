// Package testdata locates the model files and golden vectors that tests
// and benchmarks read. Everything lives inside the project: the small test
// checkpoints and llama2.c's reference outputs under testdata/ at the
// project root, the real stories260K model and the tokenizers in builtin/
// (the files the binary embeds). Nothing outside the checkout is read.
package testdata

import (
	"os"
	"path/filepath"
	"runtime"
)

// Root returns the project's root directory (the one holding go.mod).
func Root() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	// file is <root>/internal/testdata/testdata.go
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// Model returns the path of a model or tokenizer file: testdata/models
// for the test checkpoints, else builtin/ for the embedded model and
// tokenizers. A name found in neither resolves under testdata/models, so
// the caller's error names where the file was expected.
func Model(name string) string {
	root := Root()
	p := filepath.Join(root, "testdata", "models", name)
	if fileExists(p) {
		return p
	}
	if q := filepath.Join(root, "builtin", name); fileExists(q) {
		return q
	}
	return p
}

// Golden returns the path of one of llama2.c's reference outputs in
// testdata/golden.
func Golden(name string) string { return filepath.Join(Root(), "testdata", "golden", name) }

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
