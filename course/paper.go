package course

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/gonum/floats"

	"github.com/memwall/memwall/asm"
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

// TokS is tokens per second over a slice of per-token microseconds.
func TokS(us []float64) float64 { return float64(len(us)) / (floats.Sum(us) / 1e6) }

// usToMs converts microseconds to milliseconds.
func usToMs(us []float64) []float64 {
	out := make([]float64, len(us))
	floats.ScaleTo(out, 1e-3, us)
	return out
}

// bytesPerWeight is a weight encoding's stored bytes per weight as the cost
// model counts them (engine.Encoding.MatrixBytes), over one row long enough
// for whole groups and blocks.
func bytesPerWeight(e engine.Encoding) float64 {
	n := asm.BlockSize * max(e.GroupSize, 1)
	return float64(e.MatrixBytes(1, n)) / float64(n)
}

// Conclusions recompute the paper's numbers and judge its sentences.
func (p *PaperResult) Conclusions() Conclusions {
	var cs Conclusions
	e := p.EngineUs
	n := len(e)
	firstMs := e[0] / 1e3
	all, noFirst, noTen := TokS(e), TokS(e[1:]), TokS(e[10:])
	th := Conclusion{ID: "throughput", Claim: fmt.Sprintf("the table's %g tok/s is the engine's steady decoding rate", PaperTableTokS), Source: PaperData,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[math.Abs(all-noFirst)/noFirst < 0.02],
		Evidence: ev("tok_s_all_256", all, "tok_s_without_first", noFirst, "tok_s_without_first_ten", noTen, "first_token_ms", firstMs, "table_tok_s", PaperTableTokS),
		Text: fmt.Sprintf("%d tokens in %.3f s = %.1f tok/s (the table prints %g); without the first token (%.1f ms) %.1f tok/s, and without the first ten (as plot_results.py drops them) %.1f",
			n, floats.Sum(e)/1e6, all, PaperTableTokS, firstMs, noFirst, noTen)}
	if th.Verdict == Holds {
		th.Text += ": the first token hardly moves the rate"
	} else {
		th.Text += fmt.Sprintf(": the %.1f tok/s over every token includes one slow first token; the steady rate is %.0f%% higher", all, 100*(noFirst/all-1))
	}
	cs = append(cs, th)

	steady, withFirst := usToMs(e[1:]), usToMs(e)
	L, LF := inspect.LatencyOf(steady), inspect.LatencyOf(withFirst)
	tight := L.P99/L.P50 <= TightTail
	cs = append(cs, Conclusion{ID: "spread", Claim: "\"the tight spread between P50 and P99\" (P99 within 25% of P50)", Source: PaperData,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[tight],
		Evidence: ev("p50_ms", L.P50, "p99_ms", L.P99, "ratio", L.P99/L.P50, "max_ms", LF.Max, "samples", L.N, "p50_ms_with_first", LF.P50, "p99_ms_with_first", LF.P99),
		Text: fmt.Sprintf("tokens 1–%d: P50 %.2f ms, P99 %.2f ms (nearest rank): %.2f× P50, %s; the first token, %.1f ms, is %.1f× P50 and is not in the figure",
			n-1, L.P50, L.P99, L.P99/L.P50, map[bool]string{true: "a tight spread", false: "a wide spread"}[tight], firstMs, firstMs/L.P50)})

	pos := make([]float64, len(steady))
	for i := range pos {
		pos[i] = float64(i + 1)
	}
	fit := inspect.Fit(pos, steady)
	w := 32
	early, late := mean(steady[:w]), mean(steady[len(steady)-w:])
	drift := Conclusion{ID: "drift", Claim: "the latency graph is flat (\"flatness\", \"jitter-free\")", Source: PaperData,
		Evidence: ev("slope_ms_per_position", fit.Slope, "slope_se", fit.SlopeSE, "early_ms", early, "late_ms", late, "drift_pct", 100*(late/early-1),
			"fitted_growth_pct", 100*fit.Slope*float64(len(steady))/fit.Intercept)}
	switch fit.Trend() {
	case 1:
		drift.Verdict = DoesNotHold
		drift.Text = fmt.Sprintf("latency rises %.4f ms per position (±%.4f, two standard errors clear of zero): the first %d steady tokens average %.2f ms, the last %d %.2f ms (%+.1f%%): a growth with position that a flat graph would not have",
			fit.Slope, fit.SlopeSE, w, early, w, late, 100*(late/early-1))
	case -1:
		drift.Verdict = DoesNotHold
		drift.Text = fmt.Sprintf("latency falls %.4f ms per position (±%.4f): not flat", fit.Slope, fit.SlopeSE)
	default:
		drift.Verdict = Holds
		drift.Text = fmt.Sprintf("the slope %.4f ms per position (±%.4f) shows no growth beyond noise: flat", fit.Slope, fit.SlopeSE)
	}
	cs = append(cs, drift)

	eb, tb := float64(p.EngineBytes), float64(p.TorchBytes)
	torch := TokS(p.TorchUs)
	steadyGBps, torchGBps := eb*noFirst/1e9, tb*torch/1e9
	cs = append(cs, Conclusion{ID: "bandwidth", Claim: "the engine streams its weights near the M2's \"≈ 100 GB/s\"", Source: PaperData,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[steadyGBps >= 0.8*PaperBandwidth],
		Evidence: ev("engine_bytes_per_token", eb, "engine_gbps_table", eb*all/1e9, "engine_gbps_steady", steadyGBps, "torch_bytes_per_token", tb, "torch_tok_s", torch, "torch_gbps", torchGBps, "paper_gbps", PaperBandwidth),
		Text: fmt.Sprintf("%s of fp32 weights per token (counted) × %.1f tok/s = %.1f GB/s (%.1f GB/s at the table's %.1f); the PyTorch baseline's %.1f tok/s × %s (its dummy model, counted) = %.0f GB/s: a bandwidth derived from the PyTorch row belongs to a different, %s model; the engine streams %.0f%% of the ≈ %g GB/s",
			inspect.Human(eb, "B"), noFirst, steadyGBps, eb*all/1e9, all, torch, inspect.Human(tb, "B"), torchGBps,
			map[bool]string{true: "smaller", false: "larger"}[tb < eb], 100*steadyGBps/PaperBandwidth, PaperBandwidth)})

	fastest := 1e6 / floats.Min(e)
	mjPaper, mjTable := 1e3*PaperEnergyWatts/PaperEnergyTokS, 1e3*PaperEnergyWatts/all
	en := Conclusion{ID: "energy", Claim: fmt.Sprintf("\"an average throughput of %g tokens/second\" (the energy section)", PaperEnergyTokS), Source: PaperData,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[fastest >= PaperEnergyTokS],
		Evidence: ev("paper_tok_s", PaperEnergyTokS, "measured_tok_s", all, "fastest_token_tok_s", fastest, "paper_mj_per_token", mjPaper, "mj_per_token_at_table_rate", mjTable)}
	if en.Verdict == Holds {
		en.Text = fmt.Sprintf("%g W ÷ %g tok/s = %.1f mJ/token as printed; the fastest token in the data took %.2f ms (%.0f tok/s), so a rate that high occurs; at the average %.1f tok/s the same %g W give %.0f mJ/token",
			PaperEnergyWatts, PaperEnergyTokS, mjPaper, 1e3/fastest, fastest, all, PaperEnergyWatts, mjTable)
	} else {
		en.Text = fmt.Sprintf("%g W ÷ %g tok/s = %.1f mJ/token as printed; but no token in the data is that fast (the fastest took %.2f ms, %.0f tok/s): at the measured %.1f tok/s the same %g W give %.0f mJ/token, %.1f× more",
			PaperEnergyWatts, PaperEnergyTokS, mjPaper, 1e3/fastest, fastest, all, PaperEnergyWatts, mjTable, mjTable/mjPaper)
	}
	cs = append(cs, en)

	fp32B := bytesPerWeight(engine.Encoding{})
	q8B := bytesPerWeight(engine.Encoding{Type: engine.WeightQ8Blocks})
	q4B := bytesPerWeight(engine.Encoding{Type: engine.WeightQ4_0})
	i4 := Conclusion{ID: "int4", Claim: "int4 weights would \"halve the memory bandwidth requirement\" of the paper's engine", Source: Counted,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[math.Abs(fp32B/q4B-2) < 0.25],
		Evidence: ev("fp32_bytes_per_weight", fp32B, "q8_0_bytes_per_weight", q8B, "q4_0_bytes_per_weight", q4B, "cut_from_fp32", fp32B/q4B, "cut_from_int8", q8B/q4B),
		Text: fmt.Sprintf("the engine streams fp32: %g bytes per weight; Q4_0 stores %.4g (4 bits and a 2-byte scale per %d): %.1f× fewer bytes",
			fp32B, q4B, asm.BlockSize, fp32B/q4B)}
	if i4.Verdict == Holds {
		i4.Text += ", about half"
	} else {
		i4.Text += fmt.Sprintf(", not 2×; from int8 (Q8_0, %.4g → %.4g bytes) the cut is %.2f×, and the paper's engine does not use int8", q8B, q4B, q8B/q4B)
	}
	cs = append(cs, i4)

	const prompt = 16
	turn := firstMs + (prompt-1)*L.P50
	fits := 0 // prompt tokens answered within 200 ms: the first, then P50 each
	if firstMs <= 200 {
		fits = 1 + int((200-firstMs)/L.P50)
	}
	tt := Conclusion{ID: "turn_taking", Claim: fmt.Sprintf("\"<200ms turn-taking latency\" for a %d-token prompt fed token by token at the measured rate", prompt), Source: PaperData,
		Verdict:  map[bool]string{true: Holds, false: DoesNotHold}[turn < 200],
		Evidence: ev("first_token_ms", firstMs, "p50_ms", L.P50, "sixteen_token_prompt_ms", turn, "prompt_tokens_within_200ms", fits),
		Text: fmt.Sprintf("the first token alone takes %.1f ms; with the P50 of %.2f ms per further token a %d-token prompt needs %.0f ms; a prompt of up to %d tokens fits in 200 ms",
			firstMs, L.P50, prompt, turn, fits)}
	cs = append(cs, tt)
	return cs
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
	add(fmt.Sprintf("tok/s, all %d", len(e)), fmt.Sprintf("%.2f", TokS(e)), fmt.Sprintf("%d / %.4f s", len(e), floats.Sum(e)/1e6))
	add("tok/s without token 0", fmt.Sprintf("%.2f", TokS(e[1:])), fmt.Sprintf("%d / %.4f s", len(e)-1, floats.Sum(e[1:])/1e6))
	add("tok/s without tokens 0-9", fmt.Sprintf("%.2f", TokS(e[10:])), fmt.Sprintf("%d tokens, as plot_results.py keeps", len(e)-10))
	add("first token", fmt.Sprintf("%.1f ms", e[0]/1e3), "row 0")
	add("PyTorch tok/s", fmt.Sprintf("%.2f", TokS(p.TorchUs)), fmt.Sprintf("%d / %.4f s", len(p.TorchUs), floats.Sum(p.TorchUs)/1e6))
	add("stories110M fp32 bytes/token", inspect.Human(float64(p.EngineBytes), "B"), "cost model: every matrix, the norms, one embedding row")
	add("PyTorch dummy bytes/token", inspect.Human(float64(p.TorchBytes), "B"), "12 encoder layers d=768 f=2048, untied 768×32000 classifier, fp32")
	t.Note = "percentiles: " + inspect.PercentileDefinition
	msv := usToMs(e)
	pos := make([]float64, len(e))
	for i := range pos {
		pos[i] = float64(i)
	}
	chart := inspect.LineChart([]inspect.Series{{Name: "NEON engine (benchmark_results.csv)", X: pos[1:], Y: msv[1:]}},
		inspect.ChartOpts{Title: fmt.Sprintf("The paper's per-token latency, token 0 (%.0f ms) left out of the axis", msv[0]), XLabel: "token", YLabel: "ms"})
	cs := p.Conclusions()
	js := map[string]any{"engine_latency_us": e, "torch_latency_us": p.TorchUs, "engine_bytes_per_token": p.EngineBytes, "torch_bytes_per_token": p.TorchBytes,
		"tok_s_all": TokS(e), "tok_s_without_first": TokS(e[1:]), "tok_s_without_first_ten": TokS(e[10:]), "torch_tok_s": TokS(p.TorchUs),
		"first_token_ms": e[0] / 1e3, "quotes": qs, "percentile_definition": inspect.PercentileDefinition, "source": PaperData, "conclusions": cs.JSON()}
	return inspect.Join([]inspect.Bundle{q.Bundle(), t.Bundle(), chart, cs.Bundle()}, js)
}
