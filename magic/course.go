package magic

// The course magics: measurements the notebooks in notebooks/ draw their
// conclusions from. Each prints its numbers as a table (and JSON), a chart
// where one helps, and a conclusion written from the measured values, so a
// notebook never states a number it did not measure on the machine it ran
// on. Under quick mode (Options.Quick, $MEMWALL_QUICK) the expensive ones
// shrink and say so.

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/memwall/memwall/course"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// turnTaking is the gap people leave between turns in conversation: a
// first token later than this is noticed as a pause.
const turnTaking = 200 * time.Millisecond

// quickBundle is the notice a magic shows when quick mode changed what it
// measures.
func quickBundle(changes []string) inspect.Bundle {
	if len(changes) == 0 {
		return inspect.Bundle{}
	}
	t := "quick mode (MEMWALL_QUICK): " + strings.Join(changes, "; ") + " — the numbers below are smaller-scale measurements than the full run"
	return inspect.Bundle{Text: t, HTML: `<div style="background:#fff4ce;color:#333;padding:4px 8px;margin:4px 0;font-size:90%">` + htmlEsc(t) + `</div>`}
}

// conclusion renders sentences written from measured numbers.
func conclusion(lines []string) inspect.Bundle {
	var tb, hb strings.Builder
	tb.WriteString("Conclusion (measured on this machine):")
	hb.WriteString(`<div style="border-left:4px solid #2b6cb0;padding:4px 10px;margin:6px 0"><b>Conclusion (measured on this machine)</b><ul style="margin:2px 0">`)
	for _, l := range lines {
		tb.WriteString("\n  • " + l)
		hb.WriteString("<li>" + htmlEsc(l) + "</li>")
	}
	hb.WriteString("</ul></div>")
	return inspect.Bundle{Text: tb.String(), HTML: hb.String()}
}

// parts drops empty bundles (an absent quick-mode notice).
func parts(bs ...inspect.Bundle) []inspect.Bundle {
	var out []inspect.Bundle
	for _, b := range bs {
		if b.Text != "" || b.HTML != "" || b.SVG != "" {
			out = append(out, b)
		}
	}
	return out
}

// g3 formats a number with three significant digits and no trailing
// zeros: 0.5, 1.88, 1.2e+03.
func g3(x float64) string { return strconv.FormatFloat(x, 'g', 3, 64) }

// llcBytes is the size of the largest CPU cache Linux reports (0 when
// unknown).
func llcBytes() int64 {
	var best int64
	dirs, _ := filepath.Glob("/sys/devices/system/cpu/cpu0/cache/index*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "size"))
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		mul := int64(1)
		switch {
		case strings.HasSuffix(v, "K"):
			mul, v = 1<<10, strings.TrimSuffix(v, "K")
		case strings.HasSuffix(v, "M"):
			mul, v = 1<<20, strings.TrimSuffix(v, "M")
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n*mul > best {
			best = n * mul
		}
	}
	return best
}

// quickShape maps the largest shape to stories15M in quick mode.
func (s *Interpreter) quickShape(shape string, changes *[]string) string {
	if s.opts.Quick && shape == "stories110M" {
		*changes = append(*changes, "stories15M shape instead of stories110M")
		return "stories15M"
	}
	return shape
}

// quickInt returns def, or q in quick mode when the flag was not given.
func (s *Interpreter) quickInt(c *call, flag string, def, q int, what string, changes *[]string) int {
	if c.args.has(flag) {
		return c.args.int(flag, def)
	}
	if s.opts.Quick && q != def {
		*changes = append(*changes, fmt.Sprintf("%s %d instead of %d", what, q, def))
		return q
	}
	return def
}

// openShape opens (writing it first if needed) a synthetic model of a named
// shape and format (v0, v1, v2) from the cache directory.
func (s *Interpreter) openShape(shape, format string) (*engine.Model, error) {
	p, err := s.syntheticModel(shape, 1, format)
	if err != nil {
		return nil, err
	}
	return engine.Open(p, engine.LoadOptions{})
}

// ---- %shapes ----

// tokenBytes is the weight bytes one token streams with fp32 or Q8_0
// matrices of group size gs, by the cost model.
func tokenBytes(c engine.Config, q8 bool, gs int) int64 {
	_, wb := engine.TokenCost(c, engine.Encoding{Quantized: q8, GroupSize: gs}, 0)
	return wb
}

func (s *Interpreter) doShapes(c *call) error {
	names := c.args.strList("shapes")
	if len(names) == 0 {
		names = engine.ShapeNames()
	}
	llc := llcBytes()
	t := inspect.Table{Title: "The named shapes: parameters and bytes", Header: []string{"shape", "dim×layers", "heads/kv", "vocab", "parameters",
		"v0 file (tied)", "v0 file (untied)", "v2 file (Q8_0)", "fp32 bytes/token", "int8 bytes/token", "fits in cache"}}
	var rows []map[string]any
	for _, n := range names {
		cfg, err := engine.Shape(n)
		if err != nil {
			return err
		}
		v0 := cfg
		v0.Version = engine.V0
		tied, err := v0.FileSize()
		if err != nil {
			return err
		}
		un := v0
		un.Shared = false
		untied, err := un.FileSize()
		if err != nil {
			return err
		}
		q := cfg
		q.Version, q.GroupSize = engine.V2, engine.DefaultGroupSize(cfg)
		v2, err := q.FileSize()
		if err != nil {
			return err
		}
		fb, ib := tokenBytes(cfg, false, 0), tokenBytes(cfg, true, q.GroupSize)
		fits := "unknown"
		if llc > 0 {
			fits = yesNo(fb <= llc)
		}
		t.Rows = append(t.Rows, []string{n, fmt.Sprintf("%d×%d", cfg.Dim, cfg.Layers), fmt.Sprintf("%d/%d", cfg.Heads, cfg.KVHeads), fmt.Sprint(cfg.Vocab),
			fmt.Sprintf("%d (%s)", cfg.Params(), human(float64(cfg.Params()), "")), human(float64(tied), "B"), human(float64(untied), "B"),
			human(float64(v2), "B"), human(float64(fb), "B"), human(float64(ib), "B"), fits})
		rows = append(rows, map[string]any{"shape": n, "dim": cfg.Dim, "hidden_dim": cfg.HiddenDim, "layers": cfg.Layers, "heads": cfg.Heads, "kv_heads": cfg.KVHeads,
			"vocab": cfg.Vocab, "seq_len": cfg.SeqLen, "params": cfg.Params(), "v0_tied_bytes": tied, "v0_untied_bytes": untied, "v2_bytes": v2,
			"group_size": q.GroupSize, "fp32_bytes_per_token": fb, "int8_bytes_per_token": ib, "fits_llc": llc > 0 && fb <= llc})
	}
	t.Note = fmt.Sprintf("parameters count a tied classifier once; bytes/token: every matrix once, the norms and one embedding row; cache: the largest CPU cache Linux reports (%s)", human(float64(llc), "B"))
	s.display(c, join([]inspect.Bundle{t.Bundle()}, map[string]any{"llc_bytes": llc, "shapes": rows}))
	return nil
}

// ---- %tying ----

func (s *Interpreter) doTying(c *call) error {
	shape := c.args.str("shape", "stories260K")
	cfg, err := engine.Shape(shape)
	if err != nil {
		return err
	}
	cfg.Version = engine.V0
	untied, tied := cfg, cfg
	untied.Shared = false
	tied.Shared, tied.Vocab = true, 2*cfg.Vocab
	if err := os.MkdirAll(s.opts.CacheDir, 0o755); err != nil {
		return err
	}
	type file struct {
		label string
		cfg   engine.Config
		path  string
	}
	files := []file{
		{fmt.Sprintf("untied, vocab %d", untied.Vocab), untied, filepath.Join(s.opts.CacheDir, fmt.Sprintf("%s-untied-v0.bin", shape))},
		{fmt.Sprintf("tied, vocab %d", tied.Vocab), tied, filepath.Join(s.opts.CacheDir, fmt.Sprintf("%s-tied-vocab%d-v0.bin", shape, tied.Vocab))},
	}
	t := inspect.Table{Title: fmt.Sprintf("Two %s-shape v0 files: one untied, one tied with twice the vocabulary", shape),
		Header: []string{"file", "size on disk", "header vocab_size (int32)", "tied (engine)", "vocab (engine)", "parameters", "classifier"}}
	var js []map[string]any
	var sizes []int64
	for _, f := range files {
		if !isFile(f.path) {
			if err := engine.WriteCheckpoint(f.path, f.cfg, engine.Synthetic(1)); err != nil {
				return err
			}
		}
		st, err := os.Stat(f.path)
		if err != nil {
			return err
		}
		raw, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		if len(raw) < 28 {
			return fmt.Errorf("%s: shorter than a v0 header", f.path)
		}
		hv := int32(binary.LittleEndian.Uint32(raw[20:24]))
		m, err := engine.Open(f.path, engine.LoadOptions{})
		if err != nil {
			return err
		}
		cls := "the token embedding (tok_embeddings)"
		if !m.Shared {
			cls = fmt.Sprintf("its own %d×%d matrix", m.Vocab, m.Dim)
		}
		t.Rows = append(t.Rows, []string{f.label, humanBytes(st.Size()), fmt.Sprint(hv), yesNo(m.Shared), fmt.Sprint(m.Vocab), fmt.Sprint(m.Params()), cls})
		js = append(js, map[string]any{"label": f.label, "path": f.path, "bytes": st.Size(), "header_vocab_size": hv, "shared": m.Shared, "vocab": m.Vocab, "params": m.Params()})
		sizes = append(sizes, st.Size())
		m.Close()
	}
	same := sizes[0] == sizes[1]
	var lines []string
	if same {
		lines = append(lines, fmt.Sprintf("both files are exactly %d bytes, yet one has vocab %d with a separate classifier and the other vocab %d with a shared one: the file size cannot tell them apart", sizes[0], untied.Vocab, tied.Vocab))
	} else {
		lines = append(lines, fmt.Sprintf("the files differ in size (%d and %d bytes)", sizes[0], sizes[1]))
	}
	lines = append(lines, fmt.Sprintf("a loader that assumes vocab %d and infers tying from the size reads the second file as untied and mistakes half of its embedding rows for a classifier; the header says it: vocab_size is %d (negative: untied) in the first and %d (positive: tied) in the second",
		untied.Vocab, js[0]["header_vocab_size"], js[1]["header_vocab_size"]))
	s.display(c, join([]inspect.Bundle{t.Bundle(), conclusion(lines)}, map[string]any{"shape": shape, "files": js, "same_size": same}))
	return nil
}

// ---- %firsttoken ----

func (s *Interpreter) doFirstToken(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	m := s.model
	if !m.Mapped() {
		return fmt.Errorf("%s was read into the heap (--no-mmap): there is no mapping to evict; %%load it without --no-mmap", filepath.Base(m.Path))
	}
	dropCache := c.args.bool("drop-cache")
	type run struct {
		label              string
		d                  time.Duration
		minor, major       int64
		residentBefore     int64
		residentAfter      int64
		pageCacheDropped   bool
		pageCacheDropError string
	}
	one := func(label string, prep func() (bool, string, error)) (run, error) {
		st, err := engine.NewState(m, s.ops)
		if err != nil {
			return run{}, err
		}
		r := run{label: label}
		if prep != nil {
			dropped, why, err := prep()
			if err != nil {
				return run{}, err
			}
			r.pageCacheDropped, r.pageCacheDropError = dropped, why
		}
		r.residentBefore, _ = m.Resident()
		f0 := pageFaults()
		t0 := time.Now()
		if _, err := st.Forward(c.ctx, engine.BOS, 0); err != nil {
			return run{}, err
		}
		r.d = time.Since(t0)
		f1 := pageFaults()
		r.minor, r.major = f1.minor-f0.minor, f1.major-f0.major
		r.residentAfter, _ = m.Resident()
		return r, nil
	}
	var runs []run
	cold, err := one("cold: mapping evicted", func() (bool, string, error) {
		if err := m.Evict(); err != nil {
			return false, "", err
		}
		if !dropCache {
			return false, "", nil
		}
		ok, why := dropPageCache(m.Path)
		return ok, why, nil
	})
	if err != nil {
		return err
	}
	if dropCache {
		cold.label = "cold: mapping evicted, page cache dropped"
	}
	runs = append(runs, cold)
	warm, err := one("warm: pages already mapped", nil)
	if err != nil {
		return err
	}
	runs = append(runs, warm)
	t := inspect.Table{Title: fmt.Sprintf("First token of %s (%s, %d thread(s))", filepath.Base(m.Path), s.ops.Name, s.ops.Threads()),
		Header: []string{"run", "first token ms", "minor faults", "major faults", "resident before", "resident after"}}
	var js []map[string]any
	for _, r := range runs {
		t.Rows = append(t.Rows, []string{r.label, fmt.Sprintf("%.2f", ms(r.d)), fmt.Sprint(r.minor), fmt.Sprint(r.major), human(float64(r.residentBefore), "B"), human(float64(r.residentAfter), "B")})
		js = append(js, map[string]any{"label": r.label, "ms": ms(r.d), "minor_faults": r.minor, "major_faults": r.major,
			"resident_before": r.residentBefore, "resident_after": r.residentAfter, "page_cache_dropped": r.pageCacheDropped})
	}
	t.Note = "faults: getrusage over the whole process during the first forward pass; resident: bytes of the file in memory (mincore), that is in the kernel's page cache, whether or not this process has them mapped"
	pages := float64(m.Load.FileBytes) / float64(os.Getpagesize())
	lines := []string{
		fmt.Sprintf("the cold first token took %.2f ms and %d minor + %d major page faults (the file has %.0f pages of %d bytes); the warm one %.2f ms with %d faults: %.1f× faster",
			ms(cold.d), cold.minor, cold.major, pages, os.Getpagesize(), ms(warm.d), warm.minor+warm.major, ms(cold.d)/math.Max(ms(warm.d), 1e-9)),
		fmt.Sprintf("mapping is not loading: %s mapped, %s of the file in memory before the cold token and %s after it", human(float64(m.Load.MappedBytes), "B"), human(float64(cold.residentBefore), "B"), human(float64(cold.residentAfter), "B")),
	}
	switch {
	case !dropCache:
		lines = append(lines, "Evict drops only this process's mapping of the pages; the kernel's page cache still holds the file, so 'cold' here costs minor faults (page-table fills), not disk reads — --drop-cache also asks the kernel to drop the file from its page cache")
	case cold.pageCacheDropped && cold.major > 0:
		lines = append(lines, fmt.Sprintf("with the page cache dropped the cold token read the file from storage: %d major faults, each reading ahead many pages", cold.major))
	case cold.pageCacheDropped:
		lines = append(lines, "the page cache was asked to drop the file but no major faults happened: the kernel kept the pages (or read them ahead in bulk)")
	default:
		lines = append(lines, "dropping the page cache failed ("+cold.pageCacheDropError+"): the cold token read from memory")
	}
	s.display(c, join([]inspect.Bundle{t.Bundle(), conclusion(lines)}, map[string]any{"runs": js, "file_bytes": m.Load.FileBytes, "mapped_bytes": m.Load.MappedBytes,
		"cold_ms": ms(cold.d), "warm_ms": ms(warm.d)}))
	return nil
}

// ---- %intensity ----

func (s *Interpreter) doIntensity(c *call) error {
	var cfg engine.Config
	name := c.args.str("shape", "")
	if name != "" {
		var err error
		if cfg, err = engine.Shape(name); err != nil {
			return err
		}
	} else {
		if err := s.ensureModel(c); err != nil {
			return err
		}
		cfg, name = s.model.Config, s.modelName()
	}
	pos := c.args.int("position", 0)
	if pos < 0 || pos >= cfg.SeqLen {
		return usagef(c.spec.usage(), "--position must be in [0, %d)", cfg.SeqLen)
	}
	r, err := course.Intensity(name, cfg, pos)
	if err != nil {
		return err
	}
	s.display(c, r.Bundle())
	return nil
}

// ---- %wall ----

func (s *Interpreter) doWall(c *call) error {
	var changes []string
	shapes := c.args.strList("shapes")
	if len(shapes) == 0 {
		shapes = engine.ShapeNames()
	}
	if s.opts.Quick {
		var keep []string
		for _, sh := range shapes {
			if sh == "stories110M" {
				changes = append(changes, "stories110M left out (438 MB)")
				continue
			}
			keep = append(keep, sh)
		}
		shapes = keep
	}
	for _, sh := range shapes {
		if _, err := engine.Shape(sh); err != nil {
			return err
		}
	}
	n := s.quickInt(c, "n", 32, 12, "tokens per shape", &changes)
	mib := s.quickInt(c, "size", 256, 64, "MiB bandwidth probe", &changes)
	if n <= 0 || mib <= 0 {
		return usagef(c.spec.usage(), "-n and --size must be positive")
	}
	prog := s.progress(c, "%wall")
	r, err := course.Wall(c.ctx, course.WallOptions{Shapes: shapes, Open: func(sh string) (*engine.Model, error) { return s.openShape(sh, "v1") },
		Tokens: n, ProbeBytes: int64(mib) << 20, Variant: s.variant, Threads: s.threads, LLC: llcBytes(), Progress: prog, Quick: changes})
	if err != nil {
		return err
	}
	prog("done")
	s.display(c, r.Bundle())
	return nil
}
