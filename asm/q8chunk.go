//go:build (amd64 || arm64) && !noasm

package asm

import "sync"

// q8Shape is how the any-group-size int8 kernels (q8rowsAVX2, and
// gemvQ8NEON off multiples of 16) walk the groups of one group size:
// nfull whole chunks of the kernel's width, then (tailw > 0) one chunk of
// tailw bytes ending at the group's end, tailadj bytes back. x is laid out
// in the same chunks (chunked), so the bytes of the overlap multiply zero.
type q8Shape struct{ gs, width, nfull, tailw, tailadj int }

// q8ShapeOf is the shape of group size gs in chunks of width bytes; with
// half set, a tail of at most width/2 bytes takes a half-width chunk.
func q8ShapeOf(gs, width int, half bool) q8Shape {
	sh := q8Shape{gs: gs, width: width, nfull: gs / width}
	if t := gs % width; t > 0 {
		sh.tailw = width
		if half && t <= width/2 {
			sh.tailw = width / 2
		}
		sh.tailadj = sh.tailw - t
	}
	return sh
}

// chunkBytes is the length of x laid out in chunks for gpr groups.
func (sh q8Shape) chunkBytes(gpr int) int {
	return gpr * (sh.nfull*sh.width + sh.tailw)
}

// scratch is a pool of per-call buffers of T, so that a product needing
// one allocates nothing once the pool is warm.
type scratch[T any] struct{ pool sync.Pool }

// get returns a buffer of n elements (its contents are left over from an
// earlier use); put hands it back.
func (s *scratch[T]) get(n int) *[]T {
	p, _ := s.pool.Get().(*[]T)
	if p == nil {
		p = new([]T)
	}
	if cap(*p) < n {
		*p = make([]T, n)
	}
	*p = (*p)[:n]
	return p
}

func (s *scratch[T]) put(p *[]T) { s.pool.Put(p) }

// The scratch buffers of the SIMD glue: int8 for x laid out in chunks and
// padded copies of a row, int16 for the vectors gemmQ8 takes widened,
// float32 for q8rowsAVX2's scales, bf16's deinterleaved x and Q4_0's
// per-block corrections.
var (
	i8Scratch  scratch[int8]
	i16Scratch scratch[int16]
	f32Scratch scratch[float32]
)

// chunked lays x (gpr groups of gs) out in the kernel's chunks into buf:
// the whole chunks of each group as they are, and its last partial chunk
// as the tailw bytes ending at the group's end with the bytes before the
// group's tail zeroed. With gs a multiple of 32 the layout is x itself.
func (sh q8Shape) chunked(buf, x []int8, gpr int) []int8 {
	if sh.tailw == 0 {
		return x
	}
	gs, o := sh.gs, 0
	for g := 0; g < gpr; g++ {
		xg := x[g*gs : (g+1)*gs]
		full := sh.nfull * sh.width
		o += copy(buf[o:], xg[:full])
		clear(buf[o : o+sh.tailadj])
		copy(buf[o+sh.tailadj:o+sh.tailw], xg[full:])
		o += sh.tailw
	}
	return buf[:o]
}

// q8MatVecShape is q8MatMulShape for one vector: cols and groups per row,
// ok false when there is nothing to multiply (no rows, or no whole group
// in a row, when it clears out).
func q8MatVecShape(out []float32, wq []int8, ws []float32, xq []int8, xs []float32, gs int) (cols, gpr int, ok bool) {
	rows, cols := len(out), len(xq)
	if rows == 0 {
		return cols, 0, false
	}
	if gs > 0 {
		gpr = cols / gs
	}
	if gpr == 0 {
		clear(out)
		return cols, 0, false
	}
	_ = wq[rows*cols-1]
	_ = ws[rows*gpr-1]
	_ = xs[gpr-1]
	return cols, gpr, true
}

// q8MatMulShape reads a MatMulQ8 call's shape from its slices: cols per
// vector, rows of w and groups per row. ok is false when there is nothing
// to multiply (no vectors or rows; with no whole group in a row it also
// clears the outputs, as the product of empty groups is 0). Otherwise it
// has checked every slice's length once, so the kernels' loops need not.
func q8MatMulShape(out []float32, ldo int, wq []int8, ws []float32, xq []int8, xs []float32, n, gs int) (cols, rows, gpr int, ok bool) {
	if n == 0 {
		return 0, 0, 0, false
	}
	cols = len(xq) / n
	rows = len(wq) / cols
	if gs > 0 {
		gpr = cols / gs
	}
	if rows == 0 {
		return cols, 0, gpr, false
	}
	if gpr == 0 {
		for b := 0; b < n; b++ {
			clear(out[b*ldo : b*ldo+rows])
		}
		return cols, rows, 0, false
	}
	_ = out[(n-1)*ldo+rows-1]
	_ = wq[rows*cols-1]
	_ = ws[rows*gpr-1]
	_ = xq[n*cols-1]
	_ = xs[n*gpr-1]
	return cols, rows, gpr, true
}
