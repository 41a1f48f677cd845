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
// and then samples, through the engine's one decoding loop (State.decode).
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
	r := &Speculation{Generation: Generation{IDs: append([]int(nil), ids...), PromptTokens: len(ids), Stopped: "steps"}}
	g := &r.Generation
	fail := func(err error) (*Generation, error) {
		if ctx.Err() != nil {
			g.Stopped = "cancelled"
		}
		g.Elapsed = time.Since(start)
		return g, err
	}
	emit := func(t Token) error {
		if onToken == nil {
			return nil
		}
		return onToken(t)
	}
	// The prompt but its last token, which goes through the decoding loop
	// and yields the first logits: all together by Prefill, or token by
	// token, each prompt token reported with the pass that consumed the
	// one before it.
	pos := done
	if opt.BatchedPrefill && len(ids)-1-done > 1 {
		if _, err := s.Prefill(ctx, ids[done:len(ids)-1], done); err != nil {
			return fail(err)
		}
		for p := done + 1; p < len(ids); p++ {
			if err := emit(Token{ID: ids[p], Piece: tok.Decode(ids[p-1], ids[p]), Pos: p, Prompt: true}); err != nil {
				return fail(err)
			}
		}
		pos = len(ids) - 1
	}
	for ; pos < len(ids)-1 && pos < steps; pos++ {
		t0 := time.Now()
		if _, err := s.Forward(ctx, ids[pos], pos); err != nil {
			return fail(err)
		}
		dt := time.Since(t0)
		if err := emit(Token{ID: ids[pos+1], Piece: tok.Decode(ids[pos], ids[pos+1]), Pos: pos + 1, Prompt: true, Time: dt}); err != nil {
			return fail(err)
		}
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
	}
	err = s.decode(ctx, &decoding{choose: sampler.Sample, end: steps, stopAtEOS: opt.StopAtEOS, tok: tok, onToken: onToken}, r, pos, 0, start)
	return g, err
}

// decoding is what one run of the decoding loop is asked to do.
type decoding struct {
	// draft, when not nil and k > 0, proposes up to k tokens a round, which
	// the State verifies in one batched pass (speculative decoding, greedy
	// acceptance).
	draft *State
	k     int
	// choose picks the next token from the logits when nothing is
	// drafted (a Sampler's Sample); nil is greedy (Argmax). Drafted rounds
	// are always greedy.
	choose func(logits []float32) int
	// end is the position the loop stops at.
	end int
	// stopAtEOS also stops at EOS; through runs to end past BOS and EOS.
	stopAtEOS, through bool
	// tok, when not nil, decodes each token's text.
	tok     *Tokenizer
	onToken func(Token) error
}

// decode is the engine's one decoding loop: Generate and Continue (greedy
// or sampling), Speculate (with a draft or without) and DecodeGreedy (the
// benchmarks) all run through it. r.IDs ends with the token at position
// pos, whose key and value are not cached yet; s's cache holds the
// positions before it, the draft's cache those before dv. Each round the
// draft proposes up to d.k tokens, s runs the current token and the drafts
// in one pass (Forward alone when nothing is drafted), and the drafts s
// agrees with, then s's own choice, are appended to r and reported to
// d.onToken (Time is the round's time shared among its tokens). It stops at
// d.end, BOS, EOS when asked, ctx's end or onToken's error, and fills r's
// counters, Text, Elapsed (from start) and Decode.
func (s *State) decode(ctx context.Context, d *decoding, r *Speculation, pos, dv int, start time.Time) (err error) {
	t0 := time.Now()
	var sb []byte
	defer func() {
		if err != nil && ctx.Err() != nil {
			r.Stopped = "cancelled"
		}
		r.Text, r.Elapsed, r.Decode = string(sb), time.Since(start), time.Since(t0)
	}()
	k := d.k
	if d.draft == nil {
		k = 0
	}
	choose := d.choose
	if choose == nil {
		choose = Argmax
	}
	vocab := s.M.Vocab
	drafts := make([]int, 0, k)
	toks := make([]int, 0, k+1)
	out := make([]int, 0, k+1)
	for pos < d.end {
		round := time.Now()
		cur := r.IDs[len(r.IDs)-1]
		kk := min(k, d.end-1-pos)
		// The draft catches up (after a round that accepted everything,
		// its cache lacks the last drafted token: r.IDs ends with the
		// tokens of positions dv..pos) and proposes kk tokens.
		for ; kk > 0 && dv < pos; dv++ {
			if _, err := d.draft.Forward(ctx, r.IDs[len(r.IDs)-1-(pos-dv)], dv); err != nil {
				return err
			}
			r.DraftPasses++
		}
		drafts = drafts[:0]
		t := cur
		for j := 0; j < kk; j++ {
			logits, err := d.draft.Forward(ctx, t, pos+j)
			if err != nil {
				return err
			}
			r.DraftPasses++
			t = Argmax(logits)
			drafts = append(drafts, t)
		}
		tv := time.Now()
		r.DraftTime += tv.Sub(round)
		out = out[:0]
		if kk == 0 {
			logits, err := s.Forward(ctx, cur, pos)
			if err != nil {
				return err
			}
			r.VerifyTime += time.Since(tv)
			out = append(out, s.pick(choose, logits))
		} else {
			toks = append(append(toks[:0], cur), drafts...)
			rows, err := s.forwardAll(ctx, toks, pos)
			if err != nil {
				return err
			}
			r.VerifyTime += time.Since(tv)
			// Keep the drafts s agrees with, then its own token.
			for i := range toks {
				next := s.pick(Argmax, rows[i*vocab:(i+1)*vocab])
				out = append(out, next)
				if i == kk || next != drafts[i] {
					break
				}
			}
		}
		r.Passes++
		r.Drafted += kk
		a := len(out) - 1
		r.Accepted += a
		if kk > 0 {
			dv = pos + min(a+1, kk) // the draft's rows hold cur and the accepted drafts
		}
		dt := time.Since(round) / time.Duration(len(out))
		for _, next := range out {
			switch {
			case d.through:
			case next == BOS:
				r.Stopped = "bos"
			case d.stopAtEOS && next == EOS:
				r.Stopped = "eos"
			}
			if r.Stopped != "steps" {
				break
			}
			if len(r.Times) == 0 {
				r.TimeToFirst = time.Since(start)
			}
			prev := r.IDs[len(r.IDs)-1]
			r.IDs = append(r.IDs, next)
			r.Times = append(r.Times, dt)
			var piece string
			if d.tok != nil {
				piece = d.tok.Decode(prev, next)
				sb = append(sb, piece...)
			}
			pos++
			if d.onToken != nil {
				if err := d.onToken(Token{ID: next, Piece: piece, Pos: pos, Time: dt}); err != nil {
					return err
				}
			}
		}
		if r.Stopped != "steps" {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// pick chooses a token from logits with choose, charged to "sampling" in
// the profile.
func (s *State) pick(choose func([]float32) int, logits []float32) int {
	t := s.tick()
	next := choose(logits)
	s.tock("sampling", t, SamplingCost(len(logits)))
	return next
}
