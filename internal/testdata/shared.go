// Package testdata locates the shared model files and golden vectors that
// tests and benchmarks read (../shared beside the project root, or
// $MEMWALL_SHARED).
package testdata

import (
	"os"
	"path/filepath"
	"runtime"
)

// Shared returns the shared directory, or "" if it cannot be found.
func Shared() string {
	if d := os.Getenv("MEMWALL_SHARED"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	// file is <root>/internal/testdata/shared.go
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	d := filepath.Join(filepath.Dir(root), "shared")
	if st, err := os.Stat(filepath.Join(d, "models")); err == nil && st.IsDir() {
		return d
	}
	return ""
}

// Model returns the path of a file in shared/models.
func Model(name string) string { return filepath.Join(Shared(), "models", name) }

// Golden returns the path of a file in shared/golden.
func Golden(name string) string { return filepath.Join(Shared(), "golden", name) }
