//go:build linux

package course

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

type faults struct{ minor, major int64 }

// pageFaults reads the process's page fault counters.
func pageFaults() faults {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return faults{}
	}
	return faults{minor: int64(ru.Minflt), major: int64(ru.Majflt)}
}

// dropPageCache asks the kernel to drop the file's clean pages from its
// page cache (pages still mapped somewhere stay). It reports whether the
// request was made, and why not.
func dropPageCache(path string) (bool, string) {
	f, err := os.Open(path)
	if err != nil {
		return false, err.Error()
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return false, "fadvise: " + err.Error()
	}
	return true, ""
}
