// Package proc starts and stops the servers that the end-to-end tests
// drive (notebook servers, JupyterLab, Chromium): the tools they need, the
// memwall binary and kernelspec they host, a free loopback port, a process
// group stopped as a whole when the test ends, its output, and waiting for
// it to answer.
package proc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Need fails the test under CI=true, where every tool the tests use must
// be there, and skips it elsewhere, saying what is missing and how to get
// it; ok says whether it is there.
func Need(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	msg := what + " is not installed; make deps installs it"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Executable reports whether path is an executable file.
func Executable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// InstallMemwall builds ./cmd/memwall of the tree at root into dir/bin and
// installs its kernelspec under dir/prefix, returning both paths.
func InstallMemwall(t testing.TB, root, dir string) (bin, prefix string) {
	t.Helper()
	bin = filepath.Join(dir, "bin", "memwall")
	build := exec.Command("go", "build", "-o", bin, "./cmd/memwall")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	prefix = filepath.Join(dir, "prefix")
	if out, err := exec.Command(bin, "install", "--prefix", prefix).CombinedOutput(); err != nil {
		t.Fatalf("memwall install: %v\n%s", err, out)
	}
	return bin, prefix
}

// JupyterEnv is the environment of a Jupyter server that finds the
// kernelspecs under prefix and keeps its data, runtime and configuration
// in dir, away from the user's.
func JupyterEnv(prefix, dir string) []string {
	return append(os.Environ(),
		"JUPYTER_PATH="+filepath.Join(prefix, "share", "jupyter"),
		"JUPYTER_DATA_DIR="+filepath.Join(dir, "data"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(dir, "runtime"),
		"JUPYTER_CONFIG_DIR="+filepath.Join(dir, "config"),
	)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartGroup starts cmd in its own process group and arranges for the
// whole group (a server and the kernels it starts; Chromium and its
// helpers) to be stopped at cleanup: SIGTERM, then SIGKILL after 10 s
// for what is left. The channel closes when cmd exits.
func StartGroup(t testing.TB, cmd *exec.Cmd) (exited <-chan struct{}) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", cmd.Path, err)
	}
	pgid := cmd.Process.Pid
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Logf("%s did not stop on SIGTERM; killing it", filepath.Base(cmd.Path))
		}
		syscall.Kill(-pgid, syscall.SIGKILL) // helpers left in the group
		<-done
	})
	return done
}

// WaitHTTP polls url until it answers 200 OK, giving up after limit (or
// when ctx ends), or at once when exited closes: the server is gone.
func WaitHTTP(ctx context.Context, limit time.Duration, url string, exited <-chan struct{}) error {
	return Poll(ctx, limit, func() (bool, error) {
		select {
		case <-exited:
			return false, fmt.Errorf("the server exited")
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == 200, nil
	})
}

// Poll calls f every 200 ms until it reports done, returns an error, or
// limit (or ctx) expires.
func Poll(ctx context.Context, limit time.Duration, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		done, err := f()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up after %v", limit)
		case <-tick.C:
		}
	}
}

// Output collects a process's output, safe for concurrent writes; it keeps
// the first MiB.
type Output struct {
	mu sync.Mutex
	b  strings.Builder
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.b.Len() < 1<<20 {
		o.b.Write(p)
	}
	return len(p), nil
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
