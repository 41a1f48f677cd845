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
