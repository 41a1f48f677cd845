// Package cpuprobe measures how many vector instructions of a kind this
// core issues per cycle, from loops of eight instructions that do not wait
// on each other within an iteration, timed against a chain of dependent
// integer adds (one per cycle, which gives the clock). It is what tells,
// on a given machine, whether an int8 kernel is bound by memory or by its
// multiplies:
//
//	go test -run '^$' -bench IssueRate -v ./internal/cpuprobe/
//
// The widening probes load from 128 bytes that stay in L1; the others
// work on registers. The add and fused multiply-add probes accumulate, so
// each of their registers is a chain across iterations: they can show no
// more than 8/latency a cycle (1.6 for a 5-cycle FMA; 4/latency FMAs for
// the probe that pairs them with VPMADDWD). On the Zen 1 core
// docs/benchmarks.md reports (one ymm FMA a cycle) that bound is above
// what issues; a core with two FMA pipes and a 5-cycle latency would read
// low.
//
// Only amd64 has probes (and not with -tags noasm); elsewhere Rates
// returns nothing.
package cpuprobe

// Rate is one probe's result: Name says what was run, PerCycle how many
// of those instructions completed per clock cycle (best of the runs).
type Rate struct {
	Name     string
	PerCycle float64
}
