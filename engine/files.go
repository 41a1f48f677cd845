package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// NotRegularError is a path that exists but is not a regular file: a
// directory, a named pipe, a socket or a device. Opening such a path for a
// model or a tokenizer would block (a FIFO waits for a writer), have side
// effects (a device) or fail late with a misleading message (a directory
// "not found"), so it is refused before anything is opened.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, FileKind(e.Mode))
}

// FileKind names what a file mode is, with an article ("a directory").
func FileKind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a Unix socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "not a regular file (" + m.Type().String() + ")"
}

// CheckRegular reports whether path names a regular file (following
// symbolic links) without opening it: nil, a *NotRegularError, or the
// error of stat (fs.ErrNotExist for a missing file).
func CheckRegular(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return &NotRegularError{Path: path, Mode: st.Mode()}
	}
	return nil
}

// OpenRegular opens path read-only if it is a regular file, and never
// blocks doing so: the path is checked before the open, and the open itself
// is non-blocking with the check repeated on the open descriptor (fstat), in
// case the path was replaced by a FIFO in between. The descriptor is put
// back in blocking mode before it is returned.
func OpenRegular(path string) (*os.File, fs.FileInfo, error) {
	if err := CheckRegular(path); err != nil {
		return nil, nil, err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, nil, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		fi, serr := os.Lstat(path)
		mode := fs.ModeIrregular
		if serr == nil {
			mode = fi.Mode()
		}
		return nil, nil, &NotRegularError{Path: path, Mode: mode}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, nil, &fs.PathError{Op: "fcntl", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// ReadRegular reads a whole regular file (see OpenRegular), in chunks,
// stopping with ctx's error when ctx is done. max bounds the size (0: no
// bound).
func ReadRegular(ctx context.Context, path string, max int64) ([]byte, error) {
	f, fi, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if max > 0 && fi.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d this reads", path, fi.Size(), max)
	}
	data := make([]byte, fi.Size())
	if err := readFullCtx(ctx, f, data); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, nil
}

// readChunk is how much readFullCtx reads between looks at its context.
const readChunk = 4 << 20

// readHook, when set (tests), runs before every chunk that a load reads or
// prefaults.
var readHook atomic.Pointer[func(context.Context)]

// SetReadHook installs f to run before every chunk (a few MiB) that
// OpenContext reads into the heap or prefaults, and before every chunk of
// ReadRegular; nil removes it. It returns a function that restores the
// previous hook. It exists for tests that need a slow file read without a
// FUSE file system: a hook that sleeps makes each chunk slow, as a slow
// disk or network file system would.
func SetReadHook(f func(ctx context.Context)) (restore func()) {
	var p *func(context.Context)
	if f != nil {
		p = &f
	}
	old := readHook.Swap(p)
	return func() { readHook.Store(old) }
}

// slowRead runs the read hook, if any.
func slowRead(ctx context.Context) {
	if h := readHook.Load(); h != nil {
		(*h)(ctx)
	}
}

// readFullCtx fills buf from r in chunks, checking ctx between them. A
// short file is io.ErrUnexpectedEOF.
func readFullCtx(ctx context.Context, r io.Reader, buf []byte) error {
	if ctx == nil {
		ctx = context.Background()
	}
	for off := 0; off < len(buf); {
		slowRead(ctx)
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		n, err := r.Read(buf[off:min(len(buf), off+readChunk)])
		off += n
		if err == io.EOF && off < len(buf) {
			return io.ErrUnexpectedEOF
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	return nil
}
