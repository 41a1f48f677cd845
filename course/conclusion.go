// Package course holds the experiments of memwall's course: the wall, the
// kernel ladder, latency, the first token, weight tying, arithmetic
// intensity, decoding cost, numerics, the attention sink and the paper's
// own data. Each experiment is a function that takes options and returns a
// typed result; the result computes its conclusions from its own numbers
// and renders its own bundle, so a conclusion can be tested apart from the
// cell that shows it, fed constructed measurements.
//
// A conclusion is data: a claim, a verdict and the named numbers it rests
// on. The verdict is computed, never typed in: the sentence a notebook shows
// is chosen by the verdict, so a run whose drift is negative does not
// print an explanation of why latency grows.
package course

import (
	"fmt"
	"html"
	"strings"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// Verdicts shared by several experiments.
const (
	Holds       = "holds"
	DoesNotHold = "does not hold"
	Faster      = "faster"
	Slower      = "slower"
	NoDiff      = inspect.NoDiff // a comparison's outcomes, as inspect.Compare words them
	TooFew      = inspect.TooFewRun
	Unsupported = "not supported by the sample"
)

// Conclusion is one finding: Claim is what is tested (written before the
// numbers are known), Verdict what the numbers say, Evidence the numbers
// by name, and Text the sentence shown, written from Verdict and Evidence.
type Conclusion struct {
	ID       string             `json:"id"`
	Claim    string             `json:"claim"`
	Verdict  string             `json:"verdict"`
	Evidence map[string]float64 `json:"evidence"`
	Text     string             `json:"text"`
	// Source says whether the evidence is measured on this run or counted
	// by the cost model (or read from the paper's data).
	Source string `json:"source"`
}

// Sources of evidence.
const (
	Measured  = "measured"
	Counted   = "counted by the cost model"
	PaperData = "the paper's own data"
)

// Conclusions is an experiment's findings in order.
type Conclusions []Conclusion

// Find returns the conclusion with an id (and false when there is none).
func (cs Conclusions) Find(id string) (Conclusion, bool) {
	for _, c := range cs {
		if c.ID == id {
			return c, true
		}
	}
	return Conclusion{}, false
}

// JSON is the conclusions as JSON-safe data (NaN and Inf evidence become
// null).
func (cs Conclusions) JSON() []map[string]any {
	out := make([]map[string]any, 0, len(cs))
	for _, c := range cs {
		ev := map[string]any{}
		for k, v := range c.Evidence {
			ev[k] = Num(v)
		}
		out = append(out, map[string]any{"id": c.ID, "claim": c.Claim, "verdict": c.Verdict, "evidence": ev, "text": c.Text, "source": c.Source})
	}
	return out
}

// Bundle renders the conclusions as a list under a heading that says they
// were measured (or counted) on this run.
func (cs Conclusions) Bundle() inspect.Bundle {
	if len(cs) == 0 {
		return inspect.Bundle{}
	}
	var tb, hb strings.Builder
	tb.WriteString("Conclusions (computed from the numbers above):")
	hb.WriteString(`<div style="border-left:4px solid #2b6cb0;padding:4px 10px;margin:6px 0"><b>Conclusions (computed from the numbers above)</b><ul style="margin:2px 0">`)
	for _, c := range cs {
		src := ""
		if c.Source != "" && c.Source != Measured {
			src = " [" + c.Source + "]"
		}
		fmt.Fprintf(&tb, "\n  • %s — %s: %s%s", c.Claim, strings.ToUpper(c.Verdict), c.Text, src)
		fmt.Fprintf(&hb, "<li>%s — <b>%s</b>: %s%s</li>", html.EscapeString(c.Claim), html.EscapeString(c.Verdict), html.EscapeString(c.Text), html.EscapeString(src))
	}
	hb.WriteString("</ul></div>")
	return inspect.Bundle{Text: tb.String(), HTML: hb.String()}
}

// Num makes a float JSON-safe: NaN and Inf become nil.
func Num(f float64) any { return inspect.Finite(f) }

// ev builds an evidence map from name, value pairs.
func ev(kv ...any) map[string]float64 {
	m := map[string]float64{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		switch v := kv[i+1].(type) {
		case float64:
			m[k] = v
		case int:
			m[k] = float64(v)
		case int64:
			m[k] = float64(v)
		default:
			panic(fmt.Sprintf("course: evidence %s of type %T", k, v))
		}
	}
	return m
}

// Compared is the verdict of a comparison of rates (higher is better) of
// B against A from interleaved repeats: Faster, Slower, NoDiff or TooFew.
func Compared(c inspect.Comparison) string {
	switch c.Outcome {
	case inspect.Larger:
		return Faster
	case inspect.Smaller:
		return Slower
	case inspect.NoDiff:
		return NoDiff
	}
	return TooFew
}

// fasterHolds turns a comparison's verdict into a claim's that B is
// faster: Holds, DoesNotHold, or NoDiff/TooFew as they are.
func fasterHolds(v string) string {
	switch v {
	case Faster:
		return Holds
	case Slower:
		return DoesNotHold
	}
	return v
}

// smallerHolds is the verdict of a claim that B is smaller than A (an
// error, where lower is better): Holds, DoesNotHold, or NoDiff/TooFew.
func smallerHolds(c inspect.Comparison) string {
	switch c.Outcome {
	case inspect.Smaller:
		return Holds
	case inspect.Larger:
		return DoesNotHold
	case inspect.NoDiff:
		return NoDiff
	}
	return TooFew
}

// comparisonEvidence names a comparison's numbers.
func comparisonEvidence(c inspect.Comparison, kv ...any) map[string]float64 {
	m := ev(kv...)
	m["median_ratio"], m["ratio_lo"], m["ratio_hi"], m["coverage"], m["pairs"] = c.Ratio, c.Lo, c.Hi, c.Coverage, float64(c.Pairs)
	return m
}

// intervalText renders a comparison's interval for a sentence.
func intervalText(c inspect.Comparison) string {
	return fmt.Sprintf("median %s× over %d interleaved runs, %.0f%% interval %s–%s×", g3(c.Ratio), c.Pairs, 100*c.Coverage, g3(c.Lo), g3(c.Hi))
}

// runsText lists the tok/s of every round for a table cell.
func runsText(tokS []float64) string {
	out := make([]string, len(tokS))
	for i, v := range tokS {
		out[i] = fmt.Sprintf("%.1f", v)
	}
	return strings.Join(out, " ")
}

// g3 formats with three significant digits.
func g3(x float64) string { return fmt.Sprintf("%.3g", x) }

// Quick is the notice an experiment shows when quick mode changed what it
// measures.
func Quick(changes []string) inspect.Bundle {
	if len(changes) == 0 {
		return inspect.Bundle{}
	}
	t := "quick mode (MEMWALL_QUICK): " + strings.Join(changes, "; ") + " — the numbers below are smaller-scale measurements than the full run"
	return inspect.Bundle{Text: t, HTML: `<div style="background:#fff4ce;color:#333;padding:4px 8px;margin:4px 0;font-size:90%">` + html.EscapeString(t) + `</div>`}
}

// newState makes a state over m with its own kernels of a variant and
// thread count and a weight layout; release closes the kernels.
func newState(m *engine.Model, variant string, threads int, layout engine.Layout) (st *engine.State, release func(), err error) {
	ops, err := asm.New(variant, max(threads, 1))
	if err != nil {
		return nil, nil, err
	}
	if st, err = engine.NewState(m, ops); err == nil {
		err = st.SetLayout(layout)
	}
	if err != nil {
		ops.Close()
		return nil, nil, err
	}
	return st, func() { ops.Close() }, nil
}

// Progress receives a short description of what an experiment is doing;
// nil is fine.
type Progress func(msg string)

func (p Progress) say(format string, a ...any) {
	if p != nil {
		p(fmt.Sprintf(format, a...))
	}
}
