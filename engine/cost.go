package engine

import "github.com/memwall/memwall/asm"

// The cost model: how many bytes each op of the forward pass reads and
// writes and how many floating-point operations it does, counted from the
// shapes (not measured). The profiler (State.Profile), the batch and search
// traffic counters, %intensity, the roofline and the decoding comparisons
// all take their bytes and FLOPs from here, so one formula answers for each.
//
// Conventions: a multiply-add is two FLOPs; fp32 activations are 4 bytes;
// a matrix's bytes are its stored bytes (Q8_0: one byte per weight and a
// 4-byte scale per group). Attention reads each cached key and value once
// per position and layer: heads that share a key/value head (grouped-query
// attention) share its reads, so the bytes count KVDim, not Dim.

// Cost is bytes moved and floating-point operations, as counted by the
// cost model.
type Cost struct {
	Bytes int64 `json:"bytes"`
	Flops int64 `json:"flops"`
}

// Add returns c + d.
func (c Cost) Add(d Cost) Cost { return Cost{c.Bytes + d.Bytes, c.Flops + d.Flops} }

// Scale returns c × n.
func (c Cost) Scale(n int64) Cost { return Cost{c.Bytes * n, c.Flops * n} }

// Intensity is FLOPs per byte.
func (c Cost) Intensity() float64 {
	if c.Bytes == 0 {
		return 0
	}
	return float64(c.Flops) / float64(c.Bytes)
}

// Encoding is how matrix weights are stored, for counting their bytes.
// The zero value is fp32; Quantized (or Type WeightQ8) is llama2.c's Q8_0
// with GroupSize; other Types are counted by their block storage.
type Encoding struct {
	Quantized bool // llama2.c's Q8_0: int8 weights and a float32 scale per group
	GroupSize int
	Type      WeightType
	// KVElem is the bytes of one key/value cache element (0: fp32's 4).
	KVElem int
	// OpBytes, when set, is each matrix op's weight bytes per token as the
	// model stores them (Model.OpWeightBytes): exact for files that mix
	// types per tensor, where Type (the first query matrix's) is not.
	OpBytes map[string]int64
}

// EncodingOf is the encoding of m's matrices, as its first layer's query
// matrix has it, with every matrix op's own stored bytes (OpBytes), so
// that a model mixing types (a fallback type for some matrices, a GGUF
// file with f16 ffn_down) is counted as it is stored.
func EncodingOf(m *Model) Encoding {
	if len(m.W.Layers) == 0 {
		return Encoding{Quantized: m.Quantized(), GroupSize: m.GroupSize}
	}
	wq := &m.W.Layers[0].Wq
	t := wq.kind()
	return Encoding{Quantized: t == WeightQ8, GroupSize: wq.GS, Type: t, OpBytes: m.OpWeightBytes()}
}

// Name is the weight type's usual name.
func (e Encoding) Name() string {
	if e.Quantized {
		return WeightQ8.String()
	}
	return e.Type.String()
}

// MatrixBytes is the stored size of a rows × cols matrix.
func (e Encoding) MatrixBytes(rows, cols int) int64 {
	n := int64(rows) * int64(cols)
	switch {
	case (e.Quantized || e.Type == WeightQ8) && e.GroupSize > 0:
		return n + 4*n/int64(e.GroupSize)
	case e.Type == WeightF16 || e.Type == WeightBF16:
		return 2 * n
	case e.Type == WeightQ8Blocks:
		return n / asm.BlockSize * asm.Q8BlockBytes
	case e.Type == WeightQ4_0:
		return n / asm.BlockSize * asm.Q4_0BlockBytes
	}
	return 4 * n
}

// matrixCost is one product of a rows × cols matrix with n vectors: the
// matrix is read once whatever n is.
func matrixCost(bytes int64, rows, cols, n int) Cost {
	return Cost{Bytes: bytes, Flops: 2 * int64(n) * int64(rows) * int64(cols)}
}

// Element-wise ops over n values: bytes read and written, FLOPs.
func normCost(n int) Cost     { return Cost{8 * int64(n), 3 * int64(n)} }  // read x, write out (the weights are in cache)
func residualCost(n int) Cost { return Cost{12 * int64(n), int64(n)} }     // read two, write one
func swigluCost(n int) Cost   { return Cost{12 * int64(n), 5 * int64(n)} } // read two, write one; silu and a product
func ropeCost(n int) Cost     { return Cost{8 * int64(n), 3 * int64(n)} }  // read and write, one rotation per pair
func quantizeCost(n int) Cost { return Cost{5 * int64(n), 3 * int64(n)} }  // read fp32, write int8

// attentionCost is one query position attending over positions 0..pos of
// one layer: every cached key and value read once (shared by the heads of
// a group), a dot product and an axpy per head and position. elem is the
// bytes of one cached element (4 for fp32, 2 for f16 and bf16; 0 means 4).
func attentionCost(c Config, pos, elem int) Cost {
	p := int64(pos + 1)
	return Cost{Bytes: 2 * int64(kvElem(elem)) * p * int64(c.KVDim()), Flops: 4 * p * int64(c.Dim)}
}

func kvElem(elem int) int {
	if elem <= 0 {
		return 4
	}
	return elem
}

// SamplingCost is choosing a token from the logits: every logit read once
// and compared (greedy; sampling at a temperature costs a few FLOPs more
// per logit, which the model leaves out).
func SamplingCost(vocab int) Cost { return Cost{Bytes: 4 * int64(vocab), Flops: int64(vocab)} }

// CacheCopyCost is copying positions of one sequence's key/value cache to
// another's (beam search reordering its beams, contrastive search keeping
// the winner's entry): keys and values of every layer read and written.
// elem is the bytes of one cached element, as for attentionCost.
func CacheCopyCost(c Config, positions, elem int) Cost {
	return Cost{Bytes: 2 * 2 * int64(kvElem(elem)) * int64(positions) * int64(c.KVDim()) * int64(c.Layers)}
}

// OpCost is one op of a decoded token in the cost model.
type OpCost struct {
	Name       string `json:"op"`
	Rows, Cols int    `json:"-"` // a matrix's shape (0 for other ops)
	Count      int    `json:"count"`
	Weights    bool   `json:"weights"` // its bytes are weights (streamed once per token)
	Cost              // for all Count calls together
}

// TokenCosts lists the cost of every op of one token decoded at position
// pos (attending over pos+1 cached positions) with matrices stored as e:
// the seven matrices of each layer, the classifier, attention, the
// element-wise ops and the embedding row. Sampling is not included
// (SamplingCost).
func TokenCosts(c Config, e Encoding, pos int) []OpCost {
	d, h, kv, L := c.Dim, c.HiddenDim, c.KVDim(), c.Layers
	mat := func(name string, rows, cols, count int) OpCost {
		cost := matrixCost(e.MatrixBytes(rows, cols), rows, cols, 1).Scale(int64(count))
		if b, ok := e.OpBytes[name]; ok {
			cost.Bytes = b // all count products: the stored matrices' own bytes
		}
		return OpCost{Name: name, Rows: rows, Cols: cols, Count: count, Weights: true, Cost: cost}
	}
	embedRow := e.MatrixBytes(c.Vocab, d) / int64(c.Vocab)
	if b, ok := e.OpBytes["embed"]; ok {
		embedRow = b
	}
	ops := []OpCost{
		mat("wq", d, d, L), mat("wk", kv, d, L), mat("wv", kv, d, L), mat("wo", d, d, L),
		mat("w1", h, d, L), mat("w3", h, d, L), mat("w2", d, h, L), mat("classifier", c.Vocab, d, 1),
		{Name: "attention", Count: L, Cost: attentionCost(c, pos, e.KVElem).Scale(int64(L))},
		{Name: "rope", Count: L, Cost: ropeCost(d + kv).Scale(int64(L))},
		{Name: "rmsnorm", Count: 2*L + 1, Cost: normCost(d).Scale(int64(2*L + 1))},
		{Name: "residual", Count: 2 * L, Cost: residualCost(d).Scale(int64(2 * L))},
		{Name: "swiglu", Count: L, Cost: swigluCost(h).Scale(int64(L))},
		// Norm weights and the embedding row are weights too, fp32 in every format.
		{Name: "norm weights", Count: 2*L + 1, Weights: true, Cost: Cost{Bytes: 4 * int64(2*L+1) * int64(d)}},
		{Name: "embed", Count: 1, Weights: true, Cost: Cost{Bytes: embedRow}},
	}
	if e.Quantized || e.Type == WeightQ8 || e.Type == WeightQ8Blocks || e.Type == WeightQ4_0 {
		// The activations are quantized before the q/k/v, output and w1/w3
		// products (dim), before w2 (hidden) and before the classifier.
		ops = append(ops, OpCost{Name: "quantize", Count: 4*L + 1, Cost: quantizeCost(d).Scale(int64(3*L + 1)).Add(quantizeCost(h).Scale(int64(L)))})
	}
	return ops
}

// TokenCost totals TokenCosts: the whole token, and its weight bytes (what
// the memory wall is about) apart.
func TokenCost(c Config, e Encoding, pos int) (total Cost, weightBytes int64) {
	for _, o := range TokenCosts(c, e, pos) {
		total = total.Add(o.Cost)
		if o.Weights {
			weightBytes += o.Bytes
		}
	}
	return total, weightBytes
}

// MatrixCost totals the matrix products of one token (the seven matrices
// of every layer and the classifier).
func MatrixCost(c Config, e Encoding) Cost {
	var t Cost
	for _, o := range TokenCosts(c, e, 0) {
		if o.Rows > 0 {
			t = t.Add(o.Cost)
		}
	}
	return t
}

// DecodeStepCost is what one sequence's forward pass at pos costs in the
// traffic counters: its weight bytes, its key/value reads and its FLOPs
// (matrix products and attention).
func DecodeStepCost(c Config, e Encoding, pos int) Traffic {
	var t Traffic
	for _, o := range TokenCosts(c, e, pos) {
		if o.Weights {
			t.WeightBytes += o.Bytes
		}
		if o.Rows > 0 {
			t.Flops += o.Flops
		}
		if o.Name == "attention" {
			t.KVBytes = o.Bytes
			t.Flops += o.Flops
		}
	}
	return t
}
