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
	xq, hq                 []int8
	xs, hs                 []float32
}

func (b *batchBuffers) ensure(c Config, n int) {
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
	if c.Quantized() {
		b.xq, b.xs = make([]int8, n*c.Dim), make([]float32, n*c.Dim/c.GroupSize)
		b.hq, b.hs = make([]int8, n*c.HiddenDim), make([]float32, n*c.HiddenDim/c.GroupSize)
	}
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
	for i, t := range tokens {
		if err := s.checkArgs(t, pos0+i); err != nil {
			return nil, err
		}
	}
	if len(tokens) == 1 || s.hooks.active() {
		for i, t := range tokens {
			if logits, err = s.Forward(ctx, t, pos0+i); err != nil {
				return nil, err
			}
		}
		return logits, nil
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.M.catchFault(&err)
	c := s.M.Config
	n := len(tokens)
	b := &s.batch
	b.ensure(c, n)
	dim := c.Dim
	for i, t := range tokens {
		s.embed(t, b.x[i*dim:(i+1)*dim])
	}
	for l := 0; l < c.Layers; l++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.layerBatch(l, pos0, n)
	}
	// Only the last position's logits are needed.
	last := b.x[(n-1)*dim : n*dim]
	t := s.tick()
	s.ops.RMSNorm(s.x, last, s.W.FinalNorm, rmsEps)
	s.tock("rmsnorm", t, 8*int64(dim), 3*int64(dim))
	in := s.input(s.x, s.xq, s.xs)
	s.matvec("classifier", s.logits, &s.W.Cls, in)
	return s.logits, nil
}

func (s *State) layerBatch(l, pos0, n int) {
	c := s.M.Config
	w := &s.W.Layers[l]
	b := &s.batch
	dim, kvDim, hs, hid := c.Dim, c.KVDim(), c.HeadSize(), c.HiddenDim

	t := s.tick()
	for i := 0; i < n; i++ {
		s.ops.RMSNorm(b.xb[i*dim:(i+1)*dim], b.x[i*dim:(i+1)*dim], w.AttNorm, rmsEps)
	}
	s.tock("rmsnorm", t, 8*int64(n*dim), 3*int64(n*dim))
	// Keys and values go straight into the cache rows of their positions.
	kc := s.keyCache[l][pos0*kvDim : (pos0+n)*kvDim]
	vc := s.valueCache[l][pos0*kvDim : (pos0+n)*kvDim]
	in := s.inputBatch(b.xb[:n*dim], b.xq, b.xs)
	s.matmul("wq", b.q[:n*dim], &w.Wq, in, n)
	s.matmul("wk", kc, &w.Wk, in, n)
	s.matmul("wv", vc, &w.Wv, in, n)
	t = s.tick()
	for i := 0; i < n; i++ {
		s.rot.at(pos0+i, hs).rope(b.q[i*dim:(i+1)*dim], kc[i*kvDim:(i+1)*kvDim], hs)
	}
	s.tock("rope", t, 8*int64(n*(dim+kvDim)), 3*int64(n*(dim+kvDim)))

	// Causal attention: position pos0+i sees positions 0..pos0+i.
	t = s.tick()
	kvMul := c.Heads / c.KVHeads
	var flops, bytes int64
	for i := 0; i < n; i++ {
		pos := pos0 + i
		att := s.att[:pos+1]
		for h := 0; h < c.Heads; h++ {
			qh := b.q[i*dim+h*hs : i*dim+(h+1)*hs]
			s.ops.AttnScores(att, qh, s.keyCache[l][(h/kvMul)*hs:], kvDim)
			s.ops.Softmax(att)
			s.ops.AttnMix(b.xb[i*dim+h*hs:i*dim+(h+1)*hs], att, s.valueCache[l][(h/kvMul)*hs:], kvDim)
		}
		flops += 4 * int64(pos+1) * int64(dim)
		bytes += 8 * int64(pos+1) * int64(kvDim) * int64(kvMul)
	}
	s.tock("attention", t, bytes, flops)

	in = s.inputBatch(b.xb[:n*dim], b.xq, b.xs)
	s.matmul("wo", b.xb2[:n*dim], &w.Wo, in, n)
	t = s.tick()
	for i := range b.x[:n*dim] {
		b.x[i] += b.xb2[i]
	}
	s.tock("residual", t, 12*int64(n*dim), int64(n*dim))
	t = s.tick()
	for i := 0; i < n; i++ {
		s.ops.RMSNorm(b.xb[i*dim:(i+1)*dim], b.x[i*dim:(i+1)*dim], w.FFNNorm, rmsEps)
	}
	s.tock("rmsnorm", t, 8*int64(n*dim), 3*int64(n*dim))
	in = s.inputBatch(b.xb[:n*dim], b.xq, b.xs)
	s.matmul("w1", b.hb[:n*hid], &w.W1, in, n)
	s.matmul("w3", b.hb2[:n*hid], &w.W3, in, n)
	t = s.tick()
	s.ops.SwiGLU(b.hb[:n*hid], b.hb2[:n*hid])
	s.tock("swiglu", t, 12*int64(n*hid), 5*int64(n*hid))
	in = s.inputBatch(b.hb[:n*hid], b.hq, b.hs)
	s.matmul("w2", b.xb[:n*dim], &w.W2, in, n)
	t = s.tick()
	for i := range b.x[:n*dim] {
		b.x[i] += b.xb[i]
	}
	s.tock("residual", t, 12*int64(n*dim), int64(n*dim))
}

// inputBatch quantizes n vectors back to back (each row's groups are
// independent, so one call covers all of them).
func (s *State) inputBatch(x []float32, qbuf []int8, sbuf []float32) vecIn {
	return s.input(x, qbuf, sbuf)
}

func (s *State) matmul(op string, out []float32, m *Matrix, in vecIn, n int) {
	t := s.tick()
	if m.Quantized() {
		s.ops.MatMulQ8(out, m.Q, m.S, in.q, in.sc, n, m.GS)
	} else {
		s.ops.MatMul(out, m.F, in.f, n)
	}
	s.tock(op, t, m.Bytes(), 2*int64(n)*int64(m.Rows)*int64(m.Cols))
}
