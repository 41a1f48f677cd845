package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapping is a checkpoint file's bytes: a read-only memory map of the file
// when possible, else a plain copy read into the heap.
type mapping struct {
	data   []byte
	mapped bool // data is an mmap (unmapped on close)
}

// mapFile maps path read-only, or reads it whole if mapping fails (or is
// disabled with noMmap).
//
// Only a regular file is opened (OpenRegular: a FIFO, socket, directory or
// device is refused before any open that could block), and the copy is read
// in chunks that stop when ctx is done.
func mapFile(ctx context.Context, path string, noMmap bool) (*mapping, int64, error) {
	f, st, err := OpenRegular(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	size := st.Size()
	if size == 0 {
		return &mapping{}, 0, nil
	}
	if int64(int(size)) != size {
		return nil, size, fmt.Errorf("file of %d bytes is too large to address", size)
	}
	if !noMmap {
		data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
		if err == nil {
			return &mapping{data: data, mapped: true}, size, nil
		}
	}
	data := make([]byte, size)
	if err := readFullCtx(ctx, f, data); err != nil {
		return nil, size, fmt.Errorf("reading: %w", err)
	}
	return &mapping{data: data}, size, nil
}

func (m *mapping) close() error {
	if m == nil || !m.mapped || m.data == nil {
		return nil
	}
	err := unix.Munmap(m.data)
	m.data = nil
	return err
}

// loadInfo is how a file of size bytes was brought in: mapped, or copied
// whole into the heap.
func (m *mapping) loadInfo(size int64) LoadInfo {
	li := LoadInfo{FileBytes: size, Mmap: m.mapped}
	if m.mapped {
		li.MappedBytes = size
	} else {
		li.CopiedBytes = size
	}
	return li
}

// resident counts the bytes of the mapping currently in physical memory
// (mincore). For a heap copy everything is resident.
func (m *mapping) resident() (int64, error) {
	if !m.mapped {
		return int64(len(m.data)), nil
	}
	if len(m.data) == 0 {
		return 0, nil
	}
	page := os.Getpagesize()
	vec := make([]byte, (len(m.data)+page-1)/page)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m.data[0])), uintptr(len(m.data)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return 0, fmt.Errorf("mincore: %w", errno)
	}
	var n int64
	for i, v := range vec {
		if v&1 != 0 {
			if i == len(vec)-1 {
				n += int64(len(m.data) - i*page)
			} else {
				n += int64(page)
			}
		}
	}
	return n, nil
}

// prefault asks the kernel to read the whole mapping ahead (willneed) and
// then touches every page, so that the first token does not pay for page
// faults. A fault while touching (a file truncated underneath) is an error;
// so is ctx ending (checked every readChunk bytes).
func (m *mapping) prefault(ctx context.Context) (err error) {
	if !m.mapped || len(m.data) == 0 {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	_ = unix.Madvise(m.data, unix.MADV_WILLNEED)
	defer catchFault(&err)
	page := os.Getpagesize()
	var sum byte
	for i := 0; i < len(m.data); i += page {
		if i%readChunk == 0 {
			slowRead(ctx)
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
		}
		sum += m.data[i]
	}
	touchSink = sum // keep the reads from being optimised away
	return nil
}

var touchSink byte

// evict tells the kernel the mapped pages are not needed (so that a cold
// start can be measured again). It cannot drop the page cache itself.
func (m *mapping) evict() error {
	if !m.mapped || len(m.data) == 0 {
		return nil
	}
	return unix.Madvise(m.data, unix.MADV_DONTNEED)
}

// catchFault is the package-level catchFault followed by checkFault, for
// sections that read the model's mapping. It must be deferred directly.
func (m *Model) catchFault(err *error) {
	if r := recover(); r != nil {
		*err = m.checkFault(faultError(r))
	}
}

// checkFault refines an error from a fault-guarded section: a FaultError
// while the file on disk still has the size it had when loaded was not
// caused by truncation, so it is reported as an internal error instead.
func (m *Model) checkFault(err error) error {
	var fe *FaultError
	if err == nil || !errors.As(err, &fe) || m.Path == "" {
		return err
	}
	if st, serr := os.Stat(m.Path); serr == nil && st.Size() == m.Load.FileBytes {
		return fmt.Errorf("internal error (the model file %s is unchanged, so this is not a truncated file): %v", m.Path, fe.Cause)
	}
	return err
}

// FaultError is a memory fault while reading the model's mapped file,
// typically because the file was truncated or removed while in use.
type FaultError struct {
	Cause any
}

func (e *FaultError) Error() string {
	return fmt.Sprintf("memory fault reading the mapped model file (was it truncated or replaced while loaded?): %v", e.Cause)
}

// catchFault turns a fault recovered from a mapped file access into an
// error. It must be deferred directly. Faults in the mapping are only
// recoverable panics while debug.SetPanicOnFault is on for the goroutine.
func catchFault(err *error) {
	if r := recover(); r != nil {
		*err = faultError(r)
	}
}

// faultError converts a recovered memory fault into a FaultError and
// panics again with anything else.
func faultError(r any) error {
	if re, ok := r.(interface{ Addr() uintptr }); ok {
		return &FaultError{Cause: fmt.Sprintf("%v at address %#x", r, re.Addr())}
	}
	if e, ok := r.(error); ok && isRuntimeFault(e) {
		return &FaultError{Cause: e}
	}
	panic(r)
}

func isRuntimeFault(e error) bool {
	type runtimeError interface {
		error
		RuntimeError()
	}
	_, ok := e.(runtimeError)
	// On some systems (qemu-user among them) a SIGBUS on a mapping arrives
	// without a fault address and the runtime reports it as an invalid
	// memory address; Model.checkFault tells the two apart afterwards.
	return ok && (strings.Contains(e.Error(), "fault") || strings.Contains(e.Error(), "unexpected signal") || strings.Contains(e.Error(), "invalid memory address"))
}

// f32s views b as float32 values without copying. b must be 4-byte
// aligned; use f32sCopy otherwise.
func f32s(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// i8s views b as int8 values without copying.
func i8s(b []byte) []int8 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b))
}

// f32View views b as float32 when it is 4-byte aligned and copies it
// otherwise (Q8_0 scales follow int8 tensors of any length).
func f32View(b []byte) (v []float32, copied bool) {
	if len(b) == 0 {
		return nil, false
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return f32s(b), false
	}
	out := make([]float32, len(b)/4)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(b)), b)
	return out, true
}
