package asm

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
)

func TestBandwidthSmall(t *testing.T) {
	for _, threads := range []int{1, 2, 3} {
		r, err := Bandwidth(context.Background(), BandwidthOptions{Bytes: 8 << 20, Threads: threads, Repeats: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range r.Tests() {
			if !(s.Min > 0 && s.Min <= s.Median && s.Median <= s.Max) {
				t.Errorf("%d threads %s: implausible %+v", threads, s.Name, s)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Bandwidth(ctx, BandwidthOptions{Bytes: 8 << 20}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled probe returned %v", err)
	}
	if _, err := Bandwidth(context.Background(), BandwidthOptions{Bytes: 100}); err == nil {
		t.Error("a 100-byte probe did not fail")
	}
}

// TestBandwidthReport prints the full-size probe when MEMWALL_BANDWIDTH is
// set (to a thread count): go test -run BandwidthReport -v ./asm/
// BenchmarkBandwidthReport runs the full probe (256 MiB, 7 repeats) with
// MEMWALL_BANDWIDTH threads (default 1) and prints its table:
// go test -run '^$' -bench BandwidthReport -benchtime 1x ./asm/
func BenchmarkBandwidthReport(b *testing.B) {
	threads := 1
	if v := os.Getenv("MEMWALL_BANDWIDTH"); v != "" {
		var err error
		if threads, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < b.N; i++ {
		r, err := Bandwidth(context.Background(), BandwidthOptions{Threads: threads, Repeats: 7})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.Read.Median, "read-GB/s")
		b.Log("\n" + r.String())
	}
}

// The SIMD read loop sums what it reads.
func TestReadSum(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 128, 1000, 4096, 4096 + 17} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		var want float32
		for _, v := range x {
			want += v
		}
		if got := readSum(x); got != want {
			t.Errorf("%s readSum of %d elements: %v, want %v", readSumName, n, got, want)
		}
	}
}

// Warm must read any length, including the tails its loop leaves to Go,
// and must leave the data untouched.
func TestWarm(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 1000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i)
		}
		Warm(x)
		for i := range x {
			if x[i] != float32(i) {
				t.Fatalf("Warm changed x[%d] of %d", i, n)
			}
		}
	}
}
