package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// BenchOptions controls Bench.
type BenchOptions struct {
	Tokens int // tokens to decode and time (default 64, capped at seq_len)
	Warmup int // tokens decoded first and not timed (default 4)
	// Context is how many positions are already in the cache when the
	// timed tokens start (filled by a batched prefill of arbitrary tokens):
	// the tokens are decoded at positions Context, Context+1, ..., so
	// attention reads a cache that long. Default 0.
	Context int
}

// BenchResult is the outcome of Bench: one time per decoded token, at
// positions 0, 1, ... (latency grows with position as attention reads a
// longer cache).
type BenchResult struct {
	Times       []time.Duration
	WeightBytes int64 // weight bytes streamed per token
}

// TokPerSec is the decoding rate over all timed tokens.
func (r *BenchResult) TokPerSec() float64 {
	var t time.Duration
	for _, d := range r.Times {
		t += d
	}
	if t <= 0 {
		return 0
	}
	return float64(len(r.Times)) / t.Seconds()
}

// Bench decodes greedily from BOS (or after opt.Context prefilled
// positions) and times every forward pass (sampling included). Random
// weights are fine: the time does not depend on the values. The warm-up
// runs first over the same positions, so caches and page tables are warm
// when timing starts.
func (s *State) Bench(ctx context.Context, opt BenchOptions) (*BenchResult, error) {
	at := opt.Context
	if at < 0 || at >= s.M.SeqLen {
		return nil, fmt.Errorf("context of %d positions: want 0 to %d (seq_len %d, one position left to decode)", at, s.M.SeqLen-1, s.M.SeqLen)
	}
	n := opt.Tokens
	if n <= 0 {
		n = 64
	}
	n = min(n, s.M.SeqLen-at)
	warm := opt.Warmup
	if warm < 0 {
		return nil, errors.New("negative warm-up")
	}
	if warm == 0 {
		warm = 4
	}
	warm = min(warm, s.M.SeqLen-at)
	token := BOS
	if at > 0 {
		logits, err := s.Prefill(ctx, s.syntheticPrompt(at), 0)
		if err != nil {
			return nil, err
		}
		token = Argmax(logits)
	}
	if _, err := s.DecodeGreedy(ctx, token, at, warm, nil); err != nil {
		return nil, err
	}
	times := make([]time.Duration, 0, n)
	_, err := s.DecodeGreedy(ctx, token, at, n, func(_, _ int, d time.Duration) { times = append(times, d) })
	return &BenchResult{Times: times, WeightBytes: s.M.WeightBytes()}, err
}

// DecodeGreedy decodes greedily through the engine's one decoding loop
// (State.decode), to the step limit whatever the tokens (past BOS and
// EOS): it feeds token at position pos, picks the most probable next token,
// and so on for n tokens, calling step (when not nil) after each with its
// position, the token chosen and the time the forward pass and the choice
// took. With a Profile attached, the choice is charged to "sampling" by the
// cost model. It returns the last token chosen. Bench, %latency and %time
// decode through it.
func (s *State) DecodeGreedy(ctx context.Context, token, pos, n int, step func(pos, next int, d time.Duration)) (int, error) {
	r := &Speculation{Generation: Generation{IDs: []int{token}, PromptTokens: 1, Stopped: "steps"}}
	d := &decoding{end: pos + max(n, 0), through: true}
	if step != nil {
		d.onToken = func(t Token) error {
			step(t.Pos-1, t.ID, t.Time)
			return nil
		}
	}
	err := s.decode(ctx, d, r, pos, pos, time.Now())
	return r.IDs[len(r.IDs)-1], err
}

// TimeToFirstToken feeds a prompt of n tokens (BOS then arbitrary ids)
// from position 0 and returns how long it took until the first generated
// token's logits were ready, by batched prefill or token by token.
func (s *State) TimeToFirstToken(ctx context.Context, n int, batched bool) (time.Duration, error) {
	if n <= 0 || n > s.M.SeqLen {
		return 0, &PositionError{Pos: n, SeqLen: s.M.SeqLen}
	}
	tokens := s.syntheticPrompt(n)
	t0 := time.Now()
	var logits []float32
	var err error
	if batched {
		logits, err = s.Prefill(ctx, tokens, 0)
	} else {
		for i, t := range tokens {
			if logits, err = s.Forward(ctx, t, i); err != nil {
				break
			}
		}
	}
	if err != nil {
		return 0, err
	}
	_ = Argmax(logits)
	return time.Since(t0), nil
}

// syntheticPrompt is BOS then n-1 arbitrary token ids spread over the
// vocabulary (past the three special ids): a prompt for timing, where the
// ids do not matter.
func (s *State) syntheticPrompt(n int) []int {
	tokens := make([]int, n)
	tokens[0] = BOS
	for i := 1; i < n; i++ {
		tokens[i] = 3 + (i*7919)%(s.M.Vocab-3)
	}
	return tokens
}
