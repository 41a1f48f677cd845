package magic

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memwall/memwall/builtin"
)

// isolate points every model directory of the search at empty places, so
// only the built-in files can be found.
func isolate(t *testing.T) *Interpreter {
	t.Helper()
	t.Setenv("MEMWALL_MODEL", "")
	t.Setenv("MEMWALL_MODELS", "")
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	s := New(Options{WorkDir: t.TempDir(), CacheDir: t.TempDir()})
	t.Cleanup(func() { s.Close() })
	return s
}

func TestLoadBuiltin(t *testing.T) {
	for _, cell := range []string{"%load stories260K", "%load stories260K.bin", "%load"} {
		s := isolate(t)
		r := run(t, s, cell)
		js := r.lastJSON(t)
		if js["builtin"] != true || js["synthetic"] != false || js["dim"].(float64) != 64 {
			t.Fatalf("%s: card %v", cell, js)
		}
		src, _ := js["source"].(string)
		if !strings.Contains(src, "built-in") || !strings.Contains(src, "mapped from that file like any other (0 bytes copied") || !strings.HasPrefix(js["path"].(string), s.opts.CacheDir) {
			t.Errorf("%s: source %q path %v", cell, src, js["path"])
		}
		if !strings.Contains(r.text(), "(built-in)") {
			t.Errorf("%s: title does not say built-in:\n%s", cell, r.text())
		}
		if js["copied_bytes"].(float64) != 0 || js["mapped_bytes"].(float64) != js["file_bytes"].(float64) {
			t.Errorf("%s: not mapped in place: %v", cell, js)
		}
		if tok := js["tokenizer"].(string); filepath.Base(tok) != "tok512.bin" {
			t.Errorf("%s: tokenizer %q", cell, tok)
		}
		r = run(t, s, "%generate -n 12 --temperature 0 Once upon a time")
		if !strings.HasPrefix(r.stream.String(), "Once upon a time, there was a little girl") {
			t.Errorf("%s: generated %q", cell, r.stream.String())
		}
	}
}

func TestLoadPrefersFilesOverBuiltin(t *testing.T) {
	s := isolate(t)
	dir := filepath.Join(s.opts.WorkDir, "models")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, _ := builtin.Lookup("stories260K")
	src, err := f.Path(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stories260K.bin"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	js := run(t, s, "%load stories260K").lastJSON(t)
	if js["builtin"] != false || js["path"] != filepath.Join(dir, "stories260K.bin") {
		t.Errorf("./models/stories260K.bin not preferred: %v", js)
	}
	// Its tokenizer is not beside it: the built-in one is used.
	if tok := js["tokenizer"].(string); filepath.Base(tok) != "tok512.bin" || !strings.HasPrefix(tok, s.opts.CacheDir) {
		t.Errorf("tokenizer %q", tok)
	}
	// $MEMWALL_MODELS comes before ./models.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "stories260K.bin"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MEMWALL_MODELS", filepath.Join(t.TempDir(), "absent")+string(os.PathListSeparator)+other)
	if js := run(t, s, "%load stories260K").lastJSON(t); js["path"] != filepath.Join(other, "stories260K.bin") {
		t.Errorf("$MEMWALL_MODELS not searched first: %v", js["path"])
	}
}

func TestLoadNotFoundListsPlaces(t *testing.T) {
	s := isolate(t)
	err := s.Execute(t.Context(), "%load nosuch", &recorder{})
	if err == nil {
		t.Fatal("loaded nosuch")
	}
	for _, want := range []string{`model "nosuch" not found`, filepath.Join(s.opts.WorkDir, "models"), filepath.Join(os.Getenv("XDG_DATA_HOME"), "memwall", "models"), "built-in files (stories260K"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestCompleteOffersBuiltin(t *testing.T) {
	s := isolate(t)
	code := "%load stor"
	m, _, _ := s.Complete(code, len(code))
	if !strings.Contains(strings.Join(m, " "), "stories260K.bin") {
		t.Errorf("Complete(%q) = %v, want the built-in stories260K.bin", code, m)
	}
}
