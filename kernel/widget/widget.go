// Package widget is the kernel side of the Jupyter widgets protocol
// (ipywidgets 8, widget protocol 2.1: @jupyter-widgets/base 2.0.0,
// @jupyter-widgets/controls 2.0.0, @jupyter-widgets/output 1.0.0), over
// the comms of package kernel.
//
// A Manager owns the widget models of one kernel. Each model is a comm
// with target "jupyter.widget" whose state (a JSON object) is kept in
// sync with the front end: the kernel sends "update" messages when it
// changes state, the front end sends "update" when the user moves a
// control (echoed back with "echo_update"), "request_state" to get it
// all, and "custom" messages (a Button's click). The Manager also answers
// the "jupyter.widget.control" target's "request_states", which JupyterLab
// uses to restore every widget at once.
//
// Values from the front end are checked before they are applied: an
// IntSlider's value is clamped to [min, max] (and the corrected value sent
// back), an index outside the options is clamped likewise, a value of the
// wrong type is refused and the kernel's value sent back, with a message in
// the kernel's log. Observers of a model run after the value is applied,
// but only once per burst: while more messages for the same model are
// queued behind the one being handled, the kernel just records the value
// (so a thousand slider moves in a second recompute a handful of times).
// An observer's error or panic is shown in the model's error Output (see
// Model.ErrorsTo) and never stops the kernel.
//
// Display puts a widget in a cell's output with the
// application/vnd.jupyter.widget-view+json MIME type beside a static
// fallback (text/plain and, where given, a picture), so that nbconvert,
// GitHub and front ends without a widget manager show something useful.
package widget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/memwall/memwall/kernel"
)

// Protocol versions and module names, as ipywidgets 8 sends them.
const (
	ProtocolVersion = "2.1.0"
	BaseModule      = "@jupyter-widgets/base"
	BaseVersion     = "2.0.0"
	ControlsModule  = "@jupyter-widgets/controls"
	ControlsVersion = "2.0.0"
	OutputModule    = "@jupyter-widgets/output"
	OutputVersion   = "1.0.0"

	// Target is the comm target of widget models; ControlTarget the one of
	// the control comm (request_states).
	Target        = "jupyter.widget"
	ControlTarget = "jupyter.widget.control"

	// ViewMIME is the MIME type that displays a widget.
	ViewMIME = "application/vnd.jupyter.widget-view+json"
)

// Widget is anything backed by a model.
type Widget interface {
	WidgetModel() *Model
}

// Manager owns the widget models of one kernel. The zero value is not
// usable; call NewManager.
type Manager struct {
	comms *kernel.Comms
	log   *slog.Logger

	mu     sync.Mutex
	models map[string]*Model
	order  []string
}

// NewManager registers the widget comm targets on comms. log may be nil.
func NewManager(comms *kernel.Comms, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{comms: comms, log: log, models: map[string]*Model{}}
	comms.Register(ControlTarget, m.openControl)
	comms.Register(Target, m.openFromFrontEnd)
	return m
}

// Models returns the ids of the open models in the order they were made.
func (m *Manager) Models() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.order...)
}

// Get returns the model with the given id, or nil.
func (m *Manager) Get(id string) *Model {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.models[id]
}

// Change is what an observer is told: the keys that changed and their new
// values.
type Change map[string]any

// ObserverFunc reacts to changes the front end made. It runs on the
// kernel's executor with a context an interrupt cancels.
type ObserverFunc func(ctx context.Context, ch Change) error

// CustomFunc handles a custom message's content (and its buffers).
type CustomFunc func(ctx context.Context, content map[string]any, buffers [][]byte) error

// validator checks and normalises a value from the front end for one key;
// it returns the value to keep, and whether it differs from what was sent
// (so the kernel sends it back).
type validator func(m *Model, v any) (keep any, changed bool, err error)

// Model is one widget model: a comm and its synchronised state.
type Model struct {
	mgr  *Manager
	comm *kernel.Comm
	name string // _model_name

	mu        sync.Mutex
	state     map[string]any
	validate  map[string]validator
	observers []observer
	custom    []CustomFunc
	errs      *Output

	// Changes from the front end whose observers have not run yet, and
	// keys not yet echoed back.
	pending map[string]any
	echo    map[string]any
}

type observer struct {
	keys []string // nil: any
	fn   ObserverFunc
}

// WidgetModel implements Widget.
func (m *Model) WidgetModel() *Model { return m }

// ID is the model id (its comm id).
func (m *Model) ID() string { return m.comm.ID() }

// Ref is the model reference other models' state uses: "IPY_MODEL_<id>".
func (m *Model) Ref() string { return "IPY_MODEL_" + m.ID() }

// Name is the model's _model_name.
func (m *Model) Name() string { return m.name }

// Get returns a state value (nil if absent).
func (m *Model) Get(key string) any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state[key]
}

// State returns a copy of the whole state.
func (m *Model) State() map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.state)
}

// Set changes one state value and sends it to the front end.
func (m *Model) Set(key string, v any) error { return m.SetState(map[string]any{key: v}) }

// SetState changes several state values and sends them in one update.
func (m *Model) SetState(s map[string]any) error {
	m.mu.Lock()
	for k, v := range s {
		m.state[k] = v
	}
	m.mu.Unlock()
	return m.send("update", s)
}

// Observe calls fn after the front end changed any of keys (any key if
// none are given).
func (m *Model) Observe(fn ObserverFunc, keys ...string) {
	m.mu.Lock()
	m.observers = append(m.observers, observer{keys: keys, fn: fn})
	m.mu.Unlock()
}

// OnCustom calls fn for each custom message from the front end.
func (m *Model) OnCustom(fn CustomFunc) {
	m.mu.Lock()
	m.custom = append(m.custom, fn)
	m.mu.Unlock()
}

// ErrorsTo makes o show the errors (and panics) of this model's observers
// and custom handlers, instead of the kernel's error message.
func (m *Model) ErrorsTo(o *Output) {
	m.mu.Lock()
	m.errs = o
	m.mu.Unlock()
}

// SendCustom sends a custom message to the front end's model.
func (m *Model) SendCustom(content map[string]any, buffers [][]byte) error {
	return m.comm.Send(map[string]any{"method": "custom", "content": content}, nil, buffers)
}

// Close closes the model's comm; the front end removes its views.
func (m *Model) Close() {
	m.mgr.forget(m.ID())
	_ = m.comm.Close(nil)
}

// CloseTree closes m and, recursively, every model its state refers to
// (its layout and style, a box's children): a whole view at once.
func (m *Model) CloseTree() {
	seen := map[string]bool{}
	var walk func(x *Model)
	walk = func(x *Model) {
		if seen[x.ID()] {
			return
		}
		seen[x.ID()] = true
		for _, id := range refs(x.State()) {
			if c := m.mgr.Get(id); c != nil {
				walk(c)
			}
		}
		x.Close()
	}
	walk(m)
}

// refs are the model ids a state refers to ("IPY_MODEL_<id>" strings,
// alone or in lists).
func refs(state map[string]any) []string {
	var out []string
	add := func(v any) {
		if s, ok := v.(string); ok && strings.HasPrefix(s, "IPY_MODEL_") {
			out = append(out, strings.TrimPrefix(s, "IPY_MODEL_"))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(state)) {
		switch v := state[k].(type) {
		case []string:
			for _, x := range v {
				add(x)
			}
		case []any:
			for _, x := range v {
				add(x)
			}
		default:
			add(v)
		}
	}
	return out
}

// Closed reports whether the model's comm is closed.
func (m *Model) Closed() bool { return m.comm.Closed() }

func (m *Model) send(method string, s map[string]any) error {
	state, paths, bufs := removeBuffers(s)
	return m.comm.Send(map[string]any{"method": method, "state": state, "buffer_paths": paths}, nil, bufs)
}

func (mg *Manager) forget(id string) {
	mg.mu.Lock()
	defer mg.mu.Unlock()
	delete(mg.models, id)
	for i, x := range mg.order {
		if x == id {
			mg.order = append(mg.order[:i], mg.order[i+1:]...)
			break
		}
	}
}

// spec names a model and its view.
type spec struct {
	module, version, model        string
	viewModule, viewVersion, view string
}

func (s spec) state() map[string]any {
	return map[string]any{
		"_model_module": s.module, "_model_module_version": s.version, "_model_name": s.model,
		"_view_module": s.viewModule, "_view_module_version": s.viewVersion, "_view_name": s.view,
	}
}

func controls(model, view string) spec {
	return spec{ControlsModule, ControlsVersion, model, ControlsModule, ControlsVersion, view}
}

// open creates a model with the given spec and state on a new comm.
func (mg *Manager) open(sp spec, state map[string]any, v map[string]validator) (*Model, error) {
	full := sp.state()
	maps.Copy(full, state)
	s, paths, bufs := removeBuffers(full)
	c, err := mg.comms.Open(Target, map[string]any{"state": s, "buffer_paths": paths},
		map[string]any{"version": ProtocolVersion}, bufs)
	if err != nil {
		return nil, fmt.Errorf("widget: cannot open %s: %w", sp.model, err)
	}
	return mg.adopt(c, sp.model, full, v), nil
}

func (mg *Manager) adopt(c *kernel.Comm, name string, state map[string]any, v map[string]validator) *Model {
	if v == nil {
		v = map[string]validator{}
	}
	m := &Model{mgr: mg, comm: c, name: name, state: state, validate: v,
		pending: map[string]any{}, echo: map[string]any{}}
	c.OnMsg(m.handle)
	c.OnClose(func(context.Context, *kernel.Comm, kernel.CommMsg, kernel.Output) error {
		mg.forget(c.ID())
		return nil
	})
	mg.mu.Lock()
	mg.models[c.ID()] = m
	mg.order = append(mg.order, c.ID())
	mg.mu.Unlock()
	return m
}

// openFromFrontEnd accepts a model the front end created: the kernel keeps
// its state in sync but knows nothing more of it.
func (mg *Manager) openFromFrontEnd(ctx context.Context, c *kernel.Comm, msg kernel.CommMsg, out kernel.Output) error {
	var d struct {
		State       map[string]any `json:"state"`
		BufferPaths [][]any        `json:"buffer_paths"`
	}
	if err := json.Unmarshal(msg.Data, &d); err != nil {
		return fmt.Errorf("widget: comm_open data: %w", err)
	}
	if d.State == nil {
		d.State = map[string]any{}
	}
	putBuffers(d.State, d.BufferPaths, msg.Buffers)
	name, _ := d.State["_model_name"].(string)
	mg.adopt(c, name, d.State, nil)
	return nil
}

// openControl serves the control comm: request_states answers with the
// state of every model.
func (mg *Manager) openControl(ctx context.Context, c *kernel.Comm, msg kernel.CommMsg, out kernel.Output) error {
	c.OnMsg(func(ctx context.Context, c *kernel.Comm, msg kernel.CommMsg, out kernel.Output) error {
		var d struct {
			Method string `json:"method"`
		}
		if err := json.Unmarshal(msg.Data, &d); err != nil {
			return fmt.Errorf("widget control: %w", err)
		}
		if d.Method != "request_states" {
			mg.log.Warn("widget control: unknown method", "method", d.Method)
			return nil
		}
		states := map[string]any{}
		for _, id := range mg.Models() {
			if md := mg.Get(id); md != nil {
				states[id] = md.State()
			}
		}
		s, paths, bufs := removeBuffers(states)
		return c.Send(map[string]any{"method": "update_states", "states": s, "buffer_paths": paths}, nil, bufs)
	})
	return nil
}

// syncMsg is what the front end sends on a widget comm.
type syncMsg struct {
	Method      string         `json:"method"`
	State       map[string]any `json:"state"`
	BufferPaths [][]any        `json:"buffer_paths"`
	Content     map[string]any `json:"content"`
}

func (m *Model) handle(ctx context.Context, c *kernel.Comm, msg kernel.CommMsg, out kernel.Output) error {
	var d syncMsg
	if err := json.Unmarshal(msg.Data, &d); err != nil {
		m.mgr.log.Warn("widget: bad comm_msg data", "model_id", m.ID(), "err", err)
		return nil
	}
	switch d.Method {
	case "update":
		if d.State == nil {
			d.State = map[string]any{}
		}
		putBuffers(d.State, d.BufferPaths, msg.Buffers)
		m.applyUpdate(d.State)
	case "request_state":
		if err := m.send("update", m.State()); err != nil {
			return err
		}
	case "custom":
		m.mu.Lock()
		fns := append([]CustomFunc(nil), m.custom...)
		m.mu.Unlock()
		for _, f := range fns {
			if err := m.guard(func() error { return f(ctx, d.Content, msg.Buffers) }); err != nil {
				return err
			}
		}
	default:
		m.mgr.log.Warn("widget: unknown method", "model_id", m.ID(), "method", d.Method)
	}
	// Once no more messages for this model are queued: echo what the
	// front end set and run the observers, once for the whole burst.
	if c.Pending() > 0 {
		return nil
	}
	m.mu.Lock()
	echo, pending := m.echo, m.pending
	m.echo, m.pending = map[string]any{}, map[string]any{}
	var run []ObserverFunc
	for _, o := range m.observers {
		if o.wants(pending) {
			run = append(run, o.fn)
		}
	}
	m.mu.Unlock()
	if len(echo) > 0 {
		if err := m.send("echo_update", echo); err != nil {
			return err
		}
	}
	if len(pending) == 0 {
		return nil
	}
	for _, f := range run {
		if err := m.guard(func() error { return f(ctx, Change(pending)) }); err != nil {
			return err
		}
	}
	return nil
}

func (o observer) wants(ch map[string]any) bool {
	if len(ch) == 0 {
		return false
	}
	if o.keys == nil {
		return true
	}
	for _, k := range o.keys {
		if _, ok := ch[k]; ok {
			return true
		}
	}
	return false
}

// applyUpdate validates and applies state from the front end.
func (m *Model) applyUpdate(s map[string]any) {
	back := map[string]any{}
	m.mu.Lock()
	for k, v := range s {
		if strings.HasPrefix(k, "_model_") || strings.HasPrefix(k, "_view_") {
			continue // immutable
		}
		m.echo[k] = v
		if val := m.validate[k]; val != nil {
			keep, changed, err := val(m, v)
			if err != nil {
				m.mgr.log.Warn("widget: refused a value from the front end", "model_id", m.ID(), "model", m.name, "key", k, "value", v, "err", err)
				back[k] = m.state[k]
				delete(m.echo, k)
				continue
			}
			if changed {
				m.mgr.log.Warn("widget: corrected a value from the front end", "model_id", m.ID(), "model", m.name, "key", k, "sent", v, "kept", keep)
				back[k] = keep
				delete(m.echo, k)
			}
			v = keep
		}
		m.state[k] = v
		m.pending[k] = v
	}
	m.mu.Unlock()
	if len(back) > 0 {
		_ = m.send("update", back)
	}
}

// guard runs f, turning a panic into an error, and shows an error in the
// model's error Output when it has one (then the kernel sees none).
func (m *Model) guard(f func() error) (err error) {
	func() {
		defer func() {
			if v := recover(); v != nil {
				m.mgr.log.Error("widget: panic in a handler", "model_id", m.ID(), "panic", v, "stack", string(debug.Stack()))
				err = fmt.Errorf("internal error in the widget handler: %v", v)
			}
		}()
		err = f()
	}()
	if err == nil {
		return nil
	}
	m.mu.Lock()
	o := m.errs
	m.mu.Unlock()
	if o == nil {
		return err
	}
	o.ShowError(err)
	m.mgr.log.Warn("widget: handler failed", "model_id", m.ID(), "err", err)
	return nil
}

// ---- binary buffers ----

// removeBuffers takes every []byte out of a state object (recursively):
// a map entry is removed, a list element becomes null; their paths and
// data are returned separately, as the protocol sends them. The state is
// copied, never changed.
func removeBuffers(s map[string]any) (map[string]any, [][]any, [][]byte) {
	paths := [][]any{}
	var bufs [][]byte
	var walk func(v any, path []any) (any, bool)
	walk = func(v any, path []any) (any, bool) {
		switch x := v.(type) {
		case []byte:
			paths = append(paths, append([]any(nil), path...))
			bufs = append(bufs, x)
			return nil, true
		case map[string]any:
			out := make(map[string]any, len(x))
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if ne, isBuf := walk(x[k], append(path, k)); !isBuf {
					out[k] = ne
				}
			}
			return out, false
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i], _ = walk(e, append(path, i))
			}
			return out, false
		}
		return v, false
	}
	out := make(map[string]any, len(s))
	for _, k := range slices.Sorted(maps.Keys(s)) {
		if nv, isBuf := walk(s[k], []any{k}); !isBuf {
			out[k] = nv
		}
	}
	return out, paths, bufs
}

// putBuffers puts buffers back into state at paths (as []byte); paths
// that do not fit the state are ignored.
func putBuffers(state map[string]any, paths [][]any, buffers [][]byte) {
	for i, p := range paths {
		if i >= len(buffers) {
			return
		}
		var cur any = state
	path:
		for j, step := range p {
			last := j == len(p)-1
			switch c := cur.(type) {
			case map[string]any:
				k, ok := step.(string)
				if !ok {
					break path
				}
				if last {
					c[k] = buffers[i]
				} else {
					cur = c[k]
				}
			case []any:
				f, ok := step.(float64)
				if !ok || f < 0 || f != float64(int(f)) || int(f) >= len(c) {
					break path
				}
				if last {
					c[int(f)] = buffers[i]
				} else {
					cur = c[int(f)]
				}
			default:
				break path
			}
		}
	}
}

// ---- values from the front end ----

// asInt reads a JSON number that must be an integer.
func asInt(v any) (int, error) {
	f, ok := v.(float64)
	if !ok {
		return 0, fmt.Errorf("want an integer, got %T", v)
	}
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("want an integer, got %v", f)
	}
	return int(f), nil
}

func stateInt(m *Model, key string, def int) int {
	switch x := m.state[key].(type) {
	case int:
		return x
	case float64:
		return int(x)
	}
	return def
}

// clampInt keeps an integer in [state[minKey], state[maxKey]].
func clampInt(minKey, maxKey string) validator {
	return func(m *Model, v any) (any, bool, error) {
		n, err := asInt(v)
		if err != nil {
			return nil, false, err
		}
		lo, hi := stateInt(m, minKey, 0), stateInt(m, maxKey, 0)
		c := clamp(n, lo, hi)
		return c, c != n, nil
	}
}

// clampIndex keeps an option index in [0, len(_options_labels)).
func clampIndex(nullable bool) validator {
	return func(m *Model, v any) (any, bool, error) {
		if v == nil {
			if nullable {
				return nil, false, nil
			}
			return nil, false, errors.New("want an index, got null")
		}
		n, err := asInt(v)
		if err != nil {
			return nil, false, err
		}
		count := 0
		switch l := m.state["_options_labels"].(type) {
		case []string:
			count = len(l)
		case []any:
			count = len(l)
		}
		if count == 0 {
			return nil, false, errors.New("the widget has no options")
		}
		c := clamp(n, 0, count-1)
		return c, c != n, nil
	}
}

func isBool(m *Model, v any) (any, bool, error) {
	if _, ok := v.(bool); !ok {
		return nil, false, fmt.Errorf("want true or false, got %T", v)
	}
	return v, false, nil
}

func isString(m *Model, v any) (any, bool, error) {
	if _, ok := v.(string); !ok {
		return nil, false, fmt.Errorf("want a string, got %T", v)
	}
	return v, false, nil
}
