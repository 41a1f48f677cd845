//go:build !linux

package course

type faults struct{ minor, major int64 }

func pageFaults() faults { return faults{} }

func dropPageCache(string) (bool, string) {
	return false, "not supported on this system"
}
