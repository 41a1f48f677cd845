package engine

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/memwall/memwall/asm"
)

// Batch runs B sequences in lockstep, each with its own key/value cache,
// through the same weights: every weight matrix is read once per step for
// all B of them (a matrix-matrix product), where B separate States would
// read it B times. Beam search and contrastive search decode this way.
type Batch struct {
	M   *Model
	Seq []*State // one per sequence; their caches are what differs

	ops    *asm.Ops
	enc    Encoding // the model's, for the traffic counters (stepTraffic)
	buf    batchBuffers
	logits []float32 // B × Vocab
	hidden []float32 // B × Dim: final normalized hidden state
	// Traffic counts the bytes and FLOPs of the steps run so far.
	Traffic Traffic
}

// Traffic is the memory traffic and arithmetic of a computation.
type Traffic struct {
	WeightBytes int64 // weight bytes read
	KVBytes     int64 // key/value cache bytes read
	// CopyBytes are key/value cache bytes copied between sequences (read
	// and written): beam search reordering its beams, contrastive search
	// handing the winner's entry to every candidate.
	CopyBytes int64
	Flops     int64
	Steps     int
}

// Add accumulates u into t (Steps included).
func (t *Traffic) Add(u Traffic) {
	t.WeightBytes += u.WeightBytes
	t.KVBytes += u.KVBytes
	t.CopyBytes += u.CopyBytes
	t.Flops += u.Flops
	t.Steps += u.Steps
}

// NewBatch makes a batch of b sequences over m.
func NewBatch(m *Model, ops *asm.Ops, b int) (*Batch, error) {
	if b < 1 {
		return nil, fmt.Errorf("batch of %d sequences", b)
	}
	if ops == nil {
		var err error
		if ops, err = asm.New("auto", 1); err != nil {
			return nil, err
		}
	}
	bt := &Batch{M: m, ops: ops, enc: EncodingOf(m), logits: make([]float32, b*m.Vocab), hidden: make([]float32, b*m.Dim)}
	for i := 0; i < b; i++ {
		s, err := NewState(m, ops)
		if err != nil {
			return nil, err
		}
		bt.Seq = append(bt.Seq, s)
	}
	return bt, nil
}

// Size is the number of sequences.
func (b *Batch) Size() int { return len(b.Seq) }

// Logits returns sequence i's logits from the last step.
func (b *Batch) Logits(i int) []float32 { return b.logits[i*b.M.Vocab : (i+1)*b.M.Vocab] }

// Hidden returns sequence i's final normalized hidden state from the last
// step (the classifier's input).
func (b *Batch) Hidden(i int) []float32 { return b.hidden[i*b.M.Dim : (i+1)*b.M.Dim] }

// CopyCache makes sequence dst's cache hold sequence src's positions
// [from, to): how a beam that continues another beam's prefix inherits it.
func (b *Batch) CopyCache(dst, src, from, to int) {
	if dst == src || from >= to {
		return
	}
	b.Seq[dst].ensure(to)
	b.Seq[src].ensure(to)
	b.Traffic.CopyBytes += CacheCopyCost(b.M.Config, to-from, b.Seq[src].kv.Bytes()).Bytes
	b.Seq[dst].kvCopy(b.Seq[src], from, to)
}

// Step runs tokens[i] at position pos for every sequence i, in one pass
// over the weights, and leaves each sequence's logits in Logits(i). The
// result for each sequence equals what its own State.Forward gives (bit for
// bit with kernels whose batched and single products sum alike).
func (b *Batch) Step(ctx context.Context, tokens []int, pos int) (err error) {
	n := len(b.Seq)
	if len(tokens) != n {
		return fmt.Errorf("%d tokens for a batch of %d", len(tokens), n)
	}
	for i, t := range tokens {
		if err := b.Seq[i].checkArgs(t, pos); err != nil {
			return err
		}
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer b.M.catchFault(&err)
	c := b.M.Config
	dim, kvDim, hs := c.Dim, c.KVDim(), c.HeadSize()
	bf := &b.buf
	s0 := b.Seq[0] // every sequence shares the weights and kernels; s0 runs the products
	bf.ensure(s0, n)
	w := s0.W
	for i, t := range tokens {
		s0.embed(t, bf.x[i*dim:(i+1)*dim])
	}
	mm := func(_ string, out []float32, m *Matrix, in vecIn, n int) { m.apply(b.ops, out, in, n, true) }
	// The new keys and values land in scratch rows, then each goes to its
	// own sequence's cache.
	kBuf, vBuf := bf.xb2[:n*kvDim], bf.hb2[:n*kvDim]
	for l := 0; l < c.Layers; l++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		s0.block(l, n, bf, kBuf, vBuf, mm, func() {
			for i, s := range b.Seq {
				k, v := kBuf[i*kvDim:(i+1)*kvDim], vBuf[i*kvDim:(i+1)*kvDim]
				s0.rot.at(pos, hs, c.RopeTheta()).rope(bf.q[i*dim:(i+1)*dim], k, hs)
				s.kvStore(l, pos, 1, k, v)
				s.attend(l, pos, s.att, bf.q[i*dim:(i+1)*dim], bf.xb[i*dim:(i+1)*dim])
			}
		})
	}
	for i := 0; i < n; i++ {
		b.ops.RMSNorm(b.hidden[i*dim:(i+1)*dim], bf.x[i*dim:(i+1)*dim], w.FinalNorm, c.Eps())
	}
	mm("classifier", b.logits, &w.Cls, s0.input(b.hidden, &bf.qx), n)
	b.Traffic.Add(b.stepTraffic(pos, true))
	return nil
}

// stepTraffic is one step at pos of every sequence as the cost model
// counts it (DecodeStepCost): each sequence's key/value reads and FLOPs,
// and its weight bytes, which a batched step reads once for all the
// sequences but for an embedding row each.
func (b *Batch) stepTraffic(pos int, batched bool) Traffic {
	t := Traffic{Steps: 1}
	var one Traffic
	elem := -1
	for _, s := range b.Seq {
		if k := s.kv.Bytes(); k != elem { // the cost differs by cache type only
			e := b.enc
			e.KVElem = k
			one, elem = DecodeStepCost(b.M.Config, e, pos), k
		}
		t.Add(one)
	}
	if batched {
		t.WeightBytes = one.WeightBytes + int64(len(b.Seq)-1)*b.enc.OpBytes["embed"]
	}
	return t
}
