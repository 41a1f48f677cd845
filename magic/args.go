package magic

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// word is one shell-like word of a magic's argument line: its text with
// quotes removed and escapes applied, and the byte range it came from.
type word struct {
	text       string
	start, end int
	quoted     bool
}

// errOpenQuote is returned for an argument line that ends inside quotes
// (IsComplete reports such a cell as incomplete).
var errOpenQuote = errors.New("unterminated quote")

// splitWords splits s into words at unquoted white space. Single quotes
// keep everything literally; double quotes understand \" \\ \n \t; outside
// quotes a backslash escapes the next character.
func splitWords(s string) ([]word, error) {
	var out []word
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		w := word{start: i}
		var b strings.Builder
		for i < len(s) && !isSpace(s[i]) {
			switch c := s[i]; c {
			case '\'':
				w.quoted = true
				j := strings.IndexByte(s[i+1:], '\'')
				if j < 0 {
					return out, fmt.Errorf("%w: the ' at column %d is never closed", errOpenQuote, i+1)
				}
				b.WriteString(s[i+1 : i+1+j])
				i += j + 2
			case '"':
				w.quoted = true
				open := i
				i++
				closed := false
				for i < len(s) {
					if s[i] == '"' {
						closed = true
						i++
						break
					}
					if s[i] == '\\' && i+1 < len(s) {
						switch e := s[i+1]; e {
						case 'n':
							b.WriteByte('\n')
						case 't':
							b.WriteByte('\t')
						case '"', '\\':
							b.WriteByte(e)
						default:
							b.WriteByte('\\')
							b.WriteByte(e)
						}
						i += 2
						continue
					}
					b.WriteByte(s[i])
					i++
				}
				if !closed {
					return out, fmt.Errorf("%w: the \" at column %d is never closed", errOpenQuote, open+1)
				}
			case '\\':
				if i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
				} else {
					i++
				}
			default:
				b.WriteByte(c)
				i++
			}
		}
		w.text, w.end = b.String(), i
		out = append(out, w)
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// flagKind is the type of a flag's value.
type flagKind int

const (
	boolFlag flagKind = iota
	intFlag
	floatFlag
	stringFlag
)

// flagSpec describes one flag of a magic.
type flagSpec struct {
	name  string // long name without dashes
	short string // one-letter short name, or ""
	kind  flagKind
	arg   string // value placeholder for help, e.g. "N"
	help  string
	// values completes the flag's value (hooks, variants, shapes, paths).
	values valueSource
}

// valueSource names what a flag value or positional argument is, for
// completion.
type valueSource int

const (
	noValues valueSource = iota
	hookValues
	variantValues
	shapeValues
	pathValues
	tensorValues
	layoutValues
	stepValues
)

// args is a parsed argument line.
type args struct {
	spec  *magicSpec
	vals  map[string]string // flag name → raw value ("true" for booleans)
	pos   []word            // positional words
	text  string            // for text magics: the raw rest of the line
	hasTx bool
}

// parseArgs parses line (what follows the magic's name) against spec.
func parseArgs(spec *magicSpec, line string) (*args, error) {
	words, err := splitWords(line)
	if err != nil {
		return nil, usagef(spec.usage(), "%v", err)
	}
	a := &args{spec: spec, vals: map[string]string{}}
	flagsDone := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		isFlag := !flagsDone && !w.quoted && len(w.text) > 1 && w.text[0] == '-' && !isNumber(w.text)
		if !w.quoted && w.text == "--" && !flagsDone {
			flagsDone = true
			if spec.text {
				if i+1 < len(words) {
					a.setText(line, words[i+1:])
				}
				return a, a.check()
			}
			continue
		}
		if !isFlag {
			if spec.text {
				a.setText(line, words[i:])
				return a, a.check()
			}
			a.pos = append(a.pos, w)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(w.text, "-"), "=")
		f := spec.flag(name, strings.HasPrefix(w.text, "--"))
		if f == nil {
			return nil, usagef(spec.usage(), "unknown flag %s%s; %%%s takes %s", w.text, didYouMean(nearest(name, spec.flagNames(), 2), "--"), spec.name, spec.flagList())
		}
		if f.kind == boolFlag {
			if hasValue {
				if _, err := strconv.ParseBool(value); err != nil {
					return nil, usagef(spec.usage(), "--%s is a switch: expected true or false after =, got %q", f.name, value)
				}
			} else {
				value = "true"
			}
		} else if !hasValue {
			if i+1 >= len(words) {
				return nil, usagef(spec.usage(), "--%s expects a value (%s)", f.name, f.arg)
			}
			i++
			value = words[i].text
		}
		switch f.kind {
		case intFlag:
			if _, err := strconv.Atoi(value); err != nil {
				return nil, usagef(spec.usage(), "--%s expects an integer, got %q", f.name, value)
			}
		case floatFlag:
			if v, err := strconv.ParseFloat(value, 64); err != nil || v != v {
				return nil, usagef(spec.usage(), "--%s expects a number, got %q", f.name, value)
			}
		}
		a.vals[f.name] = value
	}
	return a, a.check()
}

// setText takes the raw line from the first of rest on as the text; a
// single quoted word is unquoted.
func (a *args) setText(line string, rest []word) {
	a.hasTx = true
	if len(rest) == 1 && rest[0].quoted {
		a.text = rest[0].text
		return
	}
	a.text = strings.TrimSpace(line[rest[0].start:])
}

// check enforces the spec's positional argument count.
func (a *args) check() error {
	s := a.spec
	if s.text {
		return nil
	}
	if len(a.pos) > s.maxPos && s.maxPos >= 0 {
		extra := a.pos[s.maxPos].text
		if s.maxPos == 0 {
			return usagef(s.usage(), "%%%s takes no positional arguments, got %q", s.name, extra)
		}
		return usagef(s.usage(), "too many arguments: unexpected %q", extra)
	}
	if len(a.pos) < s.minPos {
		return usagef(s.usage(), "missing argument: expected %s", s.posNames)
	}
	return nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func (a *args) has(name string) bool { _, ok := a.vals[name]; return ok }

func (a *args) bool(name string) bool { v, _ := strconv.ParseBool(a.vals[name]); return v }

func (a *args) str(name, def string) string {
	if v, ok := a.vals[name]; ok {
		return v
	}
	return def
}

func (a *args) int(name string, def int) int {
	if v, ok := a.vals[name]; ok {
		n, _ := strconv.Atoi(v)
		return n
	}
	return def
}

func (a *args) float(name string, def float64) float64 {
	if v, ok := a.vals[name]; ok {
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return def
}

// arg returns positional argument i or def.
func (a *args) arg(i int, def string) string {
	if i < len(a.pos) {
		return a.pos[i].text
	}
	return def
}

// intList parses a comma-separated list of integers.
func (a *args) intList(name string, def []int) ([]int, error) {
	v, ok := a.vals[name]
	if !ok {
		return def, nil
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, usagef(a.spec.usage(), "--%s expects a comma-separated list of integers, got %q", name, v)
		}
		out = append(out, n)
	}
	return out, nil
}

// strList parses a comma-separated list.
func (a *args) strList(name string) []string {
	v, ok := a.vals[name]
	if !ok {
		return nil
	}
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
