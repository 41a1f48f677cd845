package course

import (
	"testing"
	"time"

	"github.com/memwall/memwall/engine"
)

func run(width int, batched bool, wb, kv int64, msTok float64, ids []int) *DecodeRun {
	n := len(ids) - 1
	return &DecodeRun{Strategy: "beam", Width: width, Batched: batched, IDs: ids, Prompt: 1, Text: "x",
		Traffic: engine.Traffic{WeightBytes: wb * int64(n), KVBytes: kv * int64(n), Flops: int64(width) * 100 * int64(n)},
		Elapsed: time.Duration(msTok * float64(n) * 1e6)}
}

func constructedDecode(batchedMs8 float64) *DecodeCompareResult {
	ids := []int{1, 5, 6, 7, 8}
	mk := func(w int, bms, sms float64) WidthRuns {
		wr := WidthRuns{Width: w}
		for i := 0; i < 5; i++ {
			j := 1 + 0.01*float64(i%3)
			wr.Batched = append(wr.Batched, run(w, true, 1000, int64(10*w), bms*j, ids))
			wr.Sequential = append(wr.Sequential, run(w, false, 1000*int64(w), int64(10*w), sms*j, ids))
		}
		return wr
	}
	return &DecodeCompareResult{Strategy: "beam", Widths: []WidthRuns{mk(1, 1, 1), mk(8, batchedMs8, 8)}}
}

func TestDecodeCompareVerdicts(t *testing.T) {
	cs := constructedDecode(1.1).Conclusions()
	if v := verdict(t, cs, "paper_batched"); v != DoesNotHold {
		t.Errorf("batched weight traffic flat: %q", v)
	}
	if v := verdict(t, cs, "paper_sequential"); v != Holds {
		t.Errorf("sequential ×8: %q", v)
	}
	if v := verdict(t, cs, "batched_free"); v != Holds {
		t.Errorf("1.1x time for 8 hypotheses: %q", v)
	}
	if v := verdict(t, cs, "batched_time"); v != Holds {
		t.Errorf("batched 1.1 against sequential 8 ms: %q", v)
	}
	slow := constructedDecode(2.44).Conclusions()
	if v := verdict(t, slow, "batched_free"); v != DoesNotHold {
		t.Errorf("2.44x time: %q", v)
	}
	// Degenerate text is flagged.
	r := constructedDecode(1.1)
	r.Widths[0].Batched[0].IDs = []int{1, 9, 9, 9, 9}
	if c, _ := r.Conclusions().Find("same_text"); c.Evidence["longest_repeat"] != 4 {
		t.Errorf("repeat %v", c.Evidence)
	}
}

func TestSinkVerdictFlips(t *testing.T) {
	// 2 layers × 2 heads over 8 positions: even attention, then a sink.
	n := 8
	even := func(q int) []float64 {
		row := make([]float64, n)
		for k := 0; k <= q; k++ {
			row[k] = 1 / float64(q+1)
		}
		return row
	}
	sink := func(q int) []float64 {
		row := make([]float64, n)
		row[0] = 0.8
		for k := 1; k <= q; k++ {
			row[k] = 0.2 / float64(q)
		}
		return row
	}
	build := func(f func(int) []float64) [][][][]float64 {
		pat := make([][][][]float64, 2)
		for l := range pat {
			pat[l] = make([][][]float64, 2)
			for h := range pat[l] {
				for q := 0; q < n; q++ {
					pat[l][h] = append(pat[l][h], f(q))
				}
			}
		}
		return pat
	}
	r, _ := Sink(build(even), n)
	if v := verdict(t, r.Conclusions(), "sink_mean"); v != DoesNotHold {
		t.Errorf("even attention: %q (mean %v uniform %v)", v, r.Mean(), r.Uniform)
	}
	r, _ = Sink(build(sink), n)
	if v := verdict(t, r.Conclusions(), "sink_mean"); v != Holds {
		t.Errorf("80%% on BOS: %q", v)
	}
	if v := verdict(t, r.Conclusions(), "sink_heads"); v != Holds {
		t.Errorf("all heads sinks: %q", v)
	}
}

func TestSummationOrder(t *testing.T) {
	d, err := SummationOrder(1<<14, 9)
	if err != nil {
		t.Fatal(err)
	}
	cs := d.Conclusions()
	if len(cs) != len(d.Variants)-1 {
		t.Fatalf("%d conclusions for %v", len(cs), d.Variants)
	}
	// Constructed: scalar4 errors a tenth of scalar's, then equal ones.
	d = &DotErrors{Length: 10, Variants: []string{"scalar", "scalar4"}, Rel: [][]float64{{1, 2, 3, 4, 5, 6}, {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}}}
	if v := verdict(t, d.Conclusions(), "sum_scalar4"); v != Holds {
		t.Errorf("smaller error: %q", v)
	}
	d.Rel[1] = []float64{1.1, 1.9, 3.1, 3.9, 5.1, 5.9}
	if v := verdict(t, d.Conclusions(), "sum_scalar4"); v != NoDiff {
		t.Errorf("same error: %q", v)
	}
	d.Rel[1] = []float64{10, 20, 30, 40, 50, 60}
	if v := verdict(t, d.Conclusions(), "sum_scalar4"); v != DoesNotHold {
		t.Errorf("larger error: %q", v)
	}
}

func TestWallVerdicts(t *testing.T) {
	r := &WallResult{Probes: []float64{20, 21, 20}, Peak: 200, LLC: 32 << 20,
		Shapes: []WallShape{{Shape: "big", WeightBytes: 400e6, Flops: 200e6, TokS: 48}, {Shape: "small", WeightBytes: 1e6, Flops: 5e5, TokS: 3000}}}
	cs := r.Conclusions()
	if v := verdict(t, cs, "wall_big"); v != Holds { // predicted 20e9/400e6 = 50
		t.Errorf("big at 96%% of prediction: %q", v)
	}
	if v := verdict(t, cs, "wall_small"); v != DoesNotHold {
		t.Errorf("small in cache: %q", v)
	}
	r.Shapes[0].TokS = 25
	if v := verdict(t, r.Conclusions(), "wall_big"); v != DoesNotHold {
		t.Errorf("big at half the prediction: %q", v)
	}
	if v := verdict(t, cs, "ridge"); v != Holds {
		t.Errorf("ridge 10: %q", v)
	}
}
