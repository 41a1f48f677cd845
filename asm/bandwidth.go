package asm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// BandwidthOptions configures the memory bandwidth probe. The zero value
// works: 256 MiB, one thread, five repeats.
type BandwidthOptions struct {
	// Bytes is the memory the probe uses in all: the read test streams
	// all of it, copy splits it into source and destination halves, triad
	// into three thirds. Choose it well beyond the last-level cache (or the
	// size of a model, to ask how fast its weights can be read). Default
	// 256 MiB.
	Bytes int64
	// Threads is the number of goroutines each test is split over, each
	// streaming its own contiguous part. Default 1.
	Threads int
	// Repeats is how many times each test runs. Default 5.
	Repeats int
}

// BandwidthStat is the outcome of one test, in GB/s (1e9 bytes per second).
type BandwidthStat struct {
	// Name is "read", "copy" or "triad".
	Name string
	// Bytes counts the bytes one repeat moves: read counts each element
	// once, copy its source and destination, triad its three arrays
	// (STREAM's convention: write-allocate traffic is not counted).
	Bytes            int64
	Median, Min, Max float64
}

// BandwidthResult is what Bandwidth measured.
type BandwidthResult struct {
	Bytes   int64
	Threads int
	Repeats int
	// ReadKernel names the loop the read test used: the widest SIMD sum
	// this CPU and build have, reading each thread's part as four streams
	// in step (as a matrix-vector product reads four rows), which keeps
	// more cache misses in flight than one stream does.
	ReadKernel string

	Read, Copy, Triad BandwidthStat
}

// Tests returns the three results in order: read, copy, triad.
func (r BandwidthResult) Tests() []BandwidthStat {
	return []BandwidthStat{r.Read, r.Copy, r.Triad}
}

// String is a short table of the results.
func (r BandwidthResult) String() string {
	s := fmt.Sprintf("memory bandwidth: %.0f MiB, %d thread(s), %d repeats, read loop %s\n", float64(r.Bytes)/(1<<20), r.Threads, r.Repeats, r.ReadKernel)
	for _, t := range r.Tests() {
		s += fmt.Sprintf("  %-5s median %7.2f GB/s  min %7.2f  max %7.2f\n", t.Name, t.Median, t.Min, t.Max)
	}
	return s
}

// Defaults of BandwidthOptions.
const (
	DefaultBandwidthBytes   = 256 << 20
	DefaultBandwidthRepeats = 5
)

// readSum is the fastest streaming read the build has: the sum of x. The
// SIMD files replace it at init.
var (
	readSum     = sum4
	readSumName = "scalar4"
)

func sum4(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// sink keeps the read test's sums alive.
var sink float32

// Bandwidth measures the memory bandwidth this machine gives the process,
// STREAM-style: a read (sum of an array), a copy and a triad (a = b + s·c)
// over buffers far larger than the caches, split across Threads
// goroutines, each test repeated. It stops early, returning ctx's error,
// if ctx is cancelled.
func Bandwidth(ctx context.Context, opts BandwidthOptions) (BandwidthResult, error) {
	if opts.Bytes == 0 {
		opts.Bytes = DefaultBandwidthBytes
	}
	if opts.Threads == 0 {
		opts.Threads = 1
	}
	if opts.Repeats == 0 {
		opts.Repeats = DefaultBandwidthRepeats
	}
	if opts.Bytes < 0 || opts.Threads < 0 || opts.Repeats < 0 {
		return BandwidthResult{}, fmt.Errorf("bandwidth: negative option in %+v", opts)
	}
	// Every part of every array a multiple of 64 elements.
	unit := int64(64 * 3 * opts.Threads)
	n := opts.Bytes / 4 / unit * unit
	if n == 0 {
		return BandwidthResult{}, fmt.Errorf("bandwidth: %d bytes is too small for %d threads", opts.Bytes, opts.Threads)
	}
	buf := AlignedFloat32(int(n))
	// Touch every page before timing, so page faults are not measured.
	for i := range buf {
		buf[i] = 1
	}
	res := BandwidthResult{Bytes: n * 4, Threads: opts.Threads, Repeats: opts.Repeats, ReadKernel: readSumName}

	half, third := buf[:n/2], n/3
	src, dst := buf[n/2:], half
	a, b, c := buf[:third], buf[third:2*third], buf[2*third:3*third]

	sums := make([]float32, opts.Threads)
	var err error
	if res.Read, err = runStream(ctx, "read", n*4, opts, func(ctx context.Context, p, parts int) error {
		var s float32
		err := chunked(ctx, len(buf), p, parts, func(i, j int) { s += readSum(buf[i:j]) })
		sums[p] = s
		return err
	}); err != nil {
		return res, err
	}
	for _, s := range sums {
		sink += s
	}
	if res.Copy, err = runStream(ctx, "copy", int64(len(src)+len(dst))*4, opts, func(ctx context.Context, p, parts int) error {
		return chunked(ctx, len(src), p, parts, func(i, j int) { copy(dst[i:j], src[i:j]) })
	}); err != nil {
		return res, err
	}
	if res.Triad, err = runStream(ctx, "triad", 3*third*4, opts, func(ctx context.Context, p, parts int) error {
		const s = 3
		return chunked(ctx, int(third), p, parts, func(i, j int) {
			aa, bb, cc := a[i:j], b[i:j], c[i:j]
			bb, cc = bb[:len(aa)], cc[:len(aa)]
			for k := range aa {
				aa[k] = bb[k] + s*cc[k]
			}
		})
	}); err != nil {
		return res, err
	}
	return res, nil
}

// chunked runs fn over part p of parts of [0,n), a few MiB at a time,
// checking ctx between pieces.
func chunked(ctx context.Context, n, p, parts int, fn func(i, j int)) error {
	per := n / parts
	lo, hi := p*per, (p+1)*per
	if p == parts-1 {
		hi = n
	}
	const piece = 4 << 20 / 4 // 4 MiB of float32
	for i := lo; i < hi; i += piece {
		if err := ctx.Err(); err != nil {
			return err
		}
		fn(i, min(i+piece, hi))
	}
	return nil
}

func runStream(ctx context.Context, name string, bytes int64, opts BandwidthOptions, pass func(ctx context.Context, p, parts int) error) (BandwidthStat, error) {
	st := BandwidthStat{Name: name, Bytes: bytes}
	rates := make([]float64, 0, opts.Repeats)
	for r := 0; r < opts.Repeats; r++ {
		errs := make([]error, opts.Threads)
		var wg sync.WaitGroup
		start := time.Now()
		for p := 1; p < opts.Threads; p++ {
			wg.Add(1)
			go func(p int) {
				defer wg.Done()
				errs[p] = pass(ctx, p, opts.Threads)
			}(p)
		}
		errs[0] = pass(ctx, 0, opts.Threads)
		wg.Wait()
		el := time.Since(start)
		if err := errors.Join(errs...); err != nil {
			return st, fmt.Errorf("bandwidth %s: %w", name, ctx.Err())
		}
		rates = append(rates, float64(bytes)/el.Seconds()/1e9)
	}
	sort.Float64s(rates)
	st.Min, st.Max = rates[0], rates[len(rates)-1]
	if m := len(rates); m%2 == 1 {
		st.Median = rates[m/2]
	} else {
		st.Median = (rates[m/2-1] + rates[m/2]) / 2
	}
	return st, nil
}

// Warm reads x once with the bandwidth probe's streaming loop, so that
// strided reads of it that follow find it in cache. Decoding attention
// calls it on each block of a layer's key and value cache before the heads
// read their slices of it (see engine's attnBlock for why and what it
// saves). readSum is an assembly routine behind a variable: the call and
// its reads cannot be optimized away.
func Warm(x []float32) { readSum(x) }
