package asm

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"unsafe"
)

// A weight file truncated while mapped raises SIGBUS in whichever goroutine
// touches the missing pages; with SetPanicOnFault the fault must come back
// to the caller as a recoverable panic, whichever worker hit it.
func TestTruncatedMappingFaultReachesCaller(t *testing.T) {
	const rows, cols = 1024, 256
	size := rows * cols * 4
	path := filepath.Join(t.TempDir(), "w.bin")
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Skip("mmap:", err)
	}
	defer syscall.Munmap(mem)
	// Keep the first half: with 3 threads the caller's own rows stay readable
	// and only the workers fault.
	if err := os.Truncate(path, int64(size/2)); err != nil {
		t.Fatal(err)
	}
	w := unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), rows*cols)
	x := make([]float32, cols)
	out := make([]float32, rows)

	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	for _, k := range available(t) {
		for _, threads := range []int{1, 3} {
			o := MustNew(k.Name, threads)
			func() {
				defer func() {
					r := recover()
					if _, ok := r.(runtime.Error); !ok {
						t.Errorf("%s threads=%d: recovered %v, want a runtime.Error fault", k.Name, threads, r)
					}
				}()
				o.MatVec(out, w, x)
			}()
			o.Close()
		}
	}
}
