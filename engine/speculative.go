package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Speculative decoding: a cheaper draft model proposes k tokens one after
// another, and the full model checks all of them in one batched pass (the
// matrix-matrix products of Prefill: every weight read once for k+1
// positions). Greedy acceptance keeps the drafted tokens up to the first
// the full model would not have chosen and adds the full model's own
// choice there, so the output is exactly plain greedy decoding's; what
// changes is how many tokens each read of the full model's weights yields.

// DraftModel makes the cheaper model a speculative decoder drafts with,
// from m's own weights:
//
//   - "layers:N": m's first N layers (then m's final norm and classifier);
//     it shares m's weights, nothing is copied.
//   - a weight type as --weights takes it ("q8_0", "q4_0", "q4_0,f16",
//     "bf16"): m's matrices converted at load (counted as copied bytes).
//
// The draft shares m's mapped file: it must not be used after m is closed,
// and closing it does not unmap m.
func (m *Model) DraftModel(spec string) (*Model, error) {
	d := &Model{Config: m.Config, Path: m.Path, Tensors: m.Tensors, W: m.W, Load: m.Load, GGUF: m.GGUF, Tok: m.Tok, m: m.m, borrowed: true}
	d.Load.CopiedBytes, d.Load.Converted = 0, ""
	if rest, ok := strings.CutPrefix(spec, "layers:"); ok {
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 || n >= m.Layers {
			return nil, fmt.Errorf("draft %q: want layers:N with N from 1 to %d (the model has %d layers)", spec, m.Layers-1, m.Layers)
		}
		w := *m.W
		w.Layers = m.W.Layers[:n]
		d.W, d.Config.Layers = &w, n
		return d, nil
	}
	t, fb, err := ParseWeights(spec)
	if err != nil {
		return nil, fmt.Errorf("draft %q: %w (or layers:N)", spec, err)
	}
	if err := d.Convert(t, fb); err != nil {
		return nil, fmt.Errorf("draft %q: %w", spec, err)
	}
	return d, nil
}

// DraftDescribe says what a draft made by DraftModel is, for reports.
func DraftDescribe(full, draft *Model) string {
	if draft.Layers < full.Layers {
		return fmt.Sprintf("the first %d of %d layers (shared weights, %d of %d weight bytes per token)",
			draft.Layers, full.Layers, draft.WeightBytes(), full.WeightBytes())
	}
	return fmt.Sprintf("%s weights (%d of %d weight bytes per token; %d bytes copied at load)",
		draft.WeightTypes(), draft.WeightBytes(), full.WeightBytes(), draft.Load.CopiedBytes)
}

// SpecOptions controls Speculate.
type SpecOptions struct {
	// K is the number of tokens the draft proposes per full-model pass;
	// 0 decodes plainly (one full-model pass per token, no draft).
	K int
	// Steps and StopAtEOS are as in GenerateOptions: positions to run,
	// prompt included (0 or more than seq_len: seq_len).
	Steps     int
	StopAtEOS bool
	// Through runs to the step limit past BOS and EOS: benchmarks of
	// random-weight models, whose greedy choice may well be BOS.
	Through bool
}

// Speculation is the outcome of Speculate.
type Speculation struct {
	Generation
	K int
	// Passes are the full model's passes after the prompt (each verifying
	// up to K drafted tokens, or decoding one token when K is 0);
	// DraftPasses the draft's single-token passes.
	Passes, DraftPasses int
	// Drafted and Accepted count the drafted tokens and those the full
	// model agreed with.
	Drafted, Accepted int
	// Decode is the time after the prompt: drafting, verifying and
	// choosing; DraftTime and VerifyTime its draft passes and full-model
	// passes.
	Decode, DraftTime, VerifyTime time.Duration
}

// AcceptanceRate is the fraction of drafted tokens the full model kept
// (0 when nothing was drafted).
func (r *Speculation) AcceptanceRate() float64 {
	if r.Drafted == 0 {
		return 0
	}
	return float64(r.Accepted) / float64(r.Drafted)
}

// TokensPerPass is the generated tokens per full-model pass: what one read
// of the full model's weights yields.
func (r *Speculation) TokensPerPass() float64 {
	if r.Passes == 0 {
		return 0
	}
	return float64(r.Generated()) / float64(r.Passes)
}

// DecodeTokPerSec is the generated tokens per second after the prompt.
func (r *Speculation) DecodeTokPerSec() float64 {
	if r.Decode <= 0 {
		return 0
	}
	return float64(r.Generated()) / r.Decode.Seconds()
}

// Speculate decodes greedily from ids (prompt with BOS) with the full
// model's State s and a draft's State (nil, or K == 0, for plain greedy
// decoding): both get the prompt by Prefill, then the engine's one decoding
// loop (State.decode) runs, in which each round the draft proposes up to K
// tokens and s verifies them in one batched pass. The tokens are exactly
// those greedy Generate produces with s (the batched pass computes each
// position as Forward does), and stop at the same places: the step limit,
// BOS, EOS when asked. onToken gets each generated token (Time is the
// round's time shared among its tokens). With a nil tok no text is decoded.
func Speculate(ctx context.Context, s, draft *State, tok *Tokenizer, ids []int, opt SpecOptions, onToken func(Token) error) (*Speculation, error) {
	if len(ids) == 0 {
		return nil, errors.New("nothing to generate from: no tokens")
	}
	if opt.K < 0 {
		return nil, fmt.Errorf("speculative k = %d: want 0 or more", opt.K)
	}
	if len(ids) > s.M.SeqLen {
		return nil, fmt.Errorf("%w: %d tokens, seq_len %d", ErrPromptTooLong, len(ids), s.M.SeqLen)
	}
	k := opt.K
	if draft == nil {
		k = 0
	}
	if k > 0 {
		if draft.M.Vocab != s.M.Vocab {
			return nil, fmt.Errorf("draft vocabulary of %d tokens, the model's is %d", draft.M.Vocab, s.M.Vocab)
		}
		if draft.M.SeqLen < s.M.SeqLen {
			return nil, fmt.Errorf("draft context of %d positions, the model's is %d", draft.M.SeqLen, s.M.SeqLen)
		}
	}
	steps := opt.Steps
	if steps <= 0 || steps > s.M.SeqLen {
		steps = s.M.SeqLen
	}
	start := time.Now()
	r := &Speculation{Generation: Generation{IDs: append([]int(nil), ids...), PromptTokens: len(ids), Stopped: "steps"}, K: k}
	fail := func(err error) (*Speculation, error) {
		if ctx.Err() != nil {
			r.Stopped = "cancelled"
		}
		r.Elapsed = time.Since(start)
		return r, err
	}
	p := len(ids) - 1
	if p > 0 {
		if _, err := s.Prefill(ctx, ids[:p], 0); err != nil {
			return fail(err)
		}
		if k > 0 {
			if _, err := draft.Prefill(ctx, ids[:p], 0); err != nil {
				return fail(err)
			}
		}
	}
	err := s.decode(ctx, &decoding{draft: draft, k: k, end: steps, stopAtEOS: opt.StopAtEOS, through: opt.Through, tok: tok, onToken: onToken}, r, p, p, start)
	return r, err
}

// forwardAll runs tokens at positions pos0, pos0+1, ... as Prefill does
// (one pass over the weights) and returns every position's logits, n ×
// Vocab, in a buffer reused by the next call. Each row equals what Forward
// gives for its position (bit for bit with kernels whose batched and
// single products sum alike). With hooks registered, or for one token, it
// runs Forward per token.
func (s *State) forwardAll(ctx context.Context, tokens []int, pos0 int) (rows []float32, err error) {
	n, c := len(tokens), s.M.Config
	if len(s.allLogits) < n*c.Vocab {
		s.allLogits = make([]float32, n*c.Vocab)
	}
	out := s.allLogits[:n*c.Vocab]
	each, err := s.batchArgs(tokens, pos0)
	if err != nil {
		return nil, err
	}
	if each {
		for i, t := range tokens {
			logits, err := s.Forward(ctx, t, pos0+i)
			if err != nil {
				return nil, err
			}
			copy(out[i*c.Vocab:], logits)
		}
		return out, nil
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.M.catchFault(&err)
	if err := s.runBatch(ctx, tokens, pos0); err != nil {
		return nil, err
	}
	b, dim := &s.batch, c.Dim
	t := s.tick()
	for i := 0; i < n; i++ {
		s.ops.RMSNorm(b.xb[i*dim:(i+1)*dim], b.x[i*dim:(i+1)*dim], s.W.FinalNorm, c.Eps())
	}
	s.tock("rmsnorm", t, normCost(n*dim))
	in := s.input(b.xb[:n*dim], &b.qx)
	s.matmul("classifier", out, &s.W.Cls, in, n)
	return out, nil
}
