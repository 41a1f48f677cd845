package engine

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"time"

	"github.com/memwall/memwall/asm"
)

// State is one inference context over a Model: the activation buffers, the
// key/value cache, the kernels in use, hooks and an optional profile. A
// State is used by one goroutine at a time; several States may share a
// Model.
type State struct {
	M *Model
	W *Weights // the weights read: M.W, or the aligned copy

	ops    *asm.Ops
	layout Layout

	// Activations of the current position.
	x, xb, xb2, q, hb, hb2, att, logits []float32
	// Quantized activations, as the weights' types need them (see
	// quantNeeds): of x-sized and of hidden-sized vectors.
	qx, qh  quantBuf
	qgs     int  // llama2.c Q8_0 group size, 0 if no matrix is Q8_0
	qblocks bool // some matrix is in ggml blocks
	// Key and value caches: per layer, positions × KVDim, grown as
	// positions are used (never beyond SeqLen), so that a model with a long
	// context costs memory only for the context actually used.
	keyCache, valueCache [][]float32
	kvCap                int // positions the caches hold
	// With a 16-bit cache (SetKV, kvcache.go) the caches are key16 and
	// value16 instead, and new keys and values are made in kvScratch.
	kv                 KVType
	key16, value16     [][]uint16
	kvScratch, kvBatch []float32
	allLogits          []float32 // forwardAll's rows (speculative.go)

	hooks     hookSet
	hookNames [][nLayerHooks]string
	ev        HookEvent // reused for every hook call
	rot       ropeTable

	// Profile, when set, receives the time, bytes and FLOPs of every op.
	Profile *Profile

	batch batchBuffers

	// Decoding attention's current layer and length, and its per-head
	// steps as method values (see scoresFor).
	cur                                          struct{ layer, n int }
	headScores, headSoftmax, headMix, headAttend func(h0, h1 int)
}

// NewState allocates a context for m running on ops (nil for the fastest
// kernels this CPU supports, single-threaded).
func NewState(m *Model, ops *asm.Ops) (*State, error) {
	if ops == nil {
		var err error
		if ops, err = asm.New("auto", 1); err != nil {
			return nil, err
		}
	}
	c := m.Config
	s := &State{
		M: m, W: m.W, ops: ops,
		x: make([]float32, c.Dim), xb: make([]float32, c.Dim), xb2: make([]float32, c.Dim),
		q: make([]float32, c.Dim), hb: make([]float32, c.HiddenDim), hb2: make([]float32, c.HiddenDim),
		logits:   make([]float32, c.Vocab),
		keyCache: make([][]float32, c.Layers), valueCache: make([][]float32, c.Layers),
	}
	s.qgs, s.qblocks = quantNeeds(m.W, m.Shared)
	s.qx = newQuantBuf(c.Dim, s.qgs, s.qblocks)
	s.qh = newQuantBuf(c.HiddenDim, s.qgs, s.qblocks)
	s.hookNames = make([][nLayerHooks]string, c.Layers)
	for l := range s.hookNames {
		for i, suf := range layerHookSuffix {
			s.hookNames[l][i] = fmt.Sprintf("blocks.%d.%s", l, suf)
		}
	}
	s.headScores, s.headSoftmax, s.headMix, s.headAttend = s.scoresFor, s.softmaxFor, s.mixFor, s.attendFor
	return s, nil
}

// Ops returns the kernels in use.
func (s *State) Ops() *asm.Ops { return s.ops }

// SetOps switches kernels; the next op uses them.
func (s *State) SetOps(o *asm.Ops) { s.ops = o }

// Layout reports which copy of the weights is read.
func (s *State) Layout() Layout { return s.layout }

// SetLayout switches between the mapped weights and a 64-byte-aligned
// copy (made on first use).
func (s *State) SetLayout(l Layout) error {
	switch l {
	case LayoutMapped:
		s.W = s.M.W
	case LayoutAligned:
		w, err := s.M.Aligned()
		if err != nil {
			return err
		}
		s.W = w
	default:
		return fmt.Errorf("unknown layout %d", l)
	}
	s.layout = l
	return nil
}

// AddHook registers fn at every hook point whose name matches pattern (a
// name, or a glob such as "blocks.*.hook_resid_post"). It returns a
// function that removes the hook.
func (s *State) AddHook(pattern string, fn HookFunc) (remove func(), err error) {
	return s.hooks.add(pattern, fn)
}

// Hooked reports whether any hook is registered.
func (s *State) Hooked() bool { return s.hooks.active() }

// Logits are the last computed logits (valid until the next forward).
func (s *State) Logits() []float32 { return s.logits }

// KeyCache returns the cached keys of layer l at positions [0, n):
// n × KVDim values.
// n × KVDim values (a converted copy for a 16-bit cache).
func (s *State) KeyCache(l, n int) []float32 { return s.cacheRows(l, n, true) }

// ValueCache is KeyCache for values.
func (s *State) ValueCache(l, n int) []float32 { return s.cacheRows(l, n, false) }

// PositionError is a position outside the model's context.
type PositionError struct{ Pos, SeqLen int }

func (e *PositionError) Error() string {
	return fmt.Sprintf("position %d is outside the model's context of %d tokens (seq_len)", e.Pos, e.SeqLen)
}

func (s *State) checkArgs(token, pos int) error {
	if pos < 0 || pos >= s.M.SeqLen {
		return &PositionError{Pos: pos, SeqLen: s.M.SeqLen}
	}
	if token < 0 || token >= s.M.Vocab {
		return fmt.Errorf("token id %d is outside the vocabulary [0, %d)", token, s.M.Vocab)
	}
	s.ensure(pos + 1)
	return nil
}

// ensure grows the caches and the attention buffer to hold n positions,
// doubling so that growth costs little over a generation.
func (s *State) ensure(n int) {
	if n <= s.kvCap {
		return
	}
	c := s.M.Config
	newCap := min(max(n, 2*s.kvCap, 16), c.SeqLen)
	s.growKV(newCap)
	s.att = make([]float32, c.Heads*newCap)
	s.kvCap = newCap
}

// Forward runs token at position pos through the model and returns the
// logits over the vocabulary (a buffer reused by the next call). The key
// and value caches must hold positions 0..pos-1 of the same sequence. The
// context is checked between layers.
func (s *State) Forward(ctx context.Context, token, pos int) (logits []float32, err error) {
	if err := s.checkArgs(token, pos); err != nil {
		return nil, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.M.catchFault(&err)
	c := s.M.Config
	hooked := s.hooks.active()
	if hooked {
		s.ev = HookEvent{Ctx: ctx, Pos: pos, Token: token}
	}

	s.embed(token, s.x)
	if hooked {
		s.fire(-1, HookEmbed, s.x, c.Dim, 0)
	}
	for l := 0; l < c.Layers; l++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.layer(ctx, l, pos, token, hooked)
	}

	t := s.tick()
	s.ops.RMSNorm(s.x, s.x, s.W.FinalNorm, c.Eps())
	s.tock("rmsnorm", t, normCost(c.Dim))
	if hooked {
		s.fire(-1, HookLnFinal, s.x, c.Dim, 0)
	}
	in := s.input(s.x, &s.qx)
	s.matvec("classifier", s.logits, &s.W.Cls, in)
	if hooked {
		s.fire(-1, HookUnembed, s.logits, c.Vocab, 0)
	}
	return s.logits, nil
}

// rmsEps is llama2.c's RMSNorm epsilon.
const rmsEps = 1e-5

// layer runs transformer block l on s.x at position pos.
func (s *State) layer(ctx context.Context, l, pos, token int, hooked bool) {
	c := s.M.Config
	w := &s.W.Layers[l]
	dim, kvDim, hs := c.Dim, c.KVDim(), c.HeadSize()
	names := &s.hookNames[l]
	fire := func(h int, data []float32, d0, d1 int) {
		if hooked {
			s.fire(l, names[h], data, d0, d1)
		}
	}
	fire(hResidPre, s.x, dim, 0)

	// Attention: normalise, project to q, k, v, rotate q and k.
	t := s.tick()
	s.ops.RMSNorm(s.xb, s.x, w.AttNorm, c.Eps())
	s.tock("rmsnorm", t, normCost(dim))
	fire(hLn1, s.xb, dim, 0)

	k, v := s.kvRows(l, pos, 1, s.kvScratch)
	in := s.input(s.xb, &s.qx)
	s.matvec("wq", s.q, &w.Wq, in)
	s.matvec("wk", k, &w.Wk, in)
	s.matvec("wv", v, &w.Wv, in)
	fire(hQ, s.q, c.Heads, hs)
	fire(hK, k, c.KVHeads, hs)
	fire(hV, v, c.KVHeads, hs)

	t = s.tick()
	s.rot.at(pos, hs, c.RopeTheta()).rope(s.q, k, hs)
	s.tock("rope", t, ropeCost(dim+kvDim))
	fire(hRotQ, s.q, c.Heads, hs)
	fire(hRotK, k, c.KVHeads, hs)
	s.kvStore(l, pos, 1, k, v)

	// Each query head attends over the cached keys of its kv head. Heads
	// are independent, so with more than one thread they are split
	// between threads (each head computed the same way wherever it runs).
	t = s.tick()
	n := pos + 1
	s.cur.layer, s.cur.n = l, n
	split := n*kvDim >= attnSplitMin
	if hooked {
		// Hooks see (and may change) every head's scores and pattern
		// between the steps.
		s.heads(split, s.headScores)
		fire(hScores, s.att[:c.Heads*n], c.Heads, n)
		s.heads(split, s.headSoftmax)
		fire(hPattern, s.att[:c.Heads*n], c.Heads, n)
		s.heads(split, s.headMix)
	} else {
		// A head's three steps need no other head's, so each thread runs
		// all three for its heads: one hand-off per layer instead of
		// three, with the same bits.
		s.heads(split, s.headAttend)
	}
	s.tock("attention", t, attentionCost(c, n-1, s.kv.Bytes()))
	fire(hZ, s.xb, c.Heads, hs)

	// Output projection and residual.
	in = s.input(s.xb, &s.qx)
	s.matvec("wo", s.xb2, &w.Wo, in)
	fire(hAttnOut, s.xb2, dim, 0)
	t = s.tick()
	for i := range s.x {
		s.x[i] += s.xb2[i]
	}
	s.tock("residual", t, residualCost(dim))
	fire(hResidMid, s.x, dim, 0)

	// Feed-forward: silu(w1·x) * (w3·x), then w2.
	t = s.tick()
	s.ops.RMSNorm(s.xb, s.x, w.FFNNorm, c.Eps())
	s.tock("rmsnorm", t, normCost(dim))
	fire(hLn2, s.xb, dim, 0)
	in = s.input(s.xb, &s.qx)
	s.matvec("w1", s.hb, &w.W1, in)
	s.matvec("w3", s.hb2, &w.W3, in)
	fire(hMLPPre, s.hb, c.HiddenDim, 0)
	fire(hMLPPreLinear, s.hb2, c.HiddenDim, 0)
	t = s.tick()
	s.ops.SwiGLU(s.hb, s.hb2)
	s.tock("swiglu", t, swigluCost(c.HiddenDim))
	fire(hMLPPost, s.hb, c.HiddenDim, 0)
	in = s.input(s.hb, &s.qh)
	s.matvec("w2", s.xb, &w.W2, in)
	fire(hMLPOut, s.xb, dim, 0)
	t = s.tick()
	for i := range s.x {
		s.x[i] += s.xb[i]
	}
	s.tock("residual", t, residualCost(dim))
	fire(hResidPost, s.x, dim, 0)
}

// embed copies (or dequantizes) the token's embedding row into x.
func (s *State) embed(token int, x []float32) {
	t := s.tick()
	e := &s.W.Embed
	r := e.Row(token, x)
	if &r[0] != &x[0] {
		copy(x, r)
	}
	s.tock("embed", t, Cost{Bytes: e.Bytes() / int64(e.Rows)})
}

// ropeTable holds the rotation of one position: the cosine and sine of
// pos·freq for each pair of a head (the same for every head and layer).
type ropeTable struct {
	pos      int
	freq     []float32
	cos, sin []float32
}

// at fills the table for pos (once per position), with llama2.c's float32
// arithmetic: freq = 1/base^(2j/head_size), angle = pos·freq (base 10000
// for llama2.c's models; a GGUF file may set another).
func (r *ropeTable) at(pos, headSize int, base float32) *ropeTable {
	if r.freq == nil {
		half := headSize / 2
		r.freq, r.cos, r.sin = make([]float32, half), make([]float32, half), make([]float32, half)
		for j := range r.freq {
			r.freq[j] = 1 / float32(math.Pow(float64(base), float64(float32(2*j)/float32(headSize))))
		}
		r.pos = -1
	}
	if r.pos != pos {
		for j, f := range r.freq {
			val := float32(pos) * f
			r.cos[j] = float32(math.Cos(float64(val)))
			r.sin[j] = float32(math.Sin(float64(val)))
		}
		r.pos = pos
	}
	return r
}

// rope rotates each pair of q (and of k, which is shorter under grouped
// attention) by the angle of its position and its place within its head.
func (r *ropeTable) rope(q, k []float32, headSize int) {
	for i := 0; i < len(q); i += 2 {
		j := (i % headSize) / 2
		fcr, fci := r.cos[j], r.sin[j]
		rotate(q, i, fcr, fci)
		if i < len(k) {
			rotate(k, i, fcr, fci)
		}
	}
}

func rotate(v []float32, i int, fcr, fci float32) {
	v0, v1 := v[i], v[i+1]
	v[i] = float32(v0*fcr) - float32(v1*fci)
	v[i+1] = float32(v0*fci) + float32(v1*fcr)
}

// input prepares x for the matrix products that follow: quantized into
// buf as the weights need (once for all the products that share it).
func (s *State) input(x []float32, buf *quantBuf) vecIn {
	in := vecIn{f: x}
	if s.qgs == 0 && !s.qblocks {
		return in
	}
	t := s.tick()
	if gs := s.qgs; gs > 0 {
		in.q, in.sc = buf.q[:len(x)], buf.sc[:len(x)/gs]
		s.ops.Quantize(in.q, in.sc, x, gs)
	}
	if s.qblocks {
		if s.qgs == asm.BlockSize {
			in.qb, in.scb = in.q, in.sc // the same groups
		} else {
			in.qb, in.scb = buf.qb[:len(x)], buf.scb[:len(x)/asm.BlockSize]
			s.ops.Quantize(in.qb, in.scb, x, asm.BlockSize)
		}
	}
	s.tock("quantize", t, quantizeCost(len(x)))
	return in
}

func (s *State) matvec(op string, out []float32, m *Matrix, in vecIn) {
	t := s.tick()
	m.apply(s.ops, out, in, 1, false)
	s.tock(op, t, matrixCost(m.Bytes(), m.Rows, m.Cols, 1))
}

// fire calls the hooks registered at name with data of shape [d0] (d1 ==
// 0) or [d0, d1].
func (s *State) fire(layer int, name string, data []float32, d0, d1 int) {
	fns := s.hooks.lookup(name)
	if len(fns) == 0 {
		return
	}
	ev := &s.ev
	ev.Layer, ev.Name, ev.Data = layer, name, data
	ev.Shape = []int{d0}
	if d1 > 0 {
		ev.Shape = []int{d0, d1}
	}
	for _, fn := range fns {
		fn(ev)
	}
}

// attnSplitMin is the size of a layer's key cache (positions × KVDim
// values) from which decoding splits attention's heads between threads;
// below it the hand-offs cost more than they save. Each thread warms the
// blocks it reads into its own core's cache (see attnBlock). On stories110M
// with two threads, attention per token took 0.60 against 0.74 ms at 40-72
// positions, 1.0-1.2 against 1.5 ms at 100-132. A variable so that tests
// can force the split.
var attnSplitMin = 1 << 12

// scoresFor, softmaxFor and mixFor are the three steps of decoding
// attention for heads [h0, h1) of layer s.cur.layer at s.cur.n positions;
// State keeps them (and attendFor, all three) as method values made once
// in NewState (headScores, headSoftmax, headMix, headAttend), so handing
// them to the worker threads allocates nothing.
func (s *State) scoresFor(h0, h1 int) {
	c := &s.M.Config
	hs, n := c.HeadSize(), s.cur.n
	kvMul := c.Heads / c.KVHeads
	l := s.cur.layer
	s.attnBlocks(true, func(t0, t1 int) {
		for h := h0; h < h1; h++ {
			s.scores(s.att[h*n+t0:h*n+t1], s.q[h*hs:(h+1)*hs], l, t0, (h/kvMul)*hs)
		}
	})
}

// attendFor is the three steps one after the other for heads [h0, h1).
func (s *State) attendFor(h0, h1 int) {
	s.scoresFor(h0, h1)
	s.softmaxFor(h0, h1)
	s.mixFor(h0, h1)
}

func (s *State) softmaxFor(h0, h1 int) {
	n := s.cur.n
	for h := h0; h < h1; h++ {
		s.ops.Softmax(s.att[h*n : (h+1)*n])
	}
}

func (s *State) mixFor(h0, h1 int) {
	c := &s.M.Config
	hs, n := c.HeadSize(), s.cur.n
	kvMul := c.Heads / c.KVHeads
	l := s.cur.layer
	clear(s.xb[h0*hs : h1*hs])
	s.attnBlocks(false, func(t0, t1 int) {
		for h := h0; h < h1; h++ {
			s.mix(s.xb[h*hs:(h+1)*hs], s.att[h*n+t0:h*n+t1], l, t0, (h/kvMul)*hs)
		}
	})
}

// attnBlocks walks the first s.cur.n positions of the current layer's key
// (or value) cache in blocks of attnBlock positions: it brings each
// block's rows into cache with one sequential pass, then calls fn(t0, t1)
// for it.
func (s *State) attnBlocks(keys bool, fn func(t0, t1 int)) {
	n := s.cur.n
	step := attnBlock(s.M.Config.KVDim() * s.kv.Bytes() / 4)
	for t0 := 0; t0 < n; t0 += step {
		t1 := min(n, t0+step)
		s.warmKV(s.cur.layer, keys, t0, t1)
		fn(t0, t1)
	}
}

// heads runs one step of decoding attention over all heads: split between
// the threads when split is set, else on the calling goroutine.
func (s *State) heads(split bool, fn func(h0, h1 int)) {
	if split {
		s.ops.Parallel(s.M.Config.Heads, fn)
		return
	}
	fn(0, s.M.Config.Heads)
}

// attnBlock is how many cached positions decoding attention takes at a
// time: about 256 KB of keys or values, which one sequential pass
// (asm.Warm) brings into the core's L2 before every head reads its slice
// of each row from there. The weights streamed since the last token have
// evicted the cache, and a head's slices (a few cache lines every KVDim
// values) are a pattern the prefetchers do not follow: read that way from
// memory, attention at 700 positions took 17 of 28 ms per stories110M
// token. Blocks change no result: each score is computed alone, and
// AttnMix continues a sum over the next block with the same bits.
func attnBlock(kvDim int) int { return max(1, attnBlockBytes/4/max(kvDim, 1)) }

// attnBlockBytes is attnBlock's size in bytes; a variable so that tests can
// make blocks of a few positions.
var attnBlockBytes = 256 << 10

// mark is when an op started and the Ops's split totals at that moment,
// so that tock can charge the op with the splits made inside it (none
// with one thread: nothing is split).
type mark struct {
	t      time.Time
	splits asm.SplitStats
}

func (s *State) tick() mark {
	if s.Profile == nil {
		return mark{}
	}
	s.ops.RecordSplits(true)
	return mark{t: time.Now(), splits: s.ops.Splits()}
}

func (s *State) tock(op string, m mark, cost Cost) {
	if s.Profile == nil {
		return
	}
	d := time.Since(m.t)
	sp := s.ops.Splits().Sub(m.splits)
	s.ops.RecordSplits(false)
	s.Profile.add(op, d, cost.Bytes, cost.Flops, sp)
}
