package asm

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Ops is a variant together with a thread count: what the engine calls.
// Matrix products are split by rows across Threads goroutines (the caller
// and Threads-1 pooled workers); every other op runs on the calling
// goroutine. An Ops is safe for use by one goroutine at a time.
//
// Each output row is computed by exactly one goroutine with the variant's
// single-threaded routine, so results are the same bit for bit for any
// thread count.
//
// A fault inside a worker goroutine (for instance SIGBUS on a memory-mapped
// weight file that was truncated underneath) is recovered in the worker and
// raised again on the calling goroutine, so the caller's recover sees it.
//
// The workers are started on first use and exit after idleTimeout without
// work, or at Close; an Ops that is dropped without Close has its workers
// stopped when it is garbage collected.
type Ops struct {
	*Kernels
	threads int
	pool    *pool
	t       task

	// record is set while the split products and Parallel calls are being
	// timed (RecordSplits); splits holds their totals.
	record bool
	splits SplitStats
}

// New returns the ops of the named variant ("auto" or "" for the fastest
// this CPU supports) with the given number of threads (0 means 1; more than
// GOMAXPROCS is allowed but rarely useful).
func New(variant string, threads int) (*Ops, error) {
	k, err := Lookup(variant)
	if err != nil {
		return nil, err
	}
	if threads < 0 {
		return nil, fmt.Errorf("thread count %d is negative", threads)
	}
	if threads == 0 {
		threads = 1
	}
	o := &Ops{Kernels: k, threads: threads}
	if threads > 1 {
		o.pool = newPool(threads - 1)
		runtime.AddCleanup(o, (*pool).stop, o.pool)
	}
	return o, nil
}

// MustNew is New for variants known to exist (tests, "scalar").
func MustNew(variant string, threads int) *Ops {
	o, err := New(variant, threads)
	if err != nil {
		panic(err)
	}
	return o
}

// Threads reports the number of goroutines matrix products are split over.
func (o *Ops) Threads() int { return max(o.threads, 1) }

// Close stops the worker goroutines. It is safe to call more than once; an
// Ops used after Close runs its products on the calling goroutine alone
// (same results, one core).
func (o *Ops) Close() error {
	if o.pool != nil {
		o.pool.stop()
	}
	return nil
}

// MaxThreads is the most threads worth asking for on this machine.
func MaxThreads() int { return runtime.GOMAXPROCS(0) }

// minRowsPerThread and minWorkPerThread keep small products on one
// goroutine, where handing work to a parked worker (a few microseconds)
// would cost more than it saves: a part gets at least 16 rows and 64Ki
// multiply-adds.
const (
	minRowsPerThread = 16
	minWorkPerThread = 1 << 16
)

// idleTimeout is how long a pool worker waits for work before it exits (it
// is started again when needed).
const idleTimeout = 2 * time.Second

// spinFor is how long a worker polls for the next job after finishing one,
// and the caller for the workers to finish, before either parks. Decoding
// issues its matrix products microseconds apart; waking a parked goroutine
// costs several microseconds each way, which on a 0.3 ms int8 product ate
// the whole gain of a second thread. Spinning briefly keeps the hand-off
// under a microsecond while products keep coming, and costs nothing once
// they stop.
const spinFor = 100 * time.Microsecond

// parts is the number of goroutines a product of the given rows and
// multiply-adds is split over.
func (o *Ops) parts(rows, work int) int {
	return max(1, min(o.threads, rows/minRowsPerThread, work/minWorkPerThread))
}

// MatVec computes out = W·x for W of len(out) rows and len(x) columns.
func (o *Ops) MatVec(out, w, x []float32) {
	if o.parts(len(out), len(w)) <= 1 {
		o.Kernels.MatVec(out, w, x)
		return
	}
	t := &o.t
	t.op, t.out, t.w, t.x, t.cols = opMatVec, out, w, x, len(x)
	o.split(len(out), len(w))
}

// MatMul computes out[b] = W·x[b] for n vectors x[b] of cols = len(x)/n,
// rows = len(w)/cols; out holds n rows of length rows.
func (o *Ops) MatMul(out, w, x []float32, n int) {
	if n == 0 {
		return
	}
	cols := len(x) / n
	rows := len(w) / cols
	if o.parts(rows, len(w)*n) <= 1 {
		o.Kernels.MatMul(out, rows, w, x, n)
		return
	}
	t := &o.t
	t.op, t.out, t.w, t.x, t.n, t.cols, t.rows = opMatMul, out, w, x, n, cols, rows
	o.split(rows, len(w)*n)
}

// MatVecQ8 computes out = W·x for Q8_0 weights (wq, ws) and a quantized
// vector (xq, xs) with group size gs.
func (o *Ops) MatVecQ8(out []float32, wq []int8, ws []float32, xq []int8, xs []float32, gs int) {
	if o.parts(len(out), len(wq)) <= 1 {
		o.Kernels.MatVecQ8(out, wq, ws, xq, xs, gs)
		return
	}
	t := &o.t
	t.op, t.out, t.wq, t.ws, t.xq, t.xs, t.gs = opMatVecQ8, out, wq, ws, xq, xs, gs
	t.cols = len(xq)
	t.gpr = t.cols / gs
	o.split(len(out), len(wq))
}

// MatMulQ8 is MatMul for Q8_0 weights and n quantized vectors.
func (o *Ops) MatMulQ8(out []float32, wq []int8, ws []float32, xq []int8, xs []float32, n, gs int) {
	if n == 0 {
		return
	}
	cols := len(xq) / n
	rows := len(wq) / cols
	if o.parts(rows, len(wq)*n) <= 1 {
		o.Kernels.MatMulQ8(out, rows, wq, ws, xq, xs, n, gs)
		return
	}
	t := &o.t
	t.op, t.out, t.wq, t.ws, t.xq, t.xs, t.n, t.gs = opMatMulQ8, out, wq, ws, xq, xs, n, gs
	t.cols, t.rows, t.gpr = cols, rows, cols/gs
	o.split(rows, len(wq)*n)
}

type opKind uint8

const (
	opMatVec opKind = iota
	opMatMul
	opMatVecQ8
	opMatMulQ8
	opFunc
	// The new weight types' products (wtypes.go).
	opMatVecF16
	opMatVecBF16
	opMatVecQ8B
	opMatVecQ4_0
	opMatMulF16
	opMatMulBF16
	opMatMulQ8B
	opMatMulQ4_0
)

// task is the product being split: its operands, and the rendezvous of
// the goroutines working on it. One lives in each Ops and is reused, so a
// split allocates nothing.
type task struct {
	k                 *Kernels
	op                opKind
	out, w, x, ws, xs []float32
	wq, xq            []int8
	h                 []uint16 // f16 and bf16 weights
	wb                []byte   // block weights
	n, gs, cols       int
	rows, gpr         int
	fn                func(lo, hi int) // opFunc

	wg      sync.WaitGroup
	pending atomic.Int32 // jobs handed to workers and not yet done
	mu      sync.Mutex
	fault   any

	// While the Ops records its splits: the moment the work was handed
	// off, and when each worker job started and ended (indexed by the
	// job's number; the caller's own part is not in it).
	timed bool
	t0    time.Time
	parts []partTime
}

// run computes rows [r0, r1) of the task.
func (t *task) run(r0, r1 int) {
	switch t.op {
	case opMatVec:
		t.k.MatVec(t.out[r0:r1], t.w[r0*t.cols:r1*t.cols], t.x)
	case opMatMul:
		t.k.MatMul(t.out[r0:], t.rows, t.w[r0*t.cols:r1*t.cols], t.x, t.n)
	case opMatVecQ8:
		t.k.MatVecQ8(t.out[r0:r1], t.wq[r0*t.cols:r1*t.cols], t.ws[r0*t.gpr:r1*t.gpr], t.xq, t.xs, t.gs)
	case opMatMulQ8:
		t.k.MatMulQ8(t.out[r0:], t.rows, t.wq[r0*t.cols:r1*t.cols], t.ws[r0*t.gpr:r1*t.gpr], t.xq, t.xs, t.n, t.gs)
	case opFunc:
		t.fn(r0, r1)
	default:
		t.runWeights(r0, r1)
	}
}

// runCatching runs rows [r0, r1) and returns what they panicked with, if
// anything.
func (t *task) runCatching(r0, r1 int) (fault any) {
	defer func() { fault = recover() }()
	t.run(r0, r1)
	return nil
}

// split runs the task's rows [0,rows) in contiguous chunks, one per part:
// the first on the calling goroutine, the others on pool workers.
func (o *Ops) split(rows, work int) {
	parts := o.parts(rows, work)
	chunk := (rows + parts - 1) / parts
	chunk = (chunk + 3) &^ 3 // whole blocks of four rows per part
	o.run(rows, chunk)
}

// run runs the task over [0,n) in chunks of the given size, the first on
// the calling goroutine, and raises on the caller whatever any chunk
// panicked with.
func (o *Ops) run(n, chunk int) {
	t := &o.t
	t.k = o.Kernels
	t.timed = o.record && o.pool != nil
	if t.timed {
		t.prepareTimes(n, chunk)
	}
	if o.pool == nil || !o.pool.submit(t, chunk, n) {
		for r0 := 0; r0 < n; r0 += chunk {
			t.run(r0, min(r0+chunk, n))
		}
		return
	}
	var fault any
	if t.timed {
		fault = o.runTimed(n, chunk)
	} else {
		fault = t.runCatching(0, min(chunk, n))
		t.await()
	}
	if fault == nil {
		fault = t.fault
	}
	t.fault = nil
	if fault != nil {
		panic(fault)
	}
}

// Parallel calls fn on contiguous ranges covering [0,n), one range per
// thread (the first on the calling goroutine), or fn(0, n) with one
// thread. Whether the work is worth splitting is the caller's call: a
// hand-off costs about a microsecond while the workers are polling, tens
// when they have parked. fn must be safe to run at once on disjoint ranges
// and should give the same results however [0,n) is cut (the engine splits
// attention by head). Like the products, a fault in any range is raised on
// the caller.
func (o *Ops) Parallel(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	parts := min(o.Threads(), n)
	if parts == 1 {
		fn(0, n)
		return
	}
	t := &o.t
	t.op, t.fn = opFunc, fn
	defer func() { t.fn = nil }() // hold no reference to the caller's state
	o.run(n, (n+parts-1)/parts)
}

// await returns when every job handed to the workers is done: it polls
// for up to spinFor, then parks.
func (t *task) await() {
	if t.pending.Load() > 0 {
		start := time.Now()
		for i := 0; t.pending.Load() > 0; i++ {
			if i%64 == 63 && time.Since(start) > spinFor {
				break
			}
		}
	}
	t.wg.Wait()
}

type job struct {
	t      *task
	r0, r1 int
	i      int // the job's number among the task's worker jobs
}

// pool is a set of worker goroutines fed through a channel. It holds no
// reference to its Ops, so a dropped Ops can be collected (its cleanup then
// stops the pool).
type pool struct {
	jobs chan job
	quit chan struct{}

	mu     sync.Mutex
	live   int
	closed bool
}

func newPool(n int) *pool {
	return &pool{jobs: make(chan job, n), quit: make(chan struct{})}
}

// submit queues rows [chunk, rows) of t in chunks and makes sure enough
// workers are running to take them. It reports false if the pool is
// stopped.
func (p *pool) submit(t *task, chunk, rows int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	queued := 0
	if t.timed {
		t.t0 = time.Now()
	}
	for r0 := chunk; r0 < rows; r0 += chunk {
		t.wg.Add(1)
		t.pending.Add(1)
		p.jobs <- job{t: t, r0: r0, r1: min(r0+chunk, rows), i: queued}
		queued++
	}
	for p.live < queued {
		p.live++
		go p.worker()
	}
	return true
}

// running reports the number of live workers.
func (p *pool) running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.live
}

func (p *pool) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		close(p.quit)
	}
}

func (p *pool) worker() {
	debug.SetPanicOnFault(true)
	idle := time.NewTimer(idleTimeout)
	defer idle.Stop()
	do := func(j job) {
		var start time.Time
		if j.t.timed {
			start = time.Now()
		}
		f := j.t.runCatching(j.r0, j.r1)
		if j.t.timed {
			j.t.parts[j.i] = partTime{start: start, end: time.Now()}
		}
		if f != nil {
			j.t.mu.Lock()
			j.t.fault = f
			j.t.mu.Unlock()
		}
		j.t.pending.Add(-1)
		j.t.wg.Done()
	}
	for {
		select {
		case j := <-p.jobs:
			do(j)
			// Poll for the next job a while before parking again.
			start := time.Now()
			for i := 0; ; i++ {
				select {
				case j := <-p.jobs:
					do(j)
					start = time.Now()
					continue
				default:
				}
				if i%64 == 63 {
					if time.Since(start) > spinFor {
						break
					}
					runtime.Gosched()
				}
			}
			idle.Reset(idleTimeout)
		case <-idle.C:
			p.mu.Lock()
			if len(p.jobs) > 0 {
				// Work arrived as the timer fired: take it.
				p.mu.Unlock()
				idle.Reset(idleTimeout)
				continue
			}
			p.live--
			p.mu.Unlock()
			return
		case <-p.quit:
			p.mu.Lock()
			p.live--
			p.mu.Unlock()
			return
		}
	}
}
