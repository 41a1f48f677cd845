package course

import (
	"strings"
	"testing"

	"github.com/memwall/memwall/inspect"
)

// The conclusions follow the numbers they are given: a faster run with a
// cheap verifying pass concludes faster and holds; a run in cache whose
// verifying pass costs k+1 tokens concludes slower; a repetitive sequence
// is flagged.
func TestSpeculativeConclusions(t *testing.T) {
	r := &SpeculativeResult{K: 4, Tokens: 40, Drafted: 32, Accepted: 30, Passes: 10, DraftPasses: 38,
		WeightBytes: 400, DraftWeightBytes: 100, Identical: true, Distinct: 30,
		PlainTokPerS: []float64{10, 11, 10, 12, 10}, SpecTokPerS: []float64{20, 21, 19, 22, 20},
		PlainPassMs: 100, VerifyPassMs: 110, DraftPassMs: 25}
	r.Comparison = inspect.Compare(r.PlainTokPerS, r.SpecTokPerS, 0.9)
	cs := r.conclude()
	want := map[string]string{"tokens_per_pass": Holds, "bytes_per_token": Holds, "speedup": Holds, "parts": Holds, "identical": Holds}
	for id, v := range want {
		c, ok := cs.Find(id)
		if !ok || c.Verdict != v {
			t.Errorf("%s: %+v, want verdict %s", id, c, v)
		}
	}
	if _, ok := cs.Find("repetitive"); ok {
		t.Error("30 distinct tokens of 40 flagged as repetitive")
	}
	r.SpecTokPerS = []float64{5, 6, 5, 5, 6}
	r.VerifyPassMs, r.DraftPassMs, r.Distinct = 480, 100, 2
	r.Comparison = inspect.Compare(r.PlainTokPerS, r.SpecTokPerS, 0.9)
	cs = r.conclude()
	if c, _ := cs.Find("speedup"); c.Verdict != DoesNotHold || !strings.Contains(c.Text, "slower") {
		t.Errorf("slower run: %+v", c)
	}
	if c, _ := cs.Find("parts"); c.Verdict != DoesNotHold || c.Evidence["verify_over_plain"] != 4.8 {
		t.Errorf("parts: %+v", c)
	}
	if _, ok := cs.Find("repetitive"); !ok {
		t.Error("2 distinct tokens of 40 not flagged")
	}
}
