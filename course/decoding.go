package course

import (
	"context"
	"fmt"
	"time"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// Strategies are the decoding strategies Decode knows.
var Strategies = []string{"greedy", "sample", "topk", "topp", "beam", "contrastive"}

// MultiHypothesis reports whether a strategy runs several hypotheses.
func MultiHypothesis(strategy string) bool { return strategy == "beam" || strategy == "contrastive" }

// DecodeOptions controls Decode.
type DecodeOptions struct {
	Strategy string
	Prompt   string
	Tokens   int
	Width    int     // beam width or contrastive k
	Alpha    float64 // contrastive degeneration penalty
	Batched  bool    // hypotheses in one pass over the weights
	Generate engine.GenerateOptions
	Variant  string
	Threads  int
	// NoLogP leaves LogP at 0 instead of running the generated text through
	// the model again (repeats whose text is not shown).
	NoLogP bool
}

// DecodeRun is one decoding with its cost.
type DecodeRun struct {
	Strategy string
	Width    int
	Batched  bool
	Text     string
	IDs      []int
	Prompt   int
	Score    float64 // the strategy's own score (beam: log p; contrastive: its objective)
	LogP     float64 // log-likelihood of the generated tokens under the model
	Traffic  engine.Traffic
	Elapsed  time.Duration
}

// Generated is the number of tokens generated.
func (r *DecodeRun) Generated() int { return len(r.IDs) - r.Prompt }

// PerToken divides a count by the generated tokens.
func (r *DecodeRun) PerToken(v int64) float64 {
	if r.Generated() == 0 {
		return 0
	}
	return float64(v) / float64(r.Generated())
}

// MsPerToken is the elapsed time per generated token.
func (r *DecodeRun) MsPerToken() float64 { return ms(r.Elapsed) / float64(max(r.Generated(), 1)) }

// Mode is "one sequence", "batched" or "sequential".
func (r *DecodeRun) Mode() string {
	switch {
	case !MultiHypothesis(r.Strategy):
		return "one sequence"
	case r.Batched:
		return "batched"
	}
	return "sequential"
}

// Decode runs one strategy on m. Its traffic is the cost model's count of
// what the run read (weights, key/value cache, cache copies), not a
// measurement.
func Decode(ctx context.Context, m *engine.Model, tok *engine.Tokenizer, opt DecodeOptions) (*DecodeRun, error) {
	ops, err := asm.New(opt.Variant, max(opt.Threads, 1))
	if err != nil {
		return nil, err
	}
	defer ops.Close()
	run := &DecodeRun{Strategy: opt.Strategy, Width: opt.Width, Batched: opt.Batched}
	switch opt.Strategy {
	case "beam", "contrastive":
		b, err := engine.NewBatch(m, ops, opt.Width)
		if err != nil {
			return nil, err
		}
		var d *engine.Decoded
		if opt.Strategy == "beam" {
			d, err = engine.BeamSearch(ctx, m, tok, opt.Prompt, opt.Width, opt.Tokens, opt.Batched, b)
		} else {
			d, err = engine.ContrastiveSearch(ctx, m, tok, opt.Prompt, opt.Width, opt.Alpha, opt.Tokens, opt.Batched, b)
		}
		if err != nil {
			return nil, err
		}
		run.Text, run.IDs, run.Prompt, run.Score, run.Traffic, run.Elapsed = d.Text, d.IDs, d.PromptTokens, d.Score, d.Traffic, d.Elapsed
	default:
		st, err := engine.NewState(m, ops)
		if err != nil {
			return nil, err
		}
		ids := tok.Encode(opt.Prompt, true, false)
		if len(ids)+opt.Tokens > m.SeqLen {
			return nil, fmt.Errorf("%w: %d prompt tokens + %d, seq_len %d", engine.ErrPromptTooLong, len(ids), opt.Tokens, m.SeqLen)
		}
		g := opt.Generate
		g.Steps = len(ids) + opt.Tokens
		g.BatchedPrefill = true
		gen, err := st.Generate(ctx, tok, opt.Prompt, g, nil)
		if err != nil {
			return nil, err
		}
		run.Text, run.IDs, run.Prompt, run.Elapsed = gen.Text, gen.IDs, gen.PromptTokens, gen.Elapsed
		e := engine.EncodingOf(m)
		e.KVElem = st.KV().Bytes()
		for pos := gen.PromptTokens - 1; pos < len(gen.IDs)-1; pos++ {
			run.Traffic.Add(engine.DecodeStepCost(m.Config, e, pos))
			run.Traffic.Steps++
		}
	}
	// Log-likelihood of what was generated, under the model, for every
	// strategy alike.
	if run.Generated() > 0 && !opt.NoLogP {
		st, err := engine.NewState(m, ops)
		if err != nil {
			return nil, err
		}
		_, nll, err := st.Perplexity(ctx, run.IDs)
		if err != nil {
			return nil, err
		}
		for _, v := range nll[run.Prompt-1:] {
			run.LogP -= v
		}
	}
	if !MultiHypothesis(opt.Strategy) {
		run.Score = run.LogP
	}
	return run, nil
}

// Repetitive measures degeneration: the longest run of one token repeated
// in the generated ids (" time time time" is 3).
func (r *DecodeRun) Repetitive() int {
	best, cur := 0, 0
	for i := r.Prompt; i < len(r.IDs); i++ {
		if i > r.Prompt && r.IDs[i] == r.IDs[i-1] {
			cur++
		} else {
			cur = 1
		}
		best = max(best, cur)
	}
	return best
}

// DecodeCompareOptions controls DecodeCompare.
type DecodeCompareOptions struct {
	DecodeOptions
	Widths   []int
	Repeats  int // interleaved batched/sequential pairs per width (default 5)
	Model    string
	Progress Progress
	Quick    []string
}

// WidthRuns is one width's runs, batched and sequential in turns.
type WidthRuns struct {
	Width      int
	Batched    []*DecodeRun
	Sequential []*DecodeRun
}

// DecodeCompareResult is a multi-hypothesis strategy at several widths,
// batched against sequential.
type DecodeCompareResult struct {
	Strategy string
	Model    string
	Prompt   string
	Tokens   int
	Widths   []WidthRuns
	Quick    []string
}

// DecodeCompare runs a multi-hypothesis strategy at each width, batched
// and sequential alternately Repeats times.
func DecodeCompare(ctx context.Context, m *engine.Model, tok *engine.Tokenizer, opt DecodeCompareOptions) (*DecodeCompareResult, error) {
	if !MultiHypothesis(opt.Strategy) {
		return nil, fmt.Errorf("comparing widths needs beam or contrastive search, not %q", opt.Strategy)
	}
	if len(opt.Widths) == 0 {
		return nil, fmt.Errorf("no widths to compare (e.g. 1,2,4,8)")
	}
	for _, w := range opt.Widths {
		if w < 1 {
			return nil, fmt.Errorf("widths must be positive, got %d", w)
		}
	}
	if opt.Repeats <= 0 {
		opt.Repeats = 5
	}
	r := &DecodeCompareResult{Strategy: opt.Strategy, Model: opt.Model, Prompt: opt.Prompt, Tokens: opt.Tokens, Quick: opt.Quick}
	for _, w := range opt.Widths {
		wr := WidthRuns{Width: w}
		for rep := 0; rep < opt.Repeats; rep++ {
			for _, batched := range []bool{true, false} {
				opt.Progress.say("%s width %d, batched=%v, run %d/%d…", opt.Strategy, w, batched, rep+1, opt.Repeats)
				o := opt.DecodeOptions
				o.Width, o.Batched = w, batched
				o.NoLogP = rep > 0 // only the first run's text and log p are shown
				run, err := Decode(ctx, m, tok, o)
				if err != nil {
					return nil, err
				}
				if batched {
					wr.Batched = append(wr.Batched, run)
				} else {
					wr.Sequential = append(wr.Sequential, run)
				}
			}
		}
		r.Widths = append(r.Widths, wr)
	}
	return r, nil
}

func msPerToken(runs []*DecodeRun) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = r.MsPerToken()
	}
	return out
}

// Conclusions: what grows with the width, batched and sequential, counted
// and measured, and whether the demo text means anything.
func (r *DecodeCompareResult) Conclusions() Conclusions {
	var cs Conclusions
	f, l := r.Widths[0], r.Widths[len(r.Widths)-1]
	wgrow := float64(l.Width) / float64(f.Width)
	fb, lb, fs, ls := f.Batched[0], l.Batched[0], f.Sequential[0], l.Sequential[0]
	bw0, bw1 := fb.PerToken(fb.Traffic.WeightBytes), lb.PerToken(lb.Traffic.WeightBytes)
	sw0, sw1 := fs.PerToken(fs.Traffic.WeightBytes), ls.PerToken(ls.Traffic.WeightBytes)
	bg, sg := bw1/bw0, sw1/sw0
	paper := "these algorithms effectively multiply the memory bandwidth requirement by the beam width (the paper, main.tex 297)"
	c := Conclusion{ID: "paper_batched", Claim: paper + ": batched", Source: Counted,
		Evidence: ev("weight_bytes_per_token_first", bw0, "weight_bytes_per_token_last", bw1, "growth", bg, "width_growth", wgrow)}
	if bg >= 0.9*wgrow {
		c.Verdict = Holds
	} else {
		c.Verdict = DoesNotHold
	}
	c.Text = fmt.Sprintf("batched, weight bytes per token go from %s at B=%d to %s at B=%d (×%.2f for ×%.3g hypotheses)",
		inspect.Human(bw0, "B"), f.Width, inspect.Human(bw1, "B"), l.Width, bg, wgrow)
	if c.Verdict == Holds {
		c.Text += ": batching did not spare the weight reads"
	} else {
		c.Text += ": one pass over the weights serves every hypothesis"
	}
	cs = append(cs, c)
	c = Conclusion{ID: "paper_sequential", Claim: paper + ": sequential", Source: Counted,
		Evidence: ev("weight_bytes_per_token_first", sw0, "weight_bytes_per_token_last", sw1, "growth", sg, "width_growth", wgrow)}
	if sg >= 0.9*wgrow {
		c.Verdict = Holds
	} else {
		c.Verdict = DoesNotHold
	}
	c.Text = fmt.Sprintf("sequential, %s to %s (×%.2f for ×%.3g hypotheses)", inspect.Human(sw0, "B"), inspect.Human(sw1, "B"), sg, wgrow)
	if c.Verdict == Holds {
		c.Text += ": one pass per hypothesis reads the weights B times"
	} else {
		c.Text += ": fewer passes over the weights than hypotheses"
	}
	cs = append(cs, c)

	kv0, kv1 := fb.PerToken(fb.Traffic.KVBytes), lb.PerToken(lb.Traffic.KVBytes)
	cp1 := lb.PerToken(lb.Traffic.CopyBytes)
	cs = append(cs, Conclusion{ID: "kv_growth", Claim: "key/value traffic grows with the width either way (each hypothesis has its own cache)", Source: Counted,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[kv1 > 1.5*kv0 || l.Width == f.Width],
		Evidence: ev("kv_bytes_per_token_first", kv0, "kv_bytes_per_token_last", kv1, "copy_bytes_per_token_last", cp1),
		Text: fmt.Sprintf("key/value reads per token ×%.2f from B=%d to B=%d, plus %s per token of cache copies at B=%d (reordering hypotheses)",
			kv1/kv0, f.Width, l.Width, inspect.Human(cp1, "B"), l.Width)})

	// Time, measured: batched against sequential at the largest width.
	cmp := inspect.Compare(inspect.Rates(msPerToken(l.Sequential)), inspect.Rates(msPerToken(l.Batched)), 0.95)
	v := Compared(cmp)
	cs = append(cs, Conclusion{ID: "batched_time", Claim: fmt.Sprintf("at B=%d batched decoding is faster than sequential", l.Width), Source: Measured,
		Verdict:  fasterHolds(v),
		Evidence: comparisonEvidence(cmp, "batched_ms_per_token", median(msPerToken(l.Batched)), "sequential_ms_per_token", median(msPerToken(l.Sequential))),
		Text: fmt.Sprintf("at B=%d: %.2f ms per token batched against %.2f sequential — batched is %s (%s)", l.Width,
			median(msPerToken(l.Batched)), median(msPerToken(l.Sequential)), v, intervalText(cmp))})
	// Does batching's extra arithmetic come free? Time per token at the
	// largest width against the smallest, batched.
	tgrow := median(msPerToken(l.Batched)) / median(msPerToken(f.Batched))
	free := Conclusion{ID: "batched_free", Claim: fmt.Sprintf("batching B=%d hypotheses costs little more time per token than B=%d (within 25%%)", l.Width, f.Width), Source: Measured,
		Evidence: ev("time_growth", tgrow, "flops_growth", lb.PerToken(lb.Traffic.Flops)/fb.PerToken(fb.Traffic.Flops))}
	if tgrow <= 1.25 {
		free.Verdict = Holds
		free.Text = fmt.Sprintf("time per token grows only ×%.2f from B=%d to B=%d batched while FLOPs (counted) grow ×%.2f: the extra arithmetic hides behind the weight reads", tgrow, f.Width, l.Width, free.Evidence["flops_growth"])
	} else {
		free.Verdict = DoesNotHold
		free.Text = fmt.Sprintf("time per token grows ×%.2f from B=%d to B=%d batched (FLOPs, counted, ×%.2f): the extra hypotheses are not free on this model", tgrow, f.Width, l.Width, free.Evidence["flops_growth"])
	}
	cs = append(cs, free)

	same, rep := 0, 0
	for _, w := range r.Widths {
		if w.Batched[0].Text == w.Sequential[0].Text {
			same++
		}
		rep = max(rep, w.Batched[0].Repetitive())
	}
	cs = append(cs, Conclusion{ID: "same_text", Claim: "batched and sequential search choose the same text", Source: Measured,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[same == len(r.Widths)],
		Evidence: ev("widths_same", same, "widths", len(r.Widths), "longest_repeat", rep),
		Text: fmt.Sprintf("the same text at %d of %d widths; the longest run of one repeated token is %d%s", same, len(r.Widths), rep,
			map[bool]string{true: " — degenerate text (random weights?): agreement then proves little", false: ""}[rep >= 3])})
	return cs
}

// Bundle renders the comparison.
func (r *DecodeCompareResult) Bundle() inspect.Bundle {
	t := inspect.Table{Title: fmt.Sprintf("%s search on %s: B hypotheses batched (one pass over the weights per step) against sequential (B passes)", r.Strategy, r.Model),
		Header: []string{"B", "mode", "weight MB/token", "KV MB/token", "copies MB/token", "GFLOP/token", "ms/token (median)", "log p", "text"}, MaxCell: 60}
	var js []map[string]any
	var xs, wbB, wbS, tB, tS []float64
	for _, w := range r.Widths {
		for _, runs := range [][]*DecodeRun{w.Batched, w.Sequential} {
			run := runs[0]
			mt := median(msPerToken(runs))
			t.Rows = append(t.Rows, []string{fmt.Sprint(run.Width), run.Mode(), fmt.Sprintf("%.2f", run.PerToken(run.Traffic.WeightBytes)/1e6),
				fmt.Sprintf("%.3f", run.PerToken(run.Traffic.KVBytes)/1e6), fmt.Sprintf("%.3f", run.PerToken(run.Traffic.CopyBytes)/1e6),
				fmt.Sprintf("%.3f", run.PerToken(run.Traffic.Flops)/1e9), fmt.Sprintf("%.2f", mt), fmt.Sprintf("%.2f", run.LogP), run.Text})
			js = append(js, map[string]any{"width": run.Width, "batched": run.Batched, "generated": run.Generated(), "text": run.Text, "logp": run.LogP,
				"weight_bytes_per_token": run.PerToken(run.Traffic.WeightBytes), "kv_bytes_per_token": run.PerToken(run.Traffic.KVBytes),
				"copy_bytes_per_token": run.PerToken(run.Traffic.CopyBytes), "flops_per_token": run.PerToken(run.Traffic.Flops),
				"ms_per_token": mt, "ms_per_token_runs": msPerToken(runs), "bytes_source": Counted})
		}
		xs = append(xs, float64(w.Width))
		wbB, wbS = append(wbB, w.Batched[0].PerToken(w.Batched[0].Traffic.WeightBytes)/1e6), append(wbS, w.Sequential[0].PerToken(w.Sequential[0].Traffic.WeightBytes)/1e6)
		tB, tS = append(tB, median(msPerToken(w.Batched))), append(tS, median(msPerToken(w.Sequential)))
	}
	t.Note = "bytes and FLOPs per generated token are counted by the cost model (weights: every pass over them; KV: every hypothesis's attention reads; copies: cache reordering), not measured; ms/token is measured, the median of interleaved runs"
	traffic := inspect.LineChart([]inspect.Series{{Name: "batched", X: xs, Y: wbB}, {Name: "sequential", X: xs, Y: wbS}},
		inspect.ChartOpts{Title: "Weight traffic per generated token (counted)", XLabel: "hypotheses B", YLabel: "MB", Height: 280})
	times := inspect.LineChart([]inspect.Series{{Name: "batched", X: xs, Y: tB}, {Name: "sequential", X: xs, Y: tS}},
		inspect.ChartOpts{Title: "Time per generated token (measured)", XLabel: "hypotheses B", YLabel: "ms", Height: 280})
	cs := r.Conclusions()
	pb, _ := cs.Find("paper_batched")
	ps, _ := cs.Find("paper_sequential")
	return inspect.Join([]inspect.Bundle{Quick(r.Quick), t.Bundle(), traffic, times, cs.Bundle()}, map[string]any{"strategy": r.Strategy, "tokens": r.Tokens, "prompt": r.Prompt,
		"rows": js, "weight_growth_batched": pb.Evidence["growth"], "weight_growth_sequential": ps.Evidence["growth"], "quick": len(r.Quick) > 0,
		"conclusions": cs.JSON()})
}
