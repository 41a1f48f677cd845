package engine

import (
	"context"
	"fmt"
	"runtime/debug"
)

// batchBuffers hold the activations of n positions at once.
type batchBuffers struct {
	n                      int
	x, xb, xb2, q, hb, hb2 []float32
	qx, qh                 quantBuf
	att                    [][]float32 // scores, one buffer per thread
}

func (b *batchBuffers) ensure(s *State, n int) {
	c := s.M.Config
	if b.n >= n {
		return
	}
	b.n = n
	b.x = make([]float32, n*c.Dim)
	b.xb = make([]float32, n*c.Dim)
	b.xb2 = make([]float32, n*c.Dim)
	b.q = make([]float32, n*c.Dim)
	b.hb = make([]float32, n*c.HiddenDim)
	b.hb2 = make([]float32, n*c.HiddenDim)
	b.qx = newQuantBuf(n*c.Dim, s.qgs, s.qblocks)
	b.qh = newQuantBuf(n*c.HiddenDim, s.qgs, s.qblocks)
}

// Prefill runs tokens at positions pos0, pos0+1, ... through the model
// together: each weight matrix is read once for all of them (matrix-matrix
// products) instead of once per token. It returns the logits of the last
// token, the same as feeding the tokens one by one with Forward (bit for
// bit when the kernels' batched and single products sum in the same order,
// as every variant's do). With hooks registered it falls back to Forward
// per token, so that every hook sees every position.
func (s *State) Prefill(ctx context.Context, tokens []int, pos0 int) (logits []float32, err error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("prefill of no tokens")
	}
	each, err := s.batchArgs(tokens, pos0)
	if err != nil {
		return nil, err
	}
	if each {
		for i, t := range tokens {
			if logits, err = s.Forward(ctx, t, pos0+i); err != nil {
				return nil, err
			}
		}
		return logits, nil
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.M.catchFault(&err)
	if err := s.runBatch(ctx, tokens, pos0); err != nil {
		return nil, err
	}
	// Only the last position's logits are needed.
	c := s.M.Config
	dim, n := c.Dim, len(tokens)
	t := s.tick()
	s.ops.RMSNorm(s.x, s.batch.x[(n-1)*dim:n*dim], s.W.FinalNorm, c.Eps())
	s.tock("rmsnorm", t, normCost(dim))
	in := s.input(s.x, &s.qx)
	s.matvec("classifier", s.logits, &s.W.Cls, in)
	return s.logits, nil
}

// batchArgs checks the tokens and positions of a batched pass (Prefill,
// forwardAll) and says whether to run them token by token instead: one
// token, or hooks registered, so that every hook sees every position.
func (s *State) batchArgs(tokens []int, pos0 int) (each bool, err error) {
	for i, t := range tokens {
		if err := s.checkArgs(t, pos0+i); err != nil {
			return false, err
		}
	}
	return len(tokens) == 1 || s.hooks.active(), nil
}

// runBatch embeds tokens at positions pos0, pos0+1, ... and carries them
// through every layer together (each weight read once for all of them),
// leaving their final hidden states, before the last norm, in s.batch.x.
// The caller guards against faults of the mapped weights.
func (s *State) runBatch(ctx context.Context, tokens []int, pos0 int) error {
	c := s.M.Config
	n := len(tokens)
	b := &s.batch
	b.ensure(s, n)
	for i, t := range tokens {
		s.embed(t, b.x[i*c.Dim:(i+1)*c.Dim])
	}
	for l := 0; l < c.Layers; l++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.layerBatch(l, pos0, n)
	}
	return nil
}

// layerBatch runs positions pos0..pos0+n-1 through layer l. Keys and
// values go straight into the cache rows of their positions; position
// pos0+i attends to positions 0..pos0+i (causal).
func (s *State) layerBatch(l, pos0, n int) {
	c := s.M.Config
	b := &s.batch
	dim, kvDim, hs := c.Dim, c.KVDim(), c.HeadSize()
	kc, vc := s.kvRows(l, pos0, n, s.kvBatchScratch(n))
	s.block(l, n, b, kc, vc, s.matmul, func() {
		t := s.tick()
		for i := 0; i < n; i++ {
			s.rot.at(pos0+i, hs, c.RopeTheta()).rope(b.q[i*dim:(i+1)*dim], kc[i*kvDim:(i+1)*kvDim], hs)
		}
		s.tock("rope", t, ropeCost(n*(dim+kvDim)))
		s.kvStore(l, pos0, n, kc, vc)
		t = s.tick()
		s.tock("attention", t, s.attendBatch(l, pos0, n))
	})
}

// attendBatch runs attend for the n positions pos0..pos0+n-1 of the
// batch, split between the threads by position: part p of P takes
// positions p, p+P, p+2P, ..., so that each part gets as many short and
// long (causal) rows as the others. Each part has its own scores buffer;
// every position's result is what attend gives it alone.
func (s *State) attendBatch(l, pos0, n int) (cost Cost) {
	c := s.M.Config
	dim := c.Dim
	b := &s.batch
	parts := min(s.ops.Threads(), n)
	if parts <= 1 || n*c.KVDim() < attnSplitMin {
		for i := 0; i < n; i++ {
			cost = cost.Add(s.attend(l, pos0+i, s.att, b.q[i*dim:(i+1)*dim], b.xb[i*dim:(i+1)*dim]))
		}
		return cost
	}
	for len(b.att) < parts {
		b.att = append(b.att, nil)
	}
	var part [maxAttnParts]Cost
	parts = min(parts, maxAttnParts)
	s.ops.Parallel(parts, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			if len(b.att[p]) < pos0+n {
				b.att[p] = make([]float32, max(s.kvCap, pos0+n))
			}
			for i := p; i < n; i += parts {
				part[p] = part[p].Add(s.attend(l, pos0+i, b.att[p], b.q[i*dim:(i+1)*dim], b.xb[i*dim:(i+1)*dim]))
			}
		}
	})
	for p := 0; p < parts; p++ {
		cost = cost.Add(part[p])
	}
	return cost
}

// maxAttnParts bounds how many threads a batch's attention is split over.
const maxAttnParts = 16

// attend computes, for every head, the attention of q (one position's
// queries, at pos) over layer l's cached keys and values 0..pos, writing
// the heads' outputs to z, with att (at least pos+1 long) for the scores.
// It returns its cost (the cost model's).
func (s *State) attend(l, pos int, att, q, z []float32) Cost {
	c := s.M.Config
	hs, kvMul := c.HeadSize(), c.Heads/c.KVHeads
	att = att[:pos+1]
	for h := 0; h < c.Heads; h++ {
		s.scores(att, q[h*hs:(h+1)*hs], l, 0, (h/kvMul)*hs)
		s.ops.Softmax(att)
		clear(z[h*hs : (h+1)*hs])
		s.mix(z[h*hs:(h+1)*hs], att, l, 0, (h/kvMul)*hs)
	}
	return attentionCost(c, pos, s.kv.Bytes())
}

// matmulFunc multiplies n input vectors by a weight matrix (State.matmul,
// or a Batch's, which also counts traffic).
type matmulFunc func(op string, out []float32, m *Matrix, in vecIn, n int)

// block carries the n activation rows in b.x through transformer block l
// with matrix-matrix products: each weight is read once for all rows. The
// new keys and values go to k and v (n × KVDim); attend applies RoPE to
// b.q and k and leaves each row's attention output in b.xb. Prefill and
// Batch.Step differ only in those two.
func (s *State) block(l, n int, b *batchBuffers, k, v []float32, mm matmulFunc, attend func()) {
	c := s.M.Config
	w := &s.W.Layers[l]
	dim, hid := c.Dim, c.HiddenDim
	norm := func(wt []float32) {
		t := s.tick()
		for i := 0; i < n; i++ {
			s.ops.RMSNorm(b.xb[i*dim:(i+1)*dim], b.x[i*dim:(i+1)*dim], wt, c.Eps())
		}
		s.tock("rmsnorm", t, normCost(n*dim))
	}
	residual := func(add []float32) {
		t := s.tick()
		for i := range b.x[:n*dim] {
			b.x[i] += add[i]
		}
		s.tock("residual", t, residualCost(n*dim))
	}

	norm(w.AttNorm)
	in := s.input(b.xb[:n*dim], &b.qx)
	mm("wq", b.q[:n*dim], &w.Wq, in, n)
	mm("wk", k, &w.Wk, in, n)
	mm("wv", v, &w.Wv, in, n)
	attend()
	in = s.input(b.xb[:n*dim], &b.qx)
	mm("wo", b.xb2[:n*dim], &w.Wo, in, n)
	residual(b.xb2)

	norm(w.FFNNorm)
	in = s.input(b.xb[:n*dim], &b.qx)
	mm("w1", b.hb[:n*hid], &w.W1, in, n)
	mm("w3", b.hb2[:n*hid], &w.W3, in, n)
	t := s.tick()
	s.ops.SwiGLU(b.hb[:n*hid], b.hb2[:n*hid])
	s.tock("swiglu", t, swigluCost(n*hid))
	in = s.input(b.hb[:n*hid], &b.qh)
	mm("w2", b.xb[:n*dim], &w.W2, in, n)
	residual(b.xb)
}

func (s *State) matmul(op string, out []float32, m *Matrix, in vecIn, n int) {
	t := s.tick()
	m.apply(s.ops, out, in, n, true)
	s.tock(op, t, matrixCost(m.Bytes(), m.Rows, m.Cols, n))
}
