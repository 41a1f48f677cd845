package course

import (
	"context"
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// SpeculativeOptions controls Speculative.
type SpeculativeOptions struct {
	Draft string // as engine.Model.DraftModel takes it: layers:N, q8_0, q4_0,f16, ...
	// DraftModel, when set, is the draft m.DraftModel(Draft) already made
	// (a caller that checked Draft that way need not convert twice).
	DraftModel *engine.Model
	K          int // tokens drafted per full-model pass (default 4)
	Tokens     int // tokens to generate (default 64)
	Repeats    int // interleaved rounds of plain and speculative decoding (default 5)
	KV         engine.KVType
	Ops        *asm.Ops // nil: the fastest kernels, one thread
	// Through decodes past BOS and EOS (random-weight models).
	Through bool
}

// SpeculativeResult compares speculative decoding with plain greedy
// decoding of the same prompt on the same model.
type SpeculativeResult struct {
	Model, Draft, DraftDesc string
	K, Tokens               int
	KV                      string
	Kernels                 string
	// Measured, per interleaved repeat: decode tok/s after the prompt.
	PlainTokPerS, SpecTokPerS []float64
	// Counted in the last repeat (greedy decoding makes every repeat the
	// same): drafted and accepted tokens, full-model passes, draft passes.
	Drafted, Accepted, Passes, DraftPasses int
	WeightBytes, DraftWeightBytes          int64 // per pass
	Identical                              bool  // the outputs matched in every repeat
	Distinct                               int   // distinct generated tokens
	// Measured, medians over the repeats, in ms: a plain decoding pass
	// (one token), a verifying pass (up to K+1 tokens), a draft pass.
	PlainPassMs, VerifyPassMs, DraftPassMs float64
	Comparison                             inspect.Comparison
	Text                                   string
	Conclusions                            Conclusions
}

// Speculative decodes opt.Tokens tokens greedily from ids, plainly and
// speculatively with a draft made from m (opt.Draft), opt.Repeats times in
// alternating order after one untimed round of each, and concludes from
// the paired tok/s ratios.
func Speculative(ctx context.Context, m *engine.Model, tok *engine.Tokenizer, ids []int, opt SpeculativeOptions) (*SpeculativeResult, error) {
	if opt.K == 0 {
		opt.K = 4
	}
	if opt.Tokens == 0 {
		opt.Tokens = 64
	}
	if opt.Repeats == 0 {
		opt.Repeats = 5
	}
	if opt.K < 1 || opt.Tokens < 1 || opt.Repeats < 1 {
		return nil, fmt.Errorf("speculative decoding needs k, tokens and repeats of at least 1 (got %d, %d, %d)", opt.K, opt.Tokens, opt.Repeats)
	}
	if len(ids) == 0 {
		ids = []int{engine.BOS}
	}
	ops := opt.Ops
	if ops == nil {
		var err error
		if ops, err = asm.New("auto", 1); err != nil {
			return nil, err
		}
		defer ops.Close()
	}
	dm := opt.DraftModel
	if dm == nil {
		var err error
		if dm, err = m.DraftModel(opt.Draft); err != nil {
			return nil, err
		}
	}
	steps := min(len(ids)-1+opt.Tokens, m.SeqLen)
	run := func(spec bool) (*engine.Speculation, error) {
		s, err := engine.NewState(m, ops)
		if err != nil {
			return nil, err
		}
		if err := s.SetKV(opt.KV); err != nil {
			return nil, err
		}
		var d *engine.State
		if spec {
			if d, err = engine.NewState(dm, ops); err != nil {
				return nil, err
			}
			if err := d.SetKV(opt.KV); err != nil {
				return nil, err
			}
		}
		return engine.Speculate(ctx, s, d, tok, ids, engine.SpecOptions{K: opt.K, Steps: steps, Through: opt.Through}, nil)
	}
	r := &SpeculativeResult{Model: m.Path, Draft: opt.Draft, DraftDesc: engine.DraftDescribe(m, dm), K: opt.K,
		KV: opt.KV.String(), Kernels: fmt.Sprintf("%s, %d thread(s)", ops.Name, ops.Threads()),
		WeightBytes: m.WeightBytes(), DraftWeightBytes: dm.WeightBytes(), Identical: true}
	var plainPass, verifyPass, draftPass []float64
	for round := -1; round < opt.Repeats; round++ {
		var plain, spec *engine.Speculation
		for _, sp := range []bool{round%2 != 0, round%2 == 0} {
			g, err := run(sp)
			if err != nil {
				return nil, err
			}
			if sp {
				spec = g
			} else {
				plain = g
			}
		}
		if !slices.Equal(plain.IDs, spec.IDs) {
			r.Identical = false
		}
		if round < 0 {
			continue // warm-up, untimed
		}
		r.PlainTokPerS = append(r.PlainTokPerS, plain.DecodeTokPerSec())
		r.SpecTokPerS = append(r.SpecTokPerS, spec.DecodeTokPerSec())
		r.Tokens, r.Text = spec.Generated(), spec.Text
		seen := map[int]bool{}
		for _, id := range spec.IDs[spec.PromptTokens:] {
			seen[id] = true
		}
		r.Distinct = len(seen)
		r.Drafted, r.Accepted, r.Passes, r.DraftPasses = spec.Drafted, spec.Accepted, spec.Passes, spec.DraftPasses
		plainPass = append(plainPass, perMs(plain.VerifyTime, plain.Passes))
		verifyPass = append(verifyPass, perMs(spec.VerifyTime, spec.Passes))
		draftPass = append(draftPass, perMs(spec.DraftTime, spec.DraftPasses))
	}
	r.PlainPassMs, r.VerifyPassMs, r.DraftPassMs = median(plainPass), median(verifyPass), median(draftPass)
	r.Comparison = inspect.Compare(r.PlainTokPerS, r.SpecTokPerS, 0.95)
	r.Conclusions = r.conclude()
	return r, nil
}

// Acceptance is the fraction of drafted tokens kept.
func (r *SpeculativeResult) Acceptance() float64 {
	if r.Drafted == 0 {
		return 0
	}
	return float64(r.Accepted) / float64(r.Drafted)
}

// TokensPerPass is the generated tokens per full-model pass.
func (r *SpeculativeResult) TokensPerPass() float64 {
	if r.Passes == 0 {
		return 0
	}
	return float64(r.Tokens) / float64(r.Passes)
}

// BytesPerToken is the weight bytes read per generated token, full model
// and draft together, plain (one full pass a token) and speculative.
func (r *SpeculativeResult) BytesPerToken() (plain, spec float64) {
	if r.Tokens == 0 {
		return 0, 0
	}
	return float64(r.WeightBytes), float64(int64(r.Passes)*r.WeightBytes+int64(r.DraftPasses)*r.DraftWeightBytes) / float64(r.Tokens)
}

func perMs(d time.Duration, n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	return float64(d) / 1e6 / float64(n)
}

func (r *SpeculativeResult) conclude() Conclusions {
	bp, bs := r.BytesPerToken()
	var cs Conclusions
	cs = append(cs, Conclusion{ID: "tokens_per_pass", Claim: "each pass over the full model's weights yields more than one token",
		Verdict: map[bool]string{true: Holds, false: DoesNotHold}[r.TokensPerPass() > 1],
		Evidence: ev("drafted", r.Drafted, "accepted", r.Accepted, "acceptance", r.Acceptance(), "passes", r.Passes,
			"tokens", r.Tokens, "tokens_per_pass", r.TokensPerPass(), "k", r.K),
		Text: fmt.Sprintf("the draft proposed %d tokens, %d at a time, and the full model kept %d (%.0f%%): %d tokens from %d full-model passes, %.2f tokens per read of its weights",
			r.Drafted, r.K, r.Accepted, 100*r.Acceptance(), r.Tokens, r.Passes, r.TokensPerPass()),
		Source: Measured})
	cs = append(cs, Conclusion{ID: "bytes_per_token", Claim: "speculation reads fewer weight bytes per token, draft included",
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[bs < bp],
		Evidence: ev("plain_bytes_per_token", bp, "speculative_bytes_per_token", bs, "draft_passes", r.DraftPasses, "draft_weight_bytes", r.DraftWeightBytes),
		Text: fmt.Sprintf("weight bytes read per token: %.3g plain, %.3g speculative (%d full passes of %d bytes and %d draft passes of %d bytes over %d tokens)",
			bp, bs, r.Passes, r.WeightBytes, r.DraftPasses, r.DraftWeightBytes, r.Tokens),
		Source: Counted})
	v := Compared(r.Comparison)
	cs = append(cs, Conclusion{ID: "speedup", Claim: "speculative decoding is faster than plain greedy decoding", Verdict: fasterHolds(v),
		Evidence: comparisonEvidence(r.Comparison, "plain_tok_per_s", median(r.PlainTokPerS), "speculative_tok_per_s", median(r.SpecTokPerS)),
		Text: fmt.Sprintf("plain greedy %.1f tok/s, speculative %.1f tok/s (medians; %s): speculative against plain, %s",
			median(r.PlainTokPerS), median(r.SpecTokPerS), intervalText(r.Comparison), v),
		Source: Measured})
	// Why: what a verifying pass and a draft pass cost against one plain
	// token. Speculation wins when a pass over k+1 tokens costs about one
	// token's (the weights, not the arithmetic, set its time) and a draft
	// pass little.
	vr, dr := r.VerifyPassMs/r.PlainPassMs, r.DraftPassMs/r.PlainPassMs
	draftsPerPass := float64(r.DraftPasses) / math.Max(1, float64(r.Passes))
	model := r.TokensPerPass() / (vr + draftsPerPass*dr)
	cs = append(cs, Conclusion{ID: "parts", Claim: "a verifying pass costs about one plain token (under 1.5×) and a draft pass much less (under half)",
		Verdict: map[bool]string{true: Holds, false: DoesNotHold}[vr < 1.5 && dr < 0.5],
		Evidence: ev("plain_pass_ms", r.PlainPassMs, "verify_pass_ms", r.VerifyPassMs, "draft_pass_ms", r.DraftPassMs,
			"verify_over_plain", vr, "draft_over_plain", dr, "draft_passes_per_full_pass", draftsPerPass, "speedup_from_parts", model),
		Text: fmt.Sprintf("a plain pass took %.3g ms for one token; a verifying pass %.3g ms (%.2f× that) for up to %d tokens; a draft pass %.3g ms (%.2f×), %.2f of them per verifying pass: %.2f tokens per pass / (%.2f + %.2f × %.2f) = %.2f× from these parts",
			r.PlainPassMs, r.VerifyPassMs, vr, r.K+1, r.DraftPassMs, dr, draftsPerPass, r.TokensPerPass(), vr, draftsPerPass, dr, model),
		Source: Measured})
	same := fmt.Sprintf("the speculative output was token for token plain greedy decoding's in every repeat (%d distinct tokens among the %d generated)", r.Distinct, r.Tokens)
	if !r.Identical {
		same = "the speculative output DIFFERED from plain greedy decoding's: that is a bug"
	}
	cs = append(cs, Conclusion{ID: "identical", Claim: "speculative decoding changes no token",
		Verdict: map[bool]string{true: Holds, false: DoesNotHold}[r.Identical], Evidence: ev("tokens", r.Tokens, "distinct_tokens", r.Distinct), Text: same, Source: Measured})
	if r.Distinct*4 < r.Tokens {
		cs = append(cs, Conclusion{ID: "repetitive", Claim: "the generated text is varied enough for acceptance to mean something",
			Verdict: DoesNotHold, Evidence: ev("tokens", r.Tokens, "distinct_tokens", r.Distinct),
			Text:   fmt.Sprintf("only %d distinct tokens among %d: a repetitive sequence (as random weights give) is easy to draft, so this acceptance says little about real text", r.Distinct, r.Tokens),
			Source: Measured})
	}
	return cs
}

// Bundle renders the result: what ran, then the conclusions.
func (r *SpeculativeResult) Bundle() inspect.Bundle {
	head := fmt.Sprintf("speculative decoding on %s: draft %s (%s), k=%d, kv cache %s, %s, %d tokens, %d interleaved repeats",
		r.Model, r.Draft, r.DraftDesc, r.K, r.KV, r.Kernels, r.Tokens, len(r.SpecTokPerS))
	c := r.Conclusions.Bundle()
	var tb strings.Builder
	tb.WriteString(head + "\n" + c.Text)
	return inspect.Bundle{Text: tb.String(), HTML: "<p>" + html.EscapeString(head) + "</p>" + c.HTML, JSON: r.JSON()}
}

// JSON is the result as data; the field names are part of memwall bench
// --speculative's interface.
func (r *SpeculativeResult) JSON() map[string]any {
	bp, bs := r.BytesPerToken()
	return map[string]any{
		"model": r.Model, "draft": r.Draft, "draft_description": r.DraftDesc, "k": r.K, "kv_cache": r.KV, "kernels": r.Kernels,
		"tokens": r.Tokens, "plain_tok_per_s": r.PlainTokPerS, "speculative_tok_per_s": r.SpecTokPerS,
		"drafted": r.Drafted, "accepted": r.Accepted, "acceptance_rate": r.Acceptance(), "full_passes": r.Passes,
		"draft_passes": r.DraftPasses, "tokens_per_full_pass": r.TokensPerPass(),
		"weight_bytes_per_full_pass": r.WeightBytes, "weight_bytes_per_draft_pass": r.DraftWeightBytes,
		"weight_bytes_per_token_plain": bp, "weight_bytes_per_token_speculative": bs,
		"plain_pass_ms": Num(r.PlainPassMs), "verify_pass_ms": Num(r.VerifyPassMs), "draft_pass_ms": Num(r.DraftPassMs),
		"identical_to_greedy": r.Identical, "distinct_tokens": r.Distinct, "speedup": r.Comparison, "verdict": Compared(r.Comparison),
		"conclusions": r.Conclusions.JSON(),
	}
}
