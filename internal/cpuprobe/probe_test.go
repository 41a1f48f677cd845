package cpuprobe

import (
	"math"
	"os"
	"runtime"
	"testing"
)

// TestRates runs every probe briefly and checks that what it reports is a
// rate a core can have: a clock between 0.2 and 10 GHz, and between 0.05
// and 8 instructions of each kind per cycle.
func TestRates(t *testing.T) {
	ghz, rates := Rates(200_000, 3)
	if runtime.GOARCH != "amd64" {
		if rates != nil {
			t.Fatalf("%s has no probes but Rates returned %d", runtime.GOARCH, len(rates))
		}
		return
	}
	if rates == nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no AVX2 and FMA on this CI machine: the probes did not run")
		}
		t.Skip("no AVX2 and FMA: nothing to probe")
	}
	if !(ghz > 0.2 && ghz < 10) {
		t.Fatalf("clock %.3f GHz", ghz)
	}
	// A moment of load on the clock chain makes the clock look slower and
	// every rate look higher; a second pass keeps each probe's lower rate.
	ghz2, again := Rates(200_000, 3)
	for i, r := range rates {
		pc := r.PerCycle
		if i < len(again) && again[i].PerCycle < pc {
			pc = again[i].PerCycle
		}
		if math.IsNaN(pc) || pc < 0.05 || pc > 8 {
			t.Errorf("%s: %.3f per cycle (clock %.3f and %.3f GHz)", r.Name, pc, ghz, ghz2)
		}
	}
}

// BenchmarkIssueRate prints the clock and every probe's rate (each the best
// of b.N runs of 20 million iterations):
//
//	go test -run '^$' -bench IssueRate -benchtime 5x -v ./internal/cpuprobe/
func BenchmarkIssueRate(b *testing.B) {
	ghz, rates := Rates(20_000_000, max(b.N, 3))
	if rates == nil {
		b.Skip("no probes for this CPU")
	}
	b.ReportMetric(ghz, "GHz")
	b.Logf("clock %.2f GHz (dependent adds)", ghz)
	for _, r := range rates {
		b.Logf("%-66s %.2f per cycle", r.Name, r.PerCycle)
	}
}
