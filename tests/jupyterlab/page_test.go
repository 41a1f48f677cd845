package jupyterlab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/memwall/memwall/internal/testdata"
	"github.com/memwall/memwall/tests/internal/proc"
)

// pageHelpers is installed in the page once JupyterLab has started: small
// functions over JupyterLab's own objects (the application, its shell, the
// notebook panel, its session and models), so the Go side asks questions
// rather than walking the DOM by itself.
const pageHelpers = `window.mwt = {
  app: window.jupyterapp,
  current: null,
  panel() { return this.current; },
  async open(path) {
    for (const w of Array.from(this.app.shell.widgets('main'))) {
      if (!w.context) continue;
      if (w.sessionContext && w.sessionContext.session) await w.sessionContext.shutdown();
      w.context.model.dirty = false;
      w.dispose();
    }
    this.current = null;
    const w = await this.app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    await w.context.ready;
    this.current = w;
    this.app.shell.activateById(w.id);
    await w.revealed;
    return true;
  },
  async kernelReady() {
    const p = this.panel();
    const k = p && p.sessionContext.session && p.sessionContext.session.kernel;
    if (!k || k.connectionStatus !== 'connected' || k.status !== 'idle') return '';
    // The info promise is replaced when the connection is; never hang on one.
    const info = await Promise.race([k.info, new Promise(r => setTimeout(() => r(null), 2000))]);
    return info ? info.implementation : '';
  },
  codeCells() {
    return this.panel().content.widgets.filter(c => c.model.type === 'code');
  },
  runAll() {
    const p = this.panel();
    this.app.shell.activateById(p.id);
    p.content.activeCellIndex = 0;
    return this.app.commands.execute('notebook:clear-all-cell-outputs').then(() => {
      this.app.commands.execute('notebook:run-all-cells');
      return true;
    });
  },
  progress() {
    const p = this.panel();
    const cells = this.codeCells().filter(c => c.model.sharedModel.getSource().trim() !== '');
    const errors = [];
    cells.forEach((c, i) => c.model.outputs.toJSON().forEach(o => {
      if (o.output_type === 'error') errors.push('cell ' + i + ': ' + o.ename + ': ' + o.evalue);
    }));
    const k = p.sessionContext.session && p.sessionContext.session.kernel;
    return {Counted: cells.filter(c => c.model.executionCount != null).length, Code: cells.length,
      Errors: errors, Status: k ? k.status : 'none'};
  },
  outputs() {
    const res = [];
    this.panel().content.widgets.forEach((cell, i) => {
      if (cell.model.type !== 'code') return;
      const models = cell.model.outputs.toJSON();
      const children = cell.outputArea.widgets;
      models.forEach((m, j) => {
        const data = m.data || {};
        const html = [].concat(data['text/html'] || []).join('');
        const child = children[j];
        const out = child && child.node.querySelector('.jp-OutputArea-output');
        const svgs = out ? Array.from(out.querySelectorAll('svg')) : [];
        const imgs = out ? Array.from(out.querySelectorAll('img')) : [];
        res.push({
          Cell: i, Type: m.output_type, Bundle: Object.keys(data),
          // RenderedCommon says which MIME type it renders; the JSON viewer
          // (a React tree) does not, but has its own class.
          Rendered: !out ? '' : out.dataset.mimeType ||
            (out.classList.contains('jp-RenderedJSON') ? 'application/json' : ''),
          Picture: 'image/svg+xml' in data || html.includes('<svg'),
          // A picture, not an icon: an svg of several shapes, or a decoded
          // image of some size.
          Shown: svgs.some(s => s.querySelectorAll('rect, path, line, polyline, polygon, circle, text').length >= 5) ||
                 imgs.some(im => im.complete && im.naturalWidth >= 32),
          Trusted: !!cell.model.trusted,
          Text: out ? out.textContent.replace(/\s+/g, ' ').trim().slice(0, 160) : ''
        });
      });
    });
    return res;
  },
  scrollTo(cell) {
    const p = this.panel();
    const w = p.content.widgets[cell];
    p.content.activeCellIndex = cell;
    w.node.scrollIntoView({block: 'start'});
    return true;
  },
  editorMime() { return this.panel().content.codeMimetype; },
  // The live views (docs/widgets.md): a VBox of class memwall-view per
  // view, controls found by their description label.
  views() {
    const res = [];
    this.panel().content.widgets.forEach((cell, i) => {
      if (cell.model.type !== 'code') return;
      cell.model.outputs.toJSON().forEach((m, j) => {
        if (!m.data || !('application/vnd.jupyter.widget-view+json' in m.data)) return;
        const child = cell.outputArea.widgets[j];
        const v = child && child.node.querySelector('.memwall-view');
        res.push({Cell: i, View: !!v,
          Text: child ? child.node.textContent.replace(/\s+/g, ' ').trim().slice(0, 200) : ''});
      });
    });
    return res;
  },
  view(cell) { return this.panel().content.widgets[cell].node.querySelector('.memwall-view'); },
  control(cell, label) {
    const v = this.view(cell);
    if (!v) return null;
    return Array.from(v.querySelectorAll('.widget-inline-hbox')).find(w => {
      const l = w.querySelector(':scope > .widget-label');
      return l && l.textContent.trim() === label;
    }) || null;
  },
  // Where to press and where to release to drag the slider's handle to
  // fraction f of its track, in CSS pixels of the viewport.
  sliderDrag(cell, label, f) {
    const c = this.control(cell, label);
    const h = c && c.querySelector('.noUi-handle');
    const track = c && c.querySelector('.noUi-target');
    if (!h || !track) return null;
    h.scrollIntoView({block: 'center'});
    const hr = h.getBoundingClientRect(), tr = track.getBoundingClientRect();
    return {X0: hr.left + hr.width / 2, Y: hr.top + hr.height / 2, X1: tr.left + f * tr.width};
  },
  state(cell) {
    const v = this.view(cell);
    if (!v) return null;
    const pic = v.querySelector('.memwall-picture');
    const st = v.querySelector('.memwall-status');
    const readout = (label) => {
      const c = this.control(cell, label);
      if (!c) return '';
      const r = c.querySelector('.widget-readout');
      const s = c.querySelector('select');
      return r ? r.textContent.trim() : s ? s.value : '';
    };
    return {Picture: pic ? pic.innerHTML : '', Status: st ? st.textContent.trim() : '',
      Layer: readout('layer'), Head: readout('head')};
  },
  focusSelect(cell, label) {
    const c = this.control(cell, label);
    const s = c && c.querySelector('select');
    if (!s) return false;
    s.scrollIntoView({block: 'center'});
    s.focus();
    return document.activeElement === s;
  }
};
true`

// pictureOutputs returns the outputs whose bundle has a picture.
func pictureOutputs(outs []outputInfo) []outputInfo {
	var p []outputInfo
	for _, o := range outs {
		if o.Picture {
			p = append(p, o)
		}
	}
	return p
}

// testReader opens every committed course notebook without running it, as
// someone who has just downloaded it would (untrusted), and checks that each
// picture in it is on the page after JupyterLab's sanitizer.
func (l *lab) testReader(t *testing.T) {
	l.t = t
	names, _ := filepath.Glob(filepath.Join(testdata.Root(), "notebooks", "*.ipynb"))
	if len(names) == 0 {
		t.Fatal("no notebooks in notebooks/")
	}
	for _, path := range names {
		name := filepath.Base(path)
		l.open("read/"+name, false)
		// Rendering follows the model; give it a moment to settle.
		var outs []outputInfo
		proc.Poll(l.ctx, 20*time.Second, func() (bool, error) {
			outs = l.outputs()
			for _, o := range pictureOutputs(outs) {
				if !o.Shown {
					return false, nil
				}
			}
			return true, nil
		})
		pics := pictureOutputs(outs)
		shown := 0
		for _, o := range pics {
			if o.Trusted {
				t.Errorf("%s cell %d: trusted; the reader test needs an untrusted notebook", name, o.Cell)
			}
			if o.Shown {
				shown++
				continue
			}
			t.Errorf("%s cell %d: the picture (bundle %v) did not survive: JupyterLab rendered %q and shows %q",
				name, o.Cell, o.Bundle, o.Rendered, o.Text)
		}
		t.Logf("%s (untrusted): %d outputs, %d pictures, %d shown", name, len(outs), len(pics), shown)
		if len(pics) > 0 {
			l.eval(fmt.Sprintf("mwt.scrollTo(%d)", pics[0].Cell), nil)
			time.Sleep(300 * time.Millisecond)
			l.shot("reader-" + strings.TrimSuffix(name, ".ipynb"))
		}
	}
}

// runAll runs every cell of the open notebook through JupyterLab's
// run-all command and waits for the kernel to finish.
func (l *lab) runAll(name string, limit time.Duration) {
	t := l.t
	t.Helper()
	if err := l.eval(`mwt.runAll()`, nil); err != nil {
		t.Fatal(err)
	}
	type progress struct {
		Counted, Code int
		Errors        []string
		Status        string
	}
	var p progress
	start := time.Now()
	if err := proc.Poll(l.ctx, limit, func() (bool, error) {
		if err := l.eval(`mwt.progress()`, &p); err != nil {
			return false, err
		}
		if len(p.Errors) > 0 {
			return false, fmt.Errorf("a cell failed: %s", strings.Join(p.Errors, "; "))
		}
		return p.Status == "idle" && p.Counted == p.Code, nil
	}); err != nil {
		l.shot(name + "-run-failed")
		t.Fatalf("running %s: %v (%d of %d code cells ran, kernel %s)\npage problems:\n%s",
			name, err, p.Counted, p.Code, p.Status, l.pageProblems())
	}
	t.Logf("%s: all %d code cells ran in %v", name, p.Code, time.Since(start).Round(time.Millisecond))
}

// testQuickstart runs the quickstart through the page and checks its
// outputs: no errors, the generated text, every picture shown, and every
// rich result shown as HTML or SVG (not as a JSON tree or plain text).
func (l *lab) testQuickstart(t *testing.T) {
	l.t = t
	const name = "01-quickstart.ipynb"
	if _, err := os.Stat(filepath.Join(testdata.Root(), "notebooks", name)); err != nil {
		t.Fatal(err)
	}
	l.open("run/"+name, true)
	var mime string
	if err := l.eval(`mwt.editorMime()`, &mime); err != nil {
		t.Fatal(err)
	}
	t.Logf("code cells are edited as %s", mime)
	if mime == "" || mime == "text/plain" {
		t.Errorf("JupyterLab found no highlighting mode for memwall's language_info (editor MIME type %q)", mime)
	}
	l.runAll("quickstart", 3*time.Minute)
	outs := l.outputs()
	var text strings.Builder
	pics, shown := 0, 0
	for _, o := range outs {
		text.WriteString(o.Text + "\n")
		if o.Picture {
			pics++
			if o.Shown {
				shown++
			} else {
				t.Errorf("cell %d: picture not shown (rendered %q: %q)", o.Cell, o.Rendered, o.Text)
			}
		}
		rich := false
		for _, m := range o.Bundle {
			rich = rich || m == "text/html" || m == "image/svg+xml"
		}
		if rich && o.Rendered != "text/html" && o.Rendered != "image/svg+xml" {
			t.Errorf("cell %d: bundle %v rendered as %q, not as HTML or SVG: %q", o.Cell, o.Bundle, o.Rendered, o.Text)
		}
	}
	t.Logf("quickstart: %d outputs, %d pictures, %d shown", len(outs), pics, shown)
	if pics == 0 {
		t.Error("the quickstart drew no picture")
	}
	if !strings.Contains(text.String(), "Once upon a time") {
		t.Errorf("generated text not in the outputs; they begin %q", clip(text.String(), 300))
	}
	l.eval(`mwt.scrollTo(0)`, nil)
	l.shot("quickstart-top")
	for _, o := range outs {
		if o.Picture {
			l.eval(fmt.Sprintf("mwt.scrollTo(%d)", o.Cell), nil)
			time.Sleep(300 * time.Millisecond)
			l.shot("quickstart-picture")
			break
		}
	}
}

// testWidgets runs the live-views notebook through the page, then moves
// the explorer's layer slider with the mouse and changes its head with the
// keyboard, and checks that the kernel redrew the picture each time.
func (l *lab) testWidgets(t *testing.T) {
	l.t = t
	const name = "10-explore.ipynb"
	if _, err := os.Stat(filepath.Join(testdata.Root(), "notebooks", name)); err != nil {
		t.Fatalf("the live-views notebook: %v", err)
	}
	l.open("run/"+name, true)
	l.runAll("explore", 3*time.Minute)

	type viewInfo struct {
		Cell int
		View bool
		Text string
	}
	var views []viewInfo
	// Widget views render after their comms open; give them a moment.
	proc.Poll(l.ctx, 30*time.Second, func() (bool, error) {
		if err := l.eval(`mwt.views()`, &views); err != nil {
			return false, err
		}
		for _, v := range views {
			if !v.View {
				return false, nil
			}
		}
		return len(views) > 0, nil
	})
	if len(views) == 0 {
		l.shot("explore-no-views")
		t.Fatalf("no widget view on the page\npage problems:\n%s", l.pageProblems())
	}
	explore := -1
	for _, v := range views {
		if !v.View {
			t.Errorf("cell %d: the widget manager did not render the live view: %q", v.Cell, v.Text)
		} else if explore < 0 {
			explore = v.Cell
		}
	}
	t.Logf("%d live views rendered by the widget manager", len(views))
	if explore < 0 {
		l.shot("explore-no-views")
		t.FailNow()
	}

	type viewState struct {
		Picture, Status, Layer, Head string
	}
	state := func() viewState {
		var s viewState
		if err := l.eval(fmt.Sprintf("mwt.state(%d)", explore), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	// changed waits for the kernel's redraw: a new picture and a status
	// that names what the control now says.
	changed := func(before viewState, what string, ok func(viewState) bool) viewState {
		var s viewState
		err := proc.Poll(l.ctx, 10*time.Second, func() (bool, error) {
			s = state()
			return s.Picture != before.Picture && ok(s), nil
		})
		if err != nil {
			l.shot("explore-" + what + "-failed")
			t.Fatalf("after changing the %s, no redraw: %v\nbefore: %q (layer %q, head %q)\nnow: %q (layer %q, head %q)\npage problems:\n%s",
				what, err, before.Status, before.Layer, before.Head, s.Status, s.Layer, s.Head, l.pageProblems())
		}
		return s
	}
	s0 := state()
	if s0.Picture == "" || !strings.Contains(s0.Picture, "<svg") || s0.Layer == "" {
		t.Fatalf("the explorer has no picture or no layer slider: %+v", s0)
	}
	t.Logf("explorer before: layer %s, head %s: %s", s0.Layer, s0.Head, s0.Status)
	l.eval(fmt.Sprintf("mwt.view(%d).scrollIntoView({block: 'start'})", explore), nil)
	l.shot("explore-before")

	// Drag the layer slider's handle to the far end of its track.
	var drag struct{ X0, Y, X1 float64 }
	if err := l.eval(fmt.Sprintf("mwt.sliderDrag(%d, 'layer', 1.0)", explore), &drag); err != nil || drag.X1 == 0 {
		t.Fatalf("no layer slider handle to drag (%v)", err)
	}
	// The left button held down, as a drag reports it.
	leftDown := func(p *input.DispatchMouseEventParams) {
		p.Button = input.MouseButtonLeft
		p.Buttons = 1
	}
	ctx, cancel := context.WithTimeout(l.ctx, 20*time.Second)
	steps := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, drag.X0, drag.Y, leftDown, chromedp.ClickCount(1))}
	for i := 1; i <= 10; i++ {
		x := drag.X0 + (drag.X1-drag.X0)*float64(i)/10
		steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, drag.Y, leftDown))
	}
	steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, drag.X1, drag.Y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	err := chromedp.Do(ctx, steps...)
	cancel()
	if err != nil {
		t.Fatalf("dragging the layer slider: %v", err)
	}
	s1 := changed(s0, "layer", func(s viewState) bool {
		return s.Layer != s0.Layer && strings.Contains(s.Status, "layer "+s.Layer)
	})
	t.Logf("explorer after the slider: layer %s, head %s: %s", s1.Layer, s1.Head, s1.Status)
	l.shot("explore-after-layer")

	// Change the head with the keyboard, as a user would on a focused select.
	var focused bool
	if err := l.eval(fmt.Sprintf("mwt.focusSelect(%d, 'head')", explore), &focused); err != nil || !focused {
		t.Fatalf("no head dropdown to focus (%v)", err)
	}
	ctx, cancel = context.WithTimeout(l.ctx, 20*time.Second)
	err = chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowDown))
	cancel()
	if err != nil {
		t.Fatalf("changing the head: %v", err)
	}
	s2 := changed(s1, "head", func(s viewState) bool {
		return s.Head != s1.Head && strings.Contains(s.Status, "head "+s.Head)
	})
	t.Logf("explorer after the dropdown: layer %s, head %s: %s", s2.Layer, s2.Head, s2.Status)
	l.shot("explore-after-head")
}
