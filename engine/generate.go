package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// GenerateOptions controls Generate. The zero value is greedy decoding of
// the model's whole context.
type GenerateOptions struct {
	// Steps is the number of positions to run, prompt included, as
	// llama2.c's -n: 0 or more than seq_len means seq_len.
	Steps       int
	Temperature float32
	TopP        float32
	TopK        int
	Seed        uint64
	// StopAtEOS also stops at the end-of-sequence token; generation always
	// stops at BOS, as llama2.c's run does.
	StopAtEOS bool
	// BatchedPrefill feeds the prompt through Prefill (matrix-matrix
	// products) instead of token by token.
	BatchedPrefill bool
}

// Token is one step of a generation, reported as it is produced.
type Token struct {
	ID     int
	Piece  string // decoded text (raw bytes for <0xXX> pieces)
	Pos    int    // position of this token in the sequence
	Prompt bool   // part of the prompt rather than sampled
	// Time is how long producing it took: the forward pass that predicted
	// it plus sampling (for prompt tokens, the forward pass that consumed
	// the previous one; zero for tokens fed by a batched prefill).
	Time time.Duration
}

// Generation is the outcome of Generate.
type Generation struct {
	IDs          []int // the whole sequence: prompt (with BOS) then generated
	PromptTokens int
	Text         string          // decoded generated text (prompt excluded)
	Times        []time.Duration // per generated token
	TimeToFirst  time.Duration   // from start to the first sampled token
	Elapsed      time.Duration
	Stopped      string // "steps", "bos", "eos" or "cancelled"
}

// Generated is the number of sampled tokens.
func (g *Generation) Generated() int { return len(g.IDs) - g.PromptTokens }

// TokPerSec is the decoding rate over the sampled tokens, leaving out the
// first, as llama2.c's "achieved tok/s" does (its timer starts after the
// first step, which is slower).
func (g *Generation) TokPerSec() float64 {
	var total time.Duration
	n := 0
	for i, t := range g.Times {
		if i == 0 {
			continue
		}
		total += t
		n++
	}
	if n == 0 || total <= 0 {
		return 0
	}
	return float64(n) / total.Seconds()
}

// ErrPromptTooLong is returned when the prompt does not fit the context.
var ErrPromptTooLong = errors.New("prompt is longer than the model's context")

// Generate encodes prompt (with BOS), feeds it and samples until the step
// limit, BOS (or EOS when asked), calling onToken for every token as it is
// produced; an error from onToken stops generation and is returned. When
// ctx is cancelled, Generate returns promptly with what it produced and
// ctx's error.
func (s *State) Generate(ctx context.Context, tok *Tokenizer, prompt string, opt GenerateOptions, onToken func(Token) error) (*Generation, error) {
	ids := tok.Encode(prompt, true, false)
	return s.Continue(ctx, tok, ids, 0, opt, onToken)
}

// Continue is Generate over ids already encoded, of which the first done
// are already in the key/value cache (0 to start afresh): it feeds the rest
// and then samples.
func (s *State) Continue(ctx context.Context, tok *Tokenizer, ids []int, done int, opt GenerateOptions, onToken func(Token) error) (*Generation, error) {
	if len(ids) == 0 {
		return nil, errors.New("nothing to generate from: no tokens")
	}
	if done < 0 || done >= len(ids) {
		return nil, fmt.Errorf("%d of %d tokens already done: need at least one to feed", done, len(ids))
	}
	steps := opt.Steps
	if steps <= 0 || steps > s.M.SeqLen {
		steps = s.M.SeqLen
	}
	if len(ids) > s.M.SeqLen {
		return nil, fmt.Errorf("%w: %d tokens, seq_len %d", ErrPromptTooLong, len(ids), s.M.SeqLen)
	}
	sampler, err := NewSampler(opt.Temperature, opt.TopP, opt.TopK, opt.Seed)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	g := &Generation{IDs: append([]int(nil), ids...), PromptTokens: len(ids), Stopped: "steps"}
	emit := func(t Token) error {
		if onToken == nil {
			return nil
		}
		return onToken(t)
	}
	pos := done
	token := ids[pos]
	// A batched prefill runs all prompt tokens but the last one together;
	// the last goes through Forward below and yields the first logits.
	if opt.BatchedPrefill && len(ids)-1-done > 1 {
		if _, err := s.Prefill(ctx, ids[done:len(ids)-1], done); err != nil {
			return g, err
		}
		for p := done + 1; p < len(ids); p++ {
			if err := emit(Token{ID: ids[p], Piece: tok.Decode(ids[p-1], ids[p]), Pos: p, Prompt: true}); err != nil {
				return g, err
			}
		}
		pos = len(ids) - 1
		token = ids[pos]
	}
	var sb []byte
	for pos < steps {
		t0 := time.Now()
		logits, err := s.Forward(ctx, token, pos)
		if err != nil {
			if ctx.Err() != nil {
				g.Stopped = "cancelled"
			}
			g.Elapsed = time.Since(start)
			return g, err
		}
		var next int
		prompt := pos < len(ids)-1
		if prompt {
			next = ids[pos+1]
		} else {
			ts := s.tick()
			next = sampler.Sample(logits)
			s.tock("sampling", ts, SamplingCost(len(logits)))
		}
		dt := time.Since(t0)
		pos++
		if !prompt {
			if next == BOS {
				g.Stopped = "bos"
				break
			}
			if opt.StopAtEOS && next == EOS {
				g.Stopped = "eos"
				break
			}
			if len(g.Times) == 0 {
				g.TimeToFirst = time.Since(start)
			}
			g.IDs = append(g.IDs, next)
			g.Times = append(g.Times, dt)
		}
		piece := tok.Decode(token, next)
		if !prompt {
			sb = append(sb, piece...)
		}
		if err := emit(Token{ID: next, Piece: piece, Pos: pos, Prompt: prompt, Time: dt}); err != nil {
			g.Text = string(sb)
			g.Elapsed = time.Since(start)
			return g, err
		}
		token = next
		if err := ctx.Err(); err != nil {
			g.Stopped = "cancelled"
			g.Text = string(sb)
			g.Elapsed = time.Since(start)
			return g, err
		}
	}
	g.Text = string(sb)
	g.Elapsed = time.Since(start)
	return g, nil
}
