//go:build (amd64 || arm64) && !noasm

package asm

// The Go side of the SIMD kernels of the new weight types: each
// architecture provides a four-row and a one-row routine per type, and
// these wrappers lay out the rows as the fp32 and int8 kernels do. With
// q = rows/4, block i takes rows i, i+q, i+2q and i+3q (four streams a
// quarter of the matrix apart, which the hardware prefetchers follow
// better than adjacent rows); the rows%4 after 4q go one at a time. The
// routines sum every row alike, so a row's bits do not depend on where it
// falls, and the columns past the last multiple of 8 of a 16-bit row are
// added after the routine's sum, in order, here.

func matVecH16(
	four func(w *uint16, stride int, x *float32, n int, out *float32, ostride int),
	one func(w *uint16, x *float32, n int) float32,
	conv func(uint16) float32,
) func(out []float32, w []uint16, x []float32) {
	return func(out []float32, w []uint16, x []float32) {
		cols := len(x)
		if !rowArgs(out, w, cols) {
			return
		}
		m := cols &^ 7
		h16Rows(four, one, out, w, x, cols, m, true)
		h16Tails(out, w, x, cols, m, conv)
	}
}

// h16Rows sets out[r] to the sum the kernels give of the first m columns
// of row r of w (rows ldw values apart) with xk, four rows a call: with
// q = len(out)/4, block i is rows i, i+q, i+2q, i+3q when spread, else
// rows 4i to 4i+3; the rows past 4q go one at a time. The caller has
// checked the slices.
func h16Rows(
	four func(w *uint16, stride int, x *float32, n int, out *float32, ostride int),
	one func(w *uint16, x *float32, n int) float32,
	out []float32, w []uint16, xk []float32, ldw, m int, spread bool,
) {
	rows := len(out)
	q := rows / 4
	step, apart := 4, 1 // block i starts at row i·step, its rows apart rows from each other
	if spread {
		step, apart = 1, q
	}
	for i := 0; i < q; i++ {
		r := i * step
		four(&w[r*ldw], 2*apart*ldw, &xk[0], m, &out[r], 4*apart)
	}
	for r := 4 * q; r < rows; r++ {
		out[r] = one(&w[r*ldw], &xk[0], m)
	}
}

// h16Tails adds to each out[r] the products of columns m to len(x) of row
// r of w (rows ldw values apart) with x, in order.
func h16Tails(out []float32, w []uint16, x []float32, ldw, m int, conv func(uint16) float32) {
	cols := len(x)
	if m == cols {
		return
	}
	for r := range out {
		s := out[r]
		row := w[r*ldw : r*ldw+cols]
		for j := m; j < cols; j++ {
			s += float32(conv(row[j]) * x[j])
		}
		out[r] = s
	}
}

// matVecBF16Permuted is matVecH16 for routines that take x reordered
// within each chunk of 16 columns (perm writes chunk xc in the routine's
// order to pc) and rows of a multiple of 16 columns; the rest of each row
// is added here, in order.
func matVecBF16Permuted(
	four func(w *uint16, stride int, x *float32, n int, out *float32, ostride int),
	one func(w *uint16, x *float32, n int) float32,
	perm func(pc, xc []float32),
) func(out []float32, w []uint16, x []float32) {
	return func(out []float32, w []uint16, x []float32) {
		cols := len(x)
		if !rowArgs(out, w, cols) {
			return
		}
		m := cols &^ 15
		clear(out)
		if m > 0 {
			bp := f32Scratch.get(m)
			xp := *bp
			for c := 0; c < m; c += 16 {
				perm(xp[c:c+16:c+16], x[c:c+16:c+16])
			}
			h16Rows(four, one, out, w, xp, cols, m, true)
			f32Scratch.put(bp)
		}
		h16Tails(out, w, x, cols, m, BF16ToF32)
	}
}

// bf16EvenOdd orders a chunk as the shift-and-mask routines widen it: the
// 8 even columns, then the 8 odd ones.
func bf16EvenOdd(pc, xc []float32) {
	for k := 0; k < 8; k++ {
		pc[k], pc[8+k] = xc[2*k], xc[2*k+1]
	}
}

func matVecBlocks(
	four func(w *byte, stride int, xq *int8, xs *float32, nb int, out *float32, ostride int),
	one func(w *byte, xq *int8, xs *float32, nb int) float32,
	bb int,
) func(out []float32, w []byte, xq []int8, xs []float32) {
	return func(out []float32, w []byte, xq []int8, xs []float32) {
		rows, nb := len(out), len(xq)/BlockSize
		rb := nb * bb
		if !rowArgs(out, w, rb) {
			return
		}
		_ = xs[nb-1]
		q := rows / 4
		for i := 0; i < q; i++ {
			four(&w[i*rb], q*rb, &xq[0], &xs[0], nb, &out[i], 4*q)
		}
		for r := 4 * q; r < rows; r++ {
			out[r] = one(&w[r*rb], &xq[0], &xs[0], nb)
		}
	}
}
