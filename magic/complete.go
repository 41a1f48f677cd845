package magic

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/builtin"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
	"github.com/memwall/memwall/kernel"
)

// lineAt returns the line of code holding byte offset pos: its start
// offset and text.
func lineAt(code string, pos int) (int, string) {
	pos = max(0, min(pos, len(code)))
	start := strings.LastIndexByte(code[:pos], '\n') + 1
	end := strings.IndexByte(code[pos:], '\n')
	if end < 0 {
		end = len(code)
	} else {
		end += pos
	}
	return start, code[start:end]
}

// magicOnLine parses "%name" or "%%name" at the start of a line (after
// blanks): the name, where it starts in the line, and where the
// arguments start.
func magicOnLine(line string) (name string, nameStart, argsStart int, ok bool) {
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i >= len(line) || line[i] != '%' {
		return "", 0, 0, false
	}
	i++
	if i < len(line) && line[i] == '%' {
		i++
	}
	j := i
	for j < len(line) && line[j] != ' ' && line[j] != '\t' {
		j++
	}
	return line[i:j], i, j, true
}

// Complete implements kernel.Interpreter: magic names, the flags of the
// magic at the cursor, and values (hook names, variants, shapes, layouts,
// tensors, file paths) where the magic or flag takes them.
func (s *Interpreter) Complete(code string, cursor int) (matches []string, start, end int) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in Complete", "panic", r)
			matches, start, end = nil, cursor, cursor
		}
	}()
	cursor = max(0, min(cursor, len(code)))
	ls, line := lineAt(code, cursor)
	col := cursor - ls
	name, ns, as, ok := magicOnLine(line)
	if !ok {
		return nil, cursor, cursor
	}
	if col < ns {
		return nil, cursor, cursor
	}
	if col <= as {
		var out []string
		prefix := line[ns:col]
		for _, n := range magicNames() {
			if strings.HasPrefix(n, prefix) {
				out = append(out, n)
			}
		}
		return out, ls + ns, ls + as
	}
	spec, ok := registry[name]
	if !ok {
		return nil, cursor, cursor
	}
	// The word under the cursor and the words before it.
	before := line[as:col]
	words, _ := splitWords(before)
	cur := ""
	curStart := col
	if len(before) > 0 && !isSpace(before[len(before)-1]) && len(words) > 0 {
		last := words[len(words)-1]
		cur = last.text
		curStart = as + last.start
		words = words[:len(words)-1]
	}
	// A flag with = : complete its value.
	if strings.HasPrefix(cur, "--") && strings.Contains(cur, "=") {
		fname, val, _ := strings.Cut(cur[2:], "=")
		if f := spec.flag(fname, true); f != nil {
			m := s.values(f.values, val)
			return m, ls + curStart + len(fname) + 3, cursor
		}
	}
	if strings.HasPrefix(cur, "-") {
		var out []string
		for _, f := range spec.flags {
			if strings.HasPrefix("--"+f.name, cur) {
				out = append(out, "--"+f.name)
			}
		}
		return out, ls + curStart, cursor
	}
	// The value of the preceding flag?
	if n := len(words); n > 0 && strings.HasPrefix(words[n-1].text, "-") && !strings.Contains(words[n-1].text, "=") {
		long := strings.HasPrefix(words[n-1].text, "--")
		if f := spec.flag(strings.TrimLeft(words[n-1].text, "-"), long); f != nil && f.kind != boolFlag {
			return s.values(f.values, cur), ls + curStart, cursor
		}
	}
	// A positional argument.
	npos := 0
	for i := 0; i < len(words); i++ {
		w := words[i].text
		if strings.HasPrefix(w, "-") {
			if f := spec.flag(strings.TrimLeft(w, "-"), strings.HasPrefix(w, "--")); f != nil && f.kind != boolFlag && !strings.Contains(w, "=") {
				i++
			}
			continue
		}
		npos++
	}
	src := spec.pos
	if npos > 0 && spec.posLast != noValues {
		src = spec.posLast
	}
	if name == "help" {
		var out []string
		for _, n := range magicNames() {
			if strings.HasPrefix(n, strings.TrimLeft(cur, "%")) {
				out = append(out, n)
			}
		}
		return out, ls + curStart, cursor
	}
	return s.values(src, cur), ls + curStart, cursor
}

// values lists the completions of prefix for a kind of value.
func (s *Interpreter) values(src valueSource, prefix string) []string {
	var cands []string
	switch src {
	case hookValues:
		cands = s.hookNames()
	case variantValues:
		cands = []string{"auto"}
		for _, v := range asm.Variants() {
			cands = append(cands, v.Name)
		}
		// A list value: complete the last element.
		if i := strings.LastIndexByte(prefix, ','); i >= 0 {
			head := prefix[:i+1]
			var out []string
			for _, c := range cands {
				if strings.HasPrefix(c, prefix[i+1:]) {
					out = append(out, head+c)
				}
			}
			return out
		}
	case shapeValues:
		cands = engine.ShapeNames()
	case layoutValues:
		cands = []string{"mapped", "aligned"}
	case stepValues:
		cands = []string{"layer", "op"}
	case tensorValues:
		if s.model != nil {
			for _, t := range s.model.Tensors {
				if !t.Skipped {
					cands = append(cands, t.Name)
				}
			}
		}
	case pathValues:
		return s.paths(prefix)
	default:
		return nil
	}
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// paths completes a file path relative to the working directory; a bare
// prefix also matches model files in the search directories.
func (s *Interpreter) paths(prefix string) []string {
	dir, base := filepath.Split(prefix)
	var out []string
	seen := map[string]bool{}
	add := func(c string) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	list := func(d, show string) {
		ents, err := os.ReadDir(d)
		if err != nil {
			return
		}
		for _, e := range ents {
			n := e.Name()
			if !strings.HasPrefix(n, base) || (strings.HasPrefix(n, ".") && !strings.HasPrefix(base, ".")) {
				continue
			}
			if e.IsDir() {
				n += "/"
			}
			add(show + n)
		}
	}
	list(s.abs(dir+"."), dir)
	if dir == "" {
		for _, d := range s.searchDirs() {
			ents, err := os.ReadDir(d)
			if err != nil {
				continue
			}
			for _, e := range ents {
				if !e.IsDir() && strings.HasSuffix(e.Name(), ".bin") && strings.HasPrefix(e.Name(), base) {
					add(e.Name())
				}
			}
		}
		if !s.opts.NoBuiltin {
			for _, f := range builtin.Files() {
				if strings.HasPrefix(f.Name, base) {
					add(f.Name)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// Inspect implements kernel.Interpreter: the help of the magic on the
// cursor's line.
func (s *Interpreter) Inspect(code string, cursor, detail int) (kernel.Bundle, bool) {
	_, line := lineAt(code, cursor)
	name, _, _, ok := magicOnLine(line)
	if !ok {
		if strings.TrimSpace(code) != "" {
			return toKernel(inspect.Bundle{Text: "A plain-text cell is a prompt: the model continues it (as %%generate). %help lists the magics."}), true
		}
		return kernel.Bundle{}, false
	}
	spec, ok := registry[name]
	if !ok {
		return kernel.Bundle{}, false
	}
	return toKernel(inspect.Bundle{Text: spec.helpText()}), true
}

// IsComplete implements kernel.Interpreter: a cell is incomplete while a
// quote is open or a cell magic has no body yet.
func (s *Interpreter) IsComplete(code string) (string, string) {
	stmts, err := parseCell(code, 0)
	if err != nil {
		return "invalid", ""
	}
	for _, st := range stmts {
		if st.prompt {
			continue
		}
		if _, err := splitWords(st.rest); err != nil {
			return "incomplete", ""
		}
		if st.cell && strings.TrimSpace(st.body) == "" && (st.name == "generate" || st.name == "time" || st.name == "tokens") {
			return "incomplete", ""
		}
	}
	return "complete", ""
}
