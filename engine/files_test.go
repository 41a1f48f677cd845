package engine

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A FIFO with no writer makes os.Open block forever; Open, OpenContext and
// LoadTokenizer must refuse it at once.
func TestOpenRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "x.bin")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan [2]error, 1)
	go func() {
		_, e1 := Open(fifo, LoadOptions{NoMmap: true})
		_, e2 := LoadTokenizer(fifo, 0)
		done <- [2]error{e1, e2}
	}()
	select {
	case errs := <-done:
		for i, err := range errs {
			var nr *NotRegularError
			if !errors.As(err, &nr) || nr.Mode&os.ModeNamedPipe == 0 {
				t.Errorf("call %d: %v (%T), want a NotRegularError for a FIFO", i, err, err)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
}

// readFullCtx stops between chunks once its context is done, and reports
// a file shorter than the buffer.
func TestReadFullCtx(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, make([]byte, 3*readChunk), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	defer SetReadHook(func(context.Context) {
		n++
		if n == 2 {
			cancel()
		}
	})()
	if _, err := ReadRegular(ctx, p, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadRegular after cancel: %v, want context.Canceled", err)
	}
	if n != 2 {
		t.Errorf("read %d chunks, want 2 (stop right after the cancel)", n)
	}
	if _, err := ReadRegular(context.Background(), p, readChunk); err == nil {
		t.Error("ReadRegular over its bound succeeded")
	}
	f, _, err := OpenRegular(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := readFullCtx(context.Background(), f, make([]byte, 3*readChunk+1)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short read: %v", err)
	}
}
