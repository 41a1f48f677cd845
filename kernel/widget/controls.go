package widget

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"maps"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/memwall/memwall/kernel"
)

// The state of each model below lists every attribute of its model in
// ipywidgets 8's model specification (packages/schema/
// jupyterwidgetmodels.latest.md) with its default, as ipywidgets sends it.

var layoutKeys = []string{"align_content", "align_items", "align_self", "border_bottom", "border_left",
	"border_right", "border_top", "bottom", "display", "flex", "flex_flow", "grid_area", "grid_auto_columns",
	"grid_auto_flow", "grid_auto_rows", "grid_column", "grid_gap", "grid_row", "grid_template_areas",
	"grid_template_columns", "grid_template_rows", "height", "justify_content", "justify_items", "left",
	"margin", "max_height", "max_width", "min_height", "min_width", "object_fit", "object_position",
	"order", "overflow", "padding", "right", "top", "visibility", "width"}

// CSS is layout properties by their model names (width, margin, ...).
type CSS map[string]string

// Layout opens a LayoutModel with the given CSS properties (the others
// null).
func (mg *Manager) Layout(css CSS) (*Model, error) {
	st := map[string]any{}
	for _, k := range layoutKeys {
		st[k] = nil
	}
	for k, v := range css {
		if _, ok := st[k]; !ok {
			return nil, fmt.Errorf("widget: %q is not a layout property", k)
		}
		st[k] = v
	}
	return mg.open(spec{BaseModule, BaseVersion, "LayoutModel", BaseModule, BaseVersion, "LayoutView"}, st, nil)
}

// style opens a style model of the controls module.
func (mg *Manager) style(name string, st map[string]any) (*Model, error) {
	return mg.open(spec{ControlsModule, ControlsVersion, name, BaseModule, BaseVersion, "StyleView"}, st, nil)
}

// Common are the settings every control shares.
type Common struct {
	Description string
	Tooltip     string
	Disabled    bool
	Layout      CSS
	// DescriptionWidth is the style's description_width ("" default).
	DescriptionWidth string
	// Classes are CSS classes of the widget's element (_dom_classes), by
	// which a page or a browser test can find it.
	Classes []string
}

// domState opens the layout (and a style model named styleName with
// styleState, unless styleName is "") and returns the DOM widget state
// that refers to them.
func (mg *Manager) domState(c Common, styleName string, styleState map[string]any) (map[string]any, error) {
	lay, err := mg.Layout(c.Layout)
	if err != nil {
		return nil, err
	}
	var tooltip any
	if c.Tooltip != "" {
		tooltip = c.Tooltip
	}
	classes := append([]string{}, c.Classes...)
	st := map[string]any{"_dom_classes": classes, "layout": lay.Ref(), "tabbable": nil, "tooltip": tooltip}
	if styleName != "" {
		sty, err := mg.style(styleName, styleState)
		if err != nil {
			return nil, err
		}
		st["style"] = sty.Ref()
	}
	return st, nil
}

// descStyle is the state of a description style: description_width and
// the given keys.
func descStyle(c Common, more map[string]any) map[string]any {
	st := map[string]any{"description_width": c.DescriptionWidth}
	maps.Copy(st, more)
	return st
}

func describe(st map[string]any, c Common) {
	st["description"] = c.Description
	st["description_allow_html"] = false
	st["disabled"] = c.Disabled
}

// control opens a described control of the controls module: its layout,
// a style model styleName holding the description style and styleMore,
// the description and disabled flag of c, and the model's own state.
func (mg *Manager) control(c Common, model, view, styleName string, styleMore, state map[string]any, v map[string]validator) (*Model, error) {
	st, err := mg.domState(c, styleName, descStyle(c, styleMore))
	if err != nil {
		return nil, err
	}
	describe(st, c)
	maps.Copy(st, state)
	return mg.open(controls(model, view), st, v)
}

// ---- IntSlider ----

// IntSlider is an IntSliderModel.
type IntSlider struct{ *Model }

// IntSlider opens an IntSlider over [min, max] in steps of 1.
func (mg *Manager) IntSlider(c Common, value, min, max int) (*IntSlider, error) {
	if min > max {
		return nil, fmt.Errorf("widget: IntSlider %q: min %d > max %d", c.Description, min, max)
	}
	m, err := mg.control(c, "IntSliderModel", "IntSliderView", "SliderStyleModel", map[string]any{"handle_color": nil},
		map[string]any{"behavior": "drag-tap", "continuous_update": true, "max": max, "min": min,
			"orientation": "horizontal", "readout": true, "readout_format": "d", "step": 1,
			"value": clamp(value, min, max)},
		map[string]validator{"value": clampInt("min", "max"), "disabled": isBool, "continuous_update": isBool})
	if err != nil {
		return nil, err
	}
	return &IntSlider{m}, nil
}

func clamp(v, lo, hi int) int { return max(lo, min(hi, v)) }

// Value is the slider's value.
func (s *IntSlider) Value() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return stateInt(s.Model, "value", 0)
}

// SetRange changes min and max (and clamps the value into them).
func (s *IntSlider) SetRange(lo, hi int) error {
	v := clamp(s.Value(), lo, hi)
	return s.SetState(map[string]any{"min": lo, "max": hi, "value": v})
}

// BoundedIntText opens a BoundedIntTextModel (a number field) over
// [min, max].
func (mg *Manager) BoundedIntText(c Common, value, min, max int) (*IntSlider, error) {
	if min > max {
		return nil, fmt.Errorf("widget: BoundedIntText %q: min %d > max %d", c.Description, min, max)
	}
	m, err := mg.control(c, "BoundedIntTextModel", "IntTextView", "DescriptionStyleModel", nil,
		map[string]any{"continuous_update": false, "max": max, "min": min, "step": 1, "value": clamp(value, min, max)},
		map[string]validator{"value": clampInt("min", "max")})
	if err != nil {
		return nil, err
	}
	return &IntSlider{m}, nil
}

// ---- FloatSlider ----

// FloatSlider is a FloatSliderModel.
type FloatSlider struct{ *Model }

// FloatSlider opens a FloatSlider over [min, max] in steps of step, its
// readout formatted with format (d3-format, e.g. ".2f").
func (mg *Manager) FloatSlider(c Common, value, min, max, step float64, format string) (*FloatSlider, error) {
	if !(min <= max) || !(step > 0) {
		return nil, fmt.Errorf("widget: FloatSlider %q: need min <= max and step > 0, got %g, %g, %g", c.Description, min, max, step)
	}
	if format == "" {
		format = ".2f"
	}
	m, err := mg.control(c, "FloatSliderModel", "FloatSliderView", "SliderStyleModel", map[string]any{"handle_color": nil},
		map[string]any{"behavior": "drag-tap", "continuous_update": true, "max": max, "min": min,
			"orientation": "horizontal", "readout": true, "readout_format": format, "step": step,
			"value": math.Max(min, math.Min(max, value))},
		map[string]validator{"value": clampFloat})
	if err != nil {
		return nil, err
	}
	return &FloatSlider{m}, nil
}

func clampFloat(m *Model, v any) (any, bool, error) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) {
		return nil, false, fmt.Errorf("want a number, got %v", v)
	}
	lo, _ := m.state["min"].(float64)
	hi, _ := m.state["max"].(float64)
	c := math.Max(lo, math.Min(hi, f))
	return c, c != f, nil
}

// Value is the slider's value.
func (s *FloatSlider) Value() float64 {
	v, _ := s.Get("value").(float64)
	return v
}

// ---- selections: Dropdown, ToggleButtons, SelectionSlider ----

// Selection is a model that selects one of a list of labelled options by
// index: a Dropdown, ToggleButtons or SelectionSlider.
type Selection struct{ *Model }

// Index is the selected index (-1 for none).
func (s *Selection) Index() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state["index"] == nil {
		return -1
	}
	return stateInt(s.Model, "index", -1)
}

// Labels are the options' labels.
func (s *Selection) Labels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch l := s.state["_options_labels"].(type) {
	case []string:
		return append([]string(nil), l...)
	case []any:
		out := make([]string, len(l))
		for i, x := range l {
			out[i] = fmt.Sprint(x)
		}
		return out
	}
	return nil
}

// SetOptions replaces the options and selects index.
func (s *Selection) SetOptions(labels []string, index int) error {
	if len(labels) == 0 {
		return fmt.Errorf("widget: %s needs at least one option", s.name)
	}
	return s.SetState(map[string]any{"_options_labels": append([]string(nil), labels...), "index": clamp(index, 0, len(labels)-1)})
}

func (mg *Manager) selection(c Common, model, view, styleName string, styleState map[string]any,
	labels []string, index int, extra map[string]any) (*Selection, error) {
	if len(labels) == 0 {
		return nil, fmt.Errorf("widget: %s %q needs at least one option", model, c.Description)
	}
	st := map[string]any{"_options_labels": append([]string(nil), labels...), "index": clamp(index, 0, len(labels)-1)}
	maps.Copy(st, extra)
	m, err := mg.control(c, model, view, styleName, styleState, st,
		map[string]validator{"index": clampIndex(model != "SelectionSliderModel")})
	if err != nil {
		return nil, err
	}
	return &Selection{m}, nil
}

// Dropdown opens a DropdownModel.
func (mg *Manager) Dropdown(c Common, labels []string, index int) (*Selection, error) {
	return mg.selection(c, "DropdownModel", "DropdownView", "DescriptionStyleModel", nil, labels, index, nil)
}

// ToggleButtons opens a ToggleButtonsModel; tooltips may be nil.
func (mg *Manager) ToggleButtons(c Common, labels []string, index int, tooltips []string) (*Selection, error) {
	if tooltips == nil {
		tooltips = []string{}
	}
	return mg.selection(c, "ToggleButtonsModel", "ToggleButtonsView", "ToggleButtonsStyleModel",
		map[string]any{"button_width": "", "font_weight": ""}, labels, index,
		map[string]any{"button_style": "", "icons": []string{}, "tooltips": tooltips})
}

// SelectionSlider opens a SelectionSliderModel.
func (mg *Manager) SelectionSlider(c Common, labels []string, index int) (*Selection, error) {
	return mg.selection(c, "SelectionSliderModel", "SelectionSliderView", "SliderStyleModel",
		map[string]any{"handle_color": nil}, labels, index,
		map[string]any{"behavior": "drag-tap", "continuous_update": true, "orientation": "horizontal", "readout": true})
}

// ---- Button, Checkbox ----

// Button is a ButtonModel.
type Button struct{ *Model }

// Button opens a ButtonModel labelled c.Description; style is one of
// "primary", "success", "info", "warning", "danger" or "".
func (mg *Manager) Button(c Common, style string) (*Button, error) {
	st, err := mg.domState(c, "ButtonStyleModel", map[string]any{"button_color": nil, "font_family": nil,
		"font_size": nil, "font_style": nil, "font_variant": nil, "font_weight": nil, "text_color": nil, "text_decoration": nil})
	if err != nil {
		return nil, err
	}
	st["description"], st["disabled"], st["button_style"], st["icon"] = c.Description, c.Disabled, style, ""
	m, err := mg.open(controls("ButtonModel", "ButtonView"), st, nil)
	if err != nil {
		return nil, err
	}
	return &Button{m}, nil
}

// OnClick calls fn when the button is clicked (a custom message with
// event "click").
func (b *Button) OnClick(fn func(ctx context.Context) error) {
	b.OnCustom(func(ctx context.Context, content map[string]any, _ [][]byte) error {
		if content["event"] != "click" {
			return nil
		}
		return fn(ctx)
	})
}

// IsClick reports whether comm_msg data is a click, for
// kernel.Comm.InterruptOn (a Stop button).
func IsClick(data []byte) bool {
	// {"method":"custom","content":{"event":"click"}}; decoding in full is
	// cheap enough on the reader goroutine.
	var d syncMsg
	if err := json.Unmarshal(data, &d); err != nil {
		return false
	}
	return d.Method == "custom" && d.Content["event"] == "click"
}

// InterruptOnClick makes a click on b interrupt whatever the kernel is
// running, even a long handler the click would otherwise wait behind.
func (b *Button) InterruptOnClick() {
	b.comm.InterruptOn(func(d json.RawMessage) bool { return IsClick(d) })
}

// Checkbox is a CheckboxModel.
type Checkbox struct{ *Model }

// Checkbox opens a CheckboxModel.
func (mg *Manager) Checkbox(c Common, value bool) (*Checkbox, error) {
	m, err := mg.control(c, "CheckboxModel", "CheckboxView", "CheckboxStyleModel", map[string]any{"background": nil},
		map[string]any{"indent": true, "value": value}, map[string]validator{"value": isBool})
	if err != nil {
		return nil, err
	}
	return &Checkbox{m}, nil
}

// Value is the checkbox's value.
func (c *Checkbox) Value() bool {
	v, _ := c.Get("value").(bool)
	return v
}

// ---- HTML ----

// HTML is an HTMLModel: a block of HTML the kernel sets.
type HTML struct{ *Model }

// HTML opens an HTMLModel showing value.
func (mg *Manager) HTML(c Common, value string) (*HTML, error) {
	st, err := mg.domState(c, "HTMLStyleModel", descStyle(c, map[string]any{"background": nil, "font_size": nil, "text_color": nil}))
	if err != nil {
		return nil, err
	}
	st["description"], st["description_allow_html"] = c.Description, false
	st["placeholder"], st["value"] = "\u200b", value
	m, err := mg.open(controls("HTMLModel", "HTMLView"), st, map[string]validator{"value": isString})
	if err != nil {
		return nil, err
	}
	return &HTML{m}, nil
}

// Value is the HTML shown.
func (h *HTML) Value() string {
	v, _ := h.Get("value").(string)
	return v
}

// ---- boxes ----

// Box is an HBoxModel or VBoxModel.
type Box struct{ *Model }

func (mg *Manager) box(model, view string, c Common, children []Widget) (*Box, error) {
	st, err := mg.domState(c, "", nil)
	if err != nil {
		return nil, err
	}
	refs := make([]string, len(children))
	for i, c := range children {
		refs[i] = c.WidgetModel().Ref()
	}
	st["box_style"], st["children"] = "", refs
	m, err := mg.open(controls(model, view), st, nil)
	if err != nil {
		return nil, err
	}
	return &Box{m}, nil
}

// HBox lays children out in a row.
func (mg *Manager) HBox(css CSS, children ...Widget) (*Box, error) {
	return mg.box("HBoxModel", "HBoxView", Common{Layout: css}, children)
}

// VBox lays children out in a column.
func (mg *Manager) VBox(css CSS, children ...Widget) (*Box, error) {
	return mg.box("VBoxModel", "VBoxView", Common{Layout: css}, children)
}

// VBoxWith is VBox with the layout and CSS classes of c (its other
// fields do not apply to a box).
func (mg *Manager) VBoxWith(c Common, children ...Widget) (*Box, error) {
	return mg.box("VBoxModel", "VBoxView", Common{Layout: c.Layout, Classes: c.Classes}, children)
}

// ---- Output ----

// Output is an OutputModel whose outputs the kernel sets directly (its
// "outputs" state, a list of nbformat outputs): stream text, rich
// displays and errors. Stream text is coalesced and sent at most every
// 50 ms, so a token-by-token writer stays far below the front end's rate
// limit. Its methods are safe for concurrent use.
type Output struct {
	*Model
	sendMu  sync.Mutex // keeps sends in the order of the lists they carry
	omu     sync.Mutex
	outputs []map[string]any
	ids     []string // display id of each output ("" for none)
	timer   *time.Timer
	dirty   bool
}

// StreamInterval is the longest time Output stream text waits before it
// is sent.
const StreamInterval = 50 * time.Millisecond

// Output opens an OutputModel.
func (mg *Manager) Output(css CSS) (*Output, error) {
	st, err := mg.domState(Common{Layout: css}, "", nil)
	if err != nil {
		return nil, err
	}
	st["msg_id"], st["outputs"] = "", []any{}
	m, err := mg.open(spec{OutputModule, OutputVersion, "OutputModel", OutputModule, OutputVersion, "OutputView"}, st, nil)
	if err != nil {
		return nil, err
	}
	return &Output{Model: m}, nil
}

// Stream appends text to a stream ("stdout" or "stderr").
func (o *Output) Stream(name, text string) {
	o.omu.Lock()
	defer o.omu.Unlock()
	if n := len(o.outputs); n > 0 && o.outputs[n-1]["output_type"] == "stream" && o.outputs[n-1]["name"] == name {
		o.outputs[n-1]["text"] = o.outputs[n-1]["text"].(string) + text
	} else {
		o.outputs = append(o.outputs, map[string]any{"output_type": "stream", "name": name, "text": text})
		o.ids = append(o.ids, "")
	}
	o.dirty = true
	if o.timer == nil {
		o.timer = time.AfterFunc(StreamInterval, o.Flush)
	}
}

// Display appends a rich output (a MIME bundle); a non-empty displayID
// lets Update replace it later.
func (o *Output) Display(b kernel.Bundle, displayID string) {
	o.addID(displayData(b), displayID)
}

// Update replaces the outputs displayed with displayID.
func (o *Output) Update(b kernel.Bundle, displayID string) {
	if displayID == "" {
		return
	}
	o.omu.Lock()
	for i, id := range o.ids {
		if id == displayID {
			o.outputs[i] = displayData(b)
			o.dirty = true
		}
	}
	o.omu.Unlock()
	o.Flush()
}

func displayData(b kernel.Bundle) map[string]any {
	md := b.Metadata
	if md == nil {
		md = map[string]any{}
	}
	return map[string]any{"output_type": "display_data", "data": b.Data, "metadata": md}
}

// ShowError appends an error output, described as the kernel describes
// a cell's error (kernel.DescribeError).
func (o *Output) ShowError(err error) {
	ename, evalue, tb := kernel.DescribeError(err)
	o.add(map[string]any{"output_type": "error", "ename": ename, "evalue": evalue, "traceback": tb})
}

// Clear removes every output.
func (o *Output) Clear() {
	o.omu.Lock()
	o.outputs, o.ids = nil, nil
	o.dirty = true
	o.omu.Unlock()
	o.Flush()
}

// Text is the concatenated stream text of the outputs.
func (o *Output) Text() string {
	o.omu.Lock()
	defer o.omu.Unlock()
	var b strings.Builder
	for _, x := range o.outputs {
		if s, ok := x["text"].(string); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}

func (o *Output) add(x map[string]any) { o.addID(x, "") }

func (o *Output) addID(x map[string]any, id string) {
	o.omu.Lock()
	o.outputs = append(o.outputs, x)
	o.ids = append(o.ids, id)
	o.dirty = true
	o.omu.Unlock()
	o.Flush()
}

// Flush sends what changed now.
func (o *Output) Flush() {
	o.sendMu.Lock()
	defer o.sendMu.Unlock()
	o.omu.Lock()
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
	if !o.dirty {
		o.omu.Unlock()
		return
	}
	o.dirty = false
	list := make([]any, len(o.outputs))
	for i, x := range o.outputs {
		list[i] = maps.Clone(x)
	}
	o.omu.Unlock()
	if !o.Closed() {
		_ = o.Set("outputs", list)
	}
}

// ---- display ----

// Bundle is the display of w: the widget view, and the fallback (its
// text/plain and pictures) for front ends that cannot show widgets. A
// fallback without text/plain gets one naming the widget.
func Bundle(w Widget, fallback kernel.Bundle) kernel.Bundle {
	data := map[string]any{}
	maps.Copy(data, fallback.Data)
	if _, ok := data["text/plain"]; !ok {
		data["text/plain"] = w.WidgetModel().Name() + " (a Jupyter widget: run the cell in JupyterLab or Notebook with ipywidgets to use it)"
	}
	data[ViewMIME] = map[string]any{"version_major": 2, "version_minor": 0, "model_id": w.WidgetModel().ID()}
	return kernel.Bundle{Data: data, Metadata: fallback.Metadata}
}

// Display shows w in a cell's output (see Bundle).
func Display(out kernel.Output, w Widget, fallback kernel.Bundle) {
	out.Display(Bundle(w, fallback), "")
}

// StaticHTML is an HTML note for the fallback: what a reader without a
// widget manager is looking at.
func StaticHTML(picture, note string) string {
	return `<div>` + picture + `<p style="font-size:smaller;color:#666">` + html.EscapeString(note) + `</p></div>`
}

// Sink is a kernel.Output that writes into o, so that code written for a
// cell's output can write into the widget instead. Input is not supported.
func (o *Output) Sink() kernel.Output { return outputSink{o} }

type outputSink struct{ o *Output }

func (s outputSink) Stream(name, text string)           { s.o.Stream(name, text) }
func (s outputSink) Display(b kernel.Bundle, id string) { s.o.Display(b, id) }
func (s outputSink) Update(b kernel.Bundle, id string)  { s.o.Update(b, id) }
func (s outputSink) Clear(bool)                         { s.o.Clear() }
func (s outputSink) Result(b kernel.Bundle)             { s.o.Display(b, "") }
func (s outputSink) Input(context.Context, string, bool) (string, error) {
	return "", kernel.ErrStdinNotAllowed
}
