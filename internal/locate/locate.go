// Package locate finds model and tokenizer files by name. The kernel's
// %load and every command-line MODEL and -z TOKENIZER argument share it,
// so a name means the same file everywhere. The order is:
//
//  1. the name as a path (relative to the working directory);
//  2. $MEMWALL_MODEL: a file (its directory is searched) or a directory;
//  3. each directory in $MEMWALL_MODELS (a list separated like $PATH);
//  4. ./models;
//  5. the user's data directory, $XDG_DATA_HOME/memwall/models (default
//     ~/.local/share/memwall/models), where memwall pull puts downloads;
//  6. any extra directories the caller configured;
//  7. the files built into the binary (package builtin).
package locate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/memwall/memwall/builtin"
)

// Search describes where to look. The zero value searches from the
// process's working directory.
type Search struct {
	// WorkDir resolves relative paths and ./models (default: the working
	// directory).
	WorkDir string
	// Extra directories are searched after the user's data directory.
	Extra []string
	// CacheDir is where built-in files are written to be mapped (default
	// builtin.DefaultDir(), the site's cache directory).
	CacheDir string
	// NoBuiltin leaves the built-in files out of the search.
	NoBuiltin bool
}

// DataDir is the user's models directory: $XDG_DATA_HOME/memwall/models,
// or ~/.local/share/memwall/models. It is "" when neither variable gives
// an absolute directory.
func DataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "memwall", "models")
	}
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "share", "memwall", "models")
	}
	return ""
}

func (s Search) workDir() string {
	if s.WorkDir != "" {
		return s.WorkDir
	}
	if wd, err := os.Getwd(); err == nil {
		return wd
	}
	return "."
}

// Abs resolves p against the working directory, expanding a leading ~/.
func (s Search) Abs(p string) string {
	if strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(h, p[2:])
		}
	}
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.workDir(), p)
}

// Dirs lists the directories searched, in order, without duplicates.
func (s Search) Dirs() []string {
	var dirs []string
	seen := map[string]bool{}
	add := func(d string) {
		if d == "" {
			return
		}
		d = s.Abs(d)
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	if env := os.Getenv("MEMWALL_MODEL"); env != "" {
		if st, err := os.Stat(s.Abs(env)); err == nil && st.IsDir() {
			add(env)
		} else {
			add(filepath.Dir(env))
		}
	}
	for _, d := range filepath.SplitList(os.Getenv("MEMWALL_MODELS")) {
		add(d)
	}
	add("models")
	add(DataDir())
	for _, d := range s.Extra {
		add(d)
	}
	return dirs
}

// Result is a file that was found.
type Result struct {
	Path    string
	Builtin bool // written from the binary's embedded copy
}

// NotFoundError says what was looked for and everywhere it was looked.
type NotFoundError struct {
	What, Name string
	Tried      []string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %q not found (looked in %s)", e.What, e.Name, strings.Join(e.Tried, ", "))
}

// Find resolves name: as a path, then as a bare name (with and without
// ext) in each directory of Dirs, then among the built-in files. what
// ("model", "tokenizer") is used in the error.
func (s Search) Find(what, name, ext string) (Result, error) {
	var tried []string
	if p := s.Abs(name); isFile(p) {
		return Result{Path: p}, nil
	} else {
		tried = append(tried, p)
	}
	if strings.ContainsRune(name, filepath.Separator) {
		return Result{}, &NotFoundError{What: what, Name: name, Tried: tried}
	}
	for _, d := range s.Dirs() {
		for _, n := range []string{name, name + ext} {
			if p := filepath.Join(d, n); isFile(p) {
				return Result{Path: p}, nil
			}
		}
		tried = append(tried, d)
	}
	if r, ok, err := s.Builtin(name); ok {
		return r, err
	}
	if !s.NoBuiltin {
		tried = append(tried, "the built-in files ("+strings.Join(builtin.Names(), ", ")+")")
	}
	return Result{}, &NotFoundError{What: what, Name: name, Tried: tried}
}

// TokenizerNames are the file names of the tokenizer for a vocabulary of
// vocab pieces, most specific first: tokenizer.bin for Llama 2's 32000,
// else llama2.c's tok<vocab>.bin for a custom vocabulary and tokenizer.bin
// as a last resort.
func TokenizerNames(vocab int) []string {
	if vocab == 32000 {
		return []string{"tokenizer.bin"}
	}
	return []string{fmt.Sprintf("tok%d.bin", vocab), "tokenizer.bin"}
}

// Builtin returns the built-in file called name (with or without
// ".bin"), written to the cache directory; ok is false when there is no
// such file or the search leaves the built-in files out.
func (s Search) Builtin(name string) (r Result, ok bool, err error) {
	if s.NoBuiltin {
		return Result{}, false, nil
	}
	f, ok := builtin.Lookup(name)
	if !ok {
		return Result{}, false, nil
	}
	p, err := f.Path(s.CacheDir)
	if err != nil {
		return Result{}, true, err
	}
	return Result{Path: p, Builtin: true}, true, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
