package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingSource counts the tensors it is asked for.
func countingSource(n *atomic.Int64) TensorSource {
	inner := Synthetic(1)
	return func(t TensorInfo) ([]float32, error) {
		n.Add(1)
		return inner(t)
	}
}

func noTemps(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

// TestEnsureCheckpointConcurrent: eight goroutines asking for the same
// synthetic shape at once produce one file, written once, byte-identical to
// a plain WriteCheckpoint of it, with no temporary file left.
func TestEnsureCheckpointConcurrent(t *testing.T) {
	dir := t.TempDir()
	c, _ := Shape("stories260K")
	c.Version = V1
	path := filepath.Join(dir, SyntheticName("stories260K", 1, V1))
	var calls atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = EnsureCheckpoint(context.Background(), path, c, countingSource(&calls))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", i, err)
		}
	}
	ts, _ := c.layout()
	if got := calls.Load(); got != int64(len(ts)) {
		t.Errorf("the tensors were produced %d times in all, want once each (%d)", got, len(ts))
	}
	ref := filepath.Join(t.TempDir(), "ref.bin")
	if err := WriteCheckpoint(ref, c, Synthetic(1)); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(ref)
	if !bytes.Equal(a, b) {
		t.Errorf("the shared file (%d bytes) differs from a plain write (%d bytes)", len(a), len(b))
	}
	noTemps(t, dir)
	// A file of the wrong size is refused, not overwritten.
	if err := os.WriteFile(path, []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := EnsureCheckpoint(context.Background(), path, c, Synthetic(1)); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("a wrong-size file: %v", err)
	}
}

// TestEnsureCheckpointProcesses: six processes asking for the same 60 MB
// stories15M-shape file at once, while a seventh watches the path: exactly
// one writes it, all get it, and the watcher never sees it at a size other
// than the final one (never half-written).
func TestEnsureCheckpointProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	c, _ := Shape("stories15M")
	c.Version = V1
	want, _ := c.FileSize()
	path := filepath.Join(dir, SyntheticName("stories15M", 1, V1))
	stop := make(chan struct{})
	var bad atomic.Value
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if st, err := os.Stat(path); err == nil && st.Size() != want {
				bad.Store(fmt.Sprintf("saw %s at %d bytes, want %d", path, st.Size(), want))
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for i := 0; i < 6; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperEnsureProcess$")
		cmd.Env = append(os.Environ(), "MEMWALL_TEST_ENSURE="+dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	wrote := 0
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("process %d: %v\n%s", i, err, outs[i])
		}
		if strings.Contains(outs[i].String(), "ensure: wrote") {
			wrote++
		} else if !strings.Contains(outs[i].String(), "ensure: found") {
			t.Errorf("process %d said neither wrote nor found:\n%s", i, outs[i])
		}
	}
	close(stop)
	if v := bad.Load(); v != nil {
		t.Error(v)
	}
	if wrote != 1 {
		t.Errorf("%d processes wrote the file, want 1", wrote)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != want {
		t.Errorf("final file: %v %v", st, err)
	}
	noTemps(t, dir)
}

// TestHelperEnsureProcess is run by TestEnsureCheckpointProcesses in child
// processes.
func TestHelperEnsureProcess(t *testing.T) {
	dir := os.Getenv("MEMWALL_TEST_ENSURE")
	if dir == "" {
		t.Skip("helper process only")
	}
	c, _ := Shape("stories15M")
	c.Version = V1
	path := filepath.Join(dir, SyntheticName("stories15M", 1, V1))
	var calls atomic.Int64
	if err := EnsureCheckpoint(context.Background(), path, c, countingSource(&calls)); err != nil {
		t.Fatal(err)
	}
	if calls.Load() > 0 {
		fmt.Println("ensure: wrote")
	} else {
		fmt.Println("ensure: found")
	}
	if _, err := Open(path, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestEnsureCheckpointInterrupted: cancelling the context while a large
// synthetic model is written ends the write within a second and leaves
// neither the file nor a temporary one; a waiter behind the lock is
// released by its own context too.
func TestEnsureCheckpointInterrupted(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := SyntheticModel(ctx, dir, "stories110M", 1, V1)
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	// A second writer waits for the lock; its own context ends its wait.
	wctx, wcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer wcancel()
	if _, err := SyntheticModel(wctx, dir, "stories110M", 1, V1); err == nil || !strings.Contains(err.Error(), "waiting for another kernel") {
		t.Errorf("waiter: %v", err)
	}
	cancel()
	at := time.Now()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("interrupted write: %v", err)
		}
		if el := time.Since(at); el > time.Second {
			t.Errorf("the write ended %v after the cancel", el)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the write went on 10 s after the cancel")
	}
	if _, err := os.Stat(filepath.Join(dir, SyntheticName("stories110M", 1, V1))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the interrupted file exists: %v", err)
	}
	noTemps(t, dir)
}
