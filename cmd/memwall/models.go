package main

import (
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
func builtinNote(path string, copied int64) string {
	if f, ok := builtin.Describe(path); ok {
		return f.Source(path, copied)
	}
	return ""
}
