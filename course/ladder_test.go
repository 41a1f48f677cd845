package course

import (
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
