package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memwall/memwall/builtin"
	"github.com/memwall/memwall/internal/pull"
)

func TestPullCommand(t *testing.T) {
	home := emptyWorld(t)
	f, _ := builtin.Lookup("tokenizer.bin")
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(rc)
	rc.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/tokenizer.bin" {
			http.NotFound(w, r)
			return
		}
		w.Write(tok)
	}))
	defer srv.Close()
	t.Setenv(pull.BaseURLEnv, srv.URL)

	out, errOut, code := runCmd(t, "pull", "tokenizer")
	want := filepath.Join(home, ".local", "share", "memwall", "models", "tokenizer.bin")
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "SHA-256 "+f.SHA256) {
		t.Fatalf("pull tokenizer: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if strings.Contains(errOut, "\r") {
		t.Errorf("progress bar drawn on a non-terminal: %q", errOut)
	}
	if _, err := os.Stat(want); err != nil {
		t.Fatal(err)
	}
	out, _, code = runCmd(t, "pull", "--list")
	if code != 0 || !strings.Contains(out, filepath.Dir(want)) || !strings.Contains(out, "stories110M") {
		t.Errorf("pull --list: exit %d\n%s", code, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "tokenizer ") && !strings.Contains(line, "present") || strings.HasPrefix(line, "stories15M ") && !strings.Contains(line, "not present") {
			t.Errorf("pull --list line %q", line)
		}
	}
	// Pulling a present file again checks it and fetches nothing.
	if out, _, code := runCmd(t, "pull", "tokenizer"); code != 0 || !strings.Contains(out, "already present") {
		t.Errorf("pulling a present file again: exit %d, %q", code, out)
	}

	_, errOut, code = runCmd(t, "pull", "nosuch")
	if code == 0 || !strings.Contains(errOut, "stories15M, stories42M, stories110M, tokenizer") {
		t.Errorf("pull nosuch: exit %d, %q", code, errOut)
	}
	_, errOut, _ = runCmd(t, "pull", "stories15")
	if !strings.Contains(errOut, "did you mean stories15M") {
		t.Errorf("pull stories15: %q", errOut)
	}
	_, errOut, code = runCmd(t, "pull", "stories42M")
	if code == 0 || !strings.Contains(errOut, "HTTP 404") {
		t.Errorf("pull of a missing file: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(want), "stories42M.bin")); err == nil {
		t.Error("a failed pull left a file under the final name")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv(pull.BaseURLEnv, "http://"+addr)
	_, errOut, code = runCmd(t, "pull", "stories15M")
	if code == 0 || !strings.Contains(errOut, "cannot reach "+addr) || !strings.Contains(errOut, "network connection") {
		t.Errorf("pull without a network: exit %d, %q", code, errOut)
	}
	if _, _, code := runCmd(t, "pull"); code != 2 {
		t.Errorf("pull without NAME: exit %d, want 2", code)
	}
}

func TestDrawProgress(t *testing.T) {
	var b strings.Builder
	drawProgress(&b, pull.Progress{Name: "stories15M", Done: 30_000_000, Total: 60_816_028, Rate: 5e6, ETA: 6 * time.Second})
	drawProgress(&b, pull.Progress{Name: "stories15M", Done: 60_816_028, Total: 60_816_028, Rate: 5e6, Finished: true})
	lines := strings.Split(b.String(), "\r\033[K")
	if len(lines) != 3 || lines[0] != "" {
		t.Fatalf("%q: want two redraws of one line", b.String())
	}
	for _, w := range []string{"stories15M [##############................]", " 49%", "30.0 MB / 60.8 MB", "5.0 MB/s", "6s left"} {
		if !strings.Contains(lines[1], w) {
			t.Errorf("progress line %q lacks %q", lines[1], w)
		}
	}
	if !strings.HasSuffix(lines[2], "\n") || !strings.Contains(lines[2], "100%") || strings.Contains(lines[2], "left") {
		t.Errorf("final line %q", lines[2])
	}
}
