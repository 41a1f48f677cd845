package main

import (
	"fmt"
	"path/filepath"

	"github.com/memwall/memwall/builtin"
	"github.com/memwall/memwall/internal/locate"
)

// findModel resolves a MODEL argument the way %load does (package locate
// has the order; the built-in stories260K comes last).
func findModel(name string) (string, error) {
	r, err := locate.Search{}.Find("model", name, ".bin")
	return r.Path, err
}

// builtinNote describes a built-in file for the command line's reports, or
// "" for any other file.
func builtinNote(path string) string {
	f, ok := builtin.Describe(path)
	if !ok {
		return ""
	}
	return fmt.Sprintf("built-in: %s; embedded in this binary (SHA-256 %s), written once to %s and mapped from there (no copy on the heap)",
		f.What, f.SHA256, filepath.Dir(path))
}
