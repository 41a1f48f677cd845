package course

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// The paper's data (see paperdata/README.md for the citation).
var (
	//go:embed paperdata/benchmark_results.csv
	paperEngineCSV []byte
	//go:embed paperdata/pytorch_results.csv
	paperTorchCSV []byte
)

// Quote is a sentence of the paper or its repository, verbatim, with its
// place.
type Quote struct {
	Where string `json:"where"`
	Text  string `json:"text"`
}

// The sentences the paper experiment answers, verbatim (main.tex at commit
// 4a581dc of farukalpay/stories100m, and its README and scripts).
var (
	QuoteTable     = Quote{"main.tex 242-250, Table \"Inference Performance Comparison (110M Params)\"", "Ours (Bare-Metal) | NEON Manual | 61.3 | 16.3 ms; PyTorch (Accelerate) | AMX Coprocessor | 298.7 | 3.3 ms"}
	QuotePlot      = Quote{"plot_results.py line 13", "df = df.iloc[10:].copy()"}
	QuoteSpread    = Quote{"main.tex 268, figure caption", "Token Generation Latency Stability (N=256). The tight spread between P50 and P99 indicates deterministic execution."}
	QuoteFlat      = Quote{"main.tex 272", "The \"flatness\" of our latency graph demonstrates the efficacy of our memory strategy."}
	QuoteJitter    = Quote{"README", "we achieve deterministic, jitter-free performance on Apple Silicon hardware"}
	QuoteTurn      = Quote{"README", "Guarantees <200ms turn-taking latency (~16ms/token)"}
	QuoteBandwidth = Quote{"main.tex 144", "Modern CPUs like the Apple M2 have a arithmetic peak of >3000 GFLOPS but a memory bandwidth of ≈ 100 GB/s."}
	QuoteEnergy    = Quote{"main.tex 319-320", "With an average throughput of 316 tokens/second, the energy cost per token is: E_token = P_avg / TPS = 8 W / 316 tokens/s ≈ 25.3 mJ/token"}
	QuoteInt4      = Quote{"main.tex 285", "potentially doubling the throughput again by halving the memory bandwidth requirement"}
)

// Figures the paper states (as numbers, for the derivations).
const (
	PaperTableTokS   = 61.3
	PaperTorchTokS   = 298.7
	PaperEnergyTokS  = 316.0
	PaperEnergyWatts = 8.0
	PaperEnergyMJ    = 25.3
)

// PaperResult is the paper's headline numbers recomputed from its CSVs.
type PaperResult struct {
	EngineUs []float64 // NEON engine, per token (token 0 first)
	TorchUs  []float64 // PyTorch baseline, per call

	// Weight bytes per token (counted by the cost model): the stories110M
	// fp32 engine, and the PyTorch dummy model (see TorchDummyBytes).
	EngineBytes, TorchBytes int64
}

func readColumn(b []byte, col string) ([]float64, error) {
	r := csv.NewReader(bytes.NewReader(b))
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("paper data: %w", err)
	}
	idx := -1
	for i, h := range head {
		if h == col {
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("paper data: no column %q in %v", col, head)
	}
	var out []float64
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("paper data line %d: %w", line, err)
		}
		v, err := strconv.ParseFloat(rec[idx], 64)
		if err != nil {
			return nil, fmt.Errorf("paper data line %d, %s: %w", line, col, err)
		}
		out = append(out, v)
	}
}

// TorchDummyBytes counts the weight bytes one call of the paper's PyTorch
// baseline reads (benchmark_pytorch.py, QUOTES.md): 12
// nn.TransformerEncoderLayer(d_model=768, dim_feedforward=int(4*768*2/3))
// — in_proj 3d×d and out_proj d×d with biases, linear1 f×d and linear2
// d×f with biases, two LayerNorms — then a final LayerNorm, an untied
// nn.Linear(768, 32000) with bias and one embedding row, all fp32.
func TorchDummyBytes() int64 {
	const d, layers, vocab = 768, 12, 32000
	f := 4 * d * 2 / 3 // 2048
	perLayer := 3*d*d + 3*d + d*d + d + f*d + f + d*f + d + 2*2*d
	n := layers*perLayer + 2*d + vocab*d + vocab + d
	return 4 * int64(n)
}

// Paper loads the paper's CSVs.
func Paper() (*PaperResult, error) {
	e, err := readColumn(paperEngineCSV, "latency_us")
	if err != nil {
		return nil, err
	}
	t, err := readColumn(paperTorchCSV, "latency_us")
	if err != nil {
		return nil, err
	}
	c, _ := engine.Shape("stories110M")
	_, wb := engine.TokenCost(c, engine.Encoding{}, 0)
	return &PaperResult{EngineUs: e, TorchUs: t, EngineBytes: wb, TorchBytes: TorchDummyBytes()}, nil
}

func sum(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s
}

// TokS is tokens per second over a slice of per-token microseconds.
func TokS(us []float64) float64 { return float64(len(us)) / (sum(us) / 1e6) }

// Conclusions recompute the paper's numbers and judge its sentences.
func (p *PaperResult) Conclusions() Conclusions {
	var cs Conclusions
	e := p.EngineUs
	all, noFirst, noTen := TokS(e), TokS(e[1:]), TokS(e[10:])
	cs = append(cs, Conclusion{ID: "throughput", Claim: fmt.Sprintf("the table's %g tok/s is the engine's steady decoding rate", PaperTableTokS), Source: PaperData,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[abs(all-noFirst)/noFirst < 0.02],
		Evidence: ev("tok_s_all_256", all, "tok_s_without_first", noFirst, "tok_s_without_first_ten", noTen, "first_token_ms", e[0]/1e3, "table_tok_s", PaperTableTokS),
		Text: fmt.Sprintf("256 tokens in %.3f s = %.1f tok/s, the table's %g; without the first token (%.1f ms) %.1f tok/s, and without the first ten (as plot_results.py drops them) %.1f: the table's figure includes one slow first token, the steady rate is %.0f%% higher",
			sum(e)/1e6, all, PaperTableTokS, e[0]/1e3, noFirst, noTen, 100*(noFirst/all-1))})

	steady := make([]float64, len(e)-1)
	for i, v := range e[1:] {
		steady[i] = v / 1e3
	}
	L := inspect.LatencyOf(steady)
	withFirst := make([]float64, len(e))
	for i, v := range e {
		withFirst[i] = v / 1e3
	}
	LF := inspect.LatencyOf(withFirst)
	cs = append(cs, Conclusion{ID: "spread", Claim: "\"the tight spread between P50 and P99\" (P99 within 25% of P50)", Source: PaperData,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[L.P99/L.P50 <= TightTail],
		Evidence: ev("p50_ms", L.P50, "p99_ms", L.P99, "ratio", L.P99/L.P50, "max_ms", LF.Max, "samples", L.N, "p50_ms_with_first", LF.P50, "p99_ms_with_first", LF.P99),
		Text: fmt.Sprintf("tokens 1–255: P50 %.2f ms, P99 %.2f ms (nearest rank): %.2f× P50, %s; the first token, %.1f ms, is %.1f× P50 and is not in the figure",
			L.P50, L.P99, L.P99/L.P50, map[bool]string{true: "a tight spread", false: "a wide spread"}[L.P99/L.P50 <= TightTail], LF.Max, LF.Max/L.P50)})

	pos := make([]float64, len(steady))
	for i := range pos {
		pos[i] = float64(i + 1)
	}
	fit := inspect.Fit(pos, steady)
	w := 32
	early, late := mean(steady[:w]), mean(steady[len(steady)-w:])
	cs = append(cs, Conclusion{ID: "drift", Claim: "the latency graph is flat (\"flatness\", \"jitter-free\")", Source: PaperData,
		Verdict: map[int]string{1: DoesNotHold, 0: Holds, -1: DoesNotHold}[fit.Trend()],
		Evidence: ev("slope_ms_per_position", fit.Slope, "slope_se", fit.SlopeSE, "early_ms", early, "late_ms", late, "drift_pct", 100*(late/early-1),
			"fitted_growth_pct", 100*fit.Slope*float64(len(steady))/fit.Intercept),
		Text: fmt.Sprintf("latency rises %.4f ms per position (±%.4f, two standard errors clear of zero): the first %d steady tokens average %.2f ms, the last %d %.2f ms (%+.1f%%): a growth with position that a flat graph would not have",
			fit.Slope, fit.SlopeSE, w, early, w, late, 100*(late/early-1))})
	switch fit.Trend() {
	case 0:
		cs[len(cs)-1].Text = fmt.Sprintf("the slope %.4f ms per position (±%.4f) shows no growth beyond noise: flat", fit.Slope, fit.SlopeSE)
	case -1:
		cs[len(cs)-1].Text = fmt.Sprintf("latency falls %.4f ms per position (±%.4f): not flat", fit.Slope, fit.SlopeSE)
	}

	eb, tb := float64(p.EngineBytes), float64(p.TorchBytes)
	torch := TokS(p.TorchUs)
	cs = append(cs, Conclusion{ID: "bandwidth", Claim: "the engine streams its weights near the M2's \"≈ 100 GB/s\"", Source: PaperData,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[eb*noFirst/1e9 >= 0.8*PaperBandwidth],
		Evidence: ev("engine_bytes_per_token", eb, "engine_gbps_table", eb*all/1e9, "engine_gbps_steady", eb*noFirst/1e9, "torch_bytes_per_token", tb, "torch_tok_s", torch, "torch_gbps", tb*torch/1e9, "paper_gbps", PaperBandwidth),
		Text: fmt.Sprintf("%s of fp32 weights per token (counted) × %.1f tok/s = %.1f GB/s (%.1f GB/s at the table's %.1f); the PyTorch baseline's %.1f tok/s × %s (its dummy model, counted) = %.0f GB/s: the \"108 GB/s\" is PyTorch on a different, smaller model; the engine streams %.0f%% of the ≈ %g GB/s",
			inspect.Human(eb, "B"), noFirst, eb*noFirst/1e9, eb*all/1e9, all, torch, inspect.Human(tb, "B"), tb*torch/1e9, 100*eb*noFirst/1e9/PaperBandwidth, PaperBandwidth)})

	fastest := 1e6 / minOf(e)
	mjTable := 1e3 * PaperEnergyWatts / all
	cs = append(cs, Conclusion{ID: "energy", Claim: fmt.Sprintf("\"an average throughput of %g tokens/second\" (the energy section)", PaperEnergyTokS), Source: PaperData,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[fastest >= PaperEnergyTokS],
		Evidence: ev("paper_tok_s", PaperEnergyTokS, "measured_tok_s", all, "fastest_token_tok_s", fastest, "paper_mj_per_token", 1e3*PaperEnergyWatts/PaperEnergyTokS, "mj_per_token_at_table_rate", mjTable),
		Text: fmt.Sprintf("8 W ÷ %g tok/s = %.1f mJ/token as printed; but no token in the data is that fast (the fastest took %.2f ms, %.0f tok/s): at the measured %.1f tok/s the same 8 W give %.0f mJ/token, %.1f× more",
			PaperEnergyTokS, 1e3*PaperEnergyWatts/PaperEnergyTokS, 1e3/fastest, fastest, all, mjTable, mjTable/(1e3*PaperEnergyWatts/PaperEnergyTokS))})

	const fp32B, q8B, q4B = 4.0, 34.0 / 32, 18.0 / 32 // llama.cpp's Q8_0 and Q4_0: a 2-byte scale per 32 weights
	cs = append(cs, Conclusion{ID: "int4", Claim: "int4 weights would \"halve the memory bandwidth requirement\" of the paper's engine", Source: Counted,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[abs(fp32B/q4B-2) < 0.25],
		Evidence: ev("fp32_bytes_per_weight", fp32B, "q8_0_bytes_per_weight", q8B, "q4_0_bytes_per_weight", q4B, "cut_from_fp32", fp32B/q4B, "cut_from_int8", q8B/q4B),
		Text: fmt.Sprintf("the engine streams fp32: %g bytes per weight; Q4_0 stores %.4g (4 bits and a 2-byte scale per 32): %.1f× fewer bytes, not 2×; halving holds only from int8 (%.4g → %.4g bytes, %.2f×), which the paper's engine does not use",
			fp32B, q4B, fp32B/q4B, q8B, q4B, q8B/q4B)})

	turn := e[0]/1e3 + 15*L.P50
	fit2 := int((200 - e[0]/1e3) / L.P50)
	cs = append(cs, Conclusion{ID: "turn_taking", Claim: "\"<200ms turn-taking latency\" for a 16-token prompt fed token by token at the measured rate", Source: PaperData,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[turn < 200],
		Evidence: ev("first_token_ms", e[0]/1e3, "p50_ms", L.P50, "sixteen_token_prompt_ms", turn, "prompt_tokens_within_200ms", fit2+1),
		Text: fmt.Sprintf("the first token alone takes %.1f ms; with the P50 of %.2f ms per further token a 16-token prompt needs %.0f ms, and only a %d-token prompt fits in 200 ms",
			e[0]/1e3, L.P50, turn, fit2+1)})
	return cs
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func minOf(x []float64) float64 {
	m := x[0]
	for _, v := range x {
		m = min(m, v)
	}
	return m
}

// Quotes lists the sentences answered, for display.
func (p *PaperResult) Quotes() []Quote {
	return []Quote{QuoteTable, QuotePlot, QuoteSpread, QuoteFlat, QuoteJitter, QuoteTurn, QuoteBandwidth, QuoteEnergy, QuoteInt4}
}

// Bundle renders the quotes, the recomputed numbers and the latency chart.
func (p *PaperResult) Bundle() inspect.Bundle {
	q := inspect.Table{Title: "What the paper says (verbatim)", Header: []string{"where", "text"}, MaxCell: 200}
	var qs []map[string]any
	for _, x := range p.Quotes() {
		q.Rows = append(q.Rows, []string{x.Where, x.Text})
		qs = append(qs, map[string]any{"where": x.Where, "text": x.Text})
	}
	e := p.EngineUs
	t := inspect.Table{Title: "Recomputed from the paper's CSVs", Header: []string{"figure", "value", "derivation"}, MaxCell: 120}
	add := func(name, v, how string) { t.Rows = append(t.Rows, []string{name, v, how}) }
	add("tokens in the engine's CSV", fmt.Sprint(len(e)), "benchmark_results.csv rows")
	add("tok/s, all 256", fmt.Sprintf("%.2f", TokS(e)), fmt.Sprintf("256 / %.4f s", sum(e)/1e6))
	add("tok/s without token 0", fmt.Sprintf("%.2f", TokS(e[1:])), fmt.Sprintf("255 / %.4f s", sum(e[1:])/1e6))
	add("tok/s without tokens 0-9", fmt.Sprintf("%.2f", TokS(e[10:])), "246 tokens, as plot_results.py keeps")
	add("first token", fmt.Sprintf("%.1f ms", e[0]/1e3), "row 0")
	add("PyTorch tok/s", fmt.Sprintf("%.2f", TokS(p.TorchUs)), fmt.Sprintf("256 / %.4f s", sum(p.TorchUs)/1e6))
	add("stories110M fp32 bytes/token", inspect.Human(float64(p.EngineBytes), "B"), "cost model: every matrix, the norms, one embedding row")
	add("PyTorch dummy bytes/token", inspect.Human(float64(p.TorchBytes), "B"), "12 encoder layers d=768 f=2048, untied 768×32000 classifier, fp32")
	t.Note = "percentiles: " + inspect.PercentileDefinition
	pos := make([]float64, len(e))
	msv := make([]float64, len(e))
	for i, v := range e {
		pos[i], msv[i] = float64(i), v/1e3
	}
	chart := inspect.LineChart([]inspect.Series{{Name: "NEON engine (benchmark_results.csv)", X: pos[1:], Y: msv[1:]}},
		inspect.ChartOpts{Title: "The paper's per-token latency, token 0 (168 ms) left out of the axis", XLabel: "token", YLabel: "ms"})
	cs := p.Conclusions()
	js := map[string]any{"engine_latency_us": e, "torch_latency_us": p.TorchUs, "engine_bytes_per_token": p.EngineBytes, "torch_bytes_per_token": p.TorchBytes,
		"tok_s_all": TokS(e), "tok_s_without_first": TokS(e[1:]), "tok_s_without_first_ten": TokS(e[10:]), "torch_tok_s": TokS(p.TorchUs),
		"first_token_ms": e[0] / 1e3, "quotes": qs, "percentile_definition": inspect.PercentileDefinition, "source": PaperData, "conclusions": cs.JSON()}
	return inspect.Join([]inspect.Bundle{q.Bundle(), t.Bundle(), chart, cs.Bundle()}, js)
}
