package magic

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/builtin"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
	"github.com/memwall/memwall/internal/locate"
)

// defaultModels are tried in order by %load without a model.
var defaultModels = []string{"stories15M.bin", "stories260K.bin", "stories42M.bin", "stories110M.bin"}

func shapeNames() []string { return engine.ShapeNames() }

// search is where models and tokenizers are looked up (package locate
// documents the order); the built-in files come last.
func (s *Interpreter) search() locate.Search {
	return locate.Search{WorkDir: s.opts.WorkDir, Extra: s.opts.ModelDirs, CacheDir: s.opts.CacheDir, NoBuiltin: s.opts.NoBuiltin}
}

// searchDirs lists the directories models and tokenizers are looked up in.
func (s *Interpreter) searchDirs() []string { return s.search().Dirs() }

func (s *Interpreter) abs(p string) string { return s.search().Abs(p) }

// isFile reports whether p is a regular file (a directory, FIFO, socket or
// device is not: opening one could block or mislead).
func isFile(p string) bool { return engine.CheckRegular(p) == nil }

// notRegular refines the error of a name the search did not resolve: when
// the name is a path to something that is not a regular file (a
// directory), that is what it says, rather than "not found".
func (s *Interpreter) notRegular(what, name string, err error) error {
	var nr *engine.NotRegularError
	if cerr := engine.CheckRegular(s.abs(name)); errors.As(cerr, &nr) {
		return fmt.Errorf("%s %w", what, cerr)
	}
	return err
}

// doLoad implements %load.
func (s *Interpreter) doLoad(c *call) error {
	a := c.args
	var path, banner string
	synthetic := false
	switch {
	case a.has("shape"):
		if len(a.pos) > 0 {
			return usagef(c.spec.usage(), "give either MODEL or --shape, not both")
		}
		p, err := s.syntheticModel(c.ctx, a.str("shape", ""), a.int("seed", 1), a.str("format", "v1"))
		if err != nil {
			return err
		}
		path, synthetic = p, true
	case len(a.pos) == 1:
		r, err := s.search().Find("model", a.pos[0].text, ".bin")
		if err != nil {
			return s.notRegular("model", a.pos[0].text, err)
		}
		path = r.Path
	default:
		p, err := s.defaultModel()
		if err != nil {
			return err
		}
		if p == "" {
			p, err = s.syntheticModel(c.ctx, s.opts.FallbackShape, 1, "v1")
			if err != nil {
				return fmt.Errorf("no model found and writing a synthetic one failed: %w", err)
			}
			synthetic = true
			banner = "!!! RANDOM WEIGHTS !!! No model file was found (looked in " + strings.Join(s.searchDirs(), ", ") +
				"), so this is a synthetic " + s.opts.FallbackShape + "-shape model with random weights: it is as big and as fast as the real one, but its text is gibberish. `memwall pull stories15M` downloads a real one."
		}
		path = p
	}
	if a.has("format") && !a.has("shape") {
		return usagef(c.spec.usage(), "--format only applies to a synthetic model (--shape)")
	}
	if a.has("kv") {
		kv, err := engine.ParseKVType(a.str("kv", ""))
		if err != nil {
			return usagef(c.spec.usage(), "--kv: %v", err)
		}
		s.kv = kv
	}
	if err := s.load(c.ctx, path, a.str("tokenizer", ""), engine.LoadOptions{Prefault: a.bool("prefault"), NoMmap: a.bool("no-mmap"), ContextLength: a.int("context-length", 0)}, a.str("weights", "")); err != nil {
		return err
	}
	s.synthetic = synthetic
	for _, w := range s.model.Load.Warnings {
		c.out.Stream("stderr", "warning: "+w+"\n")
	}
	if synthetic && banner == "" {
		banner = "!!! RANDOM WEIGHTS !!! synthetic " + a.str("shape", "stories15M") + "-shape model: right size and speed, gibberish text."
	}
	card := s.modelCard()
	if banner != "" {
		card = join([]inspect.Bundle{{Text: banner, HTML: `<div style="background:#b00020;color:#fff;font-weight:bold;padding:6px 10px;margin:4px 0">` + htmlEsc(banner) + `</div>`}, card}, card.JSON)
	}
	s.display(c, card)
	return nil
}

// defaultModel is the model %load loads without an argument: the file
// $MEMWALL_MODEL names, else the first of defaultModels found in the
// search directories, else the built-in model; "" when there is none.
func (s *Interpreter) defaultModel() (string, error) {
	if env := os.Getenv("MEMWALL_MODEL"); env != "" && isFile(s.abs(env)) {
		return s.abs(env), nil
	}
	dirs := s.searchDirs()
	for _, name := range defaultModels {
		for _, d := range dirs {
			if p := filepath.Join(d, name); isFile(p) {
				return p, nil
			}
		}
	}
	r, _, err := s.search().Builtin(builtin.Model)
	return r.Path, err
}

// syntheticModel writes (or reuses) a random-weight checkpoint of a named
// shape in the cache directory (engine.SyntheticModel: one file however
// many kernels ask for it at once).
func (s *Interpreter) syntheticModel(ctx context.Context, shape string, seed int, format string) (string, error) {
	v := engine.V1
	switch format {
	case "v0":
		v = engine.V0
	case "v1", "":
	case "v2", "q8":
		v = engine.V2
	default:
		return "", fmt.Errorf("unknown format %q (expected v0, v1 or v2)", format)
	}
	if seed < 0 {
		return "", fmt.Errorf("--seed must not be negative, got %d", seed)
	}
	return engine.SyntheticModel(ctx, s.opts.CacheDir, shape, seed, v)
}

// load replaces the session's model.
func (s *Interpreter) load(ctx context.Context, path, tokPath string, lo engine.LoadOptions, weights string) error {
	m, err := engine.OpenContext(ctx, path, lo)
	if err != nil {
		return err
	}
	if weights != "" {
		if err := convertAtLoad(m, weights); err != nil {
			m.Close()
			return err
		}
	}
	tok, tp, note, err := m.Tok, path+" (the vocabulary inside the GGUF file)", "", error(nil)
	if tok == nil || tokPath != "" {
		tok, tp, note, err = s.findTokenizer(path, tokPath, m.Vocab)
	}
	if err != nil {
		m.Close()
		return err
	}
	ops, err := asm.New(s.variant, s.threads)
	if err != nil {
		m.Close()
		return err
	}
	st, err := engine.NewState(m, ops)
	if err == nil {
		err = st.SetLayout(s.layout)
	}
	if err == nil {
		err = st.SetKV(s.kv)
	}
	if err != nil {
		ops.Close()
		m.Close()
		return err
	}
	s.stopStep()
	s.unload()
	s.model, s.tok, s.tokPath, s.tokNote, s.ops, s.st = m, tok, tp, note, ops, st
	s.installAblations()
	return nil
}

// unload drops the model and everything computed with it (ablations are
// kept only if they still fit: they are validated against the new model).
func (s *Interpreter) unload() {
	if s.ops != nil {
		s.ops.Close()
	}
	if s.model != nil {
		s.model.Close()
	}
	s.model, s.tok, s.st, s.scratch, s.ops = nil, nil, nil, nil, nil
	s.removers = nil
	s.resetContext()
	s.ablations = nil
	s.lastProfile = nil
}

// resetContext forgets the context and what was computed from it.
func (s *Interpreter) resetContext() {
	s.ids, s.done = nil, 0
	s.cache, s.cacheOrder, s.cacheIDs = nil, nil, nil
}

// ensureModel loads the default model when none is loaded yet, saying so.
func (s *Interpreter) ensureModel(c *call) error {
	if s.model != nil {
		return nil
	}
	p, err := s.defaultModel()
	if err != nil {
		return err
	}
	synthetic := false
	if p == "" {
		if p, err = s.syntheticModel(c.ctx, s.opts.FallbackShape, 1, "v1"); err != nil {
			return fmt.Errorf("no model loaded, none found, and writing a synthetic one failed: %w", err)
		}
		synthetic = true
	}
	if err := s.load(c.ctx, p, "", engine.LoadOptions{}, ""); err != nil {
		return fmt.Errorf("no model loaded and loading the default failed: %w", err)
	}
	s.synthetic = synthetic
	msg := fmt.Sprintf("(no model was loaded: loaded %s; use %%load to choose another)\n", p)
	if synthetic {
		msg = fmt.Sprintf("(no model was loaded and none was found: loaded a synthetic %s-shape model with RANDOM WEIGHTS from %s)\n", s.opts.FallbackShape, p)
	}
	c.out.Stream("stderr", msg)
	return nil
}

// findTokenizer loads the tokenizer for a model at path.
func (s *Interpreter) findTokenizer(modelPath, given string, vocab int) (*engine.Tokenizer, string, string, error) {
	if given != "" {
		r, err := s.search().Find("tokenizer", given, ".bin")
		if err != nil {
			return nil, "", "", s.notRegular("tokenizer", given, err)
		}
		t, err := engine.LoadTokenizer(r.Path, vocab)
		return t, r.Path, "", err
	}
	names := locate.TokenizerNames(vocab)
	dirs := append([]string{filepath.Dir(modelPath)}, s.searchDirs()...)
	for _, n := range names {
		for _, d := range dirs {
			p := filepath.Join(d, n)
			if !isFile(p) {
				continue
			}
			if t, err := engine.LoadTokenizer(p, vocab); err == nil {
				return t, p, "", nil
			}
		}
	}
	for _, n := range names {
		r, ok, err := s.search().Builtin(n)
		if !ok || err != nil {
			continue
		}
		if t, err := engine.LoadTokenizer(r.Path, vocab); err == nil {
			return t, r.Path, "", nil
		}
	}
	t, err := byteTokenizer(vocab)
	if err != nil {
		return nil, "", "", fmt.Errorf("no tokenizer for a %d-token vocabulary found beside %s or in %s (give one with --tokenizer)", vocab, modelPath, strings.Join(s.searchDirs(), ", "))
	}
	return t, "", fmt.Sprintf("no tokenizer file for a %d-token vocabulary was found: using a byte-level stand-in (ids 3..258 are bytes; text will not match the model's training)", vocab), nil
}

// byteTokenizer builds a stand-in vocabulary: <unk>, <s>, </s>, the 256
// byte pieces, then placeholders.
func byteTokenizer(vocab int) (*engine.Tokenizer, error) {
	if vocab < 259 {
		return nil, errors.New("vocabulary too small for a byte tokenizer")
	}
	var b bytes.Buffer
	put := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	put(int32(10))
	for i := 0; i < vocab; i++ {
		var p string
		switch {
		case i == 0:
			p = "<unk>"
		case i == 1:
			p = "<s>"
		case i == 2:
			p = "</s>"
		case i < 259:
			p = fmt.Sprintf("<0x%02X>", i-3)
		default:
			p = fmt.Sprintf("<t%d>", i)
		}
		put(float32(0))
		put(int32(len(p)))
		b.WriteString(p)
	}
	return engine.ParseTokenizer(b.Bytes(), "byte-level stand-in", vocab)
}

// ---- model card ----

func (s *Interpreter) doModel(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	s.display(c, s.modelCard())
	return nil
}

func (s *Interpreter) modelCard() inspect.Bundle {
	m := s.model
	cfg := m.Config
	resident, rerr := m.Resident()
	tied := "yes (the classifier is the token embedding)"
	if !cfg.Shared {
		tied = "no (separate classifier)"
	}
	tok := s.tokPath
	if tok == "" {
		tok = "byte-level stand-in"
	}
	rows := [][]string{
		{"file", m.Path},
		{"format", cfg.FormatName()},
		{"dim / hidden", fmt.Sprintf("%d / %d", cfg.Dim, cfg.HiddenDim)},
		{"layers", fmt.Sprint(cfg.Layers)},
		{"heads / kv heads", fmt.Sprintf("%d / %d (head size %d)", cfg.Heads, cfg.KVHeads, cfg.HeadSize())},
		{"vocab / seq_len", fmt.Sprintf("%d / %d", cfg.Vocab, cfg.SeqLen)},
		{"parameters", fmt.Sprintf("%d (%s)", cfg.Params(), human(float64(cfg.Params()), ""))},
		{"file bytes", humanBytes(m.Load.FileBytes)},
		{"weight bytes per token", humanBytes(m.WeightBytes())},
		{"tied embedding", tied},
		{"mapped", humanBytes(m.Load.MappedBytes)},
		{"copied", humanBytes(m.Load.CopiedBytes)},
		{"resident now", residentText(resident, rerr)},
		{"load time", m.Load.Duration.String()},
		{"tokenizer", tok},
		{"kernels", fmt.Sprintf("%s, %d thread(s), %s weights", engine.KernelSummary(m, s.ops.Kernels), s.ops.Threads(), layoutText(m, s.layout))},
		{"weights", strings.TrimSuffix(m.WeightTypes()+", "+m.Load.Converted, ", ")},
	}
	title := "Model: " + filepath.Base(m.Path)
	if s.synthetic {
		title += " (synthetic, random weights)"
	}
	source := "file"
	if f, ok := builtin.Describe(m.Path); ok {
		title += " (built-in)"
		source = f.Source(m.Path, m.Load.CopiedBytes)
		rows = append([][]string{{"source", source}}, rows...)
	}
	t := inspect.Table{Title: title, Header: []string{"", ""}, Rows: rows, RowHeader: true, MaxCell: 120, Note: s.tokNote}
	b := t.Bundle()
	b.JSON = map[string]any{
		"path": m.Path, "format": cfg.FormatName(), "version": cfg.Version, "dim": cfg.Dim, "hidden_dim": cfg.HiddenDim,
		"layers": cfg.Layers, "heads": cfg.Heads, "kv_heads": cfg.KVHeads, "vocab": cfg.Vocab, "seq_len": cfg.SeqLen,
		"params": cfg.Params(), "file_bytes": m.Load.FileBytes, "weight_bytes": m.WeightBytes(), "shared": cfg.Shared,
		"quantized": cfg.Quantized(), "group_size": cfg.GroupSize,
		"mapped_bytes": m.Load.MappedBytes, "copied_bytes": m.Load.CopiedBytes, "resident_bytes": resident,
		"load_ms": ms(m.Load.Duration), "tokenizer": s.tokPath, "synthetic": s.synthetic,
		"weights": m.WeightTypes(), "kernels": engine.KernelRoutines(m, s.ops.Kernels), "converted": m.Load.Converted,
		"builtin": source != "file", "source": source,
	}
	if extra := s.ggufCard(); extra != nil {
		js := b.JSON.(map[string]any)
		js["gguf"] = s.ggufJSON()
		b = join(append([]inspect.Bundle{b}, extra...), js)
	}
	return b
}

// layoutText names where the weights are read from: a model converted at
// load reads its converted copy, not the mapping.
func layoutText(m *engine.Model, l engine.Layout) string {
	if m.Load.Converted != "" && l == engine.LayoutMapped {
		return "converted (heap copy)"
	}
	return l.String()
}

// convertAtLoad converts m's matrices as %load --weights asks.
func convertAtLoad(m *engine.Model, weights string) error {
	t, fallback, err := engine.ParseWeights(weights)
	if err != nil {
		return fmt.Errorf("--weights: %w", err)
	}
	return m.Convert(t, fallback)
}

func residentText(n int64, err error) string {
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return humanBytes(n)
}

func humanBytes(n int64) string {
	return fmt.Sprintf("%s (%d bytes)", human(float64(n), "B"), n)
}

// human formats n with a decimal SI prefix (inspect.Human).
func human(n float64, unit string) string { return inspect.Human(n, unit) }

// ---- %weights ----

func (s *Interpreter) doWeights(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	m := s.model
	if len(c.args.pos) == 0 {
		t := inspect.Table{Title: fmt.Sprintf("Tensors of %s (%s)", filepath.Base(m.Path), m.FormatName()),
			Header: []string{"tensor", "shape", "type", "offset", "bytes", "alignment"},
			Note:   "alignment: the largest power of two (up to 64) dividing the offset; 64 = cache-line aligned"}
		var js []map[string]any
		for _, ti := range m.Tensors {
			name := ti.Name
			if ti.Skipped {
				name += " (unused)"
			}
			t.Rows = append(t.Rows, []string{name, shapeString(ti.Shape), string(ti.DType), fmt.Sprint(ti.Offset), fmt.Sprint(ti.Bytes + ti.ScaleBytes), fmt.Sprint(ti.Alignment())})
			js = append(js, map[string]any{"name": ti.Name, "shape": ti.Shape, "dtype": ti.DType, "offset": ti.Offset,
				"bytes": ti.Bytes, "scale_offset": ti.ScaleOffset, "scale_bytes": ti.ScaleBytes, "alignment": ti.Alignment(), "skipped": ti.Skipped})
		}
		b := t.Bundle()
		b.JSON = map[string]any{"tensors": js}
		s.display(c, b)
		return nil
	}
	name := c.args.pos[0].text
	vals, rows, cols, err := s.tensorValues(name)
	if err != nil {
		return err
	}
	sum := inspect.Summarize(vals)
	sb := sum.Bundle()
	hist := inspect.HistogramOf(vals, 50, inspect.ChartOpts{Title: "Values of " + name, XLabel: "value"})
	parts := []inspect.Bundle{sb, hist}
	if rows > 0 && cols > 0 {
		r, k := min(rows, c.args.int("rows", 64)), min(cols, c.args.int("cols", 64))
		if r <= 0 || k <= 0 {
			return fmt.Errorf("--rows and --cols must be positive")
		}
		mat := make([][]float64, r)
		for i := range mat {
			mat[i] = make([]float64, k)
			for j := range mat[i] {
				mat[i][j] = float64(vals[i*cols+j])
			}
		}
		parts = append(parts, inspect.Heatmap(mat, nil, nil, inspect.HeatmapOpts{
			Title: fmt.Sprintf("%s[:%d, :%d] of %d×%d", name, r, k, rows, cols), XLabel: "column", YLabel: "row"}))
	}
	b := join(parts, map[string]any{"tensor": name, "rows": rows, "cols": cols, "stats": sb.JSON, "histogram": hist.JSON})
	s.display(c, b)
	return nil
}

func shapeString(sh []int) string {
	p := make([]string, len(sh))
	for i, d := range sh {
		p[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(p, ", ") + "]"
}

// tensorValues returns a tensor's values as fp32 (dequantized), with its
// rows and columns (0, 0 for vectors).
func (s *Interpreter) tensorValues(name string) ([]float32, int, int, error) {
	vals, shape, err := s.model.TensorValues(name)
	switch {
	case err == nil && len(shape) == 2:
		return vals, shape[0], shape[1], nil
	case err == nil:
		return vals, 0, 0, nil
	case !errors.Is(err, engine.ErrNoTensor):
		return nil, 0, 0, err
	case name == "output":
		return nil, 0, 0, errors.New("tensor output does not exist: this model's classifier is the token embedding (see tok_embeddings)")
	}
	var names []string
	for _, t := range s.model.Tensors {
		if !t.Skipped {
			names = append(names, t.Name)
		}
	}
	return nil, 0, 0, fmt.Errorf("no tensor %q%s (%%weights lists them)", name, didYouMean(nearest(name, names, 3), ""))
}

// ---- %tokens ----

func (s *Interpreter) doTokens(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	text := c.text()
	ids := s.tok.Encode(text, !c.args.bool("no-bos"), false)
	t := inspect.Table{Title: fmt.Sprintf("%d tokens", len(ids)), Header: []string{"#", "id", "piece", "score"}}
	pieces := make([]string, len(ids))
	shown := min(int64(len(ids)), s.limits.tableRows)
	for i, id := range ids {
		pieces[i] = s.tok.Pieces[id]
		if int64(i) < shown {
			t.Rows = append(t.Rows, []string{fmt.Sprint(i), fmt.Sprint(id), fmt.Sprintf("%q", pieces[i]), fmt.Sprintf("%g", s.tok.Scores[id])})
		}
	}
	if more := int64(len(ids)) - shown; more > 0 {
		t.Title = fmt.Sprintf("%d tokens (the first %d shown)", len(ids), shown)
		t.Note = fmt.Sprintf("… and %d more tokens not shown (table_rows = %d; every id and piece is in the cell's data, under %s)", more, shown, inspect.JSONMIME)
	}
	b := t.Bundle()
	b.JSON = map[string]any{"text": text, "ids": ids, "pieces": pieces}
	s.display(c, b)
	return nil
}

// ---- %help, %lsmagic ----

func (s *Interpreter) doHelp(c *call) error {
	if len(c.args.pos) == 0 {
		var b strings.Builder
		b.WriteString("memwall cells: magics (%name args, one per line), one cell magic (%%name args on the first line,\nthen a body), or plain text, which the model continues (as %%generate).\n\n")
		b.WriteString(lsmagicText())
		b.WriteString("\n\n%help MAGIC (or Shift-Tab on a magic) shows one magic's flags.")
		s.display(c, textBundle(b.String(), nil))
		return nil
	}
	name := strings.TrimLeft(c.args.pos[0].text, "%")
	spec, ok := registry[name]
	if !ok {
		return fmt.Errorf("unknown magic %%%s%s", name, didYouMean(nearest(name, magicNames(), 2), "%"))
	}
	s.display(c, textBundle(spec.helpText(), nil))
	return nil
}

func lsmagicText() string {
	var b strings.Builder
	for _, n := range magicNames() {
		m := registry[n]
		name := "%" + n
		if m.cell {
			name += ", %%" + n
		}
		fmt.Fprintf(&b, "  %-24s %s\n", name, m.summary)
	}
	return strings.TrimRight(b.String(), "\n")
}

func (s *Interpreter) doLsmagic(c *call) error {
	names := magicNames()
	s.display(c, textBundle("Magics:\n"+lsmagicText(), map[string]any{"magics": names}))
	return nil
}
