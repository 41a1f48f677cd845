package course

import (
	"context"
	"fmt"
	"time"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// TurnTaking is the gap people leave between turns in conversation: a
// first token later than this is noticed as a pause.
const TurnTaking = 200 * time.Millisecond

// TightTail is the P99/P50 ratio up to which the latency course calls a
// tail tight: P99 within a quarter of P50.
const TightTail = 1.25

// LatencyOptions controls Latency. Zero values take the defaults.
type LatencyOptions struct {
	Tokens   int // decoded from position 0 (default 256)
	Warmup   int // first tokens left out of the distribution (default 4)
	Prompt   int // prompt length for time to first token (default 64)
	Repeats  int // interleaved repeats of the time to first token (default 5, the fewest a comparison decides from)
	Label    string
	Progress Progress
	Quick    []string // what quick mode changed, shown with the result
}

// LatencyResult is the per-token latency of one decoding.
type LatencyResult struct {
	Label          string
	Variant        string
	Threads        int
	Tokens, Warmup int
	Prompt         int
	ColdFirstMs    float64 // first token with this process's mapping evicted
	WarmFirstMs    float64
	Evicted        bool
	Ms             []float64 // whole token, per position 0..Tokens-1
	AttentionMs    []float64 // attention's part, per position
	Steady         inspect.Latency
	Drift          inspect.Line // ms against position, after warm-up
	AttnDrift      inspect.Line // attention ms against position, after warm-up
	Window         int          // tokens averaged at each end
	EarlyMs        float64
	LateMs         float64
	AttEarlyMs     float64
	AttLateMs      float64
	// Time to first token of a Prompt-token prompt, repeated and
	// interleaved: batched prefill cold once, then warm batched and token
	// by token in turns.
	TTFTBatchedColdMs float64
	TTFTBatchedMs     []float64
	TTFTTokenMs       []float64
	Quick             []string
}

// Latency measures per-token latency on m with ops: a cold and a warm first
// token, Tokens tokens decoded greedily from position 0 (each timed, with
// attention's share from the profiler), then the time to first token of a
// prompt by batched prefill and token by token.
func Latency(ctx context.Context, m *engine.Model, ops *asm.Ops, opt LatencyOptions) (*LatencyResult, error) {
	if opt.Tokens == 0 {
		opt.Tokens = 256
	}
	if opt.Warmup == 0 {
		opt.Warmup = 4
	}
	if opt.Prompt == 0 {
		opt.Prompt = 64
	}
	if opt.Repeats == 0 {
		opt.Repeats = 5
	}
	n, prompt := min(opt.Tokens, m.SeqLen), min(opt.Prompt, m.SeqLen)
	if n < 8 || prompt < 1 || opt.Warmup < 0 || opt.Warmup >= n/2 || opt.Repeats < 1 {
		return nil, fmt.Errorf("latency: want at least 8 tokens, a positive prompt, warm-up in [0, tokens/2) and repeats >= 1 (got %d, %d, %d, %d)", n, prompt, opt.Warmup, opt.Repeats)
	}
	r := &LatencyResult{Label: opt.Label, Variant: ops.Name, Threads: ops.Threads(), Tokens: n, Warmup: opt.Warmup, Prompt: prompt, Quick: opt.Quick}
	firstToken := func() (float64, error) {
		st, err := engine.NewState(m, ops)
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		_, err = st.Forward(ctx, engine.BOS, 0)
		return ms(time.Since(t0)), err
	}
	opt.Progress.say("cold first token…")
	if r.Evicted = m.Mapped(); r.Evicted {
		if err := m.Evict(); err != nil {
			return nil, err
		}
	}
	var err error
	if r.ColdFirstMs, err = firstToken(); err != nil {
		return nil, err
	}
	if r.WarmFirstMs, err = firstToken(); err != nil {
		return nil, err
	}

	opt.Progress.say("decoding %d tokens…", n)
	st, err := engine.NewState(m, ops)
	if err != nil {
		return nil, err
	}
	prof := engine.NewProfile()
	st.Profile = prof
	attn := func() time.Duration {
		for _, o := range prof.Ops() {
			if o.Name == "attention" {
				return o.Time
			}
		}
		return 0
	}
	r.Ms, r.AttentionMs = make([]float64, 0, n), make([]float64, 0, n)
	a0 := attn()
	if _, err := st.DecodeGreedy(ctx, engine.BOS, 0, n, func(_, _ int, d time.Duration) {
		a := attn()
		r.Ms, r.AttentionMs = append(r.Ms, ms(d)), append(r.AttentionMs, ms(a-a0))
		a0 = a
	}); err != nil {
		return nil, err
	}

	opt.Progress.say("time to first token of a %d-token prompt…", prompt)
	ttft := func(batched, evict bool) (float64, error) {
		st, err := engine.NewState(m, ops)
		if err != nil {
			return 0, err
		}
		if evict && m.Mapped() {
			if err := m.Evict(); err != nil {
				return 0, err
			}
		}
		d, err := st.TimeToFirstToken(ctx, prompt, batched)
		return ms(d), err
	}
	if r.TTFTBatchedColdMs, err = ttft(true, true); err != nil {
		return nil, err
	}
	for i := 0; i < opt.Repeats; i++ {
		b, err := ttft(true, false)
		if err != nil {
			return nil, err
		}
		t, err := ttft(false, false)
		if err != nil {
			return nil, err
		}
		r.TTFTBatchedMs, r.TTFTTokenMs = append(r.TTFTBatchedMs, b), append(r.TTFTTokenMs, t)
	}
	r.analyse()
	return r, nil
}

// analyse computes the statistics from Ms and AttentionMs.
func (r *LatencyResult) analyse() {
	steady := r.Ms[r.Warmup:]
	r.Steady = inspect.LatencyOf(steady)
	pos := make([]float64, len(steady))
	for i := range pos {
		pos[i] = float64(i + r.Warmup)
	}
	r.Drift = inspect.Fit(pos, steady)
	r.AttnDrift = inspect.Fit(pos, r.AttentionMs[r.Warmup:])
	r.Window = max(4, len(steady)/8)
	w := r.Window
	r.EarlyMs, r.LateMs = mean(steady[:w]), mean(steady[len(steady)-w:])
	att := r.AttentionMs[r.Warmup:]
	r.AttEarlyMs, r.AttLateMs = mean(att[:w]), mean(att[len(att)-w:])
}

// DriftPct is the change from the first to the last Window tokens.
func (r *LatencyResult) DriftPct() float64 { return 100 * (r.LateMs/r.EarlyMs - 1) }

// TTFT compares token-by-token against batched prefill as rates (1/ms):
// Slower means token by token is slower.
func (r *LatencyResult) TTFT() inspect.Comparison {
	return inspect.Compare(inspect.Rates(r.TTFTBatchedMs), inspect.Rates(r.TTFTTokenMs), 0.95)
}

// Conclusions computes the latency findings from the result's numbers.
func (r *LatencyResult) Conclusions() Conclusions {
	var cs Conclusions
	L := r.Steady
	tail := Conclusion{ID: "tail", Claim: fmt.Sprintf("the P50–P99 spread is tight (P99 within %.0f%% of P50)", 100*(TightTail-1)), Source: Measured,
		Evidence: ev("p50_ms", L.P50, "p99_ms", L.P99, "samples", L.N)}
	switch {
	case !inspect.TailSupported(L.N, 99):
		tail.Verdict = Unsupported
		tail.Text = fmt.Sprintf("%d steady tokens cannot support a P99 (it needs %d): decode more tokens to judge the tail", L.N, inspect.TailNeeds(99))
	case L.P99/L.P50 <= TightTail:
		tail.Verdict = Holds
		tail.Evidence["p99_over_p50"] = L.P99 / L.P50
		tail.Text = fmt.Sprintf("P50 %.3f ms, P99 %.3f ms: P99 is %.2f× P50, a tight spread", L.P50, L.P99, L.P99/L.P50)
	default:
		tail.Verdict = DoesNotHold
		tail.Evidence["p99_over_p50"] = L.P99 / L.P50
		tail.Text = fmt.Sprintf("P50 %.3f ms, P99 %.3f ms: P99 is %.2f× P50, a wide tail", L.P50, L.P99, L.P99/L.P50)
	}
	cs = append(cs, tail)

	d := r.Drift
	drift := Conclusion{ID: "drift", Claim: "per-token latency grows with position", Source: Measured,
		Evidence: ev("slope_ms_per_position", d.Slope, "slope_se", d.SlopeSE, "drift_pct", r.DriftPct(), "early_ms", r.EarlyMs, "late_ms", r.LateMs)}
	switch d.Trend() {
	case 1:
		drift.Verdict = Holds
		drift.Text = fmt.Sprintf("latency drifts up %+.4f ms per position (±%.4f, two standard errors clear of zero): %.3f ms over the first %d tokens, %.3f over the last (%+.1f%%)",
			d.Slope, d.SlopeSE, r.EarlyMs, r.Window, r.LateMs, r.DriftPct())
	case -1:
		drift.Verdict = DoesNotHold
		drift.Text = fmt.Sprintf("latency drifts down %.4f ms per position (±%.4f): the later tokens were faster (%+.1f%% from the first %d to the last), so nothing here grows with the cache",
			d.Slope, d.SlopeSE, r.DriftPct(), r.Window)
	default:
		drift.Verdict = NoDiff
		drift.Text = fmt.Sprintf("the slope of latency against position, %+.4f ms per position, is within two standard errors (±%.4f) of zero: no drift beyond noise (%+.1f%% first to last %d tokens)",
			d.Slope, d.SlopeSE, r.DriftPct(), r.Window)
	}
	cs = append(cs, drift)

	if d.Trend() == 1 {
		grow, agrow := r.LateMs-r.EarlyMs, r.AttLateMs-r.AttEarlyMs
		share := agrow / grow
		c := Conclusion{ID: "drift_attention", Claim: "attention reading a longer key/value cache accounts for most of the growth", Source: Measured,
			Evidence: ev("growth_ms", grow, "attention_growth_ms", agrow, "attention_share", share, "attention_early_ms", r.AttEarlyMs, "attention_late_ms", r.AttLateMs)}
		if share >= 0.5 {
			c.Verdict = Holds
			c.Text = fmt.Sprintf("attention grew %.3f → %.3f ms per token, %.0f%% of the token's growth", r.AttEarlyMs, r.AttLateMs, 100*share)
		} else {
			c.Verdict = DoesNotHold
			c.Text = fmt.Sprintf("attention grew only %.3f → %.3f ms per token, %.0f%% of the token's growth: most of it is elsewhere", r.AttEarlyMs, r.AttLateMs, 100*share)
		}
		cs = append(cs, c)
	}

	first := Conclusion{ID: "first_token", Claim: "the first token is slower than every steady-state token", Source: Measured,
		Evidence: ev("cold_first_ms", r.ColdFirstMs, "warm_first_ms", r.WarmFirstMs, "p50_ms", L.P50, "max_ms", L.Max)}
	if r.ColdFirstMs > L.Max {
		first.Verdict = Holds
		first.Text = fmt.Sprintf("the first token took %.2f ms cold (%.2f warm), %.1f× the steady P50 of %.3f ms and above the slowest steady token (%.3f ms)",
			r.ColdFirstMs, r.WarmFirstMs, r.ColdFirstMs/L.P50, L.P50, L.Max)
	} else {
		first.Verdict = DoesNotHold
		first.Text = fmt.Sprintf("the cold first token (%.2f ms) was no slower than the slowest steady token (%.3f ms)", r.ColdFirstMs, L.Max)
	}
	cs = append(cs, first)

	bm, tm := median(r.TTFTBatchedMs), median(r.TTFTTokenMs)
	thr := float64(TurnTaking.Milliseconds())
	tt := Conclusion{ID: "ttft_threshold", Claim: fmt.Sprintf("a %d-token prompt is answered within the %.0f ms turn-taking threshold (batched prefill, warm)", r.Prompt, thr), Source: Measured,
		Evidence: ev("ttft_batched_ms", bm, "ttft_batched_cold_ms", r.TTFTBatchedColdMs, "threshold_ms", thr)}
	if bm <= thr {
		tt.Verdict = Holds
		tt.Text = fmt.Sprintf("batched prefill answers a %d-token prompt in %.1f ms (median; %.1f ms cold), under the %.0f ms turn-taking threshold", r.Prompt, bm, r.TTFTBatchedColdMs, thr)
	} else {
		tt.Verdict = DoesNotHold
		tt.Text = fmt.Sprintf("batched prefill needs %.1f ms (median) for a %d-token prompt, over the %.0f ms turn-taking threshold", bm, r.Prompt, thr)
	}
	cs = append(cs, tt)

	cmp := r.TTFT()
	pc := Conclusion{ID: "prefill", Claim: "token-by-token prefill is slower than batched prefill", Source: Measured,
		Evidence: comparisonEvidence(cmp, "ttft_batched_ms", bm, "ttft_token_by_token_ms", tm)}
	switch v := Compared(cmp); v {
	case Slower:
		pc.Verdict = Holds
		pc.Text = fmt.Sprintf("token by token took %.1f ms against %.1f ms batched: %.1f× slower (%s)", tm, bm, tm/bm, intervalText(cmp))
	case Faster:
		pc.Verdict = DoesNotHold
		pc.Text = fmt.Sprintf("token by token was faster than batched prefill here (%.1f against %.1f ms; %s)", tm, bm, intervalText(cmp))
	default:
		pc.Verdict = v
		pc.Text = fmt.Sprintf("token by token %.1f ms against batched %.1f ms: %s (%s)", tm, bm, v, intervalText(cmp))
	}
	cs = append(cs, pc)
	return cs
}

// JSON is the result's numbers and conclusions.
func (r *LatencyResult) JSON() map[string]any {
	L := r.Steady
	return map[string]any{"model": r.Label, "variant": r.Variant, "threads": r.Threads, "tokens": r.Tokens, "warmup": r.Warmup, "prompt": r.Prompt,
		"cold_first_ms": r.ColdFirstMs, "warm_first_ms": r.WarmFirstMs, "p50_ms": Num(L.P50), "p99_ms": Num(L.P99), "p999_ms": Num(L.P999),
		"max_ms": Num(L.Max), "cv": Num(L.CV), "percentile_definition": inspect.PercentileDefinition, "percentiles_unsupported": L.Unsupported,
		"drift_pct": Num(r.DriftPct()), "slope_ms_per_pos": Num(r.Drift.Slope), "slope_se": Num(r.Drift.SlopeSE),
		"attention_early_ms": r.AttEarlyMs, "attention_late_ms": r.AttLateMs, "ttft_batched_cold_ms": r.TTFTBatchedColdMs,
		"ttft_batched_ms": median(r.TTFTBatchedMs), "ttft_token_by_token_ms": median(r.TTFTTokenMs),
		"ttft_batched_runs_ms": r.TTFTBatchedMs, "ttft_token_by_token_runs_ms": r.TTFTTokenMs,
		"threshold_ms": TurnTaking.Milliseconds(), "ms": r.Ms, "attention_ms": r.AttentionMs, "quick": len(r.Quick) > 0,
		"conclusions": r.Conclusions().JSON()}
}

// Bundle renders the table, the charts and the conclusions.
func (r *LatencyResult) Bundle() inspect.Bundle {
	L := r.Steady
	t := inspect.Table{Title: fmt.Sprintf("Per-token latency: %s, %s × %d thread(s), %d tokens from position 0", r.Label, r.Variant, r.Threads, r.Tokens),
		Header: []string{"measure", "ms"}, RowHeader: true}
	add := func(name string, v float64) { t.Rows = append(t.Rows, []string{name, inspect.Cell(v, "%.3f")}) }
	add("first token, cold (mapping evicted)", r.ColdFirstMs)
	add("first token, warm", r.WarmFirstMs)
	add(fmt.Sprintf("P50 (positions %d–%d)", r.Warmup, r.Tokens-1), L.P50)
	add("P99", L.P99)
	add("P99.9", L.P999)
	add("max", L.Max)
	t.Rows = append(t.Rows, []string{"CV (std/mean)", fmt.Sprintf("%.3f", L.CV)})
	add(fmt.Sprintf("mean of the first %d timed tokens", r.Window), r.EarlyMs)
	add(fmt.Sprintf("mean of the last %d", r.Window), r.LateMs)
	add("slope, ms per position (least squares)", r.Drift.Slope)
	add("attention per token, early", r.AttEarlyMs)
	add("attention per token, late", r.AttLateMs)
	add(fmt.Sprintf("time to first token, %d-token prompt, batched prefill, cold", r.Prompt), r.TTFTBatchedColdMs)
	add(fmt.Sprintf("… batched prefill, warm (median of %d)", len(r.TTFTBatchedMs)), median(r.TTFTBatchedMs))
	add(fmt.Sprintf("… token by token, warm (median of %d)", len(r.TTFTTokenMs)), median(r.TTFTTokenMs))
	note := fmt.Sprintf("the first %d tokens are warm-up and not in the distribution; percentiles: %s", r.Warmup, inspect.PercentileDefinition)
	for _, u := range L.Unsupported {
		note += "; " + u
	}
	t.Note = note + "; cold: this process's mapping of the weights dropped first (madvise), the page cache keeps the file"
	pos := make([]float64, len(r.Ms))
	for i := range pos {
		pos[i] = float64(i)
	}
	chart := inspect.LineChart([]inspect.Series{{Name: "whole token", X: pos, Y: r.Ms}, {Name: "attention", X: pos, Y: r.AttentionMs}},
		inspect.ChartOpts{Title: "Latency against position", XLabel: "position", YLabel: "ms"})
	cdf := inspect.CDFPlot([]inspect.Sample{{Name: "per-token latency", Values: r.Ms[r.Warmup:]}}, inspect.ChartOpts{Title: "Per-token latency (CDF, after warm-up)", XLabel: "ms", YLabel: "fraction of tokens", Height: 260})
	return inspect.Join([]inspect.Bundle{Quick(r.Quick), t.Bundle(), chart, cdf, r.Conclusions().Bundle()}, r.JSON())
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func mean(x []float64) float64 { return inspect.Summarize(x).Mean }

func median(x []float64) float64 { return inspect.Percentile(x, 50) }
