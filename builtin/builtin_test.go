package builtin

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memwall/memwall/engine"
)

func TestEmbeddedDigests(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	fs := Files()
	if len(fs) != 3 {
		t.Fatalf("Files() = %d files", len(fs))
	}
	for _, f := range fs {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 || n != f.Size {
			t.Errorf("%s: embedded %d bytes with SHA-256 %s, SHA256SUMS says %s", f.Name, n, got, f.SHA256)
		}
		// The README states each digest and size; they must not drift.
		if !strings.Contains(string(readme), f.SHA256) || !strings.Contains(string(readme), "| "+strconv.FormatInt(f.Size, 10)+" |") {
			t.Errorf("README.md does not give %s's size %d and SHA-256 %s", f.Name, f.Size, f.SHA256)
		}
	}
	for _, name := range []string{"stories260K", "stories260K.bin", "tok512", "tokenizer.bin"} {
		if _, ok := Lookup(name); !ok {
			t.Errorf("Lookup(%q) failed", name)
		}
	}
	if _, ok := Lookup("stories15M"); ok {
		t.Error("stories15M is not built in")
	}
}

func TestPathWritesOnceAndRepairs(t *testing.T) {
	dir := t.TempDir()
	f, _ := Lookup(Model)
	p, err := f.Path(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p, filepath.Join(dir, "builtin")+string(filepath.Separator)) || filepath.Base(p) != "stories260K.bin" {
		t.Fatalf("path %s", p)
	}
	// The model's tokenizer is written beside it.
	if got, err := FileSHA256(filepath.Join(filepath.Dir(p), "tok512.bin")); err != nil || got != mustLookup(t, "tok512").SHA256 {
		t.Errorf("tok512.bin beside the model: %s, %v", got, err)
	}
	if got, err := FileSHA256(p); err != nil || got != f.SHA256 {
		t.Fatalf("written file: %s, %v", got, err)
	}
	if d, ok := Describe(p); !ok || d.Name != f.Name {
		t.Errorf("Describe(%s) = %v, %v", p, d, ok)
	}
	// A second call reuses the file: same inode, not rewritten.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	st0, _ := os.Stat(p)
	if p2, err := f.Path(dir); err != nil || p2 != p {
		t.Fatalf("second Path: %s, %v", p2, err)
	}
	st1, _ := os.Stat(p)
	if !os.SameFile(st0, st1) || !st1.ModTime().Equal(st0.ModTime()) {
		t.Error("an intact file was rewritten")
	}
	// A damaged file (same size, one byte changed) is replaced.
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Path(dir); err != nil {
		t.Fatal(err)
	}
	if got, _ := FileSHA256(p); got != f.SHA256 {
		t.Error("a damaged file was kept")
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(filepath.Dir(p))
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("left %s", e.Name())
		}
	}
}

func TestPathFallsBackToTempDir(t *testing.T) {
	// A cache directory under a regular file cannot be created, even by
	// root (who writes through permission bits).
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	f, _ := Lookup("tokenizer")
	p, err := f.Path(filepath.Join(blocker, "cache")) // cannot be a directory
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p, tmp) {
		t.Errorf("path %s not under the temporary directory %s", p, tmp)
	}
}

func mustLookup(t *testing.T, name string) File {
	t.Helper()
	f, ok := Lookup(name)
	if !ok {
		t.Fatalf("no built-in %s", name)
	}
	return f
}

// TestLoadBuiltinCopiesNoWeights holds the zero-copy story: loading the
// built-in model maps the file Path wrote, and the heap does not grow by
// anything like the weights. Loading the same file with NoMmap does copy
// it, which shows the measurement can see a copy.
func TestLoadBuiltinCopiesNoWeights(t *testing.T) {
	f := mustLookup(t, Model)
	dir := t.TempDir()
	heapGrowth := func(load func() *engine.Model) (int64, *engine.Model) {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m := load()
		runtime.GC()
		runtime.ReadMemStats(&after)
		return int64(after.HeapInuse) - int64(before.HeapInuse), m
	}
	var path string
	grew, m := heapGrowth(func() *engine.Model {
		p, err := f.Path(dir)
		if err != nil {
			t.Fatal(err)
		}
		path = p
		m, err := engine.Open(p, engine.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
	defer m.Close()
	t.Logf("built-in %s: %d bytes, heap in use grew by %d bytes (first load, file written)", f.Name, f.Size, grew)
	if grew > f.Size/10 {
		t.Errorf("loading the built-in grew the heap by %d bytes for a %d-byte model: weights were copied", grew, f.Size)
	}
	if !m.Load.Mmap || m.Load.CopiedBytes != 0 || m.Load.MappedBytes != f.Size {
		t.Errorf("load info %+v", m.Load)
	}
	grew2, m2 := heapGrowth(func() *engine.Model {
		p, err := f.Path(dir)
		if err != nil {
			t.Fatal(err)
		}
		m, err := engine.Open(p, engine.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
	defer m2.Close()
	t.Logf("second load (file reused): heap grew by %d bytes", grew2)
	if grew2 > f.Size/10 {
		t.Errorf("reloading the built-in grew the heap by %d bytes", grew2)
	}
	grew3, m3 := heapGrowth(func() *engine.Model {
		m, err := engine.Open(path, engine.LoadOptions{NoMmap: true})
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
	defer m3.Close()
	t.Logf("the same file read into the heap (NoMmap): heap grew by %d bytes", grew3)
	if grew3 < f.Size {
		t.Errorf("a heap copy grew the heap by only %d bytes: the measurement cannot see a copy", grew3)
	}
}
