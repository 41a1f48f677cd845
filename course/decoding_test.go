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
