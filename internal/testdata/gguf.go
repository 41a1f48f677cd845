package testdata

import (
	"path/filepath"
	"runtime"
)

// GGUF returns the path of a file in the project's testdata/gguf: the
// stories260K GGUF files made by llama.cpp and llama.cpp's outputs on them
// (see testdata/gguf/README.md).
func GGUF(name string) string {
	_, file, _, _ := runtime.Caller(0)
	// file is <root>/internal/testdata/gguf.go
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	return filepath.Join(root, "testdata", "gguf", name)
}
