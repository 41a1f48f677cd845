package magic

import (
	"errors"
	"fmt"
	"github.com/memwall/memwall/internal/suggest"
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

// nearest returns up to n candidates close to s, closest first.
func nearest(s string, candidates []string, n int) []string {
	return suggest.Nearest(s, candidates, n)
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
