package magic

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/memwall/memwall/inspect"
	"github.com/memwall/memwall/kernel"
	"github.com/memwall/memwall/kernel/widget"
)

// Live views: %explore, %attention --ui, %generate --ui and %step --ui
// show Jupyter widgets whose changes reach the interpreter as comm
// messages, handled by the kernel in order with the cells. Every view
// is also displayed with a static picture for front ends without a widget
// manager (nbconvert, GitHub, a classic Notebook without ipywidgets).

var _ kernel.CommUser = (*Interpreter)(nil)

// UseComms implements kernel.CommUser: the kernel hands over its comms,
// on which the widget manager registers its targets.
func (s *Interpreter) UseComms(c *kernel.Comms) { s.ui = widget.NewManager(c, s.log) }

// CSS classes by which a page (and the browser test) finds the parts of
// a live view.
const (
	classView    = "memwall-view"    // the VBox of a live view
	classPicture = "memwall-picture" // the HTML widget with the picture
	classStatus  = "memwall-status"  // the line under it: what is shown, how long it took
)

// maxLiveViews bounds the live views kept working: each holds what it
// captured (a forward pass's patterns and residuals for %explore).
const maxLiveViews = 16

// uiMagics are the magics of this file.
func uiMagics() []*magicSpec {
	return []*magicSpec{
		{name: "explore", args: "[PROMPT]", text: true, run: (*Interpreter).doExplore,
			summary: "Explore one forward pass with widgets: layer, position, head and view controls redraw from tensors captured once.",
			help: `PROMPT (or, without one, the current context) is run once with hooks that keep every layer's
attention pattern and residual stream. The controls then redraw without running the model again:
"layer" (an IntSlider), "position" (a slider labelled with the tokens), "head" (a Dropdown) and the
view: the attention pattern of that layer and head, the logit lens after that layer (each position's
top next token), the residual stream's norm through the layers at that position, or the top-k next
tokens after that layer at that position. The line under the picture says how long the redraw took.
A front end without widgets shows the picture of the initial settings. A PROMPT becomes the context.
The last 16 live views (of %explore and the --ui magics) keep working; older ones are closed.`,
			flags: []flagSpec{flagLayer, flagHead,
				{name: "position", kind: intFlag, arg: "P", help: "initial position (default: the last)"},
				{name: "view", kind: stringFlag, arg: "V", help: "initial view: " + strings.Join(viewFlagNames[:], ", ") + " (default attention)"},
				flagTopK}},
	}
}

// flagUI is the --ui flag of %attention, %generate and %step.
var flagUI = flagSpec{name: "ui", kind: boolFlag, help: "show live controls (Jupyter widgets) instead of a one-off result"}

// needUI fails when no kernel gave the interpreter comms.
func (s *Interpreter) needUI(what string) error {
	if s.ui == nil {
		return fmt.Errorf("%s needs Jupyter widgets, which need the interpreter to run in the memwall kernel", what)
	}
	return nil
}

// view is the common frame of a live view: a picture, a status line and
// an Output for errors.
type view struct {
	picture *widget.HTML
	status  *widget.HTML
	errs    *widget.Output
}

func (s *Interpreter) newView(pic, status string) (*view, error) {
	v := &view{}
	var err error
	if v.picture, err = s.ui.HTML(widget.Common{Classes: []string{classPicture}}, pic); err != nil {
		return nil, err
	}
	if v.status, err = s.ui.HTML(widget.Common{Classes: []string{classStatus}}, statusHTML(status)); err != nil {
		return nil, err
	}
	if v.errs, err = s.ui.Output(nil); err != nil {
		return nil, err
	}
	return v, nil
}

func statusHTML(s string) string {
	return `<span style="font-size:smaller;color:#555">` + html.EscapeString(s) + `</span>`
}

// show displays the controls above the view's parts, with fallback as
// the static display.
func (s *Interpreter) show(c *call, v *view, fallback inspect.Bundle, controls ...widget.Widget) error {
	parts := append(controls, v.picture, v.status, v.errs)
	for _, w := range controls {
		w.WidgetModel().ErrorsTo(v.errs)
	}
	box, err := s.ui.VBoxWith(widget.Common{Classes: []string{classView}}, parts...)
	if err != nil {
		return err
	}
	box.ErrorsTo(v.errs)
	s.live = append(s.live, box)
	if len(s.live) > maxLiveViews {
		// The oldest view's controls stop working (their comms close) and
		// what it captured is freed.
		s.live[0].CloseTree()
		s.live = s.live[1:]
	}
	fb := toKernel(fallback)
	fb.Data["text/plain"] = fallback.Text + "\n(a live view: its controls need a front end with Jupyter widgets; this is the picture at the initial settings)"
	if fallback.SVG == "" {
		delete(fb.Data, "text/html")
		fb.Data["text/html"] = widget.StaticHTML(picture(fallback), "Live view; without Jupyter widgets this is the picture at the initial settings.")
	}
	delete(fb.Data, inspect.JSONMIME)
	widget.Display(c.out, box, fb)
	return nil
}

// ---- %explore and %attention --ui ----

func (s *Interpreter) doExplore(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	ids := s.ids
	if prompt := c.text(); prompt != "" {
		var err error
		if ids, err = s.setContext(prompt); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		return errors.New("there is no context to explore: give a PROMPT (%explore Once upon a time)")
	}
	view := 0
	if v := c.args.str("view", ""); v != "" {
		view = -1
		for i, n := range viewFlagNames {
			if n == v {
				view = i
			}
		}
		if view < 0 {
			return usagef(c.spec.usage(), "--view must be one of %s, got %q", strings.Join(viewFlagNames[:], ", "), v)
		}
	}
	k := c.args.int("k", 10)
	if k <= 0 {
		return usagef(c.spec.usage(), "-k must be positive, got %d", k)
	}
	return s.liveExplorer(c, ids, exploreAt{
		layer: c.args.int("layer", 0), head: c.args.int("head", 0),
		pos: c.args.int("position", len(ids)-1), view: view}, k, true)
}

// attentionUI is %attention --ui: the explorer's attention view alone.
func (s *Interpreter) attentionUI(c *call) error {
	ids, err := s.contextIDs(c)
	if err != nil {
		return err
	}
	return s.liveExplorer(c, ids, exploreAt{layer: c.args.int("layer", 0), head: c.args.int("head", 0),
		pos: len(ids) - 1, view: viewAttention}, 10, false)
}

// liveExplorer captures ids and shows the explorer's controls (all of
// them, or only layer and head).
func (s *Interpreter) liveExplorer(c *call, ids []int, at exploreAt, k int, full bool) error {
	cfg := s.model.Config
	if err := s.checkLayer(at.layer); err != nil {
		return err
	}
	if err := s.checkHead(at.head); err != nil {
		return err
	}
	if at.pos < 0 || at.pos >= len(ids) {
		return fmt.Errorf("--position %d is out of range: the context has %d tokens (0..%d)", at.pos, len(ids), len(ids)-1)
	}
	e, err := s.newExplorer(c, ids, k)
	if err != nil {
		return err
	}
	first, took, err := e.timeRender(at)
	if err != nil {
		return err
	}
	if s.ui == nil {
		// Run outside a kernel (tests, scripts): the static view.
		first.Text += "\n(no widget front end: the static picture)"
		s.display(c, first)
		return nil
	}
	layer, err := s.ui.IntSlider(widget.Common{Description: "layer"}, at.layer, 0, cfg.Layers-1)
	if err != nil {
		return err
	}
	heads := make([]string, cfg.Heads)
	for h := range heads {
		heads[h] = fmt.Sprint(h)
	}
	head, err := s.ui.Dropdown(widget.Common{Description: "head", Layout: widget.CSS{"width": "12em"}}, heads, at.head)
	if err != nil {
		return err
	}
	controls := []widget.Widget{}
	var pos, mode *widget.Selection
	row, err := s.ui.HBox(nil, layer, head)
	if err != nil {
		return err
	}
	controls = append(controls, row)
	if full {
		labels := make([]string, len(ids))
		for p := range ids {
			labels[p] = e.posLabel(p)
		}
		if pos, err = s.ui.SelectionSlider(widget.Common{Description: "position", Layout: widget.CSS{"width": "40em"}}, labels, at.pos); err != nil {
			return err
		}
		if mode, err = s.ui.ToggleButtons(widget.Common{Description: "view"}, viewNames[:], at.view,
			[]string{"attention weights of this layer and head",
				"each position's top next token through the final norm and classifier after this layer",
				"the residual stream's L2 norm through the layers at this position",
				"the most probable next tokens after this layer at this position"}); err != nil {
			return err
		}
		controls = append(controls, pos, mode)
	}
	v, err := s.newView(picture(first), renderStatus(first, took))
	if err != nil {
		return err
	}
	redraw := func(ctx context.Context, _ widget.Change) error {
		now := exploreAt{layer: layer.Value(), head: head.Index(), view: at.view, pos: at.pos}
		if pos != nil {
			now.pos = pos.Index()
		}
		if mode != nil {
			now.view = mode.Index()
		}
		b, took, err := e.timeRender(now)
		if err != nil {
			return err
		}
		if err := v.picture.Set("value", picture(b)); err != nil {
			return err
		}
		return v.status.Set("value", statusHTML(renderStatus(b, took)))
	}
	layer.Observe(redraw, "value")
	head.Observe(redraw, "index")
	if pos != nil {
		pos.Observe(redraw, "index")
		mode.Observe(redraw, "index")
	}
	return s.show(c, v, first, controls...)
}

// renderStatus is the line under a view: what it shows and how long the
// redraw took.
func renderStatus(b inspect.Bundle, took time.Duration) string {
	lines := strings.Split(b.Text, "\n")
	what := strings.Trim(lines[len(lines)-1], "()")
	return fmt.Sprintf("%s · drawn in %.2f ms from the captured tensors (no forward pass)", what, took.Seconds()*1e3)
}

// ---- %generate --ui ----

// generateUI is %generate --ui: sampling controls, Generate and Stop
// buttons, and the text streaming into an Output widget. Stop interrupts
// the generation between two layers of the token being computed.
func (s *Interpreter) generateUI(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	if err := s.needUI("%generate --ui"); err != nil {
		return err
	}
	a := c.args
	prompt := c.text()
	if prompt == "" {
		return usagef(c.spec.usage(), "%%generate --ui needs a PROMPT")
	}
	if err := s.tooLong(len(s.tok.Encode(prompt, true, false))); err != nil {
		return err
	}
	cfg := s.model.Config
	temp, err := s.ui.FloatSlider(widget.Common{Description: "temperature"}, a.float("temperature", 0), 0, 2, 0.05, ".2f")
	if err != nil {
		return err
	}
	topP, err := s.ui.FloatSlider(widget.Common{Description: "top-p", Tooltip: "0: off"}, a.float("top-p", 0), 0, 1, 0.01, ".2f")
	if err != nil {
		return err
	}
	topK, err := s.ui.IntSlider(widget.Common{Description: "top-k", Tooltip: "0: off"}, a.int("top-k", 0), 0, min(cfg.Vocab, 200))
	if err != nil {
		return err
	}
	seed, err := s.ui.BoundedIntText(widget.Common{Description: "seed", Layout: widget.CSS{"width": "14em"}}, a.int("seed", defaultSeed), 0, 1<<31-1)
	if err != nil {
		return err
	}
	tokens, err := s.ui.IntSlider(widget.Common{Description: "tokens"}, a.int("n", defaultTokens), 1, s.model.SeqLen)
	if err != nil {
		return err
	}
	gen, err := s.ui.Button(widget.Common{Description: "Generate"}, "primary")
	if err != nil {
		return err
	}
	stop, err := s.ui.Button(widget.Common{Description: "Stop", Tooltip: "interrupts the generation mid-token"}, "danger")
	if err != nil {
		return err
	}
	stop.InterruptOnClick()
	text, err := s.ui.Output(widget.CSS{"border_left": "3px solid #ccc", "padding": "0 0 0 6px", "min_height": "3em"})
	if err != nil {
		return err
	}
	v, err := s.newView("", "press Generate")
	if err != nil {
		return err
	}
	spec := registry["generate"]
	gen.OnClick(func(ctx context.Context) error {
		text.Clear()
		vals := map[string]string{
			"temperature": fmt.Sprint(temp.Value()), "seed": fmt.Sprint(seed.Value()), "n": fmt.Sprint(tokens.Value()),
		}
		if p := topP.Value(); p > 0 && p < 1 {
			vals["top-p"] = fmt.Sprint(p)
		}
		if k := topK.Value(); k > 0 {
			vals["top-k"] = fmt.Sprint(k)
		}
		_ = v.status.Set("value", statusHTML("generating…"))
		cc := &call{ctx: ctx, out: text.Sink(), spec: spec, args: &args{spec: spec, vals: vals, text: prompt, hasTx: true}, line: c.line}
		err := s.wrap(cc, s.doGenerate(cc))
		text.Flush()
		if err != nil && errors.Is(context.Cause(ctx), kernel.ErrInterrupted) {
			return v.status.Set("value", statusHTML(fmt.Sprintf("stopped: %d tokens of context kept", len(s.ids))))
		}
		if err != nil {
			_ = v.status.Set("value", statusHTML("failed"))
			return err
		}
		return v.status.Set("value", statusHTML(fmt.Sprintf("done: %d tokens of context", len(s.ids))))
	})
	stop.OnClick(func(context.Context) error { return nil }) // its arrival did the work
	settings, err := s.ui.HBox(nil, temp, topP, topK)
	if err != nil {
		return err
	}
	more, err := s.ui.HBox(nil, seed, tokens, gen, stop)
	if err != nil {
		return err
	}
	fallback := textBundle(fmt.Sprintf("%%generate --ui: sampling controls for the prompt %q", prompt), nil)
	return s.show(c, v, fallback, settings, more, text)
}

// ---- %step --ui ----

// stepUI is %step --ui: Next layer, Next op and Continue buttons over the
// stepper of %step and %continue, each step shown in an Output widget.
func (s *Interpreter) stepUI(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	if err := s.needUI("%step --ui"); err != nil {
		return err
	}
	if len(s.ids) == 0 && s.step == nil {
		return errors.New("there is no context to step through: set one first (%generate -n 0 PROMPT feeds a prompt without generating)")
	}
	out, err := s.ui.Output(nil)
	if err != nil {
		return err
	}
	v, err := s.newView("", fmt.Sprintf("the next token's forward pass over %d tokens of context: press Next layer or Next op", len(s.ids)))
	if err != nil {
		return err
	}
	step := func(label, mode string, run func(*Interpreter, *call) error) (*widget.Button, error) {
		b, err := s.ui.Button(widget.Common{Description: label}, "")
		if err != nil {
			return nil, err
		}
		b.OnClick(func(ctx context.Context) error {
			spec := registry["step"]
			a := &args{spec: spec, vals: map[string]string{}}
			if mode != "" {
				a.pos = []word{{text: mode}}
			} else {
				spec = registry["continue"]
				a.spec = spec
			}
			out.Clear()
			cc := &call{ctx: ctx, out: out.Sink(), spec: spec, args: a, line: c.line}
			if err := s.wrap(cc, run(s, cc)); err != nil {
				return err
			}
			status := "paused inside the forward pass"
			if s.step == nil {
				status = fmt.Sprintf("token finished: the context is %d tokens; Next starts the next one", len(s.ids))
			}
			return v.status.Set("value", statusHTML(status))
		})
		return b, nil
	}
	nextLayer, err := step("Next layer", "layer", (*Interpreter).doStep)
	if err != nil {
		return err
	}
	nextOp, err := step("Next op", "op", (*Interpreter).doStep)
	if err != nil {
		return err
	}
	cont, err := step("Continue", "", (*Interpreter).doContinue)
	if err != nil {
		return err
	}
	row, err := s.ui.HBox(nil, nextLayer, nextOp, cont)
	if err != nil {
		return err
	}
	fallback := textBundle("%step --ui: Next layer, Next op and Continue buttons over the forward pass of the next token", nil)
	return s.show(c, v, fallback, row, out)
}
