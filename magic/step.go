package magic

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// stepper runs one forward pass on its own goroutine, pausing at every
// hook point until the controller (the %step and %continue cells) lets it
// go on. Its context is independent of any cell's, so the pass survives
// between cells; stop (from %reset, %load, an interrupted %step) cancels
// it and waits for the goroutine to end, so it never leaks.
type stepper struct {
	token, pos int
	cancel     context.CancelFunc
	events     chan stepEvent
	resume     chan struct{}
	done       chan stepResult
	remove     func()

	paused   bool // the goroutine is blocked at a hook point
	finished *stepResult
	steps    int

	lastResid float64 // L2 norm of the residual stream at the last stop
	layerRec  layerRecord
}

// stepEvent is one hook point reached: a copy of its tensor and the
// compute time since the pass was last resumed.
type stepEvent struct {
	name    string
	layer   int
	shape   []int
	data    []float32
	compute time.Duration
}

type stepResult struct {
	logits []float32
	err    error
}

// layerRecord gathers what a layer step shows.
type layerRecord struct {
	residPre, attnOut, mlpOut float64
	pattern                   *stepEvent
}

// startStep launches the forward pass of the context's last token.
func (s *Interpreter) startStep(ctx context.Context) error {
	if len(s.ids) == 0 {
		return errors.New("there is no context to step through: set one first (%generate -n 0 PROMPT feeds a prompt without generating)")
	}
	if len(s.ids) > s.model.SeqLen {
		return errors.New("the context is full")
	}
	// The cache must hold every position before the last.
	if err := s.feed(ctx, len(s.ids)-1); err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(context.Background())
	sp := &stepper{
		token: s.ids[len(s.ids)-1], pos: len(s.ids) - 1, cancel: cancel,
		events: make(chan stepEvent), resume: make(chan struct{}), done: make(chan stepResult, 1),
	}
	resumed := time.Now() // touched only by the forward goroutine
	remove, err := s.st.AddHook("*", func(ev *engine.HookEvent) {
		e := stepEvent{name: ev.Name, layer: ev.Layer, shape: append([]int(nil), ev.Shape...),
			data: append([]float32(nil), ev.Data...), compute: time.Since(resumed)}
		select {
		case sp.events <- e:
		case <-sctx.Done():
			return
		}
		select {
		case <-sp.resume:
			resumed = time.Now()
		case <-sctx.Done():
		}
	})
	if err != nil {
		cancel()
		return err
	}
	sp.remove = remove
	st, token, pos := s.st, sp.token, sp.pos
	go func() {
		var r stepResult
		defer func() {
			if p := recover(); p != nil {
				r = stepResult{err: fmt.Errorf("forward pass panicked: %v", p)}
			}
			sp.done <- r
		}()
		logits, err := st.Forward(sctx, token, pos)
		if err == nil {
			logits = append([]float32(nil), logits...)
		}
		r = stepResult{logits: logits, err: err}
	}()
	s.step = sp
	return nil
}

// stopStep abandons a step-through: cancels the pass, waits for its
// goroutine and removes its hook. The cache position of its token is then
// unreliable, so the context is recomputed from there.
func (s *Interpreter) stopStep() {
	sp := s.step
	if sp == nil {
		return
	}
	s.step = nil
	sp.cancel()
	if sp.finished == nil {
		<-sp.done
	}
	sp.remove()
	s.done = min(s.done, sp.pos)
}

// advance lets the pass run until stop says to pause at a hook point, or
// until it ends. It returns the events seen, the last being where it
// paused (nil events and finished set when the pass ended).
func (s *Interpreter) advance(ctx context.Context, stop func(stepEvent) bool) ([]stepEvent, error) {
	sp := s.step
	var seen []stepEvent
	if sp.finished != nil {
		return nil, nil
	}
	if ctx.Err() != nil {
		s.stopStep()
		return nil, fmt.Errorf("interrupted: the step-through was abandoned: %w", context.Cause(ctx))
	}
	if sp.paused {
		select {
		case sp.resume <- struct{}{}:
			sp.paused = false
		case <-ctx.Done():
			s.stopStep()
			return nil, fmt.Errorf("interrupted: the step-through was abandoned: %w", context.Cause(ctx))
		}
	}
	for {
		select {
		case e := <-sp.events:
			seen = append(seen, e)
			if stop(e) {
				sp.paused = true
				return seen, nil
			}
			select {
			case sp.resume <- struct{}{}:
			case <-ctx.Done():
				s.stopStep()
				return nil, fmt.Errorf("interrupted: the step-through was abandoned: %w", context.Cause(ctx))
			}
		case r := <-sp.done:
			sp.finished = &r
			return seen, nil
		case <-ctx.Done():
			s.stopStep()
			return nil, fmt.Errorf("interrupted: the step-through was abandoned: %w", context.Cause(ctx))
		}
	}
}

func (s *Interpreter) doStep(c *call) error {
	if c.args.bool("ui") {
		return s.stepUI(c)
	}
	if err := s.ensureModel(c); err != nil {
		return err
	}
	mode := c.args.arg(0, "layer")
	if mode != "layer" && mode != "op" {
		return usagef(c.spec.usage(), "expected layer or op, got %q", mode)
	}
	started := false
	if s.step == nil {
		if err := s.startStep(c.ctx); err != nil {
			return err
		}
		started = true
	}
	sp := s.step
	t0 := time.Now()
	stop := func(e stepEvent) bool {
		if mode == "op" {
			return true
		}
		return strings.HasSuffix(e.name, ".hook_resid_post") || e.name == engine.HookUnembed
	}
	seen, err := s.advance(c.ctx, stop)
	if err != nil {
		return err
	}
	wall := time.Since(t0)
	if sp.finished != nil && len(seen) == 0 {
		// Stepping past the end finishes the token.
		return s.finishStep(c)
	}
	sp.steps++
	var compute time.Duration
	for _, e := range seen {
		compute += e.compute
	}
	b := s.stepBundle(seen, mode, compute, wall, started)
	s.display(c, b)
	return nil
}

// stepBundle describes one step.
func (s *Interpreter) stepBundle(seen []stepEvent, mode string, compute, wall time.Duration, started bool) inspect.Bundle {
	sp := s.step
	cfg := s.model.Config
	last := seen[len(seen)-1]
	var parts []inspect.Bundle
	js := map[string]any{"token": sp.token, "pos": sp.pos, "step": sp.steps,
		"stop": last.name, "layer": last.layer, "shape": last.shape, "compute_ms": ms(compute), "wall_ms": ms(wall),
		"hooks": len(seen), "mode": mode}
	js["piece"] = s.pieceLabel(sp.token)
	var head strings.Builder
	if started {
		fmt.Fprintf(&head, "stepping through the forward pass of token %q (id %d) at position %d; %%continue finishes it\n", s.pieceLabel(sp.token), sp.token, sp.pos)
	}
	where := last.name
	if last.layer >= 0 {
		where = fmt.Sprintf("%s (layer %d of %d)", last.name, last.layer, cfg.Layers)
	}
	fmt.Fprintf(&head, "step %d → %s; %d hook point(s) passed; compute %.3f ms (wall %.3f ms incl. the debugger)", sp.steps, where, len(seen), ms(compute), ms(wall))
	// Residual stream and per-layer record.
	var pattern *stepEvent
	for i := range seen {
		e := &seen[i]
		switch {
		case strings.HasSuffix(e.name, "hook_resid_pre"):
			sp.layerRec = layerRecord{residPre: l2(e.data)}
		case strings.HasSuffix(e.name, "hook_attn_out"):
			sp.layerRec.attnOut = l2(e.data)
		case strings.HasSuffix(e.name, "hook_mlp_out"):
			sp.layerRec.mlpOut = l2(e.data)
		case strings.HasSuffix(e.name, "attn.hook_pattern"):
			pattern = e
		}
	}
	isResid := last.name == engine.HookEmbed || strings.Contains(last.name, "hook_resid")
	if isResid {
		n := l2(last.data)
		before := sp.lastResid
		if mode == "layer" && strings.HasSuffix(last.name, "hook_resid_post") {
			before = sp.layerRec.residPre
		}
		fmt.Fprintf(&head, "\nresidual stream L2 norm: %.4f → %.4f", before, n)
		js["resid_norm_before"], js["resid_norm"] = before, n
		if mode == "layer" && strings.HasSuffix(last.name, "hook_resid_post") {
			fmt.Fprintf(&head, " (attention output %.4f, MLP output %.4f)", sp.layerRec.attnOut, sp.layerRec.mlpOut)
			js["attn_out_norm"], js["mlp_out_norm"] = sp.layerRec.attnOut, sp.layerRec.mlpOut
		}
		sp.lastResid = n
	} else {
		sum := inspect.Summarize(last.data)
		fmt.Fprintf(&head, "\n%s %s: mean %.4g, std %.4g, min %.4g, max %.4g, L2 %.4g", last.name, shapeString(last.shape), sum.Mean, sum.Std, sum.Min, sum.Max, sum.L2)
		js["stats"] = map[string]any{"mean": num(sum.Mean), "std": num(sum.Std), "min": num(sum.Min), "max": num(sum.Max), "l2": num(sum.L2)}
	}
	parts = append(parts, inspect.Bundle{Text: head.String()})
	if pattern != nil {
		n := pattern.shape[1]
		rows := make([][]float64, pattern.shape[0])
		heads := make([]string, len(rows))
		for h := range rows {
			heads[h] = fmt.Sprintf("H%d", h)
			rows[h] = make([]float64, n)
			for j := range rows[h] {
				rows[h][j] = float64(pattern.data[h*n+j])
			}
		}
		labels := s.tokenLabels(s.ids[:n])
		parts = append(parts, inspect.Heatmap(rows, heads, labels, inspect.HeatmapOpts{
			Title:  fmt.Sprintf("Layer %d: where position %d attends (one row per head)", pattern.layer, sp.pos),
			XLabel: "key position", YLabel: "head", Min: 0, Max: 1}))
		js["pattern"] = rows
	}
	// Logit lens at this depth (or the model's own logits at the end).
	var logits []float32
	switch {
	case last.name == engine.HookUnembed:
		logits = append([]float32(nil), last.data...)
	case isResid || last.name == engine.HookLnFinal:
		logits = make([]float32, cfg.Vocab)
		lens := s.st.LogitLens
		if last.name == engine.HookLnFinal {
			lens = s.st.Unembed
		}
		if lens(last.data, logits) != nil { // a vector of another size, or a fault: no lens
			logits = nil
		}
	}
	if logits != nil {
		d := newDist(logits)
		top := d.top(5)
		var lt strings.Builder
		lt.WriteString("logit lens at this depth: ")
		for i, id := range top {
			if i > 0 {
				lt.WriteString(", ")
			}
			fmt.Fprintf(&lt, "%q %.3f", s.pieceLabel(id), d.probs[id])
		}
		parts = append(parts, inspect.Bundle{Text: lt.String()})
		js["lens"] = s.topJSON(d, 5)
	}
	return join(parts, js)
}

func l2(x []float32) float64 { return inspect.Summarize(x).L2 }

func (s *Interpreter) doContinue(c *call) error {
	if s.step == nil {
		return errors.New("nothing to continue: no forward pass is being stepped through (start one with %step)")
	}
	if _, err := s.advance(c.ctx, func(stepEvent) bool { return false }); err != nil {
		return err
	}
	return s.finishStep(c)
}

// finishStep appends the stepped pass's prediction to the context.
func (s *Interpreter) finishStep(c *call) error {
	sp := s.step
	r := sp.finished
	s.step = nil
	sp.remove()
	if r.err != nil {
		s.done = min(s.done, sp.pos)
		return fmt.Errorf("the forward pass failed: %w", r.err)
	}
	s.done = sp.pos + 1
	d := newDist(append([]float32(nil), r.logits...))
	sampler, err := s.gen.sampler()
	if err != nil {
		return err
	}
	next := sampler.Sample(r.logits)
	msg := ""
	switch {
	case next == engine.BOS:
		msg = fmt.Sprintf("the model predicts BOS (end of story) at position %d; the context is unchanged", sp.pos+1)
	case sp.pos+1 >= s.model.SeqLen:
		msg = fmt.Sprintf("the model predicts %q, but the context is full (seq_len %d); it is not appended", s.pieceLabel(next), s.model.SeqLen)
	default:
		s.ids = append(s.ids, next)
		msg = fmt.Sprintf("next token: %q (id %d, probability %.4f, %s) appended at position %d; the context is now %d tokens",
			s.pieceLabel(next), next, d.probs[next], s.gen, sp.pos+1, len(s.ids))
	}
	b := s.topBundle(d, 5, s.ids, "Next token")
	b.Text = msg + "\n" + b.Text
	b.HTML = pre(msg) + b.HTML
	js := b.JSON.(map[string]any)
	js["token"], js["piece"], js["prob"], js["pos"] = next, s.pieceLabel(next), float64(d.probs[next]), sp.pos+1
	s.display(c, b)
	return nil
}
