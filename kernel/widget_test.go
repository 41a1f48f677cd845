package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memwall/memwall/kernel"
	"github.com/memwall/memwall/kernel/internal/toy"
	"github.com/memwall/memwall/kernel/widget"
)

// widgetInterp shows a small explorer: a "layer" slider (0..5), a "head"
// dropdown, a Button, an HTML view redrawn on every change and an Output
// for errors. The slider's observer panics at layer 4 and sleeps
// (cancellably) at layer 2 when the "slow" checkbox is ticked.
type widgetInterp struct {
	toy.Interp
	mgr     *widget.Manager
	slider  *widget.IntSlider
	head    *widget.Selection
	slow    *widget.Checkbox
	view    *widget.HTML
	errs    *widget.Output
	button  *widget.Button
	box     *widget.Box
	redraws atomic.Int64
	clicks  atomic.Int64
}

func (w *widgetInterp) UseComms(c *kernel.Comms) { w.mgr = widget.NewManager(c, nil) }

func (w *widgetInterp) redraw(ctx context.Context, _ widget.Change) error {
	w.redraws.Add(1)
	l := w.slider.Value()
	switch {
	case l == 4:
		panic("no picture for layer 4")
	case l == 2 && w.slow.Value():
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(10 * time.Second):
		}
	}
	return w.view.Set("value", fmt.Sprintf("<svg><text>layer %d head %d</text></svg>", l, w.head.Index()))
}

func (w *widgetInterp) Execute(ctx context.Context, code string, out kernel.Output) error {
	if code == "closeall" {
		w.box.CloseTree()
		return nil
	}
	if code != "explore" {
		return w.Interp.Execute(ctx, code, out)
	}
	var err error
	must := func(e error) {
		if err == nil {
			err = e
		}
	}
	var e error
	w.slider, e = w.mgr.IntSlider(widget.Common{Description: "layer"}, 1, 0, 5)
	must(e)
	w.head, e = w.mgr.Dropdown(widget.Common{Description: "head"}, []string{"0", "1", "2"}, 0)
	must(e)
	w.slow, e = w.mgr.Checkbox(widget.Common{Description: "slow"}, false)
	must(e)
	w.button, e = w.mgr.Button(widget.Common{Description: "Go"}, "primary")
	must(e)
	w.view, e = w.mgr.HTML(widget.Common{}, "<svg><text>layer 1 head 0</text></svg>")
	must(e)
	w.errs, e = w.mgr.Output(nil)
	must(e)
	if err != nil {
		return err
	}
	for _, m := range []*widget.Model{w.slider.Model, w.head.Model, w.slow.Model} {
		m.ErrorsTo(w.errs)
	}
	w.slider.Observe(w.redraw, "value")
	w.head.Observe(w.redraw, "index")
	w.button.OnClick(func(ctx context.Context) error {
		w.clicks.Add(1)
		if w.clicks.Load() == 2 {
			return errors.New("second click fails")
		}
		return nil
	})
	w.button.ErrorsTo(w.errs)
	controls, err := w.mgr.HBox(widget.CSS{"width": "100%"}, w.slider, w.head, w.slow, w.button)
	if err != nil {
		return err
	}
	box, err := w.mgr.VBox(nil, controls, w.view, w.errs)
	if err != nil {
		return err
	}
	w.box = box
	widget.Display(out, box, kernel.Bundle{Data: map[string]any{
		"text/plain": "explorer at layer 1", "image/svg+xml": w.view.Value()}})
	return nil
}

// widgets runs "explore" and returns the comm_open messages by model name
// and the display.
func (c *testClient) widgets() (map[string][]*wireMsg, *wireMsg) {
	c.t.Helper()
	_, io := c.execute("explore", nil)
	opens := map[string][]*wireMsg{}
	var disp *wireMsg
	for _, m := range io {
		switch m.Type() {
		case "comm_open":
			st := m.Content["data"].(map[string]any)["state"].(map[string]any)
			opens[st["_model_name"].(string)] = append(opens[st["_model_name"].(string)], m)
		case "display_data":
			disp = m
		case "error":
			c.t.Fatalf("explore: %v", m.Content)
		}
	}
	if disp == nil {
		c.t.Fatalf("no display: %v", types(io))
	}
	return opens, disp
}

func state(m *wireMsg) map[string]any {
	return m.Content["data"].(map[string]any)["state"].(map[string]any)
}

// update sends a widget update from the "front end".
func (c *testClient) update(commID string, st map[string]any, paths []any, bufs ...[]byte) string {
	if paths == nil {
		paths = []any{}
	}
	return c.commMsg(commID, map[string]any{"method": "update", "state": st, "buffer_paths": paths}, bufs...)
}

// commMsgsFor returns the comm_msg data sent on commID among ms.
func commMsgsFor(ms []*wireMsg, commID string) []map[string]any {
	var out []map[string]any
	for _, m := range ms {
		if m.Type() == "comm_msg" && m.str("comm_id") == commID {
			out = append(out, m.Content["data"].(map[string]any))
		}
	}
	return out
}

func TestWidgetDisplayAndState(t *testing.T) {
	c := startKernel(t, kernelConfig{interp: &widgetInterp{}})
	opens, disp := c.widgets()

	ids := map[string]string{} // model id -> model name
	for name, ms := range opens {
		for _, m := range ms {
			if m.str("target_name") != "jupyter.widget" || m.Metadata["version"] != "2.1.0" {
				t.Errorf("%s: comm_open %v %v", name, m.Content["target_name"], m.Metadata)
			}
			ids[m.str("comm_id")] = name
		}
	}
	sl := opens["IntSliderModel"]
	if len(sl) != 1 {
		t.Fatalf("IntSlider opens: %d", len(sl))
	}
	s := state(sl[0])
	want := map[string]any{"_model_module": "@jupyter-widgets/controls", "_model_module_version": "2.0.0",
		"_view_module": "@jupyter-widgets/controls", "_view_module_version": "2.0.0", "_view_name": "IntSliderView",
		"description": "layer", "value": 1.0, "min": 0.0, "max": 5.0, "step": 1.0, "readout_format": "d",
		"continuous_update": true, "orientation": "horizontal", "behavior": "drag-tap", "_dom_classes": []any{}}
	for k, v := range want {
		if !reflect.DeepEqual(s[k], v) {
			t.Errorf("IntSlider %s = %#v, want %#v", k, s[k], v)
		}
	}
	// References point at models opened before.
	ref := func(name string, r any) {
		rs, _ := r.(string)
		if got := ids[strings.TrimPrefix(rs, "IPY_MODEL_")]; !strings.HasPrefix(rs, "IPY_MODEL_") || got != name {
			t.Errorf("reference %v is to %q, want a %s", r, got, name)
		}
	}
	ref("LayoutModel", s["layout"])
	ref("SliderStyleModel", s["style"])
	ref("DescriptionStyleModel", state(opens["DropdownModel"][0])["style"])
	ref("ButtonStyleModel", state(opens["ButtonModel"][0])["style"])
	if lay := state(opens["LayoutModel"][0]); lay["_model_module"] != "@jupyter-widgets/base" || lay["_model_module_version"] != "2.0.0" || lay["_view_name"] != "LayoutView" {
		t.Errorf("layout %v", lay)
	}
	if o := state(opens["OutputModel"][0]); o["_model_module"] != "@jupyter-widgets/output" || o["_model_module_version"] != "1.0.0" || o["msg_id"] != "" {
		t.Errorf("output %v", o)
	}
	if d := state(opens["DropdownModel"][0]); !reflect.DeepEqual(d["_options_labels"], []any{"0", "1", "2"}) || d["index"] != 0.0 || d["description"] != "head" {
		t.Errorf("dropdown %v", d)
	}
	vb := state(opens["VBoxModel"][0])
	if ch, _ := vb["children"].([]any); len(ch) != 3 {
		t.Errorf("VBox children %v", vb["children"])
	} else {
		ref("HBoxModel", ch[0])
		ref("HTMLModel", ch[1])
		ref("OutputModel", ch[2])
	}
	// The display: the VBox's view and a fallback.
	data := disp.Content["data"].(map[string]any)
	view, _ := data[widget.ViewMIME].(map[string]any)
	if view["model_id"] != opens["VBoxModel"][0].str("comm_id") || view["version_major"] != 2.0 {
		t.Errorf("view %v", view)
	}
	if data["text/plain"] != "explorer at layer 1" || !strings.Contains(data["image/svg+xml"].(string), "layer 1") {
		t.Errorf("fallback %v", data)
	}

	// request_state: the whole state comes back as an update.
	mid := c.commMsg(sl[0].str("comm_id"), map[string]any{"method": "request_state"})
	up := commMsgsFor(c.iopubUntilIdle(mid), sl[0].str("comm_id"))
	if len(up) != 1 || up[0]["method"] != "update" || up[0]["state"].(map[string]any)["description"] != "layer" {
		t.Errorf("request_state: %v", up)
	}

	// comm_info lists every model.
	if got := c.commInfo(c.shell, c.shellCh, "jupyter.widget"); len(got) != len(ids) {
		t.Errorf("comm_info lists %d comms, %d models were opened", len(got), len(ids))
	}

	// The control comm's request_states returns every state.
	c.iopubUntilIdle(c.send(c.shell, "comm_open", map[string]any{"comm_id": "ctl", "target_name": "jupyter.widget.control", "data": map[string]any{}}))
	mid = c.commMsg("ctl", map[string]any{"method": "request_states"})
	rs := commMsgsFor(c.iopubUntilIdle(mid), "ctl")
	if len(rs) != 1 || rs[0]["method"] != "update_states" || len(rs[0]["states"].(map[string]any)) != len(ids) {
		t.Fatalf("request_states: %v", rs)
	}
	if st := rs[0]["states"].(map[string]any)[sl[0].str("comm_id")].(map[string]any); st["description"] != "layer" {
		t.Errorf("update_states slider %v", st)
	}
}

func TestWidgetCloseTree(t *testing.T) {
	c := startKernel(t, kernelConfig{interp: &widgetInterp{}})
	opens, _ := c.widgets()
	n := 0
	for _, ms := range opens {
		n += len(ms)
	}
	_, io := c.execute("closeall", nil)
	closed := map[string]bool{}
	for _, m := range ofType(io, "comm_close") {
		closed[m.str("comm_id")] = true
	}
	if len(closed) != n {
		t.Errorf("closing the view closed %d comms of %d", len(closed), n)
	}
	if got := c.commInfo(c.shell, c.shellCh, ""); len(got) != 0 {
		t.Errorf("comms left open: %d", len(got))
	}
}

func TestWidgetUpdates(t *testing.T) {
	wi := &widgetInterp{}
	c := startKernel(t, kernelConfig{interp: wi})
	opens, _ := c.widgets()
	slider := opens["IntSliderModel"][0].str("comm_id")
	view := opens["HTMLModel"][0].str("comm_id")
	errs := opens["OutputModel"][0].str("comm_id")
	head := opens["DropdownModel"][0].str("comm_id")

	viewValue := func(ms []*wireMsg) string {
		up := commMsgsFor(ms, view)
		if len(up) == 0 {
			return ""
		}
		return up[len(up)-1]["state"].(map[string]any)["value"].(string)
	}

	// The front end moves the slider: echo, then the redrawn view.
	mid := c.update(slider, map[string]any{"value": 3.0}, nil)
	io := c.iopubUntilIdle(mid)
	echo := commMsgsFor(io, slider)
	if len(echo) != 1 || echo[0]["method"] != "echo_update" || echo[0]["state"].(map[string]any)["value"] != 3.0 {
		t.Errorf("echo %v", echo)
	}
	for _, m := range io {
		if m.Type() == "comm_msg" && m.str("comm_id") == slider && m.ParentID() != mid {
			t.Errorf("echo_update's parent is %s, want the update %s", m.ParentID(), mid)
		}
	}
	if v := viewValue(io); v != "<svg><text>layer 3 head 0</text></svg>" {
		t.Errorf("view after layer 3: %q", v)
	}
	mid = c.update(head, map[string]any{"index": 2.0}, nil)
	if v := viewValue(c.iopubUntilIdle(mid)); v != "<svg><text>layer 3 head 2</text></svg>" {
		t.Errorf("view after head 2: %q", v)
	}

	// Out of range from a modified front end: clamped and sent back.
	mid = c.update(slider, map[string]any{"value": 99.0}, nil)
	io = c.iopubUntilIdle(mid)
	back := commMsgsFor(io, slider)
	if len(back) != 1 || back[0]["method"] != "update" || back[0]["state"].(map[string]any)["value"] != 5.0 {
		t.Errorf("clamped value: %v", back)
	}
	if v := viewValue(io); v != "<svg><text>layer 5 head 2</text></svg>" {
		t.Errorf("view after clamping: %q", v)
	}
	mid = c.update(head, map[string]any{"index": -7.0}, nil)
	if v := viewValue(c.iopubUntilIdle(mid)); v != "<svg><text>layer 5 head 0</text></svg>" {
		t.Errorf("view after a negative index: %q", v)
	}
	// The wrong type is refused: the kernel's value goes back, nothing is redrawn.
	before := wi.redraws.Load()
	for _, bad := range []any{"three", 2.5, nil, map[string]any{"x": 1}} {
		mid = c.update(slider, map[string]any{"value": bad}, nil)
		io = c.iopubUntilIdle(mid)
		back = commMsgsFor(io, slider)
		if len(back) != 1 || back[0]["method"] != "update" || back[0]["state"].(map[string]any)["value"] != 5.0 {
			t.Errorf("value %v: %v", bad, back)
		}
	}
	if wi.redraws.Load() != before {
		t.Errorf("refused values caused redraws")
	}

	// A panicking observer shows its error in the Output widget.
	mid = c.update(slider, map[string]any{"value": 4.0}, nil)
	io = c.iopubUntilIdle(mid)
	if e := ofType(io, "error"); len(e) != 0 {
		t.Errorf("the kernel published an error instead of the widget: %v", e)
	}
	out := commMsgsFor(io, errs)
	if len(out) == 0 {
		t.Fatalf("no Output update after a panic: %v", types(io))
	}
	outputs := out[len(out)-1]["state"].(map[string]any)["outputs"].([]any)
	if len(outputs) != 1 || outputs[0].(map[string]any)["output_type"] != "error" ||
		!strings.Contains(outputs[0].(map[string]any)["evalue"].(string), "no picture for layer 4") {
		t.Errorf("outputs %v", outputs)
	}
	// And everything still works.
	mid = c.update(slider, map[string]any{"value": 0.0}, nil)
	if v := viewValue(c.iopubUntilIdle(mid)); v != "<svg><text>layer 0 head 0</text></svg>" {
		t.Errorf("view after the panic: %q", v)
	}

	// Clicks: custom messages.
	button := opens["ButtonModel"][0].str("comm_id")
	for i := 0; i < 2; i++ {
		c.iopubUntilIdle(c.commMsg(button, map[string]any{"method": "custom", "content": map[string]any{"event": "click"}}))
	}
	if wi.clicks.Load() != 2 {
		t.Errorf("clicks %d", wi.clicks.Load())
	}
	if !strings.Contains(fmt.Sprint(wi.errs.State()["outputs"]), "second click fails") {
		t.Errorf("failed click not shown: %v", wi.errs.State()["outputs"])
	}

	// Binary buffers from the front end land in the state, and go back
	// out as buffers.
	mid = c.update(view, map[string]any{"blob": map[string]any{"kind": "raw"}}, []any{[]any{"blob", "data"}}, []byte{9, 8, 7})
	c.iopubUntilIdle(mid)
	mid = c.commMsg(view, map[string]any{"method": "request_state"})
	for _, m := range c.iopubUntilIdle(mid) {
		if m.Type() == "comm_msg" && m.str("comm_id") == view {
			d := m.Content["data"].(map[string]any)
			if !reflect.DeepEqual(d["buffer_paths"], []any{[]any{"blob", "data"}}) || len(m.Buffers) != 1 || !reflect.DeepEqual(m.Buffers[0], []byte{9, 8, 7}) {
				t.Errorf("buffers: %v %q", d["buffer_paths"], m.Buffers)
			}
			if d["state"].(map[string]any)["blob"].(map[string]any)["kind"] != "raw" {
				t.Errorf("state around the buffer: %v", d["state"])
			}
		}
	}

	// Closed from the front end: then its messages are dropped.
	c.iopubUntilIdle(c.send(c.shell, "comm_close", map[string]any{"comm_id": head, "data": map[string]any{}}))
	before = wi.redraws.Load()
	mid = c.update(head, map[string]any{"index": 1.0}, nil)
	if got := types(c.iopubUntilIdle(mid)); !reflect.DeepEqual(got, []string{"status:busy", "status:idle"}) || wi.redraws.Load() != before {
		t.Errorf("update to a closed widget: %v", got)
	}
}

func TestWidgetInterruptAndFlood(t *testing.T) {
	wi := &widgetInterp{}
	c := startKernel(t, kernelConfig{interp: wi})
	opens, _ := c.widgets()
	slider := opens["IntSliderModel"][0].str("comm_id")
	slow := opens["CheckboxModel"][0].str("comm_id")
	view := opens["HTMLModel"][0].str("comm_id")

	// An interrupt stops a slow observer; its error goes to the Output.
	c.iopubUntilIdle(c.update(slow, map[string]any{"value": true}, nil))
	mid := c.update(slider, map[string]any{"value": 2.0}, nil)
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	c.reply(c.controlCh, c.send(c.control, "interrupt_request", map[string]any{}))
	c.iopubUntilIdle(mid)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("interrupting the observer took %v", d)
	}
	if !strings.Contains(fmt.Sprint(wi.errs.State()["outputs"]), "interrupted") {
		t.Errorf("interrupt not shown in the Output: %v", wi.errs.State()["outputs"])
	}
	c.iopubUntilIdle(c.update(slow, map[string]any{"value": false}, nil))

	// A flood of 1000 updates in well under a second: every value is
	// applied, the view is redrawn a few times, not a thousand, and ends
	// on the last value.
	heap := c.settledHeap
	var base uint64
	for round := 0; round < 3; round++ {
		before := wi.redraws.Load()
		start := time.Now()
		for i := 0; i < 1000; i++ {
			c.update(slider, map[string]any{"value": float64([]int{0, 1, 3, 5}[i%4])}, nil)
		}
		last := c.update(slider, map[string]any{"value": 3.0}, nil)
		sent := time.Since(start)
		// Responsive: control answers at once, and a cell behind the flood runs.
		r := c.reply(c.controlCh, c.send(c.control, "kernel_info_request", map[string]any{}))
		if r.str("status") != "ok" {
			t.Fatal("no kernel_info during the flood")
		}
		eid := c.send(c.shell, "execute_request", map[string]any{"code": "echo x", "silent": true})
		c.reply(c.shellCh, eid)
		took := time.Since(start)
		n := wi.redraws.Load() - before
		t.Logf("round %d: 1001 updates sent in %v, handled in %v, %d redraws", round, sent, took, n)
		if n > 100 {
			t.Errorf("%d redraws for 1001 updates: not coalesced", n)
		}
		if v := wi.slider.Value(); v != 3 {
			t.Errorf("slider value after the flood %d, want 3", v)
		}
		_ = last
		if round == 0 {
			base = heap()
		}
	}
	if !strings.Contains(wi.view.Value(), "layer 3") {
		t.Errorf("view after the flood: %q", wi.view.Value())
	}
	grow := int64(heap()) - int64(base)
	t.Logf("heap after two more floods: %+d bytes", grow)
	if grow > 8<<20 {
		t.Errorf("heap grew by %d bytes over two more floods", grow)
	}
	_ = view
}
