// Package cpuprobe measures how many vector instructions of a kind this
// core issues per cycle, from loops of eight independent instructions
// (register to register, except the widening probes, which load from L1),
// timed against a chain of dependent integer adds (one per cycle, which
// gives the clock). It is what tells, on a given machine,
// whether an int8 kernel is bound by memory or by its multiplies:
//
//	go test -run '^$' -bench IssueRate -v ./internal/cpuprobe/
//
// Only amd64 has probes; elsewhere Rates returns nothing.
package cpuprobe

// Rate is one probe's result: Name says what was run, PerCycle how many
// of those instructions completed per clock cycle (best of the runs).
type Rate struct {
	Name     string
	PerCycle float64
}
