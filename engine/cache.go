package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// SyntheticName is the file name of the synthetic model of a named shape,
// seed and format in a cache directory: one name for every part of memwall
// (the kernel's %load --shape, memwall bench --shape), so that they share
// the file.
// A Q8_0 (v2) name carries its group size, so that a change of
// DefaultGroupSize gives a new file rather than a size clash with an old one
// in a shared cache.
func SyntheticName(shape string, seed int, v int) string {
	if c, err := Shape(shape); err == nil && v == V2 {
		return fmt.Sprintf("%s-seed%d-v2-gs%d.bin", shape, seed, DefaultGroupSize(c))
	}
	return fmt.Sprintf("%s-seed%d-v%d.bin", shape, seed, v)
}

// SyntheticModel returns the path of the synthetic (random-weight) model of
// a shape in dir, writing it first if it is not there. See EnsureCheckpoint
// for how many kernels asking at once share one file.
func SyntheticModel(ctx context.Context, dir, shape string, seed int, v int) (string, error) {
	c, err := Shape(shape)
	if err != nil {
		return "", err
	}
	if seed < 0 {
		return "", fmt.Errorf("seed must not be negative, got %d", seed)
	}
	c.Version = v
	if v == V2 {
		c.GroupSize = DefaultGroupSize(c)
	}
	p := filepath.Join(dir, SyntheticName(shape, seed, v))
	return p, EnsureCheckpoint(ctx, p, c, SyntheticContext(ctx, uint64(seed)))
}

// EnsureCheckpoint makes path hold the checkpoint of config c with src's
// values, for a cache directory that many kernels (many users) share:
//
//   - a file already there with the size c implies is used as it is; one
//     of another size is an error (it is not overwritten under kernels
//     that may have it mapped);
//   - writers take an exclusive lock (flock on a ".NAME.lock" file beside
//     it), so that kernels asking for the same file at once write it once:
//     the others wait (interruptibly: ctx ends the wait), then find it;
//   - the file is written under a temporary name, synced, and linked into
//     place (link fails rather than replace a file that appeared), so a
//     reader never sees a half-written file under the final name;
//   - a full disk is reported before writing (statfs) when it is known to be
//     too small, and otherwise when the write fails; no partial file stays.
//
// The directory is created if needed (mode 1777 when it is created for
// several users is the administrator's choice; see docs/deploy.md).
func EnsureCheckpoint(ctx context.Context, path string, c Config, src TensorSource) error {
	if ctx == nil {
		ctx = context.Background()
	}
	want, err := c.FileSize()
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if ok, err := haveCheckpoint(path, want); ok || err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cache directory: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, "."+filepath.Base(path)+".lock"))
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer unlock()
	if ok, err := haveCheckpoint(path, want); ok || err != nil {
		return err // another kernel wrote it while this one waited
	}
	return WriteCheckpointContext(ctx, path, c, src)
}

// haveCheckpoint reports whether path is a finished checkpoint of want
// bytes; a file of another size (or not a regular file) is an error.
func haveCheckpoint(path string, want int64) (bool, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !st.Mode().IsRegular() {
		return false, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	if st.Size() != want {
		return false, fmt.Errorf("%s has %d bytes but this shape and format need %d: it is not the file memwall would write (remove it to have it written again)", path, st.Size(), want)
	}
	return true, nil
}

// lockFile takes an exclusive flock on path (created if missing), polling
// so that ctx can end the wait. The lock file is opened without O_CREAT
// when it exists: in a sticky world-writable directory (fs.protected_regular)
// opening another user's file with O_CREAT is refused even when it exists.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			f, err = os.Open(path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for another kernel writing the same file: %w", context.Cause(ctx))
		case <-time.After(wait):
		}
	}
}

// DiskFullError is a checkpoint that does not fit on its file system.
type DiskFullError struct {
	Path        string
	Need, Avail int64 // Avail < 0: unknown (the write itself failed)
	Err         error
}

func (e *DiskFullError) Error() string {
	if e.Avail >= 0 {
		return fmt.Sprintf("writing %s: not enough space: the file needs %d bytes and its file system has %d free (nothing was written)", e.Path, e.Need, e.Avail)
	}
	cause := error(e.Err)
	var errno syscall.Errno
	if errors.As(e.Err, &errno) {
		cause = errno
	}
	return fmt.Sprintf("writing %s: the file system filled up while writing its %d bytes (the partial file was removed): %v", e.Path, e.Need, cause)
}

func (e *DiskFullError) Unwrap() error { return e.Err }

// freeBytes is the space an unprivileged writer has in dir (-1 unknown).
func freeBytes(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// publish moves the finished temporary file tmp to path without replacing
// a file that is already there (link, then unlink tmp); where hard links
// are not supported it renames.
func publish(tmp, path string) error {
	err := os.Link(tmp, path)
	switch {
	case err == nil:
		os.Remove(tmp)
	case errors.Is(err, os.ErrExist):
		os.Remove(tmp) // someone else's complete file won; keep theirs
	default:
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	syncDir(filepath.Dir(path))
	return nil
}
