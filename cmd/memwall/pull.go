package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"

	"github.com/memwall/memwall/builtin"
	"github.com/memwall/memwall/internal/pull"
)

// cmdPull downloads real checkpoints (package pull) into the models
// directory, with a progress bar when stderr is a terminal.
func cmdPull(e *env, args []string) error {
	fs := newFlags(e, "pull")
	list := fs.Bool("list", false, "list the known files and which are present")
	dir := fs.String("dir", "", "models directory (default $XDG_DATA_HOME/memwall/models, ~/.local/share/memwall/models)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *list {
		if len(pos) > 0 {
			return fmt.Errorf("%w: --list takes no NAME", errUsage)
		}
		return pullList(e.stdout, *dir)
	}
	if len(pos) == 0 {
		return fmt.Errorf("%w: missing NAME (one of %v; memwall pull --list shows them)", errUsage, pull.Names())
	}
	// Every name is checked before anything is downloaded.
	items := make([]pull.Item, len(pos))
	for i, name := range pos {
		if items[i], err = pull.Lookup(name); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	term := isTerminal(e.stderr)
	for _, it := range items {
		o := pull.Options{Dir: *dir}
		fmt.Fprintf(e.stderr, "pulling %s (%s) from %s\n", it.Name, pull.BytesText(it.Size()), pullSource(it))
		shown := false
		if term {
			o.Progress = func(p pull.Progress) {
				shown = true
				drawProgress(e.stderr, p)
			}
		}
		r, err := pull.Pull(ctx, it.Name, o)
		if shown && err != nil {
			fmt.Fprintln(e.stderr)
		}
		if err != nil {
			return err
		}
		how := fmt.Sprintf("downloaded %s", pull.BytesText(r.Downloaded))
		if r.Resumed > 0 {
			how += fmt.Sprintf(", resumed after %s already on disk", pull.BytesText(r.Resumed))
		}
		if r.AlreadyPresent {
			how = "already present, checked"
		}
		fmt.Fprintf(e.stdout, "%s: %s (%d bytes, %s)\nSHA-256 %s\n", r.Name, r.Path, r.Size, how, r.SHA256)
	}
	return nil
}

// drawProgress redraws the terminal's current line with p; the last
// report ends the line.
func drawProgress(w io.Writer, p pull.Progress) {
	fmt.Fprintf(w, "\r\033[K%s %s", p.Name, p.Line(30))
	if p.Finished {
		fmt.Fprintln(w)
	}
}

func pullSource(it pull.Item) string {
	if b := os.Getenv(pull.BaseURLEnv); b != "" {
		return b + " ($" + pull.BaseURLEnv + ")"
	}
	return it.URL
}

func pullList(w io.Writer, dir string) error {
	if dir == "" {
		dir = pull.DefaultDir()
	}
	fmt.Fprintf(w, "models directory: %s\n\n", dir)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "name\tstate\tbytes\twhat")
	for _, st := range pull.List(dir) {
		state := "not present"
		switch {
		case st.Present:
			state = "present"
		case st.Partial > 0:
			state = fmt.Sprintf("partial (%s; pull resumes)", pull.BytesText(st.Partial))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", st.Name, state, st.Size(), st.What)
	}
	for _, f := range builtin.Files() {
		fmt.Fprintf(tw, "%s\tbuilt in\t%d\t%s\n", f.Name, f.Size, f.What)
	}
	return tw.Flush()
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
