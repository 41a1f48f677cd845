// Package builtin holds the model every memwall binary carries: the real
// stories260K checkpoint with its 512-token tokenizer, and the Llama 2
// tokenizer (32000 pieces) that the stories15M to stories110M shapes use.
// They are embedded with go:embed (about 1.5 MB together; MIT licence,
// see LICENSE and README.md in this directory).
//
// The engine maps checkpoints from files and uses the tensors in place.
// Embedded bytes are not a file, so Path writes a file once into a cache
// directory (to a temporary name, then a rename, so a reader never sees a
// partial file) and returns it; later calls check the file against the
// embedded digest and reuse it. The weights are then mapped from that
// file like any other, never copied onto the heap.
package builtin

import (
	"bufio"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/memwall/memwall/internal/site"
)

//go:embed stories260K.bin tok512.bin tokenizer.bin SHA256SUMS
var files embed.FS

// Model is the name of the built-in model; %load and memwall run accept
// it with or without ".bin".
const Model = "stories260K"

// File is one embedded file.
type File struct {
	Name   string // file name, e.g. "stories260K.bin"
	Size   int64
	SHA256 string // hex digest, from SHA256SUMS
	What   string // one line for model cards and listings
	// Tokenizer is the built-in tokenizer that goes with a model ("" for
	// a tokenizer).
	Tokenizer string
}

var catalogue = []File{
	{Name: "stories260K.bin", What: "the real stories260K TinyStories model (karpathy/tinyllamas, MIT)", Tokenizer: "tok512.bin"},
	{Name: "tok512.bin", What: "the 512-token vocabulary of stories260K (karpathy/tinyllamas, MIT)"},
	{Name: "tokenizer.bin", What: "the Llama 2 vocabulary of 32000 pieces as llama2.c ships it (MIT)"},
}

var (
	initOnce sync.Once
	initErr  error
)

// load fills in sizes and digests from the embedded files.
func load() error {
	initOnce.Do(func() {
		sums, err := files.ReadFile("SHA256SUMS")
		if err != nil {
			initErr = err
			return
		}
		digest := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
			f := strings.Fields(line)
			if len(f) == 2 {
				digest[f[1]] = f[0]
			}
		}
		for i := range catalogue {
			f := &catalogue[i]
			st, err := embeddedSize(f.Name)
			if err != nil {
				initErr = err
				return
			}
			f.Size = st
			if f.SHA256 = digest[f.Name]; f.SHA256 == "" {
				initErr = fmt.Errorf("builtin: SHA256SUMS has no line for %s", f.Name)
				return
			}
		}
	})
	return initErr
}

func embeddedSize(name string) (int64, error) {
	st, err := files.Open(name)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	info, err := st.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// Files lists the embedded files.
func Files() []File {
	if load() != nil {
		return nil
	}
	return append([]File(nil), catalogue...)
}

// Lookup finds an embedded file by name, with or without ".bin"
// ("stories260K", "tok512.bin", "tokenizer").
func Lookup(name string) (File, bool) {
	if load() != nil {
		return File{}, false
	}
	for _, f := range catalogue {
		if name == f.Name || name+".bin" == f.Name {
			return f, true
		}
	}
	return File{}, false
}

// Names lists the names Lookup accepts, without ".bin".
func Names() []string {
	var out []string
	for _, f := range catalogue {
		out = append(out, strings.TrimSuffix(f.Name, ".bin"))
	}
	return out
}

// Open returns the embedded bytes of f.
func (f File) Open() (io.ReadCloser, error) { return files.Open(f.Name) }

// DefaultDir is where Path writes the files: the cache directory of
// synthetic and converted models (site.CacheDir: the site's cache_dir,
// else the user's cache directory), so the kernel and the command line
// share one copy.
func DefaultDir() string {
	d, _ := site.CacheDir()
	return d
}

var (
	mu      sync.Mutex
	written = map[string]File{} // paths Path returned, for Describe
)

// Path returns a file on disk with the bytes of f, writing it on first
// use under cacheDir (DefaultDir when ""), in a subdirectory named after
// the digest of all embedded files so that binaries with different
// built-ins never share a file. A model's tokenizer is written beside
// it, so tools that look for the tokenizer next to the model find it.
// When cacheDir cannot be written, the system's temporary directory is
// tried before giving up.
func (f File) Path(cacheDir string) (string, error) {
	if err := load(); err != nil {
		return "", err
	}
	if cacheDir == "" {
		cacheDir = DefaultDir()
	}
	tmp := filepath.Join(os.TempDir(), fmt.Sprintf("memwall-%d", os.Getuid()))
	var errs []error
	for _, root := range []string{cacheDir, tmp} {
		p, err := f.pathIn(dirIn(root))
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
		if root == tmp {
			break
		}
	}
	return "", fmt.Errorf("built-in %s: %w", f.Name, errors.Join(errs...))
}

// dirIn is the directory the built-in files go to under a cache root.
func dirIn(root string) string {
	h := sha256.New()
	for _, f := range catalogue {
		h.Write([]byte(f.SHA256 + " " + f.Name + "\n"))
	}
	return filepath.Join(root, "builtin", hex.EncodeToString(h.Sum(nil))[:12])
}

func (f File) pathIn(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, f.Name)
	if err := f.ensure(p); err != nil {
		return "", err
	}
	if f.Tokenizer != "" {
		t, _ := Lookup(f.Tokenizer)
		if err := t.ensure(filepath.Join(dir, t.Name)); err != nil {
			return "", err
		}
	}
	mu.Lock()
	written[p] = f
	mu.Unlock()
	return p, nil
}

// ensure makes p hold exactly the bytes of f: an existing file of the
// right size and digest is kept, anything else is replaced atomically.
func (f File) ensure(p string) error {
	if ok, err := f.matches(p); err == nil && ok {
		return nil
	}
	src, err := f.Open()
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+f.Name+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), src); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("embedded %s has SHA-256 %s, SHA256SUMS says %s", f.Name, got, f.SHA256)
	}
	return os.Rename(tmp.Name(), p)
}

// matches reports whether p holds exactly the bytes of f.
func (f File) matches(p string) (bool, error) {
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() || st.Size() != f.Size {
		return false, err
	}
	got, err := FileSHA256(p)
	return err == nil && got == f.SHA256, err
}

// FileSHA256 returns the hex SHA-256 of a file's contents.
func FileSHA256(p string) (string, error) {
	fh, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, bufio.NewReaderSize(fh, 1<<16)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Source says, for a model card, where the bytes of f at path (a file
// Path returned) come from and how they reach the engine; copied is what
// the load counted as copied out of the file.
func (f File) Source(path string, copied int64) string {
	return fmt.Sprintf("built-in: %s; embedded in the memwall binary (%d bytes, SHA-256 %s), written once to %s and mapped from that file like any other (%d bytes copied out of it at load)",
		f.What, f.Size, f.SHA256, filepath.Dir(path), copied)
}

// Describe reports whether path is a file Path wrote in this process, and
// which.
func Describe(path string) (File, bool) {
	mu.Lock()
	defer mu.Unlock()
	f, ok := written[path]
	return f, ok
}
