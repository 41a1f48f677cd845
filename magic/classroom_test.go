package magic

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/internal/testdata"
)

// TestLoadRefusesWhatIsNotAFile: %load (and --tokenizer) of a FIFO, a
// socket, a directory and a device each fail at once with an error that
// says what the path is, and the next cell runs. The FIFO has no writer, so
// an open that blocked (as os.Open does on a FIFO) would hang the test.
func TestLoadRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "model.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sub := filepath.Join(dir, "models.d")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	model := copyFile(t, testdata.Model("stories260K.bin"), dir)
	copyFile(t, testdata.Model("tok512.bin"), dir)

	s := New(Options{WorkDir: dir, CacheDir: t.TempDir()})
	defer s.Close()
	for _, tc := range []struct{ cell, want string }{
		{"%load " + fifo, "is a named pipe (FIFO), not a regular file"},
		{"%load " + sock, "is a Unix socket, not a regular file"},
		{"%load " + sub, "is a directory, not a regular file"},
		{"%load models.d", "is a directory, not a regular file"},
		{"%load /dev/null", "is a character device, not a regular file"},
		{"%load /dev/zero", "is a character device, not a regular file"},
		{"%load " + model + " --tokenizer " + fifo, "tokenizer"},
	} {
		t.Run(tc.cell, func(t *testing.T) {
			done := make(chan error, 1)
			start := time.Now()
			go func() {
				var r recorder
				done <- s.Execute(context.Background(), tc.cell, &r)
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatalf("%s succeeded", tc.cell)
				}
				if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "not a regular file") {
					t.Errorf("%s: error %q does not say %q", tc.cell, err, tc.want)
				}
				var nr *engine.NotRegularError
				if !errors.As(err, &nr) {
					t.Errorf("error %v (%T) does not wrap engine.NotRegularError", err, err)
				}
				t.Logf("%s → %v (%v)", tc.cell, err, time.Since(start).Round(time.Microsecond))
			case <-time.After(5 * time.Second):
				t.Fatalf("%s still blocked after 5 s", tc.cell)
			}
		})
	}
	var r recorder
	if err := s.Execute(context.Background(), "%load "+model+"\n%generate -n 4 Once", &r); err != nil {
		t.Fatalf("a real model after the refusals: %v", err)
	}
}

// TestInterruptDuringSlowLoad: a load whose file reads are slow (each 4 MiB
// chunk takes 400 ms, as on a congested network file system; injected with
// engine.SetReadHook) ends within the interrupt promise of one second once
// the cell's context is cancelled, for both ways of loading that read the
// file (--no-mmap copies it, --prefault touches every page), and the next
// cell runs.
func TestInterruptDuringSlowLoad(t *testing.T) {
	dir := t.TempDir()
	s := New(Options{WorkDir: dir, CacheDir: t.TempDir()})
	defer s.Close()
	var r recorder
	// A 60 MB synthetic file: 15 chunks, 6 s at the injected speed.
	if err := s.Execute(context.Background(), "%load --shape stories15M", &r); err != nil {
		t.Fatal(err)
	}
	path := s.model.Path
	restore := engine.SetReadHook(func(context.Context) { time.Sleep(400 * time.Millisecond) })
	defer restore()
	for _, flag := range []string{"--no-mmap", "--prefault"} {
		ctx, cancel := context.WithCancelCause(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- s.Execute(ctx, "%load "+flag+" "+path, &r) }()
		time.Sleep(300 * time.Millisecond)
		cancel(errors.New("interrupted by the test"))
		cancelled := time.Now()
		select {
		case err := <-done:
			after := time.Since(cancelled)
			if err == nil {
				t.Fatalf("%s: the load finished despite the interrupt", flag)
			}
			if !strings.Contains(err.Error(), "interrupted") {
				t.Errorf("%s: error %q does not say it was interrupted", flag, err)
			}
			if after > time.Second {
				t.Errorf("%s: the cell ended %v after the interrupt, more than 1 s", flag, after)
			}
			t.Logf("%s: ended %v after the interrupt (%v after the start): %v", flag, after.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the load was still running 10 s after the interrupt", flag)
		}
	}
	restore()
	if err := s.Execute(context.Background(), "%load --shape stories260K\n%generate -n 2 Hi", &r); err != nil {
		t.Fatalf("the next cell: %v", err)
	}
}
