package inspect

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// sampleBundles builds one of each picture from synthetic data.
func sampleBundles() map[string]Bundle {
	rng := rand.New(rand.NewPCG(1, 2))
	toks := []string{"<s>", " The", " cat", " sat", " on", " the", " mat", ".", "\n", " <b>&\"'", " naïve", " 日本"}
	n := len(toks)
	att := make([][]float64, n)
	for i := range att {
		row := make([]float64, i+1)
		var s float64
		for j := range row {
			row[j] = math.Exp(3*rng.Float64() - float64(i-j)*0.3)
			s += row[j]
		}
		for j := range row {
			row[j] /= s
		}
		att[i] = row
	}
	w := make([][]float64, 40)
	for i := range w {
		w[i] = make([]float64, 64)
		for j := range w[i] {
			w[i][j] = rng.NormFloat64() * 0.02
		}
	}
	var layers [][][][]float64
	for range 4 {
		var heads [][][]float64
		for range 6 {
			heads = append(heads, att)
		}
		layers = append(layers, heads)
	}
	lat := func(base float64) []float64 {
		out := make([]float64, 400)
		for i := range out {
			out[i] = base + rng.ExpFloat64()*0.3 + float64(i)*0.004
			if rng.IntN(50) == 0 {
				out[i] += 5
			}
		}
		return out
	}
	a, b := lat(10), lat(14)
	xs := make([]float64, len(a))
	for i := range xs {
		xs[i] = float64(i)
	}
	return map[string]Bundle{
		"attention": Heatmap(att, toks, toks, HeatmapOpts{Title: "L3 H1 attention", XLabel: "key", YLabel: "query"}),
		"weights":   Heatmap(w, nil, nil, HeatmapOpts{Title: "wq[0:40, 0:64]"}),
		"grid":      HeatmapGrid(LayerHeadPanels(layers), 6, HeatmapOpts{Title: "attention, all heads"}),
		"bars": BarChart([]Bar{{" mat", 0.61}, {" floor", 0.12}, {" sofa", 0.08}, {" <unk>", 0.02}, {"\n", 0.01}},
			ChartOpts{Title: "next token after \"The cat sat on the\"", XLabel: "probability"}),
		"line": LineChart([]Series{{Name: "avx2", X: xs, Y: a}, {Name: "scalar", X: xs, Y: b}},
			ChartOpts{Title: "decode latency vs position", XLabel: "position", YLabel: "ms/token"}),
		"cdf": CDFPlot([]Sample{{"avx2", a}, {"scalar", b}}, ChartOpts{Title: "token latency CDF", XLabel: "ms"}),
		"stacked": StackedBar([]string{"matmul", "attention", "rmsnorm", "other"},
			[]StackedBarItem{{"scalar", []float64{40, 8, 1, 2}}, {"avx2", []float64{12, 5, 0.5, 1}}, {"q8", []float64{6, 5, 0.5, 1}}},
			ChartOpts{Title: "time per token by op", XLabel: "ms"}),
		"hist": HistogramOf(a, 30, ChartOpts{Title: "latency histogram", XLabel: "ms"}),
		"roofline": RooflinePlot(Roofline{Title: "roofline (synthetic)",
			Memory:  []Roof{{"DRAM", 20}, {"L2", 150}},
			Compute: []Roof{{"AVX2 FMA", 300}, {"scalar", 25}},
			Points: []RooflinePoint{{"matmul decode", "fp32 decode", 0.5, 9, "", ""}, {"matmul prefill", "fp32 prefill", 30, 180, "", ""},
				{"q8 matmul decode", "int8 decode", 1.9, 30, "", "scalar"}, {"attention", "fp32 decode", 0.25, 3, "", ""}}}),
		"empty": LineChart(nil, ChartOpts{Title: "nothing"}),
	}
}

// TestWriteSamples writes every sample picture to $MEMWALL_SAMPLES (if set)
// so a person can look at them.
// TestWriteSamples writes every sample picture (into MEMWALL_SAMPLES=dir
// to keep them for a look, else into a temporary directory).
func TestWriteSamples(t *testing.T) {
	dir := os.Getenv("MEMWALL_SAMPLES")
	if dir == "" {
		dir = t.TempDir()
	}
	for name, b := range sampleBundles() {
		if err := os.WriteFile(filepath.Join(dir, name+".svg"), []byte(b.SVG), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(b.Text+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if b.HTML != "" {
			if err := os.WriteFile(filepath.Join(dir, name+".html"), []byte(b.HTML), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
