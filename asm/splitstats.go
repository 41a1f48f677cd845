package asm

import "time"

// SplitStats is what the products and Parallel calls an Ops split across
// goroutines cost, summed over the calls made while it recorded
// (RecordSplits). Every duration is measured on one monotonic clock: the
// hand-off starts when the caller queues the workers' parts, each part's
// time is from its first row to its last, and the call ends when the
// caller has seen every part done.
//
// A split call's wall time falls into three measured pieces,
//
//	Wall = Even + Imbalance + Overhead
//
// where Even is the time the call would take if its work (Busy) were
// shared exactly evenly and nothing were lost handing it off, Imbalance is
// how much longer its slowest part took than that, and Overhead is the
// rest: waking the workers, and the caller noticing that they are done.
type SplitStats struct {
	Calls int // calls split over two or more goroutines
	Parts int // goroutines the split calls ran on, summed over the calls

	Wall    time.Duration // from the hand-off to the last part seen done
	Busy    time.Duration // every part's compute time
	Slowest time.Duration // each call's slowest part
	Fastest time.Duration // each call's fastest part
	Even    time.Duration // each call's Busy divided by its parts
	Held    time.Duration // each call's wall time times its parts: the thread time it held

	Handoffs int           // parts run by pool workers
	Handoff  time.Duration // from the hand-off to a worker part's start
	Wait     time.Duration // the caller's wait after its own part
}

// Imbalance is the wall time lost to parts of unequal length.
func (s SplitStats) Imbalance() time.Duration { return s.Slowest - s.Even }

// Overhead is the wall time the split calls took beyond their slowest
// part: handing the parts out and collecting them.
func (s SplitStats) Overhead() time.Duration { return s.Wall - s.Slowest }

// Efficiency is the share of the split calls' thread time (parts × wall)
// spent computing; 1 would be perfect sharing at no cost.
func (s SplitStats) Efficiency() float64 {
	if s.Held <= 0 {
		return 0
	}
	return float64(s.Busy) / float64(s.Held)
}

// MeanHandoff is the average time from the hand-off to a worker part's
// start.
func (s SplitStats) MeanHandoff() time.Duration {
	if s.Handoffs == 0 {
		return 0
	}
	return s.Handoff / time.Duration(s.Handoffs)
}

// Sub is s minus an earlier snapshot of the same totals.
func (s SplitStats) Sub(b SplitStats) SplitStats {
	return SplitStats{
		Calls: s.Calls - b.Calls, Parts: s.Parts - b.Parts,
		Wall: s.Wall - b.Wall, Busy: s.Busy - b.Busy, Slowest: s.Slowest - b.Slowest, Fastest: s.Fastest - b.Fastest, Even: s.Even - b.Even, Held: s.Held - b.Held,
		Handoffs: s.Handoffs - b.Handoffs, Handoff: s.Handoff - b.Handoff, Wait: s.Wait - b.Wait,
	}
}

// Add adds b's totals to s.
func (s *SplitStats) Add(b SplitStats) {
	s.Calls += b.Calls
	s.Parts += b.Parts
	s.Wall += b.Wall
	s.Busy += b.Busy
	s.Slowest += b.Slowest
	s.Fastest += b.Fastest
	s.Even += b.Even
	s.Held += b.Held
	s.Handoffs += b.Handoffs
	s.Handoff += b.Handoff
	s.Wait += b.Wait
}

// RecordSplits turns the timing of split calls on or off. Timing costs a
// few clock reads per split call (tens of nanoseconds each), nothing while
// off.
func (o *Ops) RecordSplits(on bool) { o.record = on }

// Splits returns the totals recorded so far (they keep growing while
// recording is on; subtract an earlier snapshot for an interval).
func (o *Ops) Splits() SplitStats { return o.splits }

// partTime is when one worker part ran.
type partTime struct{ start, end time.Time }

// prepareTimes sizes the task's part times for n items in chunks.
func (t *task) prepareTimes(n, chunk int) {
	jobs := max(0, (n+chunk-1)/chunk-1)
	if cap(t.parts) < jobs {
		t.parts = make([]partTime, jobs)
	}
	t.parts = t.parts[:jobs]
	clear(t.parts)
}

// runTimed is the caller's side of a split while recording: its own part,
// the wait for the workers', and the totals. The workers have already been
// handed their parts (t.t0 is when).
func (o *Ops) runTimed(n, chunk int) any {
	t := &o.t
	start := time.Now()
	fault := t.runCatching(0, min(chunk, n))
	mine := time.Now()
	t.await()
	end := time.Now()

	if len(t.parts) == 0 {
		return fault // nothing was handed off: not a split
	}
	own := mine.Sub(start)
	s := &o.splits
	s.Calls++
	s.Parts += 1 + len(t.parts)
	wall := end.Sub(t.t0)
	s.Wall += wall
	s.Held += wall * time.Duration(1+len(t.parts))
	s.Wait += end.Sub(mine)
	busy, slow, fast := own, own, own
	for _, p := range t.parts {
		d := p.end.Sub(p.start)
		busy += d
		slow, fast = max(slow, d), min(fast, d)
		s.Handoff += p.start.Sub(t.t0)
	}
	s.Handoffs += len(t.parts)
	s.Busy += busy
	s.Slowest += slow
	s.Fastest += fast
	s.Even += busy / time.Duration(1+len(t.parts))
	return fault
}
