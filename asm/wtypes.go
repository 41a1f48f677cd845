package asm

// The matrix-vector products for the weight types GGUF files hold beside
// fp32 and llama2.c's Q8_0: f16 and bf16 (two bytes a weight, converted to
// float32 exactly and multiplied by an fp32 x), and ggml's Q8_0 and Q4_0
// blocks (34 and 18 bytes per 32 weights, multiplied by an x quantized to
// int8 in groups of 32 by Kernels.Quantize). Every variant gets the
// portable routines below unless it brings its own (archWeightKernels);
// WeightKernel names which one runs.

// Weight type names, as WeightKernel takes them.
const (
	TypeF16      = "f16"
	TypeBF16     = "bf16"
	TypeQ8Blocks = "q8_0 blocks"
	TypeQ4_0     = "q4_0"
)

// fillWeightKernels gives k the routines of the new weight types it does
// not set itself: the architecture's SIMD ones where it has them for this
// variant, else the portable ones.
func fillWeightKernels(k *Kernels) {
	archWeightKernels(k)
	portableWeightKernels(k)
}

// portableWeightKernels sets the routines k lacks to the portable ones.
func portableWeightKernels(k *Kernels) {
	four := k.Name != "scalar" // every variant but the reference sums in four lanes
	if k.MatVecF16 == nil {
		k.MatVecF16 = matVecHalfGo(F16ToF32)
		if four {
			k.MatVecF16 = matVecHalfGo4(F16ToF32)
		}
	}
	if k.MatVecBF16 == nil {
		k.MatVecBF16 = matVecHalfGo(BF16ToF32)
		if four {
			k.MatVecBF16 = matVecHalfGo4(BF16ToF32)
		}
	}
	if k.MatVecQ8B == nil {
		k.MatVecQ8B = matVecQ8BGo
	}
	if k.MatVecQ4_0 == nil {
		k.MatVecQ4_0 = matVecQ4_0Go
	}
	if k.MatMulF16 == nil {
		k.MatMulF16 = batchedH(k.MatVecF16)
	}
	if k.MatMulBF16 == nil {
		k.MatMulBF16 = batchedH(k.MatVecBF16)
	}
	if k.MatMulQ8B == nil {
		k.MatMulQ8B = batchedB(k.MatVecQ8B, Q8BlockBytes)
	}
	if k.MatMulQ4_0 == nil {
		k.MatMulQ4_0 = batchedB(k.MatVecQ4_0, Q4_0BlockBytes)
	}
	if k.WeightKernel == nil {
		desc := "portable Go, one accumulator"
		if four {
			desc = "portable Go, four accumulators"
		}
		k.WeightKernel = func(string) string { return desc }
	}
}

// matVecHalfGo is the reference product for 16-bit weights (f16 or bf16,
// as conv widens them): each weight converted exactly, one float32
// accumulator, in order (like matVecScalar).
func matVecHalfGo(conv func(uint16) float32) func(out []float32, w []uint16, x []float32) {
	return func(out []float32, w []uint16, x []float32) {
		cols := len(x)
		for i := range out {
			row := w[i*cols : (i+1)*cols]
			var s float32
			for j, h := range row {
				s += float32(conv(h) * x[j])
			}
			out[i] = s
		}
	}
}

// matVecHalfGo4 is matVecHalfGo summed as dot4 sums.
func matVecHalfGo4(conv func(uint16) float32) func(out []float32, w []uint16, x []float32) {
	return func(out []float32, w []uint16, x []float32) {
		cols := len(x)
		for i := range out {
			row := w[i*cols : (i+1)*cols]
			var s0, s1, s2, s3 float32
			j := 0
			for ; j+4 <= cols; j += 4 {
				r := row[j : j+4 : j+4]
				xx := x[j : j+4 : j+4]
				s0 += float32(conv(r[0]) * xx[0])
				s1 += float32(conv(r[1]) * xx[1])
				s2 += float32(conv(r[2]) * xx[2])
				s3 += float32(conv(r[3]) * xx[3])
			}
			for ; j < cols; j++ {
				s0 += float32(conv(row[j]) * x[j])
			}
			out[i] = (s0 + s1) + (s2 + s3)
		}
	}
}

// matVecQ8BGo is the reference product with Q8_0 blocks: per block the
// exact int32 sum of q·xq, then, in block order as matVecQ8Scalar sums its
// groups, val += sum·d·xs with d the block's f16 scale.
func matVecQ8BGo(out []float32, w []byte, xq []int8, xs []float32) {
	nb := len(xq) / BlockSize
	rb := nb * Q8BlockBytes
	for i := range out {
		row := w[i*rb : (i+1)*rb]
		var val float32
		for b := 0; b < nb; b++ {
			blk := row[b*Q8BlockBytes : (b+1)*Q8BlockBytes]
			q := blk[2:Q8BlockBytes]
			xb := xq[b*BlockSize : (b+1)*BlockSize]
			var acc int32
			for k, v := range q {
				acc += int32(int8(v)) * int32(xb[k])
			}
			d := blockScale(blk)
			val += float32(float32(acc) * d * xs[b])
		}
		out[i] = val
	}
}

// matVecQ4_0Go is matVecQ8BGo for Q4_0 blocks: byte j of a block holds
// weight j (low nibble) and weight j+16 (high nibble), each minus 8.
func matVecQ4_0Go(out []float32, w []byte, xq []int8, xs []float32) {
	nb := len(xq) / BlockSize
	rb := nb * Q4_0BlockBytes
	for i := range out {
		row := w[i*rb : (i+1)*rb]
		var val float32
		for b := 0; b < nb; b++ {
			blk := row[b*Q4_0BlockBytes : (b+1)*Q4_0BlockBytes]
			q := blk[2:Q4_0BlockBytes]
			xb := xq[b*BlockSize : (b+1)*BlockSize]
			var acc int32
			for k, v := range q {
				acc += (int32(v&15)-8)*int32(xb[k]) + (int32(v>>4)-8)*int32(xb[k+BlockSize/2])
			}
			d := blockScale(blk)
			val += float32(float32(acc) * d * xs[b])
		}
		out[i] = val
	}
}

// batchBytes is the weight bytes a batched product keeps hot in cache
// while it runs every input vector over them, so that each row is read
// from memory once (as MatMul's rowBlock does for fp32).
const batchBytes = 64 << 10

// batchedH makes a batched product of a 16-bit one: n products, each
// summed as the single one, a block of rows at a time.
func batchedH(mv func(out []float32, w []uint16, x []float32)) func(out []float32, ldo int, w []uint16, x []float32, n int) {
	return func(out []float32, ldo int, w []uint16, x []float32, n int) {
		if n == 0 {
			return
		}
		cols := len(x) / n
		if cols == 0 {
			return
		}
		rows := len(w) / cols
		step := max(4, batchBytes/(2*cols))
		for r0 := 0; r0 < rows; r0 += step {
			r1 := min(rows, r0+step)
			for b := 0; b < n; b++ {
				mv(out[b*ldo+r0:b*ldo+r1], w[r0*cols:r1*cols], x[b*cols:(b+1)*cols])
			}
		}
	}
}

// batchedB is batchedH for block formats of bb bytes per 32 weights.
func batchedB(mv func(out []float32, w []byte, xq []int8, xs []float32), bb int) func(out []float32, ldo int, w []byte, xq []int8, xs []float32, n int) {
	return func(out []float32, ldo int, w []byte, xq []int8, xs []float32, n int) {
		if n == 0 {
			return
		}
		cols := len(xq) / n
		nb := cols / BlockSize
		if nb == 0 {
			return
		}
		rb := nb * bb
		rows := len(w) / rb
		step := max(4, batchBytes/rb)
		for r0 := 0; r0 < rows; r0 += step {
			r1 := min(rows, r0+step)
			for b := 0; b < n; b++ {
				mv(out[b*ldo+r0:b*ldo+r1], w[r0*rb:r1*rb], xq[b*cols:(b+1)*cols], xs[b*nb:(b+1)*nb])
			}
		}
	}
}

// MatVecF16 computes out = W·x for f16 weights of len(out) rows and len(x)
// columns, split by rows across the threads.
func (o *Ops) MatVecF16(out []float32, w []uint16, x []float32) {
	o.wtSplit(opMatVecF16, out, w, nil, x, nil, nil, 1, len(x), len(x))
}

// MatVecBF16 is MatVecF16 for bf16 weights.
func (o *Ops) MatVecBF16(out []float32, w []uint16, x []float32) {
	o.wtSplit(opMatVecBF16, out, w, nil, x, nil, nil, 1, len(x), len(x))
}

// MatVecQ8B computes out = W·x for Q8_0-block weights and x quantized with
// group size 32 (xq, xs).
func (o *Ops) MatVecQ8B(out []float32, w []byte, xq []int8, xs []float32) {
	o.wtSplit(opMatVecQ8B, out, nil, w, nil, xq, xs, 1, len(xq), len(xq)/BlockSize*Q8BlockBytes)
}

// MatVecQ4_0 is MatVecQ8B for Q4_0-block weights.
func (o *Ops) MatVecQ4_0(out []float32, w []byte, xq []int8, xs []float32) {
	o.wtSplit(opMatVecQ4_0, out, nil, w, nil, xq, xs, 1, len(xq), len(xq)/BlockSize*Q4_0BlockBytes)
}

// MatMulF16 computes out[b] = W·x[b] for n vectors of cols = len(x)/n;
// out holds n rows of length rows = len(w)/cols.
func (o *Ops) MatMulF16(out []float32, w []uint16, x []float32, n int) {
	if n > 0 {
		o.wtSplit(opMatMulF16, out, w, nil, x, nil, nil, n, len(x)/n, len(x)/n)
	}
}

// MatMulBF16 is MatMulF16 for bf16 weights.
func (o *Ops) MatMulBF16(out []float32, w []uint16, x []float32, n int) {
	if n > 0 {
		o.wtSplit(opMatMulBF16, out, w, nil, x, nil, nil, n, len(x)/n, len(x)/n)
	}
}

// MatMulQ8B is MatMulF16 for Q8_0 blocks and n quantized vectors.
func (o *Ops) MatMulQ8B(out []float32, w []byte, xq []int8, xs []float32, n int) {
	if n > 0 {
		cols := len(xq) / n
		o.wtSplit(opMatMulQ8B, out, nil, w, nil, xq, xs, n, cols, cols/BlockSize*Q8BlockBytes)
	}
}

// MatMulQ4_0 is MatMulQ8B for Q4_0 blocks.
func (o *Ops) MatMulQ4_0(out []float32, w []byte, xq []int8, xs []float32, n int) {
	if n > 0 {
		cols := len(xq) / n
		o.wtSplit(opMatMulQ4_0, out, nil, w, nil, xq, xs, n, cols, cols/BlockSize*Q4_0BlockBytes)
	}
}

// wtSplit runs one of the products above, split by rows when it is worth
// it: stride is the elements (uint16) or bytes of a weight row, cols the
// columns of one input vector.
func (o *Ops) wtSplit(op opKind, out []float32, h []uint16, wb []byte, x []float32, xq []int8, xs []float32, n, cols, stride int) {
	if stride == 0 || cols == 0 {
		return
	}
	rows := len(h) / stride
	if wb != nil {
		rows = len(wb) / stride
	}
	t := &o.t
	t.op, t.out, t.h, t.wb, t.x, t.xq, t.xs = op, out, h, wb, x, xq, xs
	t.n, t.cols, t.rows, t.gpr = n, cols, rows, stride
	defer func() { t.h, t.wb = nil, nil }()
	if o.parts(rows, rows*cols*n) <= 1 {
		t.k = o.Kernels
		t.runWeights(0, rows)
		return
	}
	o.split(rows, rows*cols*n)
}

// runWeights computes rows [r0, r1) of a product of the new weight types
// (t.gpr holds the weight row stride).
func (t *task) runWeights(r0, r1 int) {
	k, st := t.k, t.gpr
	switch t.op {
	case opMatVecF16:
		k.MatVecF16(t.out[r0:r1], t.h[r0*st:r1*st], t.x)
	case opMatVecBF16:
		k.MatVecBF16(t.out[r0:r1], t.h[r0*st:r1*st], t.x)
	case opMatVecQ8B:
		k.MatVecQ8B(t.out[r0:r1], t.wb[r0*st:r1*st], t.xq, t.xs)
	case opMatVecQ4_0:
		k.MatVecQ4_0(t.out[r0:r1], t.wb[r0*st:r1*st], t.xq, t.xs)
	case opMatMulF16:
		k.MatMulF16(t.out[r0:], t.rows, t.h[r0*st:r1*st], t.x, t.n)
	case opMatMulBF16:
		k.MatMulBF16(t.out[r0:], t.rows, t.h[r0*st:r1*st], t.x, t.n)
	case opMatMulQ8B:
		k.MatMulQ8B(t.out[r0:], t.rows, t.wb[r0*st:r1*st], t.xq, t.xs, t.n)
	case opMatMulQ4_0:
		k.MatMulQ4_0(t.out[r0:], t.rows, t.wb[r0*st:r1*st], t.xq, t.xs, t.n)
	}
}
