package magic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// genOptions are the sampling settings of a generation.
type genOptions struct {
	n           int
	temperature float64
	topP        float64
	topK        int
	seed        int
}

// Defaults of %generate.
const (
	defaultTokens = 64
	defaultSeed   = 42
)

func defaultGen() genOptions { return genOptions{n: defaultTokens, seed: defaultSeed} }

func (g genOptions) sampler() (*engine.Sampler, error) {
	return engine.NewSampler(float32(g.temperature), float32(g.topP), g.topK, uint64(g.seed))
}

func (g genOptions) String() string {
	if g.temperature == 0 {
		return "greedy"
	}
	s := fmt.Sprintf("temperature %g", g.temperature)
	if g.topP > 0 {
		s += fmt.Sprintf(", top-p %g", g.topP)
	}
	if g.topK > 0 {
		s += fmt.Sprintf(", top-k %d", g.topK)
	}
	return s + fmt.Sprintf(", seed %d", g.seed)
}

// busyStepping fails when a step-through holds the main state.
func (s *Interpreter) busyStepping(what string) error {
	if s.step == nil {
		return nil
	}
	return fmt.Errorf("cannot %s while a forward pass is being stepped through (%%continue to finish it, or %%reset to abandon it)", what)
}

// doGenerate implements %generate, %%generate and plain-text cells.
func (s *Interpreter) doGenerate(c *call) error {
	if c.args.bool("ui") {
		return s.generateUI(c)
	}
	if err := s.ensureModel(c); err != nil {
		return err
	}
	if err := s.busyStepping("generate"); err != nil {
		return err
	}
	a := c.args
	g := genOptions{
		n:           a.int("n", defaultTokens),
		temperature: a.float("temperature", 0),
		topP:        a.float("top-p", 0),
		topK:        a.int("top-k", 0),
		seed:        a.int("seed", defaultSeed),
	}
	if g.n < 0 {
		return usagef(c.spec.usage(), "-n must not be negative, got %d", g.n)
	}
	if g.seed < 0 {
		return usagef(c.spec.usage(), "--seed must not be negative, got %d", g.seed)
	}
	if _, err := g.sampler(); err != nil {
		return usagef(c.spec.usage(), "%v", err)
	}
	prompt := c.text()
	cont := a.bool("continue")
	var ids []int
	if cont && len(s.ids) > 0 {
		ids = append([]int(nil), s.ids...)
		if prompt != "" {
			ids = append(ids, s.tok.Encode(prompt, false, false)...)
		}
	} else {
		ids = s.tok.Encode(prompt, true, false)
		s.resetContext()
	}
	if err := s.tooLong(len(ids)); err != nil {
		return err
	}
	// Echo the prompt, as llama2.c does.
	if cont {
		if len(ids) > len(s.ids) && len(s.ids) > 0 {
			c.out.Stream("stdout", s.tok.DecodeAll(s.ids[len(s.ids)-1], ids[len(s.ids):]))
		}
	} else if len(ids) > 1 {
		c.out.Stream("stdout", s.tok.DecodeAll(ids[0], ids[1:]))
	}
	s.gen = g
	res, err := s.decode(c.ctx, ids, g, func(piece string) {
		if engine.Printable(piece) {
			c.out.Stream("stdout", piece)
		}
	})
	c.out.Stream("stdout", "\n")
	if res != nil {
		s.display(c, res.summary(s))
	}
	if err != nil {
		if c.ctx.Err() != nil {
			return fmt.Errorf("interrupted after %d tokens (the context keeps them): %w", len(res.times), context.Cause(c.ctx))
		}
		return err
	}
	return nil
}

// decodeResult is what a generation produced.
type decodeResult struct {
	ids       []int // the whole context after it
	prompt    int   // tokens of the context before it
	times     []time.Duration
	elapsed   time.Duration
	prefill   time.Duration
	stopped   string
	requested int
	opts      genOptions
}

func (r *decodeResult) summary(s *Interpreter) inspect.Bundle {
	msv := make([]float64, len(r.times))
	var total time.Duration
	for i, t := range r.times {
		msv[i] = ms(t)
		total += t
	}
	lat := inspect.LatencyOf(msv)
	tps := 0.0
	if total > 0 {
		tps = float64(len(r.times)) / total.Seconds()
	}
	gen := r.ids[r.prompt:]
	text := fmt.Sprintf("[%d tokens (%d of context before), %.1f tok/s, P50 %.2f ms/token, P99 %.2f ms/token, %s, stopped: %s]",
		len(gen), r.prompt, tps, lat.P50, lat.P99, r.opts, r.stopped)
	if len(r.times) == 0 {
		text = fmt.Sprintf("[no tokens generated: the context holds %d tokens; stopped: %s]", len(r.ids), r.stopped)
	}
	prev := engine.BOS
	if r.prompt > 0 {
		prev = r.ids[r.prompt-1]
	}
	return inspect.Bundle{Text: text, HTML: `<div style="color:#666;font-family:monospace;font-size:90%">` + htmlEsc(text) + `</div>`,
		JSON: map[string]any{
			"tokens": len(gen), "requested": r.requested, "context_tokens": len(r.ids), "prompt_tokens": r.prompt,
			"ids": gen, "text": s.tok.DecodeAll(prev, gen), "context_ids": r.ids,
			"tok_per_s": num(tps), "p50_ms": num(lat.P50), "p99_ms": num(lat.P99), "mean_ms": num(lat.Mean),
			"prefill_ms": ms(r.prefill), "elapsed_ms": ms(r.elapsed), "stopped": r.stopped,
		}}
}

// decode feeds ids (of which s.done are in the cache) and samples up to
// g.n tokens, calling onPiece for each. The context becomes ids plus the
// generated tokens even on error (the cache then holds what completed).
// When %%time is profiling, the profiles are filled in.
func (s *Interpreter) decode(ctx context.Context, ids []int, g genOptions, onPiece func(string)) (*decodeResult, error) {
	st := s.st
	r := &decodeResult{prompt: len(ids), opts: g, stopped: "steps"}
	n := min(g.n, s.model.SeqLen-len(ids))
	r.requested = g.n
	if n < g.n {
		r.stopped = "context full"
	}
	// The sampler's options are checked before any work.
	if _, err := g.sampler(); err != nil {
		return nil, err
	}
	s.ids = ids
	defer func() { r.ids = s.ids }()
	start := time.Now()
	prof := s.prof
	// Feed everything but the last token: its forward pass yields the
	// first prediction.
	if prof != nil {
		st.Profile = prof.prefill
	}
	err := s.feed(ctx, len(ids)-1)
	st.Profile = nil
	r.prefill = time.Since(start)
	if err != nil {
		r.stopped = "error"
		if ctx.Err() != nil {
			r.stopped = "interrupted"
		}
		r.ids = s.ids
		return r, err
	}
	if prof != nil {
		st.Profile = prof.decode
		prof.threads = st.Ops().Threads()
		defer func() { st.Profile = nil }()
	}
	// The rest goes through the engine's one decoding loop: the last
	// context token's pass yields the first prediction.
	decStart := time.Now()
	var gen *engine.Generation
	if n > 0 {
		opt := engine.GenerateOptions{Steps: len(ids) - 1 + n, Temperature: float32(g.temperature), TopP: float32(g.topP), TopK: g.topK, Seed: uint64(g.seed)}
		gen, err = st.Continue(ctx, s.tok, ids, len(ids)-1, opt, func(t engine.Token) error {
			if onPiece != nil {
				onPiece(t.Piece)
			}
			return nil
		})
	}
	if gen != nil {
		// The cache holds every position but the last token's.
		s.ids, r.times, s.done = gen.IDs, gen.Times, len(gen.IDs)-1
		switch {
		case gen.Stopped == "bos":
			r.stopped = "bos"
		case err != nil && ctx.Err() != nil:
			r.stopped = "interrupted"
		case err != nil:
			r.stopped = "error"
		}
	}
	if err != nil {
		r.elapsed = time.Since(start)
		return r, err
	}
	if prof != nil {
		prof.wall += time.Since(decStart)
		prof.tokens += len(r.times)
	}
	r.elapsed = time.Since(start)
	return r, nil
}

// feed makes the main state's key/value cache hold s.ids[:upto].
func (s *Interpreter) feed(ctx context.Context, upto int) error {
	if upto <= s.done {
		return nil
	}
	if _, err := s.st.Prefill(ctx, s.ids[s.done:upto], s.done); err != nil {
		s.done = 0 // a partial prefill leaves the cache unknown
		return err
	}
	s.done = upto
	return nil
}

func (s *Interpreter) doReset(c *call) error {
	s.stopStep()
	s.resetContext()
	s.lastProfile = nil
	freeMemory() // give the dropped captures and caches back to the system now
	msg := "context cleared"
	if len(s.ablations) > 0 {
		msg += fmt.Sprintf(" (%d ablation(s) still active: %%ablate --clear removes them)", len(s.ablations))
	}
	s.display(c, textBundle(msg, map[string]any{"context_tokens": 0}))
	return nil
}

// ---- the context for analyses ----

// tooLong refuses n tokens of context the model cannot hold.
func (s *Interpreter) tooLong(n int) error {
	if n > s.model.SeqLen {
		return fmt.Errorf("%w: %d tokens, but the model's context (seq_len) is %d", engine.ErrPromptTooLong, n, s.model.SeqLen)
	}
	return nil
}

// setContext makes prompt (with BOS) the context, dropping the old one.
func (s *Interpreter) setContext(prompt string) ([]int, error) {
	if err := s.busyStepping("change the context"); err != nil {
		return nil, err
	}
	ids := s.tok.Encode(prompt, true, false)
	if err := s.tooLong(len(ids)); err != nil {
		return nil, err
	}
	s.resetContext()
	s.ids = ids
	return ids, nil
}

// contextIDs returns the ids the analysis magics look at: --prompt (which
// becomes the context) or the current context.
func (s *Interpreter) contextIDs(c *call) ([]int, error) {
	if err := s.ensureModel(c); err != nil {
		return nil, err
	}
	if c.args.has("prompt") {
		return s.setContext(c.args.str("prompt", ""))
	}
	if len(s.ids) == 0 {
		return nil, errors.New("there is no context yet: generate first (a plain-text cell, or %generate -n 0 PROMPT to only feed a prompt), or pass --prompt")
	}
	return s.ids, nil
}

// scratchState returns the analysis state (same model, kernels and
// layout as the main state, with the active ablations applied).
func (s *Interpreter) scratchState() (*engine.State, error) {
	if s.scratch == nil {
		st, err := engine.NewState(s.model, s.ops)
		if err != nil {
			return nil, err
		}
		s.scratch = st
	}
	s.scratch.SetOps(s.ops)
	if err := s.scratch.SetLayout(s.layout); err != nil {
		return nil, err
	}
	return s.scratch, nil
}

// hookSpec is a hook to register for one analysis run.
type hookSpec struct {
	pattern string
	fn      engine.HookFunc
}

// run computes ids on the scratch state from position 0 with the active
// ablations (unless skip says otherwise) and the given hooks, and returns
// a copy of the last position's logits.
func (s *Interpreter) run(ctx context.Context, ids []int, hooks []hookSpec, ablations []ablation) ([]float32, error) {
	st, err := s.scratchState()
	if err != nil {
		return nil, err
	}
	var removes []func()
	defer func() {
		for _, r := range removes {
			r()
		}
	}()
	for _, ab := range ablations {
		r, err := st.AddHook(ab.pattern, ab.hook())
		if err != nil {
			return nil, err
		}
		removes = append(removes, r)
	}
	for _, h := range hooks {
		r, err := st.AddHook(h.pattern, h.fn)
		if err != nil {
			return nil, err
		}
		removes = append(removes, r)
	}
	var logits []float32
	for pos, t := range ids {
		if logits, err = st.Forward(ctx, t, pos); err != nil {
			return nil, err
		}
	}
	return append([]float32(nil), logits...), nil
}

// ---- next-token distributions ----

// dist is a next-token distribution.
type dist struct {
	logits, probs []float32
}

func newDist(logits []float32) dist {
	p := append([]float32(nil), logits...)
	engine.Softmax(p)
	return dist{logits: logits, probs: p}
}

// top returns the k most probable ids, most probable first (ties by id).
func (d dist) top(k int) []int { return engine.TopK(d.probs, k) }

func (d dist) sum() float64 {
	var t float64
	for _, p := range d.probs {
		t += float64(p)
	}
	return t
}

func (d dist) entropy() float64 {
	var h float64
	for _, p := range d.probs {
		if p > 0 {
			h -= float64(p) * math.Log(float64(p))
		}
	}
	return h
}

// pieceLabel is a readable token label.
func (s *Interpreter) pieceLabel(id int) string {
	if id < 0 || id >= len(s.tok.Pieces) {
		return fmt.Sprintf("<%d>", id)
	}
	return s.tok.Pieces[id]
}

// topJSON describes the top k of d.
func (s *Interpreter) topJSON(d dist, k int) map[string]any {
	ids := d.top(k)
	pieces := make([]string, len(ids))
	probs := make([]float64, len(ids))
	logits := make([]float64, len(ids))
	for i, id := range ids {
		pieces[i], probs[i], logits[i] = s.pieceLabel(id), float64(d.probs[id]), float64(d.logits[id])
	}
	return map[string]any{"ids": ids, "pieces": pieces, "probs": probs, "logits": logits}
}

func (s *Interpreter) doTopK(c *call) error {
	k := c.args.int("k", 10)
	if k <= 0 {
		return usagef(c.spec.usage(), "-k must be positive, got %d", k)
	}
	ids, err := s.contextIDs(c)
	if err != nil {
		return err
	}
	logits, err := s.run(c.ctx, ids, nil, s.ablations)
	if err != nil {
		return err
	}
	d := newDist(logits)
	k = min(k, len(d.probs))
	s.display(c, s.topBundle(d, k, ids, fmt.Sprintf("Next token after %d tokens of context", len(ids))))
	return nil
}

func (s *Interpreter) topBundle(d dist, k int, ids []int, title string) inspect.Bundle {
	top := d.top(k)
	bars := make([]inspect.Bar, len(top))
	t := inspect.Table{Header: []string{"rank", "id", "piece", "probability", "logit"}}
	var topSum float64
	for i, id := range top {
		p := float64(d.probs[id])
		topSum += p
		bars[i] = inspect.Bar{Label: fmt.Sprintf("%q (%d)", s.pieceLabel(id), id), Value: p}
		t.Rows = append(t.Rows, []string{fmt.Sprint(i + 1), fmt.Sprint(id), fmt.Sprintf("%q", s.pieceLabel(id)), fmt.Sprintf("%.4f", p), fmt.Sprintf("%.3f", d.logits[id])})
	}
	ctxText := s.tok.DecodeAll(ids[0], ids[1:])
	t.Note = fmt.Sprintf("softmax of the logits (temperature 1); the top %d hold %.1f%% of the probability; entropy %.3f nats", k, 100*topSum, d.entropy())
	chart := inspect.BarChart(bars, inspect.ChartOpts{Title: title + ": …" + clip(lastRunes(ctxText, 40), 41), XLabel: "probability"})
	js := s.topJSON(d, k)
	js["k"] = k
	js["prob_sum"] = d.sum()
	js["top_sum"] = topSum
	js["entropy"] = d.entropy()
	js["context_tokens"] = len(ids)
	return join([]inspect.Bundle{chart, t.Bundle()}, js)
}

func lastRunes(s string, n int) string {
	r := []rune(strings.ReplaceAll(s, "\n", " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[len(r)-n:])
}
