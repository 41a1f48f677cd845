package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memwall/memwall/builtin"
	"github.com/memwall/memwall/internal/testdata"
)

// emptyWorld runs the test from an empty directory with an empty $HOME
// and no model variables, as a new user would.
func emptyWorld(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Chdir(t.TempDir())
	t.Setenv("HOME", home)
	for _, v := range []string{"XDG_CACHE_HOME", "XDG_DATA_HOME", "MEMWALL_MODEL", "MEMWALL_MODELS", "MEMWALL_CACHE_DIR"} {
		t.Setenv(v, "")
	}
	return home
}

func TestRunBuiltinFromEmptyDirectory(t *testing.T) {
	home := emptyWorld(t)
	var cases []struct {
		Prompt      string
		Temperature float64
		Text        string
	}
	b, err := os.ReadFile(testdata.Golden("generate_stories260K.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	var want string
	for _, c := range cases {
		if c.Temperature == 0 && c.Prompt == "Once upon a time" {
			want = c.Text
		}
	}
	if want == "" {
		t.Fatal("no greedy golden for \"Once upon a time\"")
	}
	out, errOut, code := runCmd(t, "run", "stories260K", "-t", "0", "-n", "64", "-i", "Once upon a time")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// 64 steps of llama2.c's 256-step greedy story: a prefix of it.
	got := strings.TrimSuffix(out, "\n")
	if len(got) < 100 || !strings.HasPrefix(want, got) {
		t.Errorf("memwall run stories260K differs from llama2.c:\ngot  %q\nwant a prefix of %q", got, want)
	}
	out, errOut, code = runCmd(t, "info", "stories260K")
	if code != 0 {
		t.Fatalf("info: exit %d: %s", code, errOut)
	}
	for _, w := range []string{"source:      built-in", "karpathy/tinyllamas", home, "vocab_size 512", "mapped from that file like any other (0 bytes copied out of it at load)"} {
		if !strings.Contains(out, w) {
			t.Errorf("info stories260K lacks %q:\n%s", w, out)
		}
	}
	// Every MODEL and -z argument takes the names %load takes.
	ids, errOut, code := runCmd(t, "tokenize", "-z", "tok512", "--ids", "Once upon a time")
	if code != 0 || strings.TrimSpace(ids) != "1 403 407 261 378" {
		t.Errorf("tokenize -z tok512: exit %d: %q %s", code, ids, errOut)
	}
	if _, errOut, code := runCmd(t, "run", "stories260K", "-z", "tok512", "-t", "0", "-n", "8"); code != 0 {
		t.Errorf("run -z tok512: exit %d: %s", code, errOut)
	}
	gguf := filepath.Join(home, "s.gguf")
	if _, errOut, code := runCmd(t, "convert", "stories260K", "-o", gguf); code != 0 || strings.Contains(errOut, "no vocabulary") {
		t.Errorf("convert stories260K: exit %d: %s", code, errOut)
	}
	f, _ := builtin.Lookup("stories260K")
	bw, errOut, code := runCmd(t, "bandwidth", "--model", "stories260K", "--runs", "1", "--json")
	var streamed struct{ Bytes int64 }
	if code != 0 || json.Unmarshal([]byte(bw), &streamed) != nil || streamed.Bytes > f.Size || streamed.Bytes < f.Size-4096 {
		// Bandwidth rounds the size down to whole blocks of its loops.
		t.Errorf("bandwidth --model stories260K (%d bytes): exit %d: %s %s", f.Size, code, bw, errOut)
	}
	_, errOut, code = runCmd(t, "run", "nosuch", "-n", "4")
	if code == 0 || !strings.Contains(errOut, `model "nosuch" not found`) || !strings.Contains(errOut, "built-in files") {
		t.Errorf("run nosuch: exit %d, %q", code, errOut)
	}
}

// TestBinaryEmbedsEachFileOnce reads this test binary (which links the
// built-in package as memwall does) and checks that each embedded file's
// bytes appear exactly once: the binary grows by the embedded files and
// no second copy of them.
func TestBinaryEmbedsEachFileOnce(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, f := range builtin.Files() {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		total += int64(len(data))
		if n := bytes.Count(bin, data); n != 1 {
			t.Errorf("%s (%d bytes) appears %d times in the binary", f.Name, len(data), n)
		}
	}
	t.Logf("binary %d bytes, embedded files %d bytes (%.1f%%)", len(bin), total, 100*float64(total)/float64(len(bin)))
}

// TestBuiltinInSiteCache: the command line writes the built-in files to
// the cache directory the kernel uses ($MEMWALL_CACHE_DIR here), not a
// second copy in the user's cache.
func TestBuiltinInSiteCache(t *testing.T) {
	home := emptyWorld(t)
	cache := t.TempDir()
	t.Setenv("MEMWALL_CACHE_DIR", cache)
	out, errOut, code := runCmd(t, "info", "stories260K")
	if code != 0 || !strings.Contains(out, "written once to "+filepath.Join(cache, "builtin")) {
		t.Errorf("info stories260K with $MEMWALL_CACHE_DIR=%s: exit %d:\n%s%s", cache, code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(home, ".cache", "memwall")); err == nil {
		t.Errorf("a copy went to the user's cache too")
	}
}
