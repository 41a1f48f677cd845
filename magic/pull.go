package magic

import (
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/memwall/memwall/builtin"
	"github.com/memwall/memwall/inspect"
	"github.com/memwall/memwall/internal/pull"
)

// pullMagics are the magics that fetch models (package pull).
func pullMagics() []*magicSpec {
	return []*magicSpec{
		{name: "pull", args: "NAME", maxPos: 1, run: (*Interpreter).doPull,
			summary: "Download a real checkpoint (" + strings.Join(pull.Names(), ", ") + ") into the models directory, with a progress display; --list shows what is there.",
			help: `The file goes to $XDG_DATA_HOME/memwall/models (default ~/.local/share/memwall/models), where
%load finds it by name. A cut download resumes (HTTP Range), also when %pull is run again after an
interrupt. The file is checked before it gets its name (header, the named shape's exact size, finite
weights; the tokenizer against llama2.c's digest), and its SHA-256 is shown. Same as memwall pull.`,
			flags: []flagSpec{{name: "list", kind: boolFlag, help: "list the known files and which are present"}}},
	}
}

func (s *Interpreter) doPull(c *call) error {
	a := c.args
	if a.bool("list") {
		if len(a.pos) > 0 {
			return usagef(c.spec.usage(), "--list takes no NAME")
		}
		s.display(c, pullList())
		return nil
	}
	if len(a.pos) != 1 {
		return usagef(c.spec.usage(), "give one NAME: %s", strings.Join(pull.Names(), ", "))
	}
	it, err := pull.Lookup(a.pos[0].text)
	if err != nil {
		return err
	}
	id := s.newDisplayID()
	show := func(p pull.Progress, state string) {
		h := fmt.Sprintf(`<div><progress max="%d" value="%d" style="width:24em"></progress> %s</div>`, p.Total, p.Done,
			html.EscapeString(fmt.Sprintf("%%pull %s: %s%s", it.Name, p.Line(0), state)))
		c.out.Update(toKernel(inspect.Bundle{Text: fmt.Sprintf("%%pull %s: %s%s", it.Name, p.Line(30), state), HTML: h}), id)
	}
	c.out.Display(toKernel(inspect.Bundle{Text: fmt.Sprintf("%%pull %s: connecting…", it.Name)}), id)
	var last pull.Progress
	r, err := pull.Pull(c.ctx, it.Name, pull.Options{Interval: 250 * time.Millisecond, Progress: func(p pull.Progress) {
		last = p
		show(p, "")
	}})
	if err != nil {
		if last.Total > 0 {
			show(last, " — stopped")
		} else {
			c.out.Update(toKernel(inspect.Bundle{Text: fmt.Sprintf("%%pull %s: failed", it.Name)}), id)
		}
		return err
	}
	how := fmt.Sprintf("downloaded %s", pull.BytesText(r.Downloaded))
	if r.Resumed > 0 {
		how += fmt.Sprintf(", resumed after %s already on disk", pull.BytesText(r.Resumed))
	}
	if r.AlreadyPresent {
		how = "already present; checked, nothing downloaded"
		c.out.Update(toKernel(inspect.Bundle{Text: fmt.Sprintf("%%pull %s: already present", it.Name)}), id)
	}
	rows := [][]string{
		{"file", r.Path},
		{"bytes", fmt.Sprint(r.Size)},
		{"SHA-256", r.SHA256},
		{"source", r.Source},
		{"transfer", how},
		{"checked", checkedText(r.Item)},
	}
	next := "%load " + r.Name
	if r.Shape == "" {
		next = "it is found beside any 32000-token model"
	}
	t := inspect.Table{Title: "Pulled " + r.File, Header: []string{"", ""}, Rows: rows, RowHeader: true, MaxCell: 120, Note: "next: " + next}
	b := t.Bundle()
	b.JSON = map[string]any{"name": r.Name, "path": r.Path, "bytes": r.Size, "sha256": r.SHA256, "source": r.Source,
		"downloaded_bytes": r.Downloaded, "resumed_bytes": r.Resumed, "already_present": r.AlreadyPresent}
	s.display(c, b)
	return nil
}

func checkedText(it pull.Item) string {
	if it.Shape == "" {
		return "parses as a 32000-piece tokenizer; SHA-256 equals llama2.c's tokenizer.bin"
	}
	return "header gives exactly the " + it.Shape + " shape; size is that shape's; every weight is finite"
}

func pullList() inspect.Bundle {
	t := inspect.Table{Title: "Models memwall pull knows (directory " + pull.DefaultDir() + ")", Header: []string{"name", "state", "bytes", "what"}, MaxCell: 100}
	var js []map[string]any
	for _, st := range pull.List("") {
		state := "not present"
		switch {
		case st.Present:
			state = "present"
		case st.Partial > 0:
			state = "partial (" + pull.BytesText(st.Partial) + "; %pull resumes)"
		}
		t.Rows = append(t.Rows, []string{st.Name, state, fmt.Sprint(st.Size()), st.What})
		js = append(js, map[string]any{"name": st.Name, "present": st.Present, "partial_bytes": st.Partial, "bytes": st.Size(), "path": st.Path})
	}
	for _, f := range builtin.Files() {
		t.Rows = append(t.Rows, []string{f.Name, "built in", fmt.Sprint(f.Size), f.What})
		js = append(js, map[string]any{"name": f.Name, "builtin": true, "bytes": f.Size, "sha256": f.SHA256})
	}
	b := t.Bundle()
	b.JSON = map[string]any{"directory": pull.DefaultDir(), "files": js}
	return b
}
