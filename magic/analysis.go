package magic

import (
	"fmt"
	"math"
	"path"
	"path/filepath"
	"strings"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// tokenLabels are the pieces of ids, for axis labels.
func (s *Interpreter) tokenLabels(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = s.pieceLabel(id)
	}
	return out
}

// ---- hook names ----

// hookNames lists the model's hook points.
func (s *Interpreter) hookNames() []string {
	layers := 0
	if s.model != nil {
		layers = s.model.Layers
	}
	return engine.HookNames(layers)
}

// matchHooks returns the hook points pattern matches, or an error naming
// the nearest real ones.
func (s *Interpreter) matchHooks(pattern string) ([]string, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("bad hook pattern %q: %v", pattern, err)
	}
	var out []string
	all := s.hookNames()
	for _, n := range all {
		if ok, _ := path.Match(pattern, n); ok {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no hook point is called %q%s (the model has %d layers; Tab completes hook names, e.g. blocks.0.attn.hook_pattern)",
			pattern, didYouMean(nearest(pattern, all, 3), ""), s.model.Layers)
	}
	return out, nil
}

// ---- %attention ----

// capturePatterns runs ids and returns every layer's attention pattern,
// indexed [layer][head][query][key] (key ≤ query); extra hooks see the
// same forward pass.
func (s *Interpreter) capturePatterns(c *call, ids []int, extra ...hookSpec) ([][][][]float64, error) {
	cfg := s.model.Config
	pat := make([][][][]float64, cfg.Layers)
	for l := range pat {
		pat[l] = make([][][]float64, cfg.Heads)
		for h := range pat[l] {
			pat[l][h] = make([][]float64, len(ids))
		}
	}
	hook := func(ev *engine.HookEvent) {
		n := ev.Shape[1]
		for h := 0; h < ev.Shape[0]; h++ {
			row := make([]float64, n)
			for j := range row {
				row[j] = float64(ev.Data[h*n+j])
			}
			pat[ev.Layer][h][ev.Pos] = row
		}
	}
	hooks := append([]hookSpec{{"blocks.*.attn.hook_pattern", hook}}, extra...)
	if _, err := s.run(c.ctx, ids, hooks, s.ablations); err != nil {
		return nil, err
	}
	return pat, nil
}

// checkLayer and checkHead refuse a --layer or --head the model does not
// have.
func (s *Interpreter) checkLayer(layer int) error {
	if n := s.model.Layers; layer < 0 || layer >= n {
		return fmt.Errorf("--layer %d is out of range: the model has %d layers (0..%d)", layer, n, n-1)
	}
	return nil
}

func (s *Interpreter) checkHead(head int) error {
	if n := s.model.Heads; head < 0 || head >= n {
		return fmt.Errorf("--head %d is out of range: the model has %d heads (0..%d)", head, n, n-1)
	}
	return nil
}

func (s *Interpreter) doAttention(c *call) error {
	if c.args.bool("ui") {
		return s.attentionUI(c)
	}
	ids, err := s.contextIDs(c)
	if err != nil {
		return err
	}
	cfg := s.model.Config
	a := c.args
	layer, head := a.int("layer", -1), a.int("head", -1)
	if a.has("layer") {
		if err := s.checkLayer(layer); err != nil {
			return err
		}
	}
	if a.has("head") {
		if err := s.checkHead(head); err != nil {
			return err
		}
	}
	pat, err := s.capturePatterns(c, ids)
	if err != nil {
		return err
	}
	labels := s.tokenLabels(ids)
	o := inspect.HeatmapOpts{LogScale: a.bool("log"), XLabel: "key position (attended to)", YLabel: "query position", Min: 0, Max: 1}
	if o.LogScale {
		o.Min, o.Max = 1e-4, 1
	}
	js := map[string]any{"tokens": labels, "ids": ids}
	var b inspect.Bundle
	switch {
	case layer >= 0 && head >= 0:
		o.Title = fmt.Sprintf("Attention pattern, layer %d head %d", layer, head)
		b = inspect.Heatmap(pat[layer][head], labels, labels, o)
		js["layer"], js["head"], js["pattern"] = layer, head, pat[layer][head]
	case layer >= 0:
		o.Title = fmt.Sprintf("Attention patterns of layer %d (%d heads)", layer, cfg.Heads)
		panels := inspect.LayerHeadPanels(pat[layer : layer+1])
		for h := range panels {
			panels[h].Title = fmt.Sprintf("L%d H%d", layer, h) // not L0: the slice starts at layer
		}
		b = inspect.HeatmapGrid(panels, 0, o)
		js["layer"], js["patterns"] = layer, pat[layer]
	case head >= 0:
		o.Title = fmt.Sprintf("Attention pattern of head %d in every layer", head)
		var panels []inspect.Panel
		var sel [][][]float64
		for l := range pat {
			panels = append(panels, inspect.Panel{Title: fmt.Sprintf("L%d H%d", l, head), Matrix: pat[l][head]})
			sel = append(sel, pat[l][head])
		}
		b = inspect.HeatmapGrid(panels, 0, o)
		js["head"], js["patterns"] = head, sel
	default:
		o.Title = fmt.Sprintf("Attention patterns: %d layers × %d heads", cfg.Layers, cfg.Heads)
		b = inspect.HeatmapGrid(inspect.LayerHeadPanels(pat), cfg.Heads, o)
		js["patterns"] = pat
	}
	// Keep the JSON to a size a notebook can hold.
	if values := cfg.Layers * cfg.Heads * len(ids) * (len(ids) + 1) / 2; layer < 0 && head < 0 && values > maxJSONValues {
		delete(js, "patterns")
		js["omitted"] = fmt.Sprintf("%d weights: too many for JSON; use --layer", values)
	}
	// The text form of a grid is terse; add the tokens so it reads alone.
	b.Text = fmt.Sprintf("%s\ntokens: %s", b.Text, strings.Join(quoteAll(labels), " "))
	b.JSON = js
	s.display(c, b)
	return nil
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

// ---- %cache, %activations, %save ----

// maxJSONValues bounds the numbers one JSON output carries.
const maxJSONValues = 1 << 20

// capture runs ids on the scratch state, with the session's ablations,
// capturing every hook point matching patterns (engine.RunWithCache).
//
// kept is what stays captured beside the new capture; the capture is
// refused before it runs when its estimate (engine.EstimateCaptureBytes)
// and kept exceed the capture budget. kept < 0 means the new capture
// replaces the cache: the old one is dropped (and its memory returned) once
// the estimate fits, so both are never held at once.
func (s *Interpreter) capture(c *call, ids []int, patterns []string, kept int64) (map[string]*engine.Activation, []string, error) {
	var names []string
	seen := map[string]bool{}
	for _, p := range patterns {
		ns, err := s.matchHooks(p)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range ns {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	bytes, err := engine.EstimateCaptureBytes(s.model.Config, names, len(ids))
	if err != nil {
		return nil, nil, err
	}
	if bytes+max(kept, 0) > s.limits.captureBudget {
		return nil, nil, &CaptureBudgetError{Hooks: len(names), Positions: len(ids), Estimate: bytes, Kept: max(kept, 0), Budget: s.limits.captureBudget}
	}
	if kept < 0 && s.cache != nil {
		s.cache, s.cacheOrder, s.cacheIDs = nil, nil, nil
		freeMemory()
	}
	st, err := s.scratchState()
	if err != nil {
		return nil, nil, err
	}
	for _, ab := range s.ablations {
		r, err := st.AddHook(ab.pattern, ab.hook())
		if err != nil {
			return nil, nil, err
		}
		defer r()
	}
	cache, err := st.RunWithCache(c.ctx, ids, names, 0) // the budget was checked above
	if err != nil {
		return nil, nil, err
	}
	return cache.Tensor, cache.Names, nil
}

func (s *Interpreter) doCache(c *call) error {
	ids, err := s.contextIDs(c)
	if err != nil {
		return err
	}
	patterns := []string{"*"}
	if len(c.args.pos) > 0 {
		patterns = nil
		for _, w := range c.args.pos {
			patterns = append(patterns, w.text)
		}
	}
	got, order, err := s.capture(c, ids, patterns, -1)
	if err != nil {
		return err
	}
	s.cache, s.cacheOrder, s.cacheIDs = got, order, append([]int(nil), ids...)
	t := inspect.Table{Title: fmt.Sprintf("Captured %d hook tensors over %d positions", len(order), len(ids)),
		Header: []string{"hook", "shape [positions, ...]", "mean", "std", "|x| max", "L2 (last position)"}}
	var js []map[string]any
	for _, n := range order {
		cp := got[n]
		all := cp.Flat()
		sum := inspect.Summarize(all)
		last := inspect.Summarize(cp.Rows[len(cp.Rows)-1])
		full := append([]int{len(ids)}, cp.Shape...)
		t.Rows = append(t.Rows, []string{n, shapeString(full), fmtF(sum.Mean), fmtF(sum.Std), fmtF(sum.AbsMax), fmtF(last.L2)})
		js = append(js, map[string]any{"name": n, "shape": full})
	}
	t.Note = "%activations HOOK describes one; %save HOOK FILE.npy writes it"
	b := t.Bundle()
	b.JSON = map[string]any{"positions": len(ids), "hooks": js}
	s.display(c, b)
	return nil
}

func fmtF(v float64) string {
	if math.IsNaN(v) {
		return "nan"
	}
	return fmt.Sprintf("%.4g", v)
}

// cached returns a captured hook by exact name.
func (s *Interpreter) cached(name string) (*engine.Activation, error) {
	if cp, ok := s.cache[name]; ok {
		return cp, nil
	}
	if _, err := s.matchHooks(name); err != nil {
		return nil, err
	}
	if len(s.cache) == 0 {
		return nil, fmt.Errorf("%s is not cached: nothing is (run %%cache %s first)", name, name)
	}
	return nil, fmt.Errorf("%s is not cached%s (run %%cache %s first)", name, didYouMean(nearest(name, s.cacheOrder, 2), ""), name)
}

func (s *Interpreter) doActivations(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	name := c.args.pos[0].text
	if strings.ContainsAny(name, "*?[") {
		return fmt.Errorf("%%activations takes one hook name, not a pattern (%q)", name)
	}
	note := ""
	cp, ok := s.cache[name]
	ids := s.cacheIDs
	if !ok {
		if _, err := s.matchHooks(name); err != nil {
			return err
		}
		var err error
		if ids, err = s.contextIDs(c); err != nil {
			return err
		}
		var kept int64
		if equalInts(s.cacheIDs, ids) {
			kept = s.cacheBytes()
		}
		got, _, err := s.capture(c, ids, []string{name}, kept)
		if err != nil {
			return err
		}
		cp = got[name]
		if s.cache == nil || !equalInts(s.cacheIDs, ids) {
			s.cache, s.cacheOrder, s.cacheIDs = map[string]*engine.Activation{}, nil, append([]int(nil), ids...)
		}
		s.cache[name] = cp
		s.cacheOrder = append(s.cacheOrder, name)
		note = " (captured now)"
	}
	all := cp.Flat()
	sum := inspect.Summarize(all)
	norms := make([]float64, len(cp.Rows))
	for i, r := range cp.Rows {
		norms[i] = inspect.Summarize(r).L2
	}
	labels := s.tokenLabels(ids)
	line := inspect.LineChart([]inspect.Series{{Name: "L2 norm", Y: norms}}, inspect.ChartOpts{
		Title: fmt.Sprintf("%s: L2 norm per position", name), XLabel: "position", YLabel: "L2 norm"})
	hist := inspect.HistogramOf(all, 60, inspect.ChartOpts{Title: "Values of " + name, XLabel: "value"})
	sb := sum.Bundle()
	sb.Text = fmt.Sprintf("%s%s: shape %s over %d positions\n%s", name, note, shapeString(append([]int{len(cp.Rows)}, cp.Shape...)), len(cp.Rows), sb.Text)
	b := join([]inspect.Bundle{sb, line, hist}, map[string]any{
		"hook": name, "shape": append([]int{len(cp.Rows)}, cp.Shape...), "stats": sb.JSON, "norms": norms, "tokens": labels})
	s.display(c, b)
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (s *Interpreter) doSave(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	name, file := c.args.pos[0].text, c.args.pos[1].text
	cp, err := s.cached(name)
	if err != nil {
		return err
	}
	if filepath.Ext(file) != ".npy" {
		return fmt.Errorf("%q: the file name must end in .npy", file)
	}
	p := s.abs(file)
	shape := append([]int{len(cp.Rows)}, cp.Shape...)
	data := cp.Flat()
	if err := inspect.WriteNPY(p, shape, data); err != nil {
		return err
	}
	s.display(c, textBundle(fmt.Sprintf("wrote %s: float32 %s (%d values) to %s", name, shapeString(shape), len(data), p),
		map[string]any{"hook": name, "path": p, "shape": shape, "values": len(data)}))
	return nil
}

// ---- %lens ----

func (s *Interpreter) doLens(c *call) error {
	ids, err := s.contextIDs(c)
	if err != nil {
		return err
	}
	cfg := s.model.Config
	npos := c.args.int("positions", 16)
	if npos < 0 {
		return usagef(c.spec.usage(), "--positions must not be negative")
	}
	if npos == 0 || npos > len(ids) {
		npos = len(ids)
	}
	first := len(ids) - npos
	// resid[l][p] for the shown positions; final logits from the model.
	resid := make([][][]float32, cfg.Layers)
	for l := range resid {
		resid[l] = make([][]float32, npos)
	}
	final := make([][]float32, npos)
	hooks := []hookSpec{
		{"blocks.*.hook_resid_post", func(ev *engine.HookEvent) {
			if ev.Pos >= first {
				resid[ev.Layer][ev.Pos-first] = append([]float32(nil), ev.Data...)
			}
		}},
		{engine.HookUnembed, func(ev *engine.HookEvent) {
			if ev.Pos >= first {
				final[ev.Pos-first] = append([]float32(nil), ev.Data...)
			}
		}},
	}
	if _, err := s.run(c.ctx, ids, hooks, s.ablations); err != nil {
		return err
	}
	rowNames := make([]string, cfg.Layers+1)
	topIDs := make([][]int, cfg.Layers+1)
	topPieces := make([][]string, cfg.Layers+1)
	topProbs := make([][]float64, cfg.Layers+1)
	logits := make([]float32, cfg.Vocab)
	for r := 0; r <= cfg.Layers; r++ {
		rowNames[r] = fmt.Sprintf("L%d resid_post", r)
		if r == cfg.Layers {
			rowNames[r] = "final (model)"
		}
		for p := 0; p < npos; p++ {
			if r < cfg.Layers {
				if err := s.st.LogitLens(resid[r][p], logits); err != nil {
					return err
				}
			} else {
				copy(logits, final[p])
			}
			d := newDist(append([]float32(nil), logits...))
			id := engine.Argmax(d.logits)
			topIDs[r] = append(topIDs[r], id)
			topPieces[r] = append(topPieces[r], s.pieceLabel(id))
			topProbs[r] = append(topProbs[r], float64(d.probs[id]))
		}
		if err := c.ctx.Err(); err != nil {
			return err
		}
	}
	cols := make([]string, npos)
	inputs := make([]string, npos)
	for p := 0; p < npos; p++ {
		inputs[p] = s.pieceLabel(ids[first+p])
		cols[p] = fmt.Sprintf("%d %s", first+p, inspect.Label(inputs[p], 10))
	}
	t := inspect.LogitLensTable(rowNames, cols, topPieces, topProbs)
	t.Title = fmt.Sprintf("Logit lens over the last %d of %d positions: the predicted next token at each depth", npos, len(ids))
	t.Note = "columns: position and its input token; cell: top next-token prediction and probability after applying the final RMSNorm and classifier at that depth; last row: the model's actual prediction"
	b := t.Bundle()
	b.JSON = map[string]any{"layers": rowNames, "positions": seq(first, len(ids)), "inputs": inputs,
		"top_ids": topIDs, "top_pieces": topPieces, "top_probs": topProbs,
		"prediction": topIDs[cfg.Layers][npos-1]}
	s.display(c, b)
	return nil
}

func seq(a, b int) []int {
	out := make([]int, 0, b-a)
	for i := a; i < b; i++ {
		out = append(out, i)
	}
	return out
}

// ---- %ablate, %patch ----

// ablation zeroes a hook's activations (one head and/or one position).
type ablation struct {
	pattern  string
	head     int // -1: all
	position int // -1: all
}

func (a ablation) String() string {
	s := a.pattern
	if a.head >= 0 {
		s += fmt.Sprintf(" head %d", a.head)
	}
	if a.position >= 0 {
		s += fmt.Sprintf(" at position %d", a.position)
	}
	return s
}

func (a ablation) hook() engine.HookFunc {
	return func(ev *engine.HookEvent) {
		if a.position >= 0 && ev.Pos != a.position {
			return
		}
		d := ev.Data
		if a.head >= 0 {
			if len(ev.Shape) != 2 || a.head >= ev.Shape[0] {
				return
			}
			n := ev.Shape[1]
			d = d[a.head*n : (a.head+1)*n]
		}
		clear(d)
	}
}

// headCount is the number of heads of a hook point's tensor (0 if it has
// no head axis), from the engine.
func (s *Interpreter) headCount(name string) int { return engine.HookHeads(s.model.Config, name) }

// installAblations registers the active ablations on the main state. The
// cache then no longer matches what the model computes, so the context is
// recomputed on the next generation.
func (s *Interpreter) installAblations() {
	for _, r := range s.removers {
		r()
	}
	s.removers = nil
	if s.st == nil {
		return
	}
	for _, a := range s.ablations {
		if r, err := s.st.AddHook(a.pattern, a.hook()); err == nil {
			s.removers = append(s.removers, r)
		}
	}
	s.done = 0
}

func (s *Interpreter) doAblate(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	a := c.args
	if a.bool("clear") {
		if len(a.pos) > 0 {
			return usagef(c.spec.usage(), "--clear takes no hook")
		}
		if err := s.busyStepping("change ablations"); err != nil {
			return err
		}
		n := len(s.ablations)
		s.ablations = nil
		s.installAblations()
		s.display(c, textBundle(fmt.Sprintf("removed %d ablation(s)", n), map[string]any{"ablations": []string{}}))
		return nil
	}
	if len(a.pos) == 0 {
		if a.has("head") || a.has("position") {
			return usagef(c.spec.usage(), "--head and --position need a HOOK")
		}
		var names []string
		var b strings.Builder
		if len(s.ablations) == 0 {
			b.WriteString("no active ablations")
		} else {
			b.WriteString("active ablations (zeroed):\n")
		}
		for i, ab := range s.ablations {
			names = append(names, ab.String())
			fmt.Fprintf(&b, "  %d. %s\n", i+1, ab)
		}
		s.display(c, textBundle(strings.TrimRight(b.String(), "\n"), map[string]any{"ablations": nonNil(names)}))
		return nil
	}
	if err := s.busyStepping("change ablations"); err != nil {
		return err
	}
	ab := ablation{pattern: a.pos[0].text, head: a.int("head", -1), position: a.int("position", -1)}
	names, err := s.matchHooks(ab.pattern)
	if err != nil {
		return err
	}
	if a.has("head") {
		for _, n := range names {
			h := s.headCount(n)
			if h == 0 {
				return fmt.Errorf("--head: hook %s has no head axis (heads are in attn.hook_q/k/v/z, hook_attn_scores and hook_pattern)", n)
			}
			if ab.head < 0 || ab.head >= h {
				return fmt.Errorf("--head %d is out of range: %s has %d heads (0..%d)", ab.head, n, h, h-1)
			}
		}
	}
	if a.has("position") && (ab.position < 0 || ab.position >= s.model.SeqLen) {
		return fmt.Errorf("--position %d is out of range [0, %d)", ab.position, s.model.SeqLen)
	}
	k := a.int("k", 10)
	if k <= 0 {
		return usagef(c.spec.usage(), "-k must be positive")
	}
	var before, after dist
	var ids []int
	if len(s.ids) > 0 {
		ids = s.ids
		lb, err := s.run(c.ctx, ids, nil, s.ablations)
		if err != nil {
			return err
		}
		la, err := s.run(c.ctx, ids, nil, append(append([]ablation(nil), s.ablations...), ab))
		if err != nil {
			return err
		}
		before, after = newDist(lb), newDist(la)
	}
	s.ablations = append(s.ablations, ab)
	s.installAblations()
	if ids == nil {
		s.display(c, textBundle(fmt.Sprintf("ablating %s from now on (%d active; no context yet to compare)", ab, len(s.ablations)),
			map[string]any{"ablation": ab.String(), "hooks": names}))
		return nil
	}
	b, err := s.compare(before, after, k, ids, fmt.Sprintf("ablating %s (%d hook point(s); %d ablation(s) active)", ab, len(names), len(s.ablations)))
	if err != nil {
		return err
	}
	b.JSON.(map[string]any)["ablation"] = ab.String()
	b.JSON.(map[string]any)["hooks"] = names
	s.display(c, b)
	return nil
}

func nonNil(x []string) []string {
	if x == nil {
		return []string{}
	}
	return x
}

// compare shows two next-token distributions side by side with their KL
// divergence.
func (s *Interpreter) compare(before, after dist, k int, ids []int, title string) (inspect.Bundle, error) {
	kl, err := inspect.KL(before.probs, after.probs)
	if err != nil {
		return inspect.Bundle{}, err
	}
	k = min(k, len(before.probs))
	tb, ta := before.top(k), after.top(k)
	t := inspect.Table{Title: title, Header: []string{"rank", "before", "p", "after", "p", "Δp of 'before' token"}}
	for i := 0; i < k; i++ {
		idB, idA := tb[i], ta[i]
		t.Rows = append(t.Rows, []string{fmt.Sprint(i + 1),
			fmt.Sprintf("%q", s.pieceLabel(idB)), fmt.Sprintf("%.4f", before.probs[idB]),
			fmt.Sprintf("%q", s.pieceLabel(idA)), fmt.Sprintf("%.4f", after.probs[idA]),
			fmt.Sprintf("%+.4f", after.probs[idB]-before.probs[idB])})
	}
	t.Note = fmt.Sprintf("KL(before ‖ after) = %.5f nats; top token %q → %q", kl, s.pieceLabel(tb[0]), s.pieceLabel(ta[0]))
	var bars []inspect.StackedBarItem
	_ = bars
	chartBars := make([]inspect.Bar, 0, 2*k)
	for i := 0; i < k; i++ {
		chartBars = append(chartBars, inspect.Bar{Label: fmt.Sprintf("before %q", s.pieceLabel(tb[i])), Value: float64(before.probs[tb[i]])})
	}
	for i := 0; i < k; i++ {
		chartBars = append(chartBars, inspect.Bar{Label: fmt.Sprintf("after %q", s.pieceLabel(ta[i])), Value: float64(after.probs[ta[i]])})
	}
	chart := inspect.BarChart(chartBars, inspect.ChartOpts{Title: fmt.Sprintf("Next token before and after (KL %.4f nats)", kl), XLabel: "probability"})
	js := map[string]any{"kl": num(kl), "before": s.topJSON(before, k), "after": s.topJSON(after, k), "context_tokens": len(ids)}
	return join([]inspect.Bundle{t.Bundle(), chart}, js), nil
}

func (s *Interpreter) doPatch(c *call) error {
	ids, err := s.contextIDs(c)
	if err != nil {
		return err
	}
	a := c.args
	if !a.has("from") {
		return usagef(c.spec.usage(), "%%patch needs --from \"OTHER PROMPT\": the run whose activations are patched in")
	}
	pattern := a.pos[0].text
	names, err := s.matchHooks(pattern)
	if err != nil {
		return err
	}
	pos := a.int("position", -1)
	if a.has("position") && (pos < 0 || pos >= len(ids)) {
		return fmt.Errorf("--position %d is out of range: the context has %d positions", pos, len(ids))
	}
	k := a.int("k", 10)
	if k <= 0 {
		return usagef(c.spec.usage(), "-k must be positive")
	}
	other := s.tok.Encode(a.str("from", ""), true, false)
	if len(other) > s.model.SeqLen {
		return fmt.Errorf("--from prompt is %d tokens, more than seq_len %d", len(other), s.model.SeqLen)
	}
	// Source run: keep each matching hook's activations per position.
	src := map[string][][]float32{}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
		src[n] = make([][]float32, len(other))
	}
	if _, err := s.run(c.ctx, other, []hookSpec{{"*", func(ev *engine.HookEvent) {
		if want[ev.Name] {
			src[ev.Name][ev.Pos] = append([]float32(nil), ev.Data...)
		}
	}}}, s.ablations); err != nil {
		return err
	}
	lb, err := s.run(c.ctx, ids, nil, s.ablations)
	if err != nil {
		return err
	}
	patched := 0
	la, err := s.run(c.ctx, ids, []hookSpec{{"*", func(ev *engine.HookEvent) {
		if !want[ev.Name] || ev.Pos >= len(other) || (pos >= 0 && ev.Pos != pos) {
			return
		}
		if v := src[ev.Name][ev.Pos]; len(v) == len(ev.Data) {
			copy(ev.Data, v)
			patched++
		}
	}}}, s.ablations)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("patching %s from %q (%d activations at %d hook point(s); positions 0..%d)", pattern, clip(a.str("from", ""), 40), patched, len(names), min(len(ids), len(other))-1)
	if pos >= 0 {
		title = fmt.Sprintf("patching %s at position %d from %q (%d activations)", pattern, pos, clip(a.str("from", ""), 40), patched)
	}
	b, err := s.compare(newDist(lb), newDist(la), k, ids, title)
	if err != nil {
		return err
	}
	js := b.JSON.(map[string]any)
	js["hooks"], js["patched"], js["from_tokens"] = names, patched, len(other)
	s.display(c, b)
	return nil
}
