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
func TestBandwidthReport(t *testing.T) {
	v := os.Getenv("MEMWALL_BANDWIDTH")
	if v == "" {
		t.Skip("set MEMWALL_BANDWIDTH=threads to run the full probe")
	}
	threads, err := strconv.Atoi(v)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Bandwidth(context.Background(), BandwidthOptions{Threads: threads, Repeats: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + r.String())
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
