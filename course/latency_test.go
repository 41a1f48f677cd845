package course

import (
	"encoding/json"
	"testing"
)

// constructedLatency builds a result from made-up timings: base ms per
// token plus slope per position, attention carrying attnShare of the slope.
func constructedLatency(n int, base, slope, attnShare float64, wobble float64) *LatencyResult {
	r := &LatencyResult{Tokens: n, Warmup: 4, Prompt: 16, ColdFirstMs: 50, WarmFirstMs: 2,
		TTFTBatchedColdMs: 12, TTFTBatchedMs: []float64{10, 10.5, 9.8, 10.1, 10.3}, TTFTTokenMs: []float64{40, 41, 39, 40.5, 39.5}}
	for i := 0; i < n; i++ {
		w := wobble * float64((i*7919)%13-6) / 6
		r.Ms = append(r.Ms, base+slope*float64(i)+w)
		r.AttentionMs = append(r.AttentionMs, 0.1+attnShare*slope*float64(i))
	}
	r.analyse()
	return r
}

func verdict(t *testing.T, cs Conclusions, id string) string {
	t.Helper()
	c, ok := cs.Find(id)
	if !ok {
		return ""
	}
	if c.Text == "" || c.Claim == "" || len(c.Evidence) == 0 {
		t.Errorf("%s: conclusion without text, claim or evidence: %+v", id, c)
	}
	return c.Verdict
}

func TestLatencyDriftVerdictFlips(t *testing.T) {
	up := constructedLatency(256, 1, 0.002, 0.9, 0.05).Conclusions()
	if v := verdict(t, up, "drift"); v != Holds {
		t.Errorf("rising latency: drift verdict %q", v)
	}
	if v := verdict(t, up, "drift_attention"); v != Holds {
		t.Errorf("attention carries the growth: %q", v)
	}
	// The same growth, but attention flat: the explanation does not hold.
	if v := verdict(t, constructedLatency(256, 1, 0.002, 0, 0.05).Conclusions(), "drift_attention"); v != DoesNotHold {
		t.Errorf("flat attention: %q", v)
	}
	// A negative slope: no "attention reads a longer cache" sentence.
	down := constructedLatency(256, 2, -0.002, 0.9, 0.05).Conclusions()
	if v := verdict(t, down, "drift"); v != DoesNotHold {
		t.Errorf("falling latency: %q", v)
	}
	if _, ok := down.Find("drift_attention"); ok {
		t.Error("a falling latency got an explanation of growth")
	}
	// Noise only.
	if v := verdict(t, constructedLatency(256, 1, 0, 0, 0.05).Conclusions(), "drift"); v != NoDiff {
		t.Errorf("flat latency: %q", v)
	}
}

func TestLatencyTailAndPrefill(t *testing.T) {
	r := constructedLatency(256, 1, 0, 0, 0.05)
	if v := verdict(t, r.Conclusions(), "tail"); v != Holds {
		t.Errorf("tight tail: %q (P50 %v P99 %v)", v, r.Steady.P50, r.Steady.P99)
	}
	for i := 10; i < 20; i++ { // 10 slow tokens of 252: past the 99th percentile
		r.Ms[i] = 5
	}
	r.analyse()
	if v := verdict(t, r.Conclusions(), "tail"); v != DoesNotHold {
		t.Errorf("wide tail: %q", v)
	}
	// 64 tokens cannot support a P99.
	if v := verdict(t, constructedLatency(64, 1, 0, 0, 0.05).Conclusions(), "tail"); v != Unsupported {
		t.Errorf("64 tokens: %q", v)
	}
	if v := verdict(t, r.Conclusions(), "prefill"); v != Holds {
		t.Errorf("token by token 4x slower: %q", v)
	}
	r.TTFTTokenMs = []float64{10.2, 9.9, 10.4, 9.9, 10.4} // overlapping the batched times
	if v := verdict(t, r.Conclusions(), "prefill"); v != NoDiff {
		t.Errorf("overlapping prefill times: %q", v)
	}
	if v := verdict(t, r.Conclusions(), "ttft_threshold"); v != Holds {
		t.Errorf("10 ms under 200: %q", v)
	}
	r.TTFTBatchedMs = []float64{300, 310, 290, 305, 295}
	if v := verdict(t, r.Conclusions(), "ttft_threshold"); v != DoesNotHold {
		t.Errorf("300 ms: %q", v)
	}
	r.ColdFirstMs = 0.5
	if v := verdict(t, r.Conclusions(), "first_token"); v != DoesNotHold {
		t.Errorf("fast first token: %q", v)
	}
	// The JSON carries the conclusions with their evidence, and encodes.
	b, err := json.Marshal(r.Bundle().JSON)
	if err != nil {
		t.Fatal(err)
	}
	var js struct {
		P50         float64 `json:"p50_ms"`
		Conclusions []struct {
			ID       string             `json:"id"`
			Verdict  string             `json:"verdict"`
			Evidence map[string]float64 `json:"evidence"`
		} `json:"conclusions"`
	}
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatal(err)
	}
	if len(js.Conclusions) < 5 || js.Conclusions[0].Evidence["p50_ms"] != js.P50 {
		t.Errorf("conclusions in JSON: %+v", js)
	}
}
