package course

import (
	"strings"
	"testing"

	"github.com/memwall/memwall/asm"
)

func constructedLadder(int8TokS, fp32TokS []float64) *LadderResult {
	best := "simd-" + asm.Best()
	mk := func(id string, int8 bool, threads int, toks []float64, wb int64) RungResult {
		return RungResult{Rung: Rung{ID: id, Label: id, Variant: asm.Best(), Threads: threads, Int8: int8}, TokS: toks, WeightBytes: wb}
	}
	return &LadderResult{Shape: "test", Repeats: len(fp32TokS),
		Probes: map[int][]float64{1: {20, 21, 20.5, 20.2}},
		Rungs: []RungResult{
			mk("naive", false, 1, []float64{1, 1.1, 0.9, 1, 1}, 400),
			mk("unrolled", false, 1, []float64{3, 3.1, 2.9, 3, 3.05}, 400),
			mk(best, false, 1, fp32TokS, 400),
			mk("int8", true, 1, int8TokS, 106),
			mk("aligned", false, 1, []float64{fp32TokS[0] * 1.01, fp32TokS[1] * 0.98, fp32TokS[2] * 1.02, fp32TokS[3] * 0.99, fp32TokS[4]}, 400),
		}}
}

func TestLadderVerdictsFlip(t *testing.T) {
	fp := []float64{100, 104, 98, 101, 99}
	fast := constructedLadder([]float64{300, 310, 290, 305, 295}, fp).Conclusions()
	if v := verdict(t, fast, "int8"); v != Holds {
		t.Errorf("int8 3x faster: %q", v)
	}
	slow := constructedLadder([]float64{20, 21, 19, 20, 20.5}, fp).Conclusions()
	if v := verdict(t, slow, "int8"); v != DoesNotHold {
		t.Errorf("int8 slower than fp32: %q", v)
	}
	if c, _ := slow.Find("int8"); c.Evidence["bytes_cut"] < 3.7 {
		t.Errorf("bytes cut %v", c.Evidence["bytes_cut"])
	}
	// An aligned copy within ±2% of the mapped weights, run by run: no difference.
	if v := verdict(t, fast, "aligned"); v != NoDiff {
		t.Errorf("aligned ±2%%: %q", v)
	}
	if v := verdict(t, fast, "unrolled"); v != Holds {
		t.Errorf("unrolled 3x: %q", v)
	}
	if v := verdict(t, fast, "roof_1t"); v != Holds {
		t.Errorf("steady roof: %q", v)
	}
	l := constructedLadder([]float64{300, 310, 290, 305, 295}, fp)
	l.Probes[1] = []float64{20, 12, 21, 20}
	if v := verdict(t, l.Conclusions(), "roof_1t"); v != DoesNotHold {
		t.Errorf("unsteady roof: %q", v)
	}
	if f := l.Fraction(l.Rungs[2]); f <= 0 {
		t.Errorf("fraction %v", f)
	}
}

// TestLadderByteCutText: the sentence on a rung of fewer bytes follows the
// measured speed-up against the counted cut (here 400/106 = 3.77×).
func TestLadderByteCutText(t *testing.T) {
	fp := []float64{100, 104, 98, 101, 99}
	for _, c := range []struct {
		int8 []float64
		want string
	}{
		{[]float64{330, 340, 320, 335, 325}, "most of the 3.77× cut"},
		{[]float64{600, 620, 580, 610, 590}, "more than the 3.77× cut"},
		{[]float64{150, 155, 145, 152, 148}, "1.49× of a 3.77× cut"},
		{[]float64{20, 21, 19, 20, 20.5}, "made it slower"},
	} {
		got, _ := constructedLadder(c.int8, fp).Conclusions().Find("int8")
		if !strings.Contains(got.Text, c.want) {
			t.Errorf("int8 at %v tok/s: %q lacks %q", c.int8[0], got.Text, c.want)
		}
	}
}

// TestLadderBytesPerWeight: the plot's points are the one-thread rungs of
// other weights in order of bytes, at 4 × their bytes over fp32's, with the
// roof's prediction beside each.
func TestLadderBytesPerWeight(t *testing.T) {
	l := constructedLadder([]float64{300, 310, 290, 305, 295}, []float64{100, 104, 98, 101, 99})
	m, p, ok := l.BytesPerWeight()
	if !ok || len(m.X) != 2 {
		t.Fatalf("ok %v, points %v", ok, m.X)
	}
	if m.X[0] != 4*106.0/400 || m.X[1] != 4 || m.Y[0] != 300 || m.Y[1] != 100 {
		t.Errorf("measured %v %v", m.X, m.Y)
	}
	roof := l.Roof(1).Median
	if p.Y[0] != roof*1e9/106 || p.Y[1] != roof*1e9/400 {
		t.Errorf("predicted %v (roof %v GB/s)", p.Y, roof)
	}
	l.Rungs = l.Rungs[:3] // fp32 alone: nothing to plot
	if _, _, ok := l.BytesPerWeight(); ok {
		t.Error("a plot from the fp32 rung alone")
	}
}
