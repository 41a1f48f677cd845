package magic

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseCell feeds arbitrary cells to the cell parser, the argument
// parser of every magic they name, and the editor helpers (IsComplete,
// Complete, Inspect) that run on every keystroke. None may panic; parse
// errors must be *Error values naming a line of the cell; word ranges must
// lie inside the argument line in order.
func FuzzParseCell(f *testing.F) {
	for _, seed := range []string{
		"", "Once upon a time", "%load --shape stories260K", "%%generate -n 5\nOnce",
		"%generate -n 20 -t 0.8 --seed=3 -- --not a flag", "%attention --layer 1 --head 0",
		"# comment\n%tokens 'quoted' \"dq \\\" \\n\" back\\ slash", "%%time\n%generate -n 2 x",
		"%save blocks.0.hook_resid_post out.npy", "%", "%%", "%% x", "%generate \"open",
		"%load 'open", "text\n%magic", "%load\n%%generate", "%ablate --layer 0 --head 0,1",
		"%step\n%step next", "%variant scalar\n%threads 2", "\x00%\xff", "%generate -n -1",
		"%lens --positions 1,2,x", "%%tokens\n\n", "%help generate", "%weights blocks.0.attn.wq",
	} {
		f.Add(seed, uint16(len(seed)))
	}
	interp := New(Options{WorkDir: f.TempDir(), CacheDir: f.TempDir()})
	f.Fuzz(func(t *testing.T, code string, cursor uint16) {
		nLines := strings.Count(code, "\n") + 1
		stmts, err := parseCell(code, 0)
		if err != nil {
			var me *Error
			if !errors.As(err, &me) || me.Line < 1 || me.Line > nLines || err.Error() == "" {
				t.Fatalf("parseCell(%q): error %#v", code, err)
			}
		}
		for _, st := range stmts {
			if st.line < 1 || st.line > nLines {
				t.Fatalf("statement on line %d of a %d-line cell", st.line, nLines)
			}
			if st.prompt {
				continue
			}
			checkWords(t, st.rest)
			if spec, ok := registry[st.name]; ok {
				a, err := parseArgs(spec, st.rest)
				if err != nil {
					if err.Error() == "" {
						t.Fatal("empty error")
					}
					continue
				}
				// The accessors handlers use must not panic on what parsed.
				for _, fl := range spec.flags {
					a.has(fl.name)
					a.str(fl.name, "")
					a.int(fl.name, 0)
					a.float(fl.name, 0)
					a.bool(fl.name)
					a.intList(fl.name, nil)
					a.strList(fl.name)
				}
				for i := 0; i <= len(a.pos); i++ {
					a.arg(i, "")
				}
			}
		}
		switch st, _ := interp.IsComplete(code); st {
		case "complete", "incomplete", "invalid", "unknown":
		default:
			t.Fatalf("IsComplete status %q", st)
		}
		// The kernel hands Complete and Inspect a byte offset on a rune
		// boundary.
		pos := min(int(cursor), len(code))
		for pos > 0 && pos < len(code) && !utf8.RuneStart(code[pos]) {
			pos--
		}
		if strings.Contains(code, "/") {
			// Completing paths reads directories; stay inside WorkDir.
			return
		}
		_, start, end := interp.Complete(code, pos)
		if start < 0 || end > len(code) || start > end {
			t.Fatalf("Complete(%q, %d): range [%d, %d)", code, pos, start, end)
		}
		interp.Inspect(code, pos, 0)
		interp.Inspect(code, pos, 1)
	})
}

func checkWords(t *testing.T, s string) {
	t.Helper()
	words, err := splitWords(s)
	if err != nil && !errors.Is(err, errOpenQuote) {
		t.Fatalf("splitWords(%q): %v", s, err)
	}
	prev := 0
	for _, w := range words {
		if w.start < prev || w.end < w.start || w.end > len(s) {
			t.Fatalf("splitWords(%q): word %+v out of order or range", s, w)
		}
		prev = w.end
		raw := s[w.start:w.end]
		if !strings.ContainsAny(raw, "'\"\\") && w.text != raw {
			t.Fatalf("splitWords(%q): plain word %q became %q", s, raw, w.text)
		}
		if strings.ContainsAny(raw, " \t\r\n") && !w.quoted && !strings.Contains(raw, "\\") {
			t.Fatalf("splitWords(%q): unquoted word %q holds white space", s, raw)
		}
	}
}
