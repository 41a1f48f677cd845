package kernel

import "time"

// SetWriteStallTimeout changes how long a write to a peer may block before
// the connection is dropped, for tests; it returns a function restoring
// the previous value.
func SetWriteStallTimeout(d time.Duration) (restore func()) {
	old := writeStallTimeout.Swap(int64(d))
	return func() { writeStallTimeout.Store(old) }
}
