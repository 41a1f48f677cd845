package magic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
	"github.com/memwall/memwall/internal/site"
	"github.com/memwall/memwall/kernel"
	"github.com/memwall/memwall/kernel/widget"
)

// Options configures an Interpreter. The zero value works.
type Options struct {
	// ModelDirs are extra directories searched for models and tokenizers,
	// after the given path, $MEMWALL_MODEL, $MEMWALL_MODELS, ./models and
	// the user's data directory, before the built-in files (package
	// locate has the order).
	ModelDirs []string
	// NoBuiltin leaves the model built into the binary out of the search,
	// so that %load without a model falls back to a synthetic one.
	NoBuiltin bool
	// WorkDir is the directory relative paths are resolved against
	// (default: the process's working directory).
	WorkDir string
	// CacheDir holds synthetic and converted checkpoints (default: the
	// site's cache_dir, else os.UserCacheDir()/memwall; see internal/site).
	CacheDir string
	// Variant and Threads are the initial kernel variant ("auto" by
	// default) and thread count (default 1).
	Variant string
	Threads int
	// FallbackShape is the shape of the synthetic model loaded when no
	// model file is found and NoBuiltin is set (default "stories15M").
	FallbackShape string
	// Version is reported by Info.
	Version string
	// Logger receives diagnostics (nil: discarded).
	Logger *slog.Logger
	// Quick shrinks the expensive course magics (%wall, %ladder, %latency,
	// %decode --compare, %numerics) to fit a CI time budget; they say so
	// in their output. New turns it on when $MEMWALL_QUICK is set.
	Quick bool
}

// Interpreter runs memwall cells. It implements kernel.Interpreter; like
// the kernel, it runs one cell at a time.
type Interpreter struct {
	opts Options
	log  *slog.Logger

	// The loaded model.
	model     *engine.Model
	tok       *engine.Tokenizer
	tokPath   string
	tokNote   string
	synthetic bool

	// Kernels and the main state (whose key/value cache holds the context).
	variant string
	threads int
	ops     *asm.Ops
	layout  engine.Layout
	st      *engine.State
	scratch *engine.State
	kv      engine.KVType // the main state's key/value cache (%kv, %load --kv)

	// The context: token ids (BOS first) and how many of them the main
	// state's key/value cache holds.
	ids  []int
	done int
	gen  genOptions // sampling settings of the last generation

	cache      map[string]*engine.Activation
	cacheOrder []string
	cacheIDs   []int

	ablations []ablation
	removers  []func()

	step *stepper

	prof        *profRun // non-nil while %%time runs its body
	lastProfile *timeRun // the last profiled generation
	lastBW      *asm.BandwidthResult

	limits limits // what one cell may use (limits.go)

	seq atomic.Int64 // display ids

	ui   *widget.Manager // the kernel's widgets (nil outside a kernel)
	live []*widget.Box   // the live views shown, oldest first
}

var _ kernel.Interpreter = (*Interpreter)(nil)

// New returns an Interpreter. No model is loaded until a cell needs one.
func New(opts Options) *Interpreter {
	if opts.WorkDir == "" {
		opts.WorkDir, _ = os.Getwd()
	}
	if opts.CacheDir == "" {
		opts.CacheDir, _ = site.CacheDir()
	}
	if opts.Variant == "" {
		opts.Variant = "auto"
	}
	if opts.Threads <= 0 {
		opts.Threads = 1
	}
	if opts.FallbackShape == "" {
		opts.FallbackShape = "stories15M"
	}
	if opts.Version == "" {
		opts.Version = "0.1.0-dev"
	}
	if v := os.Getenv("MEMWALL_QUICK"); v != "" && v != "0" {
		opts.Quick = true
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	lim, warn := defaultLimits()
	for _, w := range warn {
		log.Warn(w)
	}
	lim.applyMemoryLimit()
	return &Interpreter{opts: opts, log: log, variant: opts.Variant, threads: opts.Threads, gen: defaultGen(), limits: lim}
}

// CodeMirrorMode is the editor mode memwall's language_info names, one
// every front end has (the notebooks' metadata carries it too).
const CodeMirrorMode = "shell"

// Info implements kernel.Interpreter.
func (s *Interpreter) Info() kernel.KernelInfo {
	return kernel.KernelInfo{
		Implementation:        "memwall",
		ImplementationVersion: s.opts.Version,
		Banner:                "memwall: a Llama 2 inference engine you can look inside. Type %help for the magics; plain text is a prompt.",
		HelpLinks:             []kernel.HelpLink{{Text: "llama2.c", URL: "https://github.com/karpathy/llama2.c"}},
		LanguageInfo: kernel.LanguageInfo{
			Name: "memwall", Version: s.opts.Version, MIMEType: "text/x-memwall", FileExtension: ".mw",
			// No front end ships a memwall mode: without one the classic
			// Notebook asks for codemirror/mode/memwall/memwall.js (a 404)
			// and JupyterLab edits plain text. A cell is a command line
			// (%magic --flag value "quoted text"), which the shell modes of
			// CodeMirror 5 and 6 and Pygments' bash lexer highlight.
			CodeMirrorMode: CodeMirrorMode, PygmentsLexer: "bash",
		},
	}
}

// Close releases the model and any step-through in progress.
func (s *Interpreter) Close() error {
	s.stopStep()
	s.unload()
	return nil
}

// call is one magic invocation.
type call struct {
	ctx  context.Context
	out  kernel.Output
	spec *magicSpec
	args *args
	line int
	// body is the cell magic's body (cell is true for the %% form).
	body string
	cell bool
}

// text returns the magic's text argument: the body of the cell form, or
// the rest of the line.
func (c *call) text() string {
	if c.cell {
		return strings.TrimSpace(c.body)
	}
	return c.args.text
}

// Execute implements kernel.Interpreter.
func (s *Interpreter) Execute(ctx context.Context, code string, out kernel.Output) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in cell", "panic", r, "stack", string(debug.Stack()))
			err = &Error{Err: fmt.Errorf("internal error: %v (the session may be inconsistent: %%reset or %%load)", r)}
		}
	}()
	if int64(len(code)) > s.limits.maxCell {
		return s.cellTooLarge(len(code))
	}
	ctx, stop := s.watchMemory(ctx)
	err = s.execute(ctx, code, out, 0)
	if me := stop(); me != nil {
		freeMemory()
		return &Error{Err: me}
	}
	return err
}

// statement is one magic of a cell.
type statement struct {
	line   int // 1-based line in the cell
	name   string
	rest   string // the argument line
	body   string // cell magic body
	cell   bool
	prompt bool // plain text: generate from body
}

// parseCell splits a cell into statements. lineOff shifts line numbers
// (for the body of %%time).
func parseCell(code string, lineOff int) ([]statement, error) {
	lines := strings.Split(code, "\n")
	first := -1
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			first = i
			break
		}
	}
	if first < 0 {
		return nil, nil
	}
	head := strings.TrimSpace(lines[first])
	if !strings.HasPrefix(head, "%") {
		return []statement{{line: lineOff + first + 1, prompt: true, body: strings.TrimSpace(code)}}, nil
	}
	if strings.HasPrefix(head, "%%") {
		name, rest := splitName(head[2:])
		return []statement{{line: lineOff + first + 1, name: name, rest: rest, cell: true,
			body: strings.Join(lines[first+1:], "\n")}}, nil
	}
	var out []statement
	for i := first; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		n := lineOff + i + 1
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "%%"):
			return nil, &Error{Line: n, Err: fmt.Errorf("cell magic %s must be on the first line of the cell", strings.Fields(l)[0])}
		case strings.HasPrefix(l, "%"):
			name, rest := splitName(l[1:])
			out = append(out, statement{line: n, name: name, rest: rest})
		default:
			return nil, &Error{Line: n, Err: fmt.Errorf("expected a magic (a line starting with %%), got text %q; a cell that starts with a magic holds only magics (put a prompt in its own cell, or use %%%%generate)", clip(l, 40))}
		}
	}
	return out, nil
}

func splitName(s string) (name, rest string) {
	i := strings.IndexFunc(s, func(r rune) bool { return r == ' ' || r == '\t' })
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

func (s *Interpreter) execute(ctx context.Context, code string, out kernel.Output, lineOff int) error {
	stmts, err := parseCell(code, lineOff)
	if err != nil {
		return err
	}
	for i, st := range stmts {
		if err := ctx.Err(); err != nil && i > 0 {
			return &Error{Line: st.line, Err: fmt.Errorf("interrupted before this line ran: %w", context.Cause(ctx))}
		}
		if err := s.runStatement(ctx, st, out); err != nil {
			return err
		}
	}
	return nil
}

func (s *Interpreter) runStatement(ctx context.Context, st statement, out kernel.Output) error {
	if st.prompt {
		spec := registry["generate"]
		a := &args{spec: spec, vals: map[string]string{}}
		c := &call{ctx: ctx, out: out, spec: spec, args: a, line: st.line, body: st.body, cell: true}
		return s.wrap(c, spec.run(s, c))
	}
	name := st.name
	spec, ok := registry[name]
	if !ok {
		prefix := "%"
		if st.cell {
			prefix = "%%"
		}
		if name == "" {
			return &Error{Line: st.line, Err: fmt.Errorf("expected a magic name after %s (see %%lsmagic)", prefix)}
		}
		return &Error{Line: st.line, Err: fmt.Errorf("unknown magic %s%s%s", prefix, name, didYouMean(nearest(name, magicNames(), 2), prefix))}
	}
	if st.cell && !spec.cell {
		return &Error{Line: st.line, Magic: name, Err: fmt.Errorf("%%%s has no cell form (%%%%%s); the cell magics are %%%%generate, %%%%time and %%%%tokens", name, name)}
	}
	a, err := parseArgs(spec, st.rest)
	if err != nil {
		return &Error{Line: st.line, Magic: name, Err: err}
	}
	c := &call{ctx: ctx, out: out, spec: spec, args: a, line: st.line, body: st.body, cell: st.cell}
	return s.wrap(c, spec.run(s, c))
}

// wrap turns a handler's error into an *Error naming the line and magic.
func (s *Interpreter) wrap(c *call, err error) error {
	if err == nil {
		return nil
	}
	var me *Error
	if errors.As(err, &me) {
		return err
	}
	if c.ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		err = fmt.Errorf("interrupted: %w", err)
	}
	return &Error{Line: c.line, Magic: c.spec.name, Err: err}
}

// ---- output helpers ----

// display sends b as display_data.
func (s *Interpreter) display(c *call, b inspect.Bundle) {
	c.out.Display(toKernel(b), "")
}

// newDisplayID returns a fresh display id for progress displays.
func (s *Interpreter) newDisplayID() string {
	return fmt.Sprintf("memwall-%d-%d", os.Getpid(), s.seq.Add(1))
}

// toKernel converts an inspect bundle to a kernel bundle. JSON that does not
// marshal (NaN slipped in) is dropped rather than failing the cell; a bundle
// with JSON but no HTML or SVG gets an HTML rendering of its text, so that
// JupyterLab shows the text rather than a JSON tree.
func toKernel(b inspect.Bundle) kernel.Bundle {
	if b.JSON != nil {
		if _, err := json.Marshal(b.JSON); err != nil {
			b.JSON = nil
		}
	}
	if b.JSON != nil && b.HTML == "" && b.SVG == "" {
		b.HTML = pre(b.Text)
	}
	return kernel.Bundle{Data: b.MIME()}
}

func htmlEsc(s string) string { return html.EscapeString(s) }

func pre(text string) string {
	return `<pre style="margin:0">` + html.EscapeString(text) + `</pre>`
}

// textBundle is a plain-text result with optional JSON.
func textBundle(text string, js any) inspect.Bundle {
	return inspect.Bundle{Text: text, JSON: js}
}

// join combines several bundles into one display (inspect.Join).
func join(parts []inspect.Bundle, js any) inspect.Bundle { return inspect.Join(parts, js) }

// num makes a float JSON-safe (NaN and Inf become null).
func num(f float64) any { return inspect.Finite(f) }

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
