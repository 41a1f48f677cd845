package locate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func touch(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOrder puts a file called m.bin in every place and removes them one
// by one, from the first place in the order to the last.
func TestOrder(t *testing.T) {
	work, data, env1, env2, extra, single := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	t.Setenv("MEMWALL_MODEL", filepath.Join(single, "m.bin"))
	t.Setenv("MEMWALL_MODELS", env1+string(os.PathListSeparator)+env2)
	s := Search{WorkDir: work, Extra: []string{extra}, CacheDir: t.TempDir()}
	places := []string{
		filepath.Join(single, "m.bin"),
		filepath.Join(env1, "m.bin"),
		filepath.Join(env2, "m.bin"),
		filepath.Join(work, "models", "m.bin"),
		filepath.Join(data, "memwall", "models", "m.bin"),
		filepath.Join(extra, "m.bin"),
	}
	for _, p := range places {
		touch(t, p)
	}
	wantDirs := []string{single, env1, env2, filepath.Join(work, "models"), filepath.Join(data, "memwall", "models"), extra}
	if got := s.Dirs(); strings.Join(got, "|") != strings.Join(wantDirs, "|") {
		t.Errorf("Dirs() =\n%v\nwant\n%v", got, wantDirs)
	}
	for _, p := range places {
		r, err := s.Find("model", "m", ".bin")
		if err != nil || r.Path != p || r.Builtin {
			t.Fatalf("Find(m) = %+v, %v; want %s", r, err, p)
		}
		os.Remove(p)
	}
	_, err := s.Find("model", "m", ".bin")
	var nf *NotFoundError
	if !errors.As(err, &nf) || len(nf.Tried) != 1+len(wantDirs)+1 {
		t.Fatalf("not found: %v", err)
	}
	for _, d := range wantDirs {
		if !strings.Contains(err.Error(), d) {
			t.Errorf("error does not list %s: %v", d, err)
		}
	}
	// A path is taken as given, relative to the work directory.
	touch(t, filepath.Join(work, "sub", "x.bin"))
	if r, err := s.Find("model", filepath.Join("sub", "x.bin"), ".bin"); err != nil || r.Path != filepath.Join(work, "sub", "x.bin") {
		t.Errorf("relative path: %+v, %v", r, err)
	}
	if _, err := s.Find("model", filepath.Join("sub", "stories260K.bin"), ".bin"); err == nil {
		t.Error("a path that does not exist fell through to the built-in")
	}
}

func TestBuiltinLast(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("MEMWALL_MODEL", "")
	t.Setenv("MEMWALL_MODELS", "")
	cache := t.TempDir()
	s := Search{WorkDir: t.TempDir(), CacheDir: cache}
	for _, name := range []string{"stories260K", "stories260K.bin", "tok512", "tokenizer.bin"} {
		r, err := s.Find("model", name, ".bin")
		if err != nil || !r.Builtin || !strings.HasPrefix(r.Path, cache) {
			t.Errorf("Find(%s) = %+v, %v", name, r, err)
		}
	}
	// A file of the same name in ./models wins.
	local := filepath.Join(s.WorkDir, "models", "stories260K.bin")
	touch(t, local)
	if r, err := s.Find("model", "stories260K", ".bin"); err != nil || r.Builtin || r.Path != local {
		t.Errorf("./models not preferred: %+v, %v", r, err)
	}
	s.NoBuiltin = true
	if _, err := s.Find("model", "tok512", ".bin"); err == nil || strings.Contains(err.Error(), "built-in") {
		t.Errorf("NoBuiltin: %v", err)
	}
}

func TestDataDir(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/xdg")
	if d := DataDir(); d != "/xdg/memwall/models" {
		t.Errorf("DataDir = %s", d)
	}
	t.Setenv("XDG_DATA_HOME", "relative") // not absolute: ignored, as the spec says
	t.Setenv("HOME", "/home/u")
	if d := DataDir(); d != "/home/u/.local/share/memwall/models" {
		t.Errorf("DataDir = %s", d)
	}
}

func TestTokenizerNames(t *testing.T) {
	for vocab, want := range map[int]string{32000: "tokenizer.bin", 512: "tok512.bin tokenizer.bin", 4096: "tok4096.bin tokenizer.bin"} {
		if got := strings.Join(TokenizerNames(vocab), " "); got != want {
			t.Errorf("TokenizerNames(%d) = %q, want %q", vocab, got, want)
		}
	}
}
