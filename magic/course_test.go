package magic

import (
	"strings"
	"testing"
)

// The course magics on stories260K with small sizes: each must run, show
// its conclusion and carry its numbers in JSON.

func TestShapesAndTying(t *testing.T) {
	s := newTest(t)
	r := run(t, s, "%shapes")
	js := r.lastJSON(t)
	rows := js["shapes"].([]any)
	if len(rows) != 4 {
		t.Fatalf("%d shapes", len(rows))
	}
	for _, x := range rows {
		m := x.(map[string]any)
		if m["v0_untied_bytes"].(float64) <= m["v0_tied_bytes"].(float64) {
			t.Errorf("%v: untied not larger", m["shape"])
		}
	}
	conclusions(t, js)
	r = run(t, s, "%tying")
	js = r.lastJSON(t)
	if js["same_size"] != true {
		t.Errorf("tied and untied files differ in size: %v", js)
	}
	files := js["files"].([]any)
	if v := files[0].(map[string]any)["header_vocab_size"].(float64); v != -512 {
		t.Errorf("untied header vocab_size %v, want -512", v)
	}
	if !strings.Contains(r.text(), "the file size cannot tell them apart") {
		t.Errorf("no conclusion: %s", r.text())
	}
	if cs := conclusions(t, js); cs["size"]["untied_bytes"] != cs["size"]["tied_bytes"] {
		t.Errorf("size evidence %v", cs["size"])
	}
}

func TestFirstTokenAndIntensity(t *testing.T) {
	s := newTest(t)
	r := run(t, s, "%firsttoken")
	js := r.lastJSON(t)
	if js["cold_ms"].(float64) <= 0 || js["warm_ms"].(float64) <= 0 {
		t.Errorf("times %v", js)
	}
	if cs := conclusions(t, js); cs["cold_slower"]["cold_ms"] != js["cold_ms"] {
		t.Errorf("first-token evidence %v", cs["cold_slower"])
	}
	r = run(t, s, "%intensity --shape stories110M --position 10")
	js = r.lastJSON(t)
	if js["fp32_matvec_intensity"].(float64) != 0.5 {
		t.Errorf("fp32 intensity %v", js["fp32_matvec_intensity"])
	}
	if v := js["int8_intensity"].(float64); v < 1.7 || v > 2 {
		t.Errorf("int8 intensity %v", v)
	}
	if !strings.Contains(r.text(), "= 0.5 FLOP/byte") {
		t.Errorf("text %s", r.text())
	}
	if cs := conclusions(t, js); cs["fp32_intensity"]["intensity"] != js["fp32_matvec_intensity"] {
		t.Errorf("fp32 intensity evidence %v", cs["fp32_intensity"])
	}
}

// conclusions checks that js carries conclusions, each with an id, claim,
// verdict, text and named evidence, and returns their evidence by id.
func conclusions(t *testing.T, js map[string]any) map[string]map[string]any {
	t.Helper()
	raw, ok := js["conclusions"].([]any)
	if !ok || len(raw) == 0 {
		t.Fatalf("no conclusions in %v", js)
	}
	out := map[string]map[string]any{}
	for _, x := range raw {
		c := x.(map[string]any)
		ev, _ := c["evidence"].(map[string]any)
		if c["id"] == "" || c["claim"] == "" || c["verdict"] == "" || c["text"] == "" || len(ev) == 0 {
			t.Errorf("incomplete conclusion %v", c)
		}
		out[c["id"].(string)] = ev
	}
	return out
}

func TestWallLadderLatency(t *testing.T) {
	s := newTest(t)
	r := run(t, s, "%wall --shapes stories260K -n 8 --size 16")
	js := r.lastJSON(t)
	rows := js["rows"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["measured_tok_s"].(float64) <= 0 {
		t.Errorf("rows %v", rows)
	}
	if cs := conclusions(t, js); cs["ridge"]["ridge"] != js["ridge"] {
		t.Errorf("ridge evidence %v against %v", cs["ridge"], js["ridge"])
	}
	r = run(t, s, "%ladder --shape stories260K -n 8 --size 16")
	js = r.lastJSON(t)
	if len(js["rungs"].([]any)) < 4 {
		t.Errorf("rungs %v", js["rungs"])
	}
	cs := conclusions(t, js)
	if _, ok := cs["int8"]; !ok {
		t.Errorf("ladder conclusions lack int8: %v", cs)
	}
	r = run(t, s, "%latency -n 32 --prompt 16")
	js = r.lastJSON(t)
	if js["p50_ms"].(float64) <= 0 || js["ttft_batched_ms"].(float64) <= 0 {
		t.Errorf("latency %v", js)
	}
	cs = conclusions(t, js)
	// The conclusions' evidence is the JSON's numbers.
	if cs["drift"]["slope_ms_per_position"] != js["slope_ms_per_pos"] || cs["ttft_threshold"]["ttft_batched_ms"] != js["ttft_batched_ms"] {
		t.Errorf("drift evidence %v against %v", cs["drift"], js["slope_ms_per_pos"])
	}
	// 28 steady tokens do not support a P99: the tail verdict says so.
	if js["p99_ms"] != nil || !strings.Contains(r.text(), "cannot support a P99") {
		t.Errorf("P99 from 28 tokens: %v", js["p99_ms"])
	}
}

func TestDecodeStrategies(t *testing.T) {
	s := newTest(t)
	r := run(t, s, "%decode -n 20 Once upon a time")
	js := r.lastJSON(t)
	if !strings.HasPrefix(js["text"].(string), ", there was a little girl named Lily") {
		t.Errorf("greedy text %q", js["text"])
	}
	for _, st := range []string{"sample", "topk", "topp", "beam --width 3", "beam --width 3 --sequential", "contrastive --width 3"} {
		r = run(t, s, "%decode -n 8 --strategy "+st+" Once upon a time")
		js = r.lastJSON(t)
		if js["generated"].(float64) < 1 {
			t.Errorf("%s: nothing generated", st)
		}
	}
	r = run(t, s, "%decode --strategy beam --compare 1,2,4 -n 6 Once upon a time")
	js = r.lastJSON(t)
	if g := js["weight_growth_batched"].(float64); g > 1.01 {
		t.Errorf("batched weight traffic grew ×%v", g)
	}
	if g := js["weight_growth_sequential"].(float64); g < 3.9 {
		t.Errorf("sequential weight traffic grew only ×%v", g)
	}
	if cs := conclusions(t, js); cs["paper_sequential"]["growth"] != js["weight_growth_sequential"] {
		t.Errorf("growth evidence %v", cs["paper_sequential"])
	}
	fail(t, s, "%decode --strategy nope x", "unknown strategy")
	fail(t, s, "%decode --compare 1,2 x", "--compare needs")
}

func TestNumericsAndSink(t *testing.T) {
	s := newTest(t)
	r := run(t, s, "%numerics --length 4096")
	js := r.lastJSON(t)
	rows := js["rows"].([]any)
	last := rows[len(rows)-1].(map[string]any)
	if !strings.HasPrefix(last["label"].(string), "int8") || last["top1"].(float64) < 0.5 {
		t.Errorf("int8 row %v", last)
	}
	for _, x := range rows[1 : len(rows)-1] {
		if m := x.(map[string]any); m["max_abs"].(float64) > 1e-3 {
			t.Errorf("%v: fp32 logits far from float64: %v", m["label"], m["max_abs"])
		}
	}
	run(t, s, "%generate -n 0 Once upon a time, there was a little girl")
	conclusions(t, js)
	r = run(t, s, "%sink")
	js = r.lastJSON(t)
	if cs := conclusions(t, js); cs["sink_mean"]["mean"] != js["mean"] {
		t.Errorf("sink evidence %v", cs["sink_mean"])
	}
	if m := js["mean"].(float64); m <= 0 || m > 1 {
		t.Errorf("sink mean %v", m)
	}
}

func TestPaper(t *testing.T) {
	s := newTest(t)
	r := run(t, s, "%paper")
	js := r.lastJSON(t)
	cs := conclusions(t, js)
	// The evidence is the JSON's numbers.
	if cs["throughput"]["tok_s_all_256"] != js["tok_s_all"] || cs["throughput"]["tok_s_without_first"] != js["tok_s_without_first"] {
		t.Errorf("throughput evidence %v, JSON %v %v", cs["throughput"], js["tok_s_all"], js["tok_s_without_first"])
	}
	if v := js["tok_s_all"].(float64); v < 61.2 || v > 61.4 {
		t.Errorf("the table's 61.3 recomputed as %v", v)
	}
	if !strings.Contains(r.text(), "The tight spread between P50 and P99 indicates deterministic execution.") {
		t.Error("the paper's caption is not quoted verbatim")
	}
}
