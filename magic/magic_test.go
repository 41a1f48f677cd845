package magic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
	"github.com/memwall/memwall/internal/testdata"
	"github.com/memwall/memwall/kernel"
)

// recorder is a kernel.Output that keeps everything.
type recorder struct {
	mu       sync.Mutex
	stream   strings.Builder
	stderr   strings.Builder
	displays []kernel.Bundle
	updates  []kernel.Bundle
	ids      []string
}

func (r *recorder) Stream(name, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "stderr" {
		r.stderr.WriteString(text)
		return
	}
	r.stream.WriteString(text)
}

func (r *recorder) Display(b kernel.Bundle, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.displays = append(r.displays, b)
	r.ids = append(r.ids, id)
}

func (r *recorder) Update(b kernel.Bundle, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, b)
}
func (r *recorder) Clear(bool)             {}
func (r *recorder) Result(b kernel.Bundle) { r.Display(b, "") }
func (r *recorder) Input(context.Context, string, bool) (string, error) {
	return "", kernel.ErrStdinNotAllowed
}

// last returns the JSON of the last display that has one, round-tripped
// through encoding/json as the kernel would send it.
func (r *recorder) lastJSON(t *testing.T) map[string]any {
	t.Helper()
	for i := len(r.displays) - 1; i >= 0; i-- {
		if js, ok := r.displays[i].Data[inspect.JSONMIME]; ok {
			raw, err := json.Marshal(js)
			if err != nil {
				t.Fatalf("JSON does not marshal: %v", err)
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatalf("no display with JSON; text: %q", r.text())
	return nil
}

func (r *recorder) text() string {
	var b strings.Builder
	b.WriteString(r.stream.String())
	for _, d := range r.displays {
		if s, ok := d.Data["text/plain"].(string); ok {
			b.WriteString(s + "\n")
		}
	}
	return b.String()
}

func newTest(t *testing.T) *Interpreter {
	t.Helper()
	model := testdata.Model("stories260K.bin")
	if !isFile(model) {
		t.Skip("stories260K.bin not found")
	}
	s := New(Options{ModelDirs: []string{filepath.Dir(model)}, WorkDir: t.TempDir(), CacheDir: t.TempDir()})
	t.Cleanup(func() { s.Close() })
	run(t, s, "%load stories260K")
	return s
}

// run executes a cell that must succeed.
func run(t *testing.T, s *Interpreter, code string) *recorder {
	t.Helper()
	r := &recorder{}
	if err := s.Execute(context.Background(), code, r); err != nil {
		t.Fatalf("cell %q: %v", code, err)
	}
	return r
}

// fail executes a cell that must fail with a MagicError containing want.
func fail(t *testing.T, s *Interpreter, code string, want ...string) *Error {
	t.Helper()
	r := &recorder{}
	err := s.Execute(context.Background(), code, r)
	if err == nil {
		t.Fatalf("cell %q: no error; output %q", code, r.text())
	}
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("cell %q: error %T %v is not a *magic.Error", code, err, err)
	}
	if me.Name() != "MagicError" {
		t.Errorf("name %q", me.Name())
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("cell %q: error %q does not contain %q", code, err, w)
		}
	}
	return me
}

func floats(t *testing.T, v any) []float64 {
	t.Helper()
	xs, ok := v.([]any)
	if !ok {
		t.Fatalf("not a list: %T", v)
	}
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x.(float64)
	}
	return out
}

const story = "Once upon a time, there was a little girl named Lily"

func TestGenerateGreedy(t *testing.T) {
	s := newTest(t)
	r := run(t, s, "%generate -n 12 Once upon a time")
	if !strings.HasPrefix(r.stream.String(), story) {
		t.Fatalf("stream %q does not start with %q", r.stream.String(), story)
	}
	js := r.lastJSON(t)
	if js["tokens"].(float64) != 12 || js["stopped"] != "steps" {
		t.Errorf("summary %v", js)
	}
	if !strings.Contains(r.text(), "tok/s") || !strings.Contains(r.text(), "P99") {
		t.Errorf("no summary line in %q", r.text())
	}
	// A plain-text cell is the same as %%generate; the defaults are greedy.
	r2 := run(t, s, "%%generate -n 12\nOnce upon a time")
	if r2.stream.String() != r.stream.String() {
		t.Errorf("%%%%generate %q != %%generate %q", r2.stream.String(), r.stream.String())
	}
	r3 := run(t, s, "Once upon a time")
	if !strings.HasPrefix(r3.stream.String(), r.stream.String()[:len(r.stream.String())-1]) {
		t.Errorf("plain text %q does not extend %q", r3.stream.String(), r.stream.String())
	}
	// --continue extends the context.
	run(t, s, "%generate -n 5 Once upon a time")
	before := len(s.ids)
	r4 := run(t, s, "%generate --continue -n 3")
	if len(s.ids) != before+3 {
		t.Errorf("continue: %d ids, want %d", len(s.ids), before+3)
	}
	if js := r4.lastJSON(t); js["prompt_tokens"].(float64) != float64(before) {
		t.Errorf("continue summary %v", js)
	}
	// Continuing must equal generating it all at once.
	run(t, s, "%generate -n 8 Once upon a time")
	if got, want := s.ids, s.ids; len(got) != len(want) {
		t.Fatal()
	}
	all := append([]int(nil), s.ids...)
	run(t, s, "%generate -n 5 Once upon a time")
	run(t, s, "%generate -c -n 3")
	if fmt.Sprint(s.ids) != fmt.Sprint(all) {
		t.Errorf("5 then 3 tokens %v != 8 tokens %v", s.ids, all)
	}
}

func TestTopKProbabilities(t *testing.T) {
	s := newTest(t)
	run(t, s, "%generate -n 0 Once upon a time")
	r := run(t, s, "%topk -k 5")
	js := r.lastJSON(t)
	if math.Abs(js["prob_sum"].(float64)-1) > 1e-4 {
		t.Errorf("probabilities sum to %v", js["prob_sum"])
	}
	probs := floats(t, js["probs"])
	if len(probs) != 5 {
		t.Fatalf("%d probs", len(probs))
	}
	for i := 1; i < len(probs); i++ {
		if probs[i] > probs[i-1] {
			t.Errorf("not sorted: %v", probs)
		}
	}
	if js["pieces"].([]any)[0] != "," {
		t.Errorf("top piece after 'Once upon a time' = %v, want ','", js["pieces"])
	}
	if _, ok := r.displays[len(r.displays)-1].Data["text/html"]; !ok {
		t.Error("no HTML")
	}
	if !strings.Contains(r.displays[len(r.displays)-1].Data["text/html"].(string), "<svg") {
		t.Error("no bar chart")
	}
	// The full distribution sums to 1 too.
	logits, err := s.run(context.Background(), s.ids, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := newDist(logits); math.Abs(d.sum()-1) > 1e-5 {
		t.Errorf("sum %v", d.sum())
	}
	// --prompt sets the context.
	run(t, s, `%topk -k 3 --prompt "Once upon"`)
	if len(s.ids) != len(s.tok.Encode("Once upon", true, false)) {
		t.Errorf("--prompt did not set the context: %v", s.ids)
	}
}

func TestAttentionRowsSumToOne(t *testing.T) {
	s := newTest(t)
	run(t, s, "%generate -n 4 Once upon a time")
	n := len(s.ids)
	check := func(m any) {
		rows := m.([]any)
		if len(rows) != n {
			t.Fatalf("%d rows, want %d", len(rows), n)
		}
		for i, row := range rows {
			xs := floats(t, row)
			if len(xs) != i+1 {
				t.Fatalf("row %d has %d entries", i, len(xs))
			}
			var sum float64
			for _, x := range xs {
				sum += x
			}
			if math.Abs(sum-1) > 1e-4 {
				t.Errorf("row %d sums to %v", i, sum)
			}
		}
	}
	r := run(t, s, "%attention --layer 1 --head 3")
	js := r.lastJSON(t)
	check(js["pattern"])
	if svg, _ := r.displays[0].Data["image/svg+xml"].(string); !strings.Contains(svg, "<svg") {
		t.Error("no heatmap")
	}
	r = run(t, s, "%attention --layer 4 --log")
	heads := r.lastJSON(t)["patterns"].([]any)
	if len(heads) != 8 {
		t.Fatalf("%d heads", len(heads))
	}
	for _, h := range heads {
		check(h)
	}
	r = run(t, s, "%attention")
	layers := r.lastJSON(t)["patterns"].([]any)
	if len(layers) != 5 {
		t.Fatalf("%d layers", len(layers))
	}
	check(layers[0].([]any)[7])
	// Out of range, with the next cell fine.
	fail(t, s, "%attention --layer 5", "--layer 5 is out of range", "5 layers")
	fail(t, s, "%attention --layer 0 --head 8", "--head 8 is out of range")
	fail(t, s, "%attention --layer -1", "out of range")
	run(t, s, "%attention --layer 0 --head 0")
}

func TestCacheSaveActivations(t *testing.T) {
	s := newTest(t)
	run(t, s, "%generate -n 3 Once upon a time")
	n := len(s.ids)
	fail(t, s, "%save blocks.0.hook_resid_post x.npy", "not cached", "%cache")
	r := run(t, s, "%cache blocks.*.hook_resid_post blocks.2.attn.hook_pattern")
	js := r.lastJSON(t)
	if len(js["hooks"].([]any)) != 6 {
		t.Errorf("captured %v", js["hooks"])
	}
	// Save and read back; the values are what a hook sees.
	run(t, s, "%save blocks.3.hook_resid_post resid.npy")
	shape, data, err := inspect.ReadNPY(filepath.Join(s.opts.WorkDir, "resid.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(shape) != fmt.Sprint([]int{n, 64}) {
		t.Fatalf("shape %v, want [%d 64]", shape, n)
	}
	want := make([]float32, 0, n*64)
	st, _ := engine.NewState(s.model, nil)
	st.AddHook("blocks.3.hook_resid_post", func(ev *engine.HookEvent) { want = append(want, ev.Data...) })
	for p, id := range s.ids {
		if _, err := st.Forward(context.Background(), id, p); err != nil {
			t.Fatal(err)
		}
	}
	for i := range want {
		if math.Abs(float64(want[i]-data[i])) > 1e-5 {
			t.Fatalf("value %d: %v, want %v", i, data[i], want[i])
		}
	}
	run(t, s, "%save blocks.2.attn.hook_pattern pat.npy")
	shape, _, err = inspect.ReadNPY(filepath.Join(s.opts.WorkDir, "pat.npy"))
	if err != nil || fmt.Sprint(shape) != fmt.Sprint([]int{n, 8, n}) {
		t.Fatalf("pattern shape %v %v", shape, err)
	}
	r = run(t, s, "%activations blocks.3.hook_resid_post")
	js = r.lastJSON(t)
	if norms := floats(t, js["norms"]); len(norms) != n || norms[0] <= 0 {
		t.Errorf("norms %v", norms)
	}
	// Not cached yet: captured on the spot.
	r = run(t, s, "%activations blocks.0.mlp.hook_post")
	if !strings.Contains(r.text(), "captured now") {
		t.Errorf("%q", r.text())
	}
	fail(t, s, "%cache blocks.9.hook_resid_post", "no hook point", "blocks.9.hook_resid_post")
	fail(t, s, "%activations blocks.0.hook_resid_pots", "no hook point", "did you mean blocks.0.hook_resid_post")
	fail(t, s, "%save blocks.3.hook_resid_post out.txt", ".npy")
	run(t, s, "%cache")
}

func TestLensFinalRowIsPrediction(t *testing.T) {
	s := newTest(t)
	run(t, s, "%generate -n 0 Once upon a time")
	r := run(t, s, "%lens")
	js := r.lastJSON(t)
	ids := js["top_ids"].([]any)
	if len(ids) != 6 {
		t.Fatalf("%d rows", len(ids))
	}
	final := floats(t, ids[5])
	last := floats(t, ids[4])
	// The actual prediction: greedy generation of one token.
	ctxIDs := append([]int(nil), s.ids...)
	run(t, s, "%generate -n 1 Once upon a time")
	next := s.ids[len(ctxIDs)]
	if int(final[len(final)-1]) != next || int(js["prediction"].(float64)) != next {
		t.Errorf("lens final row predicts %v, generation gave %d", final[len(final)-1], next)
	}
	// The last layer's lens is the model's own computation.
	for i := range final {
		if final[i] != last[i] {
			t.Errorf("position %d: last layer lens %v != final %v", i, last[i], final[i])
		}
	}
	if _, ok := r.displays[0].Data["text/html"]; !ok {
		t.Error("no table")
	}
	r = run(t, s, "%lens --positions 2")
	if got := floats(t, r.lastJSON(t)["positions"]); len(got) != 2 {
		t.Errorf("positions %v", got)
	}
}

func TestStepThenContinueMatchesGeneration(t *testing.T) {
	s := newTest(t)
	run(t, s, "%generate -n 1 Once upon a time")
	want := s.ids[len(s.ids)-1]
	run(t, s, "%generate -n 0 Once upon a time")
	r := run(t, s, "%step")
	js := r.lastJSON(t)
	if js["stop"] != "blocks.0.hook_resid_post" || js["pattern"] == nil || js["lens"] == nil {
		t.Errorf("first layer step: %v", js)
	}
	r = run(t, s, "%step op")
	if js := r.lastJSON(t); js["stop"] != "blocks.1.hook_resid_pre" {
		t.Errorf("op step stopped at %v", js["stop"])
	}
	run(t, s, "%step layer")
	fail(t, s, "%generate -n 3 hi", "stepped through")
	r = run(t, s, "%continue")
	js = r.lastJSON(t)
	if int(js["token"].(float64)) != want {
		t.Errorf("stepped token %v, generation gave %d", js["token"], want)
	}
	if s.ids[len(s.ids)-1] != want || s.step != nil {
		t.Error("token not appended")
	}
	// Stepping through to the end finishes the token too; the next
	// generation continues from it.
	for i := 0; i < 7; i++ {
		run(t, s, "%step")
	}
	if s.step != nil {
		t.Error("stepping past the end did not finish")
	}
	run(t, s, "%generate -n 3 Once upon a time")
	plain := append([]int(nil), s.ids...)
	run(t, s, "%generate -n 1 Once upon a time")
	run(t, s, "%step\n%step op")
	run(t, s, "%continue")
	run(t, s, "%generate -c -n 1")
	if fmt.Sprint(plain) != fmt.Sprint(s.ids) {
		t.Errorf("after stepping %v, plain %v", s.ids, plain)
	}
	fail(t, s, "%continue", "nothing to continue")
	// Reset and interrupt release the goroutine.
	run(t, s, "%step")
	run(t, s, "%reset")
	if s.step != nil {
		t.Error("reset kept the step")
	}
	run(t, s, "%generate -n 0 Once upon a time")
	run(t, s, "%step")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Execute(ctx, "%step", &recorder{}); err == nil {
		t.Error("interrupted step: no error")
	}
	if s.step != nil {
		t.Error("interrupted step kept the goroutine")
	}
	run(t, s, "%generate -n 1 Once upon a time")
	if s.ids[len(s.ids)-1] != want {
		t.Error("generation after an interrupted step differs")
	}
}

func TestTimeBreakdownSumsToTotal(t *testing.T) {
	s := newTest(t)
	r := run(t, s, "%%time\n%generate -n 8 Once upon a time")
	if !strings.HasPrefix(r.stream.String(), "Once upon a time, there") {
		t.Errorf("body output %q", r.stream.String())
	}
	check := func(js map[string]any) {
		var sum float64
		ops := map[string]bool{}
		for _, row := range js["rows"].([]any) {
			m := row.(map[string]any)
			sum += m["ms"].(float64)
			ops[m["op"].(string)] = true
		}
		total := js["total_ms"].(float64)
		if math.Abs(sum-total) > 1e-6*max(1, total) {
			t.Errorf("rows sum to %v ms, total %v ms", sum, total)
		}
		for _, op := range []string{"wq", "wk", "wv", "wo", "w1", "w2", "w3", "classifier", "attention", "rmsnorm", "swiglu", "sampling", "other"} {
			if !ops[op] {
				t.Errorf("no row for %s: %v", op, ops)
			}
		}
	}
	js := r.lastJSON(t)
	if js["tokens"].(float64) != 8 {
		t.Errorf("tokens %v", js["tokens"])
	}
	check(js)
	check(run(t, s, "%time").lastJSON(t))
	check(run(t, s, "%time -n 4").lastJSON(t))
	fail(t, s, "%%time\n%tokens hi", "no tokens")
}

func TestBenchAndInterrupt(t *testing.T) {
	s := newTest(t)
	r := run(t, s, "%bench -n 8 --repeats 3 --variants scalar --threads 1,2")
	js := r.lastJSON(t)
	rows := js["rows"].([]any)
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, row := range rows {
		m := row.(map[string]any)
		if m["tok_per_s"].(float64) <= 0 || m["p50_ms"].(float64) <= 0 || len(m["ms"].([]any)) != 24 || len(m["tok_per_s_runs"].([]any)) != 3 {
			t.Errorf("row %v", m)
		}
	}
	if len(r.updates) == 0 || r.ids[0] == "" {
		t.Error("no progress display")
	}
	// The second configuration is compared with the first, with evidence.
	cs := js["conclusions"].([]any)
	if len(cs) != 1 {
		t.Fatalf("conclusions %v", cs)
	}
	c0 := cs[0].(map[string]any)
	if ev := c0["evidence"].(map[string]any); ev["pairs"].(float64) != 3 || c0["verdict"] == "" {
		t.Errorf("conclusion %v", c0)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Execute(ctx, "%bench -n 400 --variants scalar", &recorder{})
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("interrupted bench: %v", err)
	}
	fail(t, s, "%bench --variants nosuch", "unknown kernel variant")
	fail(t, s, "%bench --threads 0", "positive")
	run(t, s, "%generate -n 2 Once upon a time")
}

func TestAblateAndPatch(t *testing.T) {
	s := newTest(t)
	run(t, s, "%generate -n 0 Once upon a time")
	r := run(t, s, "%ablate blocks.1.attn.hook_z --head 2")
	js := r.lastJSON(t)
	if js["kl"].(float64) < 0 || len(s.ablations) != 1 {
		t.Errorf("ablate: %v", js)
	}
	r = run(t, s, "%ablate blocks.*.hook_mlp_out")
	if kl := r.lastJSON(t)["kl"].(float64); kl <= 0 {
		t.Errorf("zeroing every MLP changed nothing: kl %v", kl)
	}
	// Ablations apply to generation.
	run(t, s, "%generate -n 5 Once upon a time")
	ablated := fmt.Sprint(s.ids)
	r = run(t, s, "%ablate")
	if !strings.Contains(r.text(), "hook_mlp_out") {
		t.Errorf("list: %q", r.text())
	}
	run(t, s, "%ablate --clear")
	run(t, s, "%generate -n 5 Once upon a time")
	if fmt.Sprint(s.ids) == ablated {
		t.Error("ablation did not change generation")
	}
	if !strings.HasPrefix(s.tok.DecodeAll(1, s.ids[1:]), "Once upon a time, there") {
		t.Error("clearing did not restore generation")
	}
	fail(t, s, "%ablate blocks.0.hook_resid_post --head 1", "no head axis")
	fail(t, s, "%ablate blocks.0.attn.hook_k --head 4", "out of range", "4 heads")
	fail(t, s, "%ablate blocks.0.nosuch", "no hook point")
	// Patching a prompt's own activations into itself changes nothing;
	// patching another prompt's residual stream at the last layer makes
	// the prediction that prompt's.
	run(t, s, "%generate -n 0 Once upon a time")
	r = run(t, s, `%patch blocks.0.hook_resid_pre --from "Once upon a time"`)
	if kl := r.lastJSON(t)["kl"].(float64); kl > 1e-9 {
		t.Errorf("self patch kl %v", kl)
	}
	r = run(t, s, `%patch blocks.4.hook_resid_post --from "Once upon a mat"`)
	js = r.lastJSON(t)
	if js["kl"].(float64) <= 0 || js["patched"].(float64) == 0 {
		t.Errorf("patch %v", js)
	}
	fail(t, s, "%patch blocks.0.hook_resid_pre", "--from")
}

func TestBadInput(t *testing.T) {
	s := newTest(t)
	me := fail(t, s, "%help\n%genrate hi", "line 2: unknown magic %genrate", "did you mean %generate?")
	if me.Line != 2 {
		t.Errorf("line %d", me.Line)
	}
	fail(t, s, "%generate --temprature 1 hi", "unknown flag --temprature", "--temperature")
	fail(t, s, "%generate -n lots hi", "expects an integer")
	fail(t, s, "%topk -k", "expects a value")
	fail(t, s, `%generate "unclosed`, "never closed")
	fail(t, s, "%load nosuchmodel", "not found")
	fail(t, s, "%load --shape stories1B", "unknown shape")
	fail(t, s, "%topk\nhello", "line 2", "expected a magic")
	fail(t, s, "%reset extra", "no positional")
	fail(t, s, "%%lens\nx", "no cell form")
	fail(t, s, "%weights layers.0.attention.wz", "no tensor", "layers.0.attention.wq")
	fail(t, s, "%variant nosuch", "unknown kernel variant")
	fail(t, s, "%threads -3", "positive")
	fail(t, s, "%layout sideways", "mapped or aligned")
	fail(t, s, "%step sideways", "layer or op")
	run(t, s, "%reset")
	fail(t, s, "%topk", "no context")
	// The session still works.
	r := run(t, s, "%generate -n 12 Once upon a time")
	if !strings.HasPrefix(r.stream.String(), story) {
		t.Errorf("%q", r.stream.String())
	}
	tb := me.Traceback()
	if len(tb) == 0 || !strings.HasPrefix(tb[0], "MagicError: line 2") {
		t.Errorf("traceback %q", tb)
	}
}

func TestModelMagics(t *testing.T) {
	s := newTest(t)
	r := run(t, s, "%model")
	js := r.lastJSON(t)
	if js["dim"].(float64) != 64 || js["layers"].(float64) != 5 || js["shared"] != true || js["params"].(float64) <= 0 {
		t.Errorf("card %v", js)
	}
	if !strings.HasSuffix(js["tokenizer"].(string), "tok512.bin") {
		t.Errorf("tokenizer %v", js["tokenizer"])
	}
	r = run(t, s, "%weights")
	if n := len(r.lastJSON(t)["tensors"].([]any)); n != len(s.model.Tensors) {
		t.Errorf("%d tensors", n)
	}
	r = run(t, s, "%weights layers.0.attention.wq --rows 16 --cols 8")
	js = r.lastJSON(t)
	if js["rows"].(float64) != 64 || js["stats"] == nil {
		t.Errorf("%v", js)
	}
	if h, _ := r.displays[0].Data["text/html"].(string); strings.Count(h, "<svg") != 2 {
		t.Error("want a histogram and a heatmap")
	}
	run(t, s, "%weights norm")
	r = run(t, s, "%tokens Once upon a time")
	js = r.lastJSON(t)
	if ids := floats(t, js["ids"]); len(ids) != len(s.tok.Encode("Once upon a time", true, false)) || ids[0] != 1 {
		t.Errorf("ids %v", ids)
	}
	r = run(t, s, "%%tokens --no-bos\nhello")
	if ids := floats(t, r.lastJSON(t)["ids"]); ids[0] == 1 {
		t.Error("--no-bos kept BOS")
	}
	r = run(t, s, "%variant")
	if js := r.lastJSON(t); js["active"] == "" {
		t.Errorf("%v", js)
	}
	run(t, s, "%variant scalar\n%threads 2\n%layout aligned")
	if s.ops.Name != "scalar" || s.ops.Threads() != 2 || s.st.Layout() != engine.LayoutAligned {
		t.Error("switches not applied")
	}
	r = run(t, s, "%generate -n 12 Once upon a time")
	if !strings.HasPrefix(r.stream.String(), story) {
		t.Errorf("scalar/aligned: %q", r.stream.String())
	}
	run(t, s, "%help\n%help generate\n%lsmagic")
	// Synthetic models.
	r = run(t, s, "%load --shape stories260K --seed 3 --format v2")
	if js := r.lastJSON(t); js["quantized"] != true || js["synthetic"] != true {
		t.Errorf("%v", js)
	}
	if !strings.Contains(r.text(), "RANDOM WEIGHTS") {
		t.Error("no banner")
	}
	run(t, s, "%generate -n 3 hi\n%lens\n%topk")
}

func TestBandwidthRoofline(t *testing.T) {
	s := newTest(t)
	r := run(t, s, "%bandwidth --size 8 --repeats 1")
	js := r.lastJSON(t)
	if js["read_gbps"].(float64) <= 0 {
		t.Errorf("%v", js)
	}
	r = run(t, s, "%roofline --size 8 -n 2 --prefill 4")
	js = r.lastJSON(t)
	groups := map[string]bool{}
	for _, p := range js["points"].([]any) {
		groups[p.(map[string]any)["group"].(string)] = true
	}
	if len(groups) != 4 || js["compute_gflops"].(float64) <= 0 {
		t.Errorf("groups %v, %v", groups, js)
	}
	// int8 points are held against the int8 compute roof.
	for _, p := range js["points"].([]any) {
		m := p.(map[string]any)
		if strings.HasPrefix(m["group"].(string), "int8") != strings.HasPrefix(m["compute_roof"].(string), "int8") {
			t.Errorf("point %v against %v", m["group"], m["compute_roof"])
		}
	}
	if cs := conclusions(t, js); cs["int8_decode_bound"] == nil {
		t.Errorf("no int8 decode conclusion: %v", cs)
	}
	if h, _ := r.displays[len(r.displays)-1].Data["text/html"].(string); !strings.Contains(h, "<svg") {
		t.Error("no plot")
	}
}

func TestCompleteInspectIsComplete(t *testing.T) {
	s := newTest(t)
	has := func(ms []string, want string) bool {
		for _, m := range ms {
			if m == want {
				return true
			}
		}
		return false
	}
	m, st, en := s.Complete("%gen", 4)
	if !has(m, "generate") || st != 1 || en != 4 {
		t.Errorf("%v %d %d", m, st, en)
	}
	m, st, _ = s.Complete("%generate --tem", 15)
	if !has(m, "--temperature") || st != 10 {
		t.Errorf("%v %d", m, st)
	}
	m, _, _ = s.Complete("%cache blocks.0.attn.hook_p", 27)
	if !has(m, "blocks.0.attn.hook_pattern") {
		t.Errorf("%v", m)
	}
	m, _, _ = s.Complete("%variant ", 9)
	if !has(m, "scalar") {
		t.Errorf("%v", m)
	}
	m, _, _ = s.Complete("%load --shape stories1", 22)
	if !has(m, "stories15M") {
		t.Errorf("%v", m)
	}
	m, _, _ = s.Complete("%load stories2", 14)
	if !has(m, "stories260K.bin") {
		t.Errorf("%v", m)
	}
	m, _, _ = s.Complete("%help\n%save blocks.0.hook_resid_post ", 37)
	_ = m
	b, found := s.Inspect("%topk -k 3", 2, 0)
	if !found || !strings.Contains(b.Data["text/plain"].(string), "-k, --k K") {
		t.Errorf("inspect %v", b.Data)
	}
	for code, want := range map[string]string{
		`%generate "open`: "incomplete", "%%generate": "incomplete", "%topk": "complete", "hello": "complete", "%topk\nhello": "invalid",
	} {
		if got, _ := s.IsComplete(code); got != want {
			t.Errorf("IsComplete(%q) = %s, want %s", code, got, want)
		}
	}
}

func TestSplitWords(t *testing.T) {
	ws, err := splitWords(`-n 20 "a \"b\"" 'c d' e\ f --x=1`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range ws {
		got = append(got, w.text)
	}
	if fmt.Sprint(got) != fmt.Sprint([]string{"-n", "20", `a "b"`, "c d", "e f", "--x=1"}) {
		t.Errorf("%q", got)
	}
	a, err := parseArgs(registry["generate"], `-n 3 --temperature=0.5 "  spaced  prompt"`)
	if err != nil || a.int("n", 0) != 3 || a.float("temperature", 0) != 0.5 || a.text != "  spaced  prompt" {
		t.Errorf("%v %+v", err, a)
	}
	a, err = parseArgs(registry["generate"], `-n 3 Once  upon`)
	if err != nil || a.text != "Once  upon" {
		t.Errorf("%v %q", err, a.text)
	}
}

func TestNoModelFallsBackToSynthetic(t *testing.T) {
	t.Setenv("MEMWALL_MODEL", "")
	t.Setenv("MEMWALL_MODELS", "")
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	s := New(Options{WorkDir: t.TempDir(), CacheDir: t.TempDir(), FallbackShape: "stories260K", NoBuiltin: true})
	defer s.Close()
	// A prompt before any %load loads the default, here the fallback.
	r := run(t, s, "%generate -n 4 hello")
	if !strings.Contains(r.stderr.String(), "RANDOM WEIGHTS") || !s.synthetic {
		t.Errorf("stderr %q", r.stderr.String())
	}
	r = run(t, s, "%load")
	if !strings.Contains(r.text(), "!!! RANDOM WEIGHTS !!!") {
		t.Errorf("no banner: %q", r.text())
	}
	if js := r.lastJSON(t); js["synthetic"] != true || js["tokenizer"] != "" {
		t.Errorf("%v", js)
	}
	// The byte-level stand-in tokenizer round-trips text.
	if got := s.tok.DecodeAll(1, s.tok.Encode("héllo", false, false)); got != "héllo" {
		t.Errorf("byte tokenizer: %q", got)
	}
	run(t, s, "%generate -n 3 hi")
}

func TestRemoveMissingModelNextCellRuns(t *testing.T) {
	s := newTest(t)
	fail(t, s, "%load "+filepath.Join(t.TempDir(), "gone.bin"), "not found")
	fail(t, s, "%load --tokenizer nosuch.bin stories260K", "tokenizer", "not found")
	// The previous model is still loaded.
	r := run(t, s, "%generate -n 12 Once upon a time")
	if !strings.HasPrefix(r.stream.String(), story) {
		t.Errorf("%q", r.stream.String())
	}
}

func TestCompleteEverywhere(t *testing.T) {
	s := newTest(t)
	// No cursor position may panic, and matches replace a valid range.
	for _, code := range []string{"%gen", "%%time\n%generate --tem", `%patch blocks.0.hook_z --from "x`, "%bench --variants avx2,sc", "%save blocks.0.hook_resid_post re", "hello", "%", "%%", "%load --tokenizer=tok"} {
		for i := 0; i <= len(code); i++ {
			_, st, en := s.Complete(code, i)
			if st < 0 || en > len(code) || st > en {
				t.Errorf("Complete(%q, %d) range [%d, %d)", code, i, st, en)
			}
			s.Inspect(code, i, 0)
		}
		s.IsComplete(code)
	}
	m, st, _ := s.Complete("%bench --variants avx2,sc", 25)
	if len(m) == 0 || !strings.HasPrefix(m[0], "avx2,scalar") || st != 18 {
		t.Errorf("%v %d", m, st)
	}
	m, _, _ = s.Complete("%%time\n%generate --tem", 22)
	if len(m) != 1 || m[0] != "--temperature" {
		t.Errorf("%v", m)
	}
	m, st, _ = s.Complete("%load --tokenizer=tok", 21)
	if len(m) == 0 || m[0] != "tok512.bin" || st != 18 {
		t.Errorf("%v %d", m, st)
	}
}

// cancelling is a recorder that cancels the cell's context after a number
// of streamed pieces or display updates.
type cancelling struct {
	recorder
	cancel          context.CancelFunc
	pieces, updates int
}

func (c *cancelling) Stream(name, text string) {
	c.recorder.Stream(name, text)
	if c.pieces--; c.pieces == 0 {
		c.cancel()
	}
}

func (c *cancelling) Update(b kernel.Bundle, id string) {
	c.recorder.Update(b, id)
	if c.updates--; c.updates == 0 {
		c.cancel()
	}
}

func TestInterruptMidway(t *testing.T) {
	s := newTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	r := &cancelling{cancel: cancel, pieces: 6, updates: -1}
	err := s.Execute(ctx, "%generate -n 200 Once upon a time", r)
	if err == nil || !strings.Contains(err.Error(), "interrupted after") {
		t.Fatalf("interrupted generation: %v", err)
	}
	kept := len(s.ids)
	if kept < 6 || kept > 12 {
		t.Errorf("kept %d tokens", kept)
	}
	// The context continues correctly from where it stopped.
	run(t, s, "%generate -c -n 3")
	got := append([]int(nil), s.ids...)
	run(t, s, fmt.Sprintf("%%generate -n %d Once upon a time", len(got)-5))
	if fmt.Sprint(got) != fmt.Sprint(s.ids) {
		t.Errorf("after interrupt+continue %v, straight %v", got, s.ids)
	}
	// A benchmark interrupted during its second configuration.
	ctx, cancel = context.WithCancel(context.Background())
	r = &cancelling{cancel: cancel, pieces: -1, updates: 2}
	err = s.Execute(ctx, "%bench -n 64 --variants scalar --threads 1,2", r)
	var me *Error
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "interrupted during scalar×") {
		t.Errorf("interrupted bench: %v", err)
	}
	run(t, s, "%bench -n 4 --variants scalar")
}

// With two threads %time shows how each op was shared: what ran split, and
// how the split calls' wall time divides into even work, imbalance and
// hand-off. The pieces must add up, and a model too small to split says so.
func TestTimeSplitAcrossThreads(t *testing.T) {
	s := newTest(t)
	run(t, s, "%threads 2")
	js := run(t, s, "%time -n 3").lastJSON(t)
	sp, ok := js["split"].(map[string]any)
	if !ok {
		t.Fatalf("no split view with 2 threads: %v", js)
	}
	if sp["calls"].(float64) != 0 || sp["single_ms"].(float64) != js["total_ms"].(float64) {
		t.Errorf("stories260K is too small to split, got %v", sp)
	}

	run(t, s, "%load --shape stories15M")
	r := run(t, s, "%time -n 3")
	js = r.lastJSON(t)
	sp = js["split"].(map[string]any)
	if sp["calls"].(float64) == 0 {
		t.Fatalf("stories15M with 2 threads split nothing: %v", sp)
	}
	near := func(what string, a, b float64) {
		if math.Abs(a-b) > 1e-6*max(1, math.Abs(b)) {
			t.Errorf("%s: %v ≠ %v", what, a, b)
		}
	}
	near("split + single = total", sp["split_ms"].(float64)+sp["single_ms"].(float64), js["total_ms"].(float64))
	near("even + imbalance + hand-off = split", sp["even_ms"].(float64)+sp["imbalance_ms"].(float64)+sp["overhead_ms"].(float64), sp["split_ms"].(float64))
	split := map[string]bool{}
	for _, row := range sp["ops"].([]any) {
		m := row.(map[string]any)
		split[m["op"].(string)] = true
		if m["parts"].(float64) != 2*m["calls"].(float64) {
			t.Errorf("%s: %v parts in %v calls with 2 threads", m["op"], m["parts"], m["calls"])
		}
		if e := m["efficiency"].(float64); e <= 0 || e > 1 {
			t.Errorf("%s: efficiency %v", m["op"], e)
		}
	}
	// wq is 288×288 there: below two parts of minWorkPerThread, so it stays
	// on one thread.
	for _, op := range []string{"w1", "w2", "w3", "classifier"} {
		if !split[op] {
			t.Errorf("%s was not split on stories15M: %v", op, split)
		}
	}
	if split["rmsnorm"] || split["sampling"] || split["wq"] {
		t.Errorf("an op that never splits has split calls: %v", split)
	}
	if !strings.Contains(r.text(), "How 2 threads share each op") {
		t.Errorf("no split table in the output")
	}

	run(t, s, "%threads 1")
	if js := run(t, s, "%time -n 2").lastJSON(t); js["split"] != nil {
		t.Errorf("one thread shows a split view: %v", js["split"])
	}
}

// %time --threads compares thread counts op by op: every op has a median
// per count and a verdict for the second, and bad lists say what is wrong.
func TestTimeThreadsCompare(t *testing.T) {
	s := newTest(t)
	fail(t, s, "%time --threads 2", "at least two")
	fail(t, s, "%time --threads 1,1", "appears twice")
	fail(t, s, "%time --threads 0,2", "positive")
	fail(t, s, "%time --threads 1,2 --repeats 0", "positive")
	run(t, s, "%load --shape stories15M")
	r := run(t, s, "%time -n 2 --threads 1,2 --repeats 5")
	js := r.lastJSON(t)
	if js["rounds"].(float64) != 5 || js["tokens"].(float64) != 2 {
		t.Errorf("rounds %v tokens %v", js["rounds"], js["tokens"])
	}
	verdicts := map[string]bool{"faster": true, "slower": true, "no difference beyond noise": true}
	ops := map[string]bool{}
	for _, row := range js["rows"].([]any) {
		m := row.(map[string]any)
		op := m["op"].(string)
		ops[op] = true
		if !(m["ms_1"].(float64) > 0) || !(m["ms_2"].(float64) > 0) {
			t.Errorf("%s: medians %v and %v", op, m["ms_1"], m["ms_2"])
		}
		vs := m["vs_2"].(map[string]any)
		if !verdicts[vs["verdict"].(string)] {
			t.Errorf("%s: verdict %q from five pairs", op, vs["verdict"])
		}
		if c := vs["comparison"].(map[string]any); c["pairs"].(float64) != 5 {
			t.Errorf("%s: %v pairs", op, c["pairs"])
		}
	}
	for _, op := range []string{"w1", "classifier", "attention", "total"} {
		if !ops[op] {
			t.Errorf("no row for %s: %v", op, ops)
		}
	}
	if sp, ok := js["split"].(map[string]any); !ok || sp["calls"].(float64) == 0 {
		t.Errorf("no split view of the 2-thread rounds: %v", js["split"])
	}
	if !strings.Contains(r.text(), "With 2 threads a token took") {
		t.Error("no conclusion sentence")
	}
	// The session's own ops are untouched.
	if s.ops.Threads() != 1 {
		t.Errorf("the session now has %d threads", s.ops.Threads())
	}
}
