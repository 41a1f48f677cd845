//go:build noasm || !amd64

package cpuprobe

// Rates has no probes for this architecture.
func Rates(n, runs int) (float64, []Rate) { return 0, nil }
