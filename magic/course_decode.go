package magic

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/memwall/memwall/course"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

func (s *Interpreter) doDecode(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	a := c.args
	strategy := a.str("strategy", "greedy")
	known := false
	for _, k := range course.Strategies {
		known = known || k == strategy
	}
	if !known {
		return usagef(c.spec.usage(), "unknown strategy %q (expected %s)", strategy, strings.Join(course.Strategies, ", "))
	}
	prompt := c.text()
	if prompt == "" {
		prompt = "Once upon a time"
	}
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
	opt := course.DecodeOptions{Strategy: strategy, Prompt: prompt, Tokens: n, Width: width, Alpha: alpha, Batched: !a.bool("sequential"),
		Generate: g, Variant: s.variant, Threads: s.threads}
	if a.has("compare") {
		if !course.MultiHypothesis(strategy) {
			return usagef(c.spec.usage(), "--compare needs --strategy beam or contrastive (the strategies that run several hypotheses)")
		}
		widths, err := a.intList("compare", nil)
		if err != nil {
			return err
		}
		var changes []string
		opt.Tokens = s.quickInt(c, "n", 32, 12, "tokens", &changes)
		repeats := s.quickInt(c, "repeats", 5, 3, "runs per width and mode", &changes)
		prog := s.progress(c, "%decode")
		res, err := course.DecodeCompare(c.ctx, s.model, s.tok, course.DecodeCompareOptions{DecodeOptions: opt, Widths: widths, Repeats: repeats,
			Model: s.modelName(), Progress: prog, Quick: changes})
		if err != nil {
			return err
		}
		prog("done")
		s.display(c, res.Bundle())
		return nil
	}
	if a.bool("sequential") && !course.MultiHypothesis(strategy) {
		return usagef(c.spec.usage(), "--sequential applies to beam and contrastive search")
	}
	r, err := course.Decode(c.ctx, s.model, s.tok, opt)
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
		desc = fmt.Sprintf("beam search, width %d, %s", width, r.Mode())
	case "contrastive":
		desc = fmt.Sprintf("contrastive search, k=%d, alpha %g, %s", width, alpha, r.Mode())
	}
	gen := max(r.Generated(), 1)
	t := inspect.Table{Title: "Decoding: " + desc, Header: []string{"", ""}, RowHeader: true, MaxCell: 400,
		Rows: [][]string{
			{"text", prompt + r.Text},
			{"tokens generated", fmt.Sprint(r.Generated())},
			{"log p of the generated tokens", fmt.Sprintf("%.3f (%.3f per token)", r.LogP, r.LogP/float64(gen))},
			{"strategy score", fmt.Sprintf("%.4f", r.Score)},
			{"weight bytes per token (counted)", human(r.PerToken(r.Traffic.WeightBytes), "B")},
			{"KV-cache bytes per token (counted)", human(r.PerToken(r.Traffic.KVBytes), "B")},
			{"cache copies per token (counted)", human(r.PerToken(r.Traffic.CopyBytes), "B")},
			{"FLOPs per token (counted)", human(r.PerToken(r.Traffic.Flops), "")},
			{"time (measured)", fmt.Sprintf("%.1f ms (%.3f ms per token)", ms(r.Elapsed), r.MsPerToken())},
		}, Note: "counted: by the cost model (engine/cost.go), not measured"}
	s.display(c, join([]inspect.Bundle{t.Bundle()}, map[string]any{"strategy": strategy, "width": width, "batched": r.Batched, "mode": r.Mode(),
		"prompt": prompt, "text": r.Text, "ids": r.IDs, "generated": r.Generated(), "logp": r.LogP, "score": num(r.Score),
		"weight_bytes_per_token": r.PerToken(r.Traffic.WeightBytes), "kv_bytes_per_token": r.PerToken(r.Traffic.KVBytes),
		"copy_bytes_per_token": r.PerToken(r.Traffic.CopyBytes), "flops_per_token": r.PerToken(r.Traffic.Flops), "bytes_source": course.Counted,
		"elapsed_ms": ms(r.Elapsed), "ms_per_token": r.MsPerToken()}))
	return nil
}

// modelName is the loaded model's file name.
func (s *Interpreter) modelName() string { return filepath.Base(s.model.Path) }
