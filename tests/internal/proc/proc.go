// Package proc starts and stops the servers that the end-to-end tests
// drive (notebook servers, JupyterLab, Chromium): a free loopback port,
// and a process group stopped as a whole when the test ends.
package proc

import (
	"net"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

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
