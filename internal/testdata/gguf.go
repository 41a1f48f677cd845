package testdata

import "path/filepath"

// GGUF returns the path of a file in testdata/gguf: the stories260K GGUF
// files llama.cpp made and llama.cpp's outputs on them (see
// testdata/gguf/README.md).
func GGUF(name string) string { return filepath.Join(Root(), "testdata", "gguf", name) }
