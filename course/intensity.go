package course

import (
	"fmt"
	"math"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// The paper's roofline figures (main.tex 140-146, QUOTES.md): 2 FLOPs per
// weight, a claimed intensity of 2 FLOP/byte, an M2 with > 3000 GFLOP/s
// and about 100 GB/s, hence a 200 GFLOP/s roof and "starving 93% of the
// time" (1 - 200/3000).
const (
	PaperIntensity = 2.0    // FLOP/byte, the paper's I
	PaperPeak      = 3000.0 // GFLOP/s
	PaperBandwidth = 100.0  // GB/s
)

// IntensityResult is the cost model's bytes and FLOPs of one decoded token,
// fp32 and int8.
type IntensityResult struct {
	Name      string
	Config    engine.Config
	GroupSize int
	Position  int
	FP32      []engine.OpCost
	Int8      []engine.OpCost
}

// Intensity counts one token at position pos with fp32 weights and with
// Q8_0 weights of the default group size. Nothing is measured: every
// number is the cost model's.
func Intensity(name string, c engine.Config, pos int) (*IntensityResult, error) {
	if pos < 0 || pos >= c.SeqLen {
		return nil, fmt.Errorf("position %d outside [0, %d)", pos, c.SeqLen)
	}
	gs := engine.DefaultGroupSize(c)
	return &IntensityResult{Name: name, Config: c, GroupSize: gs, Position: pos,
		FP32: engine.TokenCosts(c, engine.Encoding{}, pos),
		Int8: engine.TokenCosts(c, engine.Encoding{Quantized: true, GroupSize: gs}, pos)}, nil
}

func total(ops []engine.OpCost) engine.Cost {
	var t engine.Cost
	for _, o := range ops {
		t = t.Add(o.Cost)
	}
	return t
}

// matrixPerWeight is the FLOPs and stored bytes per weight of the query
// matrices in ops, and their FLOPs per byte, as the cost model counts them:
// what any matrix-vector product of that encoding does.
func matrixPerWeight(ops []engine.OpCost) (flops, bytes, intensity float64) {
	for _, o := range ops {
		if o.Name == "wq" {
			n := float64(o.Rows) * float64(o.Cols) * float64(o.Count)
			return float64(o.Flops) / n, float64(o.Bytes) / n, o.Intensity()
		}
	}
	return math.NaN(), math.NaN(), math.NaN()
}

// Conclusions: the paper's 2 FLOP/byte against fp32 and int8, and its 93%.
func (r *IntensityResult) Conclusions() Conclusions {
	fpF, fpB, fpI := matrixPerWeight(r.FP32)
	q8F, q8B, q8I := matrixPerWeight(r.Int8)
	tf, tq := total(r.FP32), total(r.Int8)
	verdict := map[bool]string{true: Holds, false: DoesNotHold}
	var cs Conclusions
	c := Conclusion{ID: "fp32_intensity", Claim: "a fp32 matrix-vector product does 2 FLOP per byte (the paper's I ≈ 2)", Source: Counted,
		Verdict:  verdict[fpI >= 0.9*PaperIntensity],
		Evidence: ev("flops_per_weight", fpF, "bytes_per_weight", fpB, "intensity", fpI, "paper_intensity", PaperIntensity)}
	c.Text = fmt.Sprintf("%s FLOP per weight ÷ %s bytes per fp32 weight = %s FLOP/byte", g3(fpF), g3(fpB), g3(fpI))
	if c.Verdict == Holds {
		c.Text += ", as the paper says"
	} else {
		c.Text += fmt.Sprintf(", not %g: the paper counted |W| in elements, not bytes", PaperIntensity)
	}
	cs = append(cs, c)

	c = Conclusion{ID: "int8_intensity", Claim: "int8 weights bring a matrix-vector product within 15% of the paper's 2 FLOP per byte", Source: Counted,
		Verdict:  verdict[q8I >= 0.85*PaperIntensity],
		Evidence: ev("bytes_per_weight", q8B, "group_size", r.GroupSize, "intensity", q8I)}
	c.Text = fmt.Sprintf("int8 (Q8_0, group size %d): %s FLOP ÷ %s bytes = %s FLOP/byte", r.GroupSize, g3(q8F), g3(q8B), g3(q8I))
	if c.Verdict == Holds {
		c.Text += fmt.Sprintf(" — %g FLOP/byte needs about one byte per weight, which is int8, not fp32", PaperIntensity)
	} else {
		c.Text += fmt.Sprintf(" — a 4-byte scale every %d weights adds too many bytes to come near %g FLOP/byte", r.GroupSize, PaperIntensity)
	}
	cs = append(cs, c)

	// The paper's 93% is 1 - I·B/peak with I = 2; fp32's intensity in the
	// same arithmetic gives its own share.
	paperShare := 1 - PaperIntensity*PaperBandwidth/PaperPeak
	fpShare := 1 - fpI*PaperBandwidth/PaperPeak
	c = Conclusion{ID: "paper_93", Claim: "the paper's \"starving for data 93% of the time\" follows from fp32 weights", Source: Counted,
		Verdict:  verdict[math.Abs(fpShare-paperShare) < 0.005],
		Evidence: ev("paper_share", paperShare, "fp32_share", fpShare, "paper_peak_gflops", PaperPeak, "paper_bandwidth_gbps", PaperBandwidth),
		Text: fmt.Sprintf("93%% = 1 − (%g FLOP/B × %g GB/s) / %g GFLOP/s = %.1f%%; with fp32's %s FLOP/byte the same arithmetic gives 1 − %s/%g = %.1f%%",
			PaperIntensity, PaperBandwidth, PaperPeak, 100*paperShare, g3(fpI), g3(fpI*PaperBandwidth), PaperPeak, 100*fpShare)}
	cs = append(cs, c)
	cs = append(cs, Conclusion{ID: "token_intensity", Claim: "a whole decoded token does under 1 FLOP per byte in fp32", Source: Counted,
		Verdict:  verdict[tf.Intensity() < 1],
		Evidence: ev("fp32_flops", tf.Flops, "fp32_bytes", tf.Bytes, "fp32_intensity", tf.Intensity(), "int8_bytes", tq.Bytes, "int8_intensity", tq.Intensity()),
		Text: fmt.Sprintf("a whole %s token at position %d: %s over %s in fp32 (%s FLOP/byte), %s in int8 (%s FLOP/byte)", r.Name, r.Position,
			inspect.Human(float64(tf.Flops), "FLOP"), inspect.Human(float64(tf.Bytes), "B"), g3(tf.Intensity()), inspect.Human(float64(tq.Bytes), "B"), g3(tq.Intensity()))})
	return cs
}

// Bundle renders the op table and the conclusions.
func (r *IntensityResult) Bundle() inspect.Bundle {
	t := inspect.Table{Title: fmt.Sprintf("Bytes and FLOPs of one token decoded at position %d: %s (fp32, and Q8_0 with group size %d), counted by the cost model", r.Position, r.Name, r.GroupSize),
		Header: []string{"op", "shape", "× per token", "FLOPs", "fp32 bytes", "fp32 FLOP/B", "int8 bytes", "int8 FLOP/B"}}
	var js []map[string]any
	q := map[string]engine.OpCost{}
	for _, o := range r.Int8 {
		q[o.Name] = o
	}
	for _, o := range r.FP32 {
		shape := ""
		if o.Rows > 0 {
			shape = fmt.Sprintf("%d×%d", o.Rows, o.Cols)
		}
		name := o.Name
		if o.Name == "attention" {
			name = fmt.Sprintf("attention at position %d", r.Position)
			shape = fmt.Sprintf("%d cached keys and values × %d", r.Position+1, r.Config.KVDim())
		}
		qo := q[o.Name]
		t.Rows = append(t.Rows, []string{name, shape, fmt.Sprint(o.Count), inspect.Human(float64(o.Flops), ""), inspect.Human(float64(o.Bytes), "B"),
			g3(o.Intensity()), inspect.Human(float64(qo.Bytes), "B"), g3(qo.Intensity())})
		js = append(js, map[string]any{"op": o.Name, "rows": o.Rows, "cols": o.Cols, "count": o.Count, "flops": o.Flops, "fp32_bytes": o.Bytes, "int8_bytes": qo.Bytes})
	}
	if qo, ok := q["quantize"]; ok {
		t.Rows = append(t.Rows, []string{"quantize (int8 only)", "", fmt.Sprint(qo.Count), inspect.Human(float64(qo.Flops), ""), "", "", inspect.Human(float64(qo.Bytes), "B"), g3(qo.Intensity())})
	}
	tf, tq := total(r.FP32), total(r.Int8)
	t.Rows = append(t.Rows, []string{"total per token", "", "", inspect.Human(float64(tf.Flops), ""), inspect.Human(float64(tf.Bytes), "B"), g3(tf.Intensity()),
		inspect.Human(float64(tq.Bytes), "B"), g3(tq.Intensity())})
	t.Note = "counted by the cost model (engine/cost.go): a multiply-add is 2 FLOPs, each weight read once per token; attention reads each cached key and value once (heads of a group share them)"
	cs := r.Conclusions()
	_, _, fpI := matrixPerWeight(r.FP32)
	_, _, q8I := matrixPerWeight(r.Int8)
	return inspect.Join([]inspect.Bundle{t.Bundle(), cs.Bundle()}, map[string]any{"shape": r.Name, "group_size": r.GroupSize, "position": r.Position, "ops": js,
		"flops": tf.Flops, "fp32_bytes": tf.Bytes, "int8_bytes": tq.Bytes, "fp32_intensity": tf.Intensity(), "int8_intensity": tq.Intensity(),
		"fp32_matvec_intensity": fpI, "int8_matvec_intensity": q8I, "source": Counted,
		"conclusions": cs.JSON()})
}
