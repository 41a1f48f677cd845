//go:build !noasm

package asm

//go:noescape
func q8rowsAVX2(out *float32, outidx *int, wq *int8, rowoff *int, ws *float32, wsidx *int32, x *int8, xs *float32, blocks, cols, gpr, nfull, tailadj int, wsbuf *float32, tailw int)

// q8rowsRun computes rows [0, len(out)) of a Q8_0 product with x already
// chunked, in blocks of eight rows spread over the range (block i takes
// rows i, i+q, ..., i+7q with q = rows/8, as the fp32 kernels do), then
// the rows%8 left over as one block with its last row repeated.
func q8rowsRun(out []float32, wq []int8, ws []float32, x []int8, xs []float32, sh q8Shape, cols, gpr int) {
	rows := len(out)
	if rows == 0 {
		return
	}
	wp := f32Scratch.get(8 * gpr)
	defer f32Scratch.put(wp)
	wsbuf := *wp
	if sh.nfull == 0 && sh.tailadj > 0 {
		// A group shorter than its chunk is read as the chunk ending at
		// its end: before the first row, that is outside wq. That row
		// goes through a copy with room in front.
		p := i8Scratch.get(32 + cols)
		buf := *p
		clear(buf[:32])
		copy(buf[32:], wq[:cols])
		var rowoff [8]int
		var wsidx [8]int32
		var outidx [8]int
		for k := range rowoff {
			rowoff[k] = 32
		}
		q8rowsAVX2(&out[0], &outidx[0], &buf[0], &rowoff[0], &ws[0], &wsidx[0], &x[0], &xs[0], 1, cols, gpr, sh.nfull, sh.tailadj, &wsbuf[0], sh.tailw)
		i8Scratch.put(p)
		out, wq, ws = out[1:], wq[cols:], ws[gpr:]
		rows--
	}
	if rows == 0 {
		return
	}
	var rowoff [8]int
	var wsidx [8]int32
	var outidx [8]int
	q := rows / 8
	if q > 0 {
		for k := range rowoff {
			rowoff[k], wsidx[k], outidx[k] = k*q*cols, int32(k*q*gpr), k*q
		}
		q8rowsAVX2(&out[0], &outidx[0], &wq[0], &rowoff[0], &ws[0], &wsidx[0], &x[0], &xs[0], q, cols, gpr, sh.nfull, sh.tailadj, &wsbuf[0], sh.tailw)
	}
	if rest := rows - 8*q; rest > 0 {
		for k := range rowoff {
			r := 8*q + min(k, rest-1)
			rowoff[k], wsidx[k], outidx[k] = r*cols, int32(r*gpr), r
		}
		q8rowsAVX2(&out[0], &outidx[0], &wq[0], &rowoff[0], &ws[0], &wsidx[0], &x[0], &xs[0], 1, cols, gpr, sh.nfull, sh.tailadj, &wsbuf[0], sh.tailw)
	}
}

// matVecQ8Rows is MatVecQ8 on q8rowsAVX2: any group size, the portable
// loop's bits.
func matVecQ8Rows(out []float32, wq []int8, ws []float32, xq []int8, xs []float32, gs int) {
	cols, gpr, ok := q8MatVecShape(out, wq, ws, xq, xs, gs)
	if !ok {
		return
	}
	sh := q8ShapeOf(gs, 32, true)
	var p *[]int8
	x := xq
	if sh.tailw > 0 {
		p = i8Scratch.get(sh.chunkBytes(gpr))
		x = sh.chunked(*p, xq, gpr)
	}
	q8rowsRun(out, wq, ws, x, xs, sh, cols, gpr)
	if p != nil {
		i8Scratch.put(p)
	}
}

// q8rowBlock is how many rows matMulQ8Rows runs every input vector over
// before it moves on, so that they are read from memory once: 64 rows of
// 2048 bytes are 128 KB, well inside L2.
const q8rowBlock = 64

// matMulQ8Rows is MatMulQ8 on q8rowsAVX2, each vector's rows summed as
// matVecQ8Rows sums them.
func matMulQ8Rows(out []float32, ldo int, wq []int8, ws []float32, xq []int8, xs []float32, n, gs int) {
	cols, rows, gpr, ok := q8MatMulShape(out, ldo, wq, ws, xq, xs, n, gs)
	if !ok {
		return
	}
	sh := q8ShapeOf(gs, 32, true)
	var p *[]int8
	x, xb := xq, cols // chunked x and its stride per vector
	if sh.tailw > 0 {
		xb = sh.chunkBytes(gpr)
		p = i8Scratch.get(n * xb)
		for b := 0; b < n; b++ {
			sh.chunked((*p)[b*xb:(b+1)*xb], xq[b*cols:(b+1)*cols], gpr)
		}
		x = *p
	}
	for r0 := 0; r0 < rows; r0 += q8rowBlock {
		r1 := min(rows, r0+q8rowBlock)
		for b := 0; b < n; b++ {
			q8rowsRun(out[b*ldo+r0:b*ldo+r1], wq[r0*cols:r1*cols], ws[r0*gpr:r1*gpr], x[b*xb:(b+1)*xb], xs[b*gpr:(b+1)*gpr], sh, cols, gpr)
		}
	}
	if p != nil {
		i8Scratch.put(p)
	}
}
