package asm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// Splitting a product across threads must not change a single bit.
func TestThreadsBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, k := range available(t) {
		one := MustNew(k.Name, 1)
		for _, threads := range []int{2, 3, 7} {
			o := MustNew(k.Name, threads)
			// Big enough to be split (see minWorkPerThread), with row counts
			// that leave ragged last parts.
			for _, s := range []shape{{16, 5}, {130, 33}, {301, 700}, {517, 257}, {2049, 96}} {
				w := randF32(r, s.rows*s.cols)
				x := randF32(r, 3*s.cols)
				want, got := make([]float32, s.rows), make([]float32, s.rows)
				one.MatVec(want, w, x[:s.cols])
				o.MatVec(got, w, x[:s.cols])
				sameBits(t, fmt.Sprintf("%s MatVec %dx%d threads=%d", k.Name, s.rows, s.cols, threads), got, want)

				want, got = make([]float32, 3*s.rows), make([]float32, 3*s.rows)
				one.MatMul(want, w, x, 3)
				o.MatMul(got, w, x, 3)
				sameBits(t, fmt.Sprintf("%s MatMul %dx%d threads=%d", k.Name, s.rows, s.cols, threads), got, want)

				for _, gs := range []int{1, 4, 12, 32, 48, 96} {
					if s.cols%gs != 0 {
						continue
					}
					wq, ws := quantized(r, s.rows*s.cols, gs)
					xq, xs := quantized(r, 2*s.cols, gs)
					want, got := make([]float32, s.rows), make([]float32, s.rows)
					one.MatVecQ8(want, wq, ws, xq[:s.cols], xs[:s.cols/gs], gs)
					o.MatVecQ8(got, wq, ws, xq[:s.cols], xs[:s.cols/gs], gs)
					sameBits(t, fmt.Sprintf("%s MatVecQ8 %dx%d gs=%d threads=%d", k.Name, s.rows, s.cols, gs, threads), got, want)
					want, got = make([]float32, 2*s.rows), make([]float32, 2*s.rows)
					one.MatMulQ8(want, wq, ws, xq, xs, 2, gs)
					o.MatMulQ8(got, wq, ws, xq, xs, 2, gs)
					sameBits(t, fmt.Sprintf("%s MatMulQ8 %dx%d gs=%d threads=%d", k.Name, s.rows, s.cols, gs, threads), got, want)
				}
			}
			o.Close()
			o.Close() // twice is fine
			// After Close the products still work, on one goroutine.
			w, x := randF32(r, 64*8), randF32(r, 8)
			want, got := make([]float32, 64), make([]float32, 64)
			one.MatVec(want, w, x)
			o.MatVec(got, w, x)
			sameBits(t, k.Name+" MatVec after Close", got, want)
		}
	}
}

// A panic in a worker reaches the caller, and the Ops keeps working.
func TestWorkerPanicReraised(t *testing.T) {
	o := MustNew("scalar", 4)
	defer o.Close()
	const rows, cols = 400, 1000
	w := make([]float32, rows*cols)
	x := make([]float32, cols)
	out := make([]float32, rows)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a short weight slice did not panic")
			}
		}()
		o.MatVec(out, make([]float32, 350*cols), x) // rows past 350 are out of range in a worker
	}()
	o.MatVec(out, w, x) // still usable
}

// Workers of a dropped Ops do not outlive it: its cleanup stops them.
func TestLeakedOpsStopsWorkers(t *testing.T) {
	var p *pool
	func() {
		o := MustNew("scalar", 4)
		o.MatVec(make([]float32, 256), make([]float32, 256*1024), make([]float32, 1024))
		p = o.pool
		if p.running() == 0 {
			t.Error("no workers started")
		}
	}()
	deadline := time.Now().Add(idleTimeout / 2) // well before they would idle out
	for p.running() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers of a dropped Ops still running", p.running())
		}
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAligned(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 1000} {
		f := AlignedFloat32(n)
		b := AlignedInt8(n)
		h := AlignedUint16(n)
		u := AlignedBytes(n)
		if len(f) != n || len(b) != n || len(h) != n || len(u) != n {
			t.Fatalf("n=%d: lengths %d %d %d %d", n, len(f), len(b), len(h), len(u))
		}
		if n > 0 && (addr(&f[0])%Alignment != 0 || addr(&b[0])%Alignment != 0 ||
			addr(&h[0])%Alignment != 0 || addr(&u[0])%Alignment != 0) {
			t.Errorf("n=%d: not aligned", n)
		}
	}
}
