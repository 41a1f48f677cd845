package magic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// decodeStrategies are %decode's strategies.
var decodeStrategies = []string{"greedy", "sample", "topk", "topp", "beam", "contrastive"}

// decodeRun is one decoding with its cost.
type decodeRun struct {
	strategy string
	width    int
	batched  bool
	text     string
	ids      []int
	prompt   int
	score    float64 // the strategy's own score (beam: log p; contrastive: its objective)
	logp     float64 // log-likelihood of the generated tokens under the model
	traffic  engine.Traffic
	elapsed  time.Duration
}

func (r *decodeRun) generated() int { return len(r.ids) - r.prompt }

func (r *decodeRun) perToken(v int64) float64 {
	if r.generated() == 0 {
		return 0
	}
	return float64(v) / float64(r.generated())
}

func (r *decodeRun) mode() string {
	switch {
	case r.strategy != "beam" && r.strategy != "contrastive":
		return "one sequence"
	case r.batched:
		return "batched"
	default:
		return "sequential"
	}
}

// decodeOnce runs one strategy on the session's model.
func (s *Interpreter) decodeOnce(ctx context.Context, strategy, prompt string, n, width int, alpha float64, batched bool, g engine.GenerateOptions) (*decodeRun, error) {
	m := s.model
	ops, err := asm.New(s.variant, s.threads)
	if err != nil {
		return nil, err
	}
	defer ops.Close()
	run := &decodeRun{strategy: strategy, width: width, batched: batched}
	switch strategy {
	case "beam", "contrastive":
		b, err := engine.NewBatch(m, ops, width)
		if err != nil {
			return nil, err
		}
		var d *engine.Decoded
		if strategy == "beam" {
			d, err = engine.BeamSearch(ctx, m, s.tok, prompt, width, n, batched, b)
		} else {
			d, err = engine.ContrastiveSearch(ctx, m, s.tok, prompt, width, alpha, n, batched, b)
		}
		if err != nil {
			return nil, err
		}
		run.text, run.ids, run.prompt, run.score, run.traffic, run.elapsed = d.Text, d.IDs, d.PromptTokens, d.Score, d.Traffic, d.Elapsed
	default:
		st, err := engine.NewState(m, ops)
		if err != nil {
			return nil, err
		}
		ids := s.tok.Encode(prompt, true, false)
		if len(ids)+n > m.SeqLen {
			return nil, fmt.Errorf("%w: %d prompt tokens + %d, seq_len %d", engine.ErrPromptTooLong, len(ids), n, m.SeqLen)
		}
		g.Steps = len(ids) + n
		g.BatchedPrefill = true
		gen, err := st.Generate(ctx, s.tok, prompt, g, nil)
		if err != nil {
			return nil, err
		}
		run.text, run.ids, run.prompt, run.elapsed = gen.Text, gen.IDs, gen.PromptTokens, gen.Elapsed
		c := m.Config
		for pos := gen.PromptTokens - 1; pos < len(gen.IDs)-1; pos++ {
			run.traffic.WeightBytes += m.WeightBytes()
			run.traffic.KVBytes += 2 * 4 * int64(pos+1) * int64(c.KVDim()) * int64(c.Heads/c.KVHeads) * int64(c.Layers)
			run.traffic.Flops += m.MatFlops() + 4*int64(pos+1)*int64(c.Dim)*int64(c.Layers)
			run.traffic.Steps++
		}
	}
	// Log-likelihood of what was generated, under the model, for every
	// strategy alike.
	if run.generated() > 0 {
		st, err := engine.NewState(m, ops)
		if err != nil {
			return nil, err
		}
		_, nll, err := st.Perplexity(ctx, run.ids)
		if err != nil {
			return nil, err
		}
		for _, v := range nll[run.prompt-1:] {
			run.logp -= v
		}
	}
	if strategy != "beam" && strategy != "contrastive" {
		run.score = run.logp
	}
	return run, nil
}

func (s *Interpreter) doDecode(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	a := c.args
	strategy := a.str("strategy", "greedy")
	known := false
	for _, k := range decodeStrategies {
		known = known || k == strategy
	}
	if !known {
		return usagef(c.spec.usage(), "unknown strategy %q (expected %s)", strategy, strings.Join(decodeStrategies, ", "))
	}
	prompt := c.text()
	if prompt == "" {
		prompt = "Once upon a time"
	}
	var changes []string
	n := a.int("n", 32)
	width := a.int("width", 4)
	alpha := a.float("alpha", 0.6)
	if n <= 0 || width < 1 || alpha < 0 || alpha > 1 {
		return usagef(c.spec.usage(), "-n and --width must be positive and --alpha in [0, 1]")
	}
	g := engine.GenerateOptions{Seed: uint64(a.int("seed", 42))}
	switch strategy {
	case "sample":
		g.Temperature = float32(a.float("temperature", 1))
	case "topk":
		g.Temperature, g.TopK = float32(a.float("temperature", 1)), a.int("top-k", 20)
	case "topp":
		g.Temperature, g.TopP = float32(a.float("temperature", 1)), float32(a.float("top-p", 0.9))
	}
	if a.has("compare") {
		if strategy != "beam" && strategy != "contrastive" {
			return usagef(c.spec.usage(), "--compare needs --strategy beam or contrastive (the strategies that run several hypotheses)")
		}
		widths, err := a.intList("compare", nil)
		if err != nil {
			return err
		}
		n = s.quickInt(c, "n", 32, 12, "tokens", &changes)
		return s.decodeCompare(c, strategy, prompt, n, widths, alpha, changes)
	}
	if a.bool("sequential") && strategy != "beam" && strategy != "contrastive" {
		return usagef(c.spec.usage(), "--sequential applies to beam and contrastive search")
	}
	r, err := s.decodeOnce(c.ctx, strategy, prompt, n, width, alpha, !a.bool("sequential"), g)
	if err != nil {
		return err
	}
	desc := strategy
	switch strategy {
	case "sample":
		desc = fmt.Sprintf("sampling at temperature %g (seed %d)", g.Temperature, g.Seed)
	case "topk":
		desc = fmt.Sprintf("top-k sampling, k=%d, temperature %g (seed %d)", g.TopK, g.Temperature, g.Seed)
	case "topp":
		desc = fmt.Sprintf("nucleus sampling, p=%g, temperature %g (seed %d)", g.TopP, g.Temperature, g.Seed)
	case "beam":
		desc = fmt.Sprintf("beam search, width %d, %s", width, r.mode())
	case "contrastive":
		desc = fmt.Sprintf("contrastive search, k=%d, alpha %g, %s", width, alpha, r.mode())
	}
	gen := max(r.generated(), 1)
	t := inspect.Table{Title: "Decoding: " + desc, Header: []string{"", ""}, RowHeader: true, MaxCell: 400,
		Rows: [][]string{
			{"text", prompt + r.text},
			{"tokens generated", fmt.Sprint(r.generated())},
			{"log p of the generated tokens", fmt.Sprintf("%.3f (%.3f per token)", r.logp, r.logp/float64(gen))},
			{"strategy score", fmt.Sprintf("%.4f", r.score)},
			{"weight bytes per token", human(r.perToken(r.traffic.WeightBytes), "B")},
			{"KV-cache bytes per token", human(r.perToken(r.traffic.KVBytes), "B")},
			{"FLOPs per token", human(r.perToken(r.traffic.Flops), "")},
			{"time", fmt.Sprintf("%.1f ms (%.3f ms per token)", ms(r.elapsed), ms(r.elapsed)/float64(gen))},
		}}
	s.display(c, join(parts(quickBundle(changes), t.Bundle()), map[string]any{"strategy": strategy, "width": width, "batched": r.batched, "mode": r.mode(),
		"prompt": prompt, "text": r.text, "ids": r.ids, "generated": r.generated(), "logp": r.logp, "score": num(r.score),
		"weight_bytes_per_token": r.perToken(r.traffic.WeightBytes), "kv_bytes_per_token": r.perToken(r.traffic.KVBytes),
		"flops_per_token": r.perToken(r.traffic.Flops), "elapsed_ms": ms(r.elapsed), "ms_per_token": ms(r.elapsed) / float64(gen)}))
	return nil
}

// decodeCompare runs a multi-hypothesis strategy at several widths, batched
// and sequentially, and compares the traffic.
func (s *Interpreter) decodeCompare(c *call, strategy, prompt string, n int, widths []int, alpha float64, changes []string) error {
	if len(widths) == 0 {
		return errors.New("--compare needs a list of widths, e.g. 1,2,4,8")
	}
	for _, w := range widths {
		if w < 1 {
			return fmt.Errorf("--compare: widths must be positive, got %d", w)
		}
	}
	id := s.newDisplayID()
	c.out.Display(toKernel(inspect.Bundle{Text: "%decode: comparing…"}), id)
	type pair struct{ b, q *decodeRun }
	var rows []pair
	for _, w := range widths {
		var p pair
		for _, batched := range []bool{true, false} {
			c.out.Update(toKernel(inspect.Bundle{Text: fmt.Sprintf("%%decode: %s width %d, batched=%v…", strategy, w, batched)}), id)
			r, err := s.decodeOnce(c.ctx, strategy, prompt, n, w, alpha, batched, engine.GenerateOptions{})
			if err != nil {
				return err
			}
			if batched {
				p.b = r
			} else {
				p.q = r
			}
		}
		rows = append(rows, p)
	}
	c.out.Update(toKernel(inspect.Bundle{Text: "%decode: done"}), id)
	t := inspect.Table{Title: fmt.Sprintf("%s search on %s: B hypotheses batched (one pass over the weights per step) against sequential (B passes)", strategy, s.modelName()),
		Header: []string{"B", "mode", "weight MB/token", "KV MB/token", "GFLOP/token", "ms/token", "log p", "same text as batched"}}
	var js []map[string]any
	var xs, wbB, wbS, tB, tS []float64
	for _, p := range rows {
		for _, r := range []*decodeRun{p.b, p.q} {
			gen := float64(max(r.generated(), 1))
			same := ""
			if r == p.q {
				same = yesNo(r.text == p.b.text)
			}
			t.Rows = append(t.Rows, []string{fmt.Sprint(r.width), r.mode(), fmt.Sprintf("%.2f", r.perToken(r.traffic.WeightBytes)/1e6), fmt.Sprintf("%.3f", r.perToken(r.traffic.KVBytes)/1e6),
				fmt.Sprintf("%.3f", r.perToken(r.traffic.Flops)/1e9), fmt.Sprintf("%.2f", ms(r.elapsed)/gen), fmt.Sprintf("%.2f", r.logp), same})
			js = append(js, map[string]any{"width": r.width, "batched": r.batched, "generated": r.generated(), "text": r.text, "logp": r.logp,
				"weight_bytes_per_token": r.perToken(r.traffic.WeightBytes), "kv_bytes_per_token": r.perToken(r.traffic.KVBytes),
				"flops_per_token": r.perToken(r.traffic.Flops), "ms_per_token": ms(r.elapsed) / gen})
		}
		xs = append(xs, float64(p.b.width))
		wbB, wbS = append(wbB, p.b.perToken(p.b.traffic.WeightBytes)/1e6), append(wbS, p.q.perToken(p.q.traffic.WeightBytes)/1e6)
		tB, tS = append(tB, ms(p.b.elapsed)/float64(max(p.b.generated(), 1))), append(tS, ms(p.q.elapsed)/float64(max(p.q.generated(), 1)))
	}
	t.Note = "per generated token of the chosen sequence; weight bytes count every pass over the weights, KV bytes every hypothesis's attention reads"
	traffic := inspect.LineChart([]inspect.Series{{Name: "batched", X: xs, Y: wbB}, {Name: "sequential", X: xs, Y: wbS}},
		inspect.ChartOpts{Title: "Weight traffic per generated token", XLabel: "hypotheses B", YLabel: "MB", Height: 280})
	times := inspect.LineChart([]inspect.Series{{Name: "batched", X: xs, Y: tB}, {Name: "sequential", X: xs, Y: tS}},
		inspect.ChartOpts{Title: "Time per generated token", XLabel: "hypotheses B", YLabel: "ms", Height: 280})
	f, l := rows[0], rows[len(rows)-1]
	ratio := func(a, b float64) float64 { return b / math.Max(a, 1e-300) }
	lines := []string{
		fmt.Sprintf("batched: weight traffic per token goes from %.2f MB at B=%d to %.2f MB at B=%d (×%.2f): each step reads every weight once for all hypotheses",
			wbB[0], f.b.width, wbB[len(wbB)-1], l.b.width, ratio(wbB[0], wbB[len(wbB)-1])),
		fmt.Sprintf("sequential: %.2f MB to %.2f MB (×%.2f): B separate passes read the weights B times — only this version multiplies bandwidth by the width",
			wbS[0], wbS[len(wbS)-1], ratio(wbS[0], wbS[len(wbS)-1])),
		fmt.Sprintf("what does grow with B either way: FLOPs per token ×%.2f and KV-cache bytes ×%.2f (each hypothesis has its own cache)",
			ratio(f.b.perToken(f.b.traffic.Flops), l.b.perToken(l.b.traffic.Flops)), ratio(f.b.perToken(f.b.traffic.KVBytes), l.b.perToken(l.b.traffic.KVBytes))),
		fmt.Sprintf("time per token at B=%d: %.2f ms batched against %.2f ms sequential (%.1f× faster); from B=%d to B=%d batched time grows ×%.2f, sequential ×%.2f",
			l.b.width, tB[len(tB)-1], tS[len(tS)-1], tS[len(tS)-1]/tB[len(tB)-1], f.b.width, l.b.width, ratio(tB[0], tB[len(tB)-1]), ratio(tS[0], tS[len(tS)-1])),
	}
	s.display(c, join(parts(quickBundle(changes), t.Bundle(), traffic, times, conclusion(lines)), map[string]any{"strategy": strategy, "tokens": n, "prompt": prompt,
		"rows": js, "weight_growth_batched": ratio(wbB[0], wbB[len(wbB)-1]), "weight_growth_sequential": ratio(wbS[0], wbS[len(wbS)-1]), "quick": s.opts.Quick}))
	return nil
}

func (s *Interpreter) modelName() string {
	p := s.model.Path
	return p[strings.LastIndex(p, "/")+1:]
}
