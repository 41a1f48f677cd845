package magic

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a failed magic: the cell line it is on (1-based, 0 when not
// known), the magic's name and what went wrong. The kernel shows it as
// "MagicError: line 2: ...".
type Error struct {
	Line  int
	Magic string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Magic != "" {
		fmt.Fprintf(&b, "%%%s: ", e.Magic)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Name is the error name the notebook shows.
func (e *Error) Name() string { return "MagicError" }

// Traceback is what the notebook prints under the error: the message and,
// for usage mistakes, the magic's usage line.
func (e *Error) Traceback() []string {
	tb := []string{"MagicError: " + e.Error()}
	var u *usageError
	if errors.As(e.Err, &u) && u.usage != "" {
		tb = append(tb, "usage: "+u.usage)
	}
	return tb
}

// usageError is a mistake in how a magic was called; it carries the usage
// line to show with it.
type usageError struct {
	msg   string
	usage string
}

func (e *usageError) Error() string { return e.msg }

func usagef(usage, format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), usage: usage}
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// nearest returns up to n candidates close to s: those within an edit
// distance of about a third of its length (at least 2), or sharing its
// prefix, closest first.
func nearest(s string, candidates []string, n int) []string {
	type scored struct {
		name string
		d    int
	}
	limit := max(2, len(s)/3)
	var out []scored
	for _, c := range candidates {
		d := editDistance(s, c)
		if d <= limit || (len(s) >= 3 && strings.HasPrefix(c, s)) {
			out = append(out, scored{c, d})
		}
	}
	// Insertion sort: candidate lists are short.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].d < out[j-1].d; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	var names []string
	for i := 0; i < len(out) && i < n; i++ {
		names = append(names, out[i].name)
	}
	return names
}

// didYouMean formats suggestions as " (did you mean X or Y?)", or "".
func didYouMean(names []string, prefix string) string {
	if len(names) == 0 {
		return ""
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = prefix + n
	}
	return " (did you mean " + strings.Join(q, " or ") + "?)"
}
