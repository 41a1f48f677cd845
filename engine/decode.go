package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// step runs one position for every sequence of b: in one batched pass
// (every weight read once) or sequence by sequence (every weight read once
// per sequence), leaving logits and hidden states in b either way.
func (b *Batch) step(ctx context.Context, tokens []int, pos int, batched bool) error {
	if batched {
		return b.Step(ctx, tokens, pos)
	}
	c := b.M.Config
	for i, s := range b.Seq {
		logits, err := s.Forward(ctx, tokens[i], pos)
		if err != nil {
			return err
		}
		copy(b.logits[i*c.Vocab:], logits)
		copy(b.hidden[i*c.Dim:], s.x) // Forward leaves the final normalized state in x
	}
	b.Traffic.Add(b.stepTraffic(pos, false))
	return nil
}

// prime feeds the prompt into sequence 0 and copies its cache to every
// other sequence; it returns the logits after the prompt.
func (b *Batch) prime(ctx context.Context, ids []int) ([]float32, error) {
	s := b.Seq[0]
	logits, err := s.Prefill(ctx, ids, 0)
	if err != nil {
		return nil, err
	}
	for i := 1; i < b.Size(); i++ {
		b.CopyCache(i, 0, 0, len(ids))
	}
	return append([]float32(nil), logits...), nil
}

// Decoded is the outcome of a search-based decoding.
type Decoded struct {
	IDs          []int // prompt then generated
	PromptTokens int
	Text         string
	Score        float64 // the strategy's score of the chosen sequence
	Traffic      Traffic
	Elapsed      time.Duration
	Batched      bool
	Width        int
}

// WeightBytesPerToken is the weight traffic per generated token.
func (d *Decoded) WeightBytesPerToken() float64 {
	n := len(d.IDs) - d.PromptTokens
	if n == 0 {
		return 0
	}
	return float64(d.Traffic.WeightBytes) / float64(n)
}

// logSoftmax returns log p for each logit, in float64.
func logSoftmax(logits []float32, out []float64) []float64 {
	out = out[:0]
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - m)
	}
	lse := m + math.Log(sum)
	for _, v := range logits {
		out = append(out, float64(v)-lse)
	}
	return out
}

type cand struct {
	parent, token int
	score         float64
}

// prepareSearch encodes the prompt, checks that it and steps fit the
// context, and returns a batch of width sequences: b when it has that
// size (its traffic counters reset, so they count this search alone), a
// new one otherwise.
func prepareSearch(m *Model, tok *Tokenizer, prompt string, width, steps int, b *Batch) ([]int, *Batch, error) {
	ids := tok.Encode(prompt, true, false)
	if len(ids)+steps > m.SeqLen {
		return nil, nil, fmt.Errorf("%w: %d prompt tokens + %d steps, seq_len %d", ErrPromptTooLong, len(ids), steps, m.SeqLen)
	}
	if b == nil || b.Size() != width {
		var err error
		if b, err = NewBatch(m, nil, width); err != nil {
			return nil, nil, err
		}
	}
	b.Traffic = Traffic{}
	return ids, b, nil
}

// BeamSearch keeps the width most probable continuations (by summed log
// probability) and returns the best after steps tokens, or the first to
// end (EOS or BOS). With batched, all beams advance in one pass over the
// weights; otherwise each beam is a separate forward pass.
func BeamSearch(ctx context.Context, m *Model, tok *Tokenizer, prompt string, width, steps int, batched bool, b *Batch) (*Decoded, error) {
	if width < 1 {
		return nil, errors.New("beam width must be at least 1")
	}
	ids, b, err := prepareSearch(m, tok, prompt, width, steps, b)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	logits, err := b.prime(ctx, ids)
	if err != nil {
		return nil, err
	}
	type beam struct {
		ids   []int
		score float64
		done  bool
	}
	lp := logSoftmax(logits, nil)
	first := TopK(lp, width)
	beams := make([]beam, width)
	for i := range beams {
		t := first[i%len(first)]
		beams[i] = beam{ids: append(append([]int(nil), ids...), t), score: lp[t]}
	}
	pos := len(ids)
	snap := map[int]kvSnap{}
	for step := 1; step < steps; step++ {
		tokens := make([]int, width)
		for i, bm := range beams {
			tokens[i] = bm.ids[len(bm.ids)-1]
		}
		if err := b.step(ctx, tokens, pos, batched); err != nil {
			return nil, err
		}
		var cands []cand
		for i, bm := range beams {
			if bm.done {
				cands = append(cands, cand{i, -1, bm.score})
				continue
			}
			lp = logSoftmax(b.Logits(i), lp)
			for _, t := range TopK(lp, width) {
				cands = append(cands, cand{i, t, bm.score + lp[t]})
			}
		}
		sort.SliceStable(cands, func(x, y int) bool { return cands[x].score > cands[y].score })
		cands = cands[:width]
		// Reorder caches: beam j continues parent p's prefix.
		clear(snap)
		for j, c := range cands {
			if c.parent != j {
				if _, ok := snap[c.parent]; !ok {
					snap[c.parent] = b.snapshot(c.parent, pos+1)
				}
			}
		}
		next := make([]beam, width)
		for j, c := range cands {
			if c.parent != j {
				b.restore(j, snap[c.parent], pos+1)
			}
			p := beams[c.parent]
			nb := beam{ids: append([]int(nil), p.ids...), score: c.score, done: p.done}
			if c.token >= 0 {
				nb.ids = append(nb.ids, c.token)
				nb.done = c.token == EOS || c.token == BOS
			}
			next[j] = nb
		}
		beams = next
		pos++
		if beams[0].done {
			break
		}
	}
	best := beams[0]
	out := best.ids
	if n := len(out); n > len(ids) && (out[n-1] == EOS || out[n-1] == BOS) {
		out = out[:n-1]
	}
	return &Decoded{IDs: out, PromptTokens: len(ids), Text: tok.DecodeAll(ids[len(ids)-1], out[len(ids):]),
		Score: best.score, Traffic: b.Traffic, Elapsed: time.Since(start), Batched: batched, Width: width}, nil
}

// snapshot copies sequence i's cache positions [0, n), for restore.
func (b *Batch) snapshot(i, n int) kvSnap {
	b.Traffic.CopyBytes += CacheCopyCost(b.M.Config, n, b.Seq[i].kv.Bytes()).Bytes / 2 // read here, written by restore
	return b.Seq[i].kvSnapshot(n)
}

// restore puts a snapshot into sequence i's cache.
func (b *Batch) restore(i int, snap kvSnap, n int) {
	b.Seq[i].ensure(n)
	b.Traffic.CopyBytes += CacheCopyCost(b.M.Config, n, b.Seq[i].kv.Bytes()).Bytes / 2
	b.Seq[i].kvRestore(snap)
}

// TopK returns the indices of the k largest values of x, largest first,
// ties by lower index: the one top-k of memwall (beam and contrastive
// search, %topk, %numerics' agreement).
func TopK[T ~float32 | ~float64](x []T, k int) []int {
	n := min(k, len(x))
	if n <= 0 {
		return nil
	}
	idx := make([]int, 0, n+1)
	for i, v := range x {
		if len(idx) < n || v > x[idx[len(idx)-1]] {
			j := sort.Search(len(idx), func(m int) bool { return x[idx[m]] < v })
			idx = append(idx, 0)
			copy(idx[j+1:], idx[j:])
			idx[j] = i
			if len(idx) > n {
				idx = idx[:n]
			}
		}
	}
	return idx
}

// ContrastiveSearch picks, among the k most probable next tokens, the one
// that maximises (1-alpha)·p(v) − alpha·max cos(h_v, h_j), penalising
// continuations whose hidden state repeats one already in the context
// (degeneration). Scoring needs every candidate's hidden state, so each
// step runs all k candidates, batched (one pass over the weights) or one
// after another.
func ContrastiveSearch(ctx context.Context, m *Model, tok *Tokenizer, prompt string, k int, alpha float64, steps int, batched bool, b *Batch) (*Decoded, error) {
	if k < 1 || alpha < 0 || alpha > 1 {
		return nil, fmt.Errorf("contrastive search needs k >= 1 and alpha in [0,1], got k=%d alpha=%g", k, alpha)
	}
	ids, b, err := prepareSearch(m, tok, prompt, k, steps, b)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	// The context's hidden states: run the prompt token by token on
	// sequence 0 collecting the final normalized state of each position.
	var ctxHidden [][]float32
	s0 := b.Seq[0]
	var logits []float32
	for p, t := range ids {
		if logits, err = s0.Forward(ctx, t, p); err != nil {
			return nil, err
		}
		ctxHidden = append(ctxHidden, append([]float32(nil), s0.x...))
	}
	logits = append([]float32(nil), logits...)
	for i := 1; i < k; i++ {
		b.CopyCache(i, 0, 0, len(ids))
	}
	out := append([]int(nil), ids...)
	pos := len(ids)
	var score float64
	probs := make([]float64, m.Vocab)
	for step := 0; step < steps; step++ {
		lp := logSoftmax(logits, probs[:0])
		cands := TopK(lp, k)
		tokens := make([]int, k)
		for i := range tokens {
			tokens[i] = cands[i%len(cands)]
		}
		if err := b.step(ctx, tokens, pos, batched); err != nil {
			return nil, err
		}
		best, bestScore := 0, math.Inf(-1)
		for i := range cands {
			h := b.Hidden(i)
			maxSim := -1.0
			for _, hc := range ctxHidden {
				maxSim = math.Max(maxSim, cosine(h, hc))
			}
			sc := (1-alpha)*math.Exp(lp[cands[i]]) - alpha*maxSim
			if sc > bestScore {
				best, bestScore = i, sc
			}
		}
		t := cands[best]
		if t == EOS || t == BOS {
			break
		}
		score += bestScore
		out = append(out, t)
		ctxHidden = append(ctxHidden, append([]float32(nil), b.Hidden(best)...))
		logits = append(logits[:0], b.Logits(best)...)
		// Every candidate wrote its own key/value at pos; the winner's is
		// the context's now.
		for i := 0; i < k; i++ {
			b.CopyCache(i, best, pos, pos+1)
		}
		pos++
	}
	return &Decoded{IDs: out, PromptTokens: len(ids), Text: tok.DecodeAll(ids[len(ids)-1], out[len(ids):]),
		Score: score, Traffic: b.Traffic, Elapsed: time.Since(start), Batched: batched, Width: k}, nil
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
