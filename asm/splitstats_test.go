package asm

import (
	"math/rand/v2"
	"testing"
)

// The split totals count what was split, on how many goroutines, and their
// times add up the way SplitStats says: each piece is non-negative and the
// pieces sum to the wall time.
func TestSplitStats(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, threads := range []int{2, 3} {
		o := MustNew("scalar", threads)
		one := MustNew("scalar", 1)
		const rows, cols = 512, 640 // threads parts of it, each above minWorkPerThread
		w, x := randF32(r, rows*cols), randF32(r, cols)
		want, got := make([]float32, rows), make([]float32, rows)
		one.MatVec(want, w, x)

		o.MatVec(got, w, x)
		if s := o.Splits(); s != (SplitStats{}) {
			t.Fatalf("threads=%d: totals grew while not recording: %+v", threads, s)
		}

		o.RecordSplits(true)
		const calls = 7
		for range calls {
			o.MatVec(got, w, x)
		}
		o.MatVec(got[:8], w[:8*cols], x) // too small to split: not counted
		done := make([]bool, 12)
		o.Parallel(len(done), func(lo, hi int) { // one more split call
			for i := lo; i < hi; i++ {
				done[i] = true
			}
		})
		for i, d := range done {
			if !d {
				t.Fatalf("threads=%d: Parallel skipped item %d while recording", threads, i)
			}
		}
		s := o.Splits()
		o.RecordSplits(false)
		sameBits(t, "MatVec while recording", got, want)

		if s.Calls != calls+1 || s.Parts != threads*(calls+1) || s.Handoffs != (threads-1)*(calls+1) {
			t.Fatalf("threads=%d: calls %d parts %d handoffs %d, want %d, %d, %d", threads, s.Calls, s.Parts, s.Handoffs, calls+1, threads*(calls+1), (threads-1)*(calls+1))
		}
		if s.Busy <= 0 || s.Fastest <= 0 || s.Handoff <= 0 {
			t.Errorf("threads=%d: no time measured: %+v", threads, s)
		}
		if !(s.Fastest <= s.Even && s.Even <= s.Slowest && s.Slowest <= s.Wall) {
			t.Errorf("threads=%d: want fastest ≤ even ≤ slowest ≤ wall, got %v %v %v %v", threads, s.Fastest, s.Even, s.Slowest, s.Wall)
		}
		if s.Even+s.Imbalance()+s.Overhead() != s.Wall {
			t.Errorf("threads=%d: even %v + imbalance %v + overhead %v ≠ wall %v", threads, s.Even, s.Imbalance(), s.Overhead(), s.Wall)
		}
		if s.Wait > s.Wall || s.Held < s.Busy {
			t.Errorf("threads=%d: wait %v beyond wall %v, or thread time %v below busy %v", threads, s.Wait, s.Wall, s.Held, s.Busy)
		}
		if e := s.Efficiency(); e <= 0 || e > 1 {
			t.Errorf("threads=%d: efficiency %v outside (0, 1]", threads, e)
		}

		// Snapshots subtract to the interval between them.
		o.RecordSplits(true)
		o.MatVec(got, w, x)
		d := o.Splits().Sub(s)
		o.RecordSplits(false)
		if d.Calls != 1 || d.Parts != threads || d.Wall <= 0 {
			t.Errorf("threads=%d: one more call gave %+v", threads, d)
		}
		var sum SplitStats
		sum.Add(s)
		sum.Add(d)
		if sum != o.Splits() {
			t.Errorf("threads=%d: Add of the two intervals %+v ≠ totals %+v", threads, sum, o.Splits())
		}
		o.Close()
		one.Close()
	}

	// One thread has nothing to split and records nothing.
	o := MustNew("scalar", 1)
	o.RecordSplits(true)
	o.MatVec(make([]float32, 512), make([]float32, 512*640), make([]float32, 640))
	if s := o.Splits(); s != (SplitStats{}) {
		t.Errorf("one thread recorded %+v", s)
	}
}

// A fault in a worker's part still reaches the caller while the split is
// timed.
func TestSplitStatsWorkerPanic(t *testing.T) {
	o := MustNew("scalar", 2)
	defer o.Close()
	o.RecordSplits(true)
	const rows, cols = 400, 1000
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a short weight slice did not panic")
			}
		}()
		o.MatVec(make([]float32, rows), make([]float32, 350*cols), make([]float32, cols))
	}()
	o.MatVec(make([]float32, rows), make([]float32, rows*cols), make([]float32, cols))
	if s := o.Splits(); s.Calls != 2 {
		t.Errorf("calls %d, want 2 (the faulting one and the next)", s.Calls)
	}
}
