package kernel

import (
	"encoding/json"
	"unicode/utf8"
)

// The kernel keeps the inputs (and text/plain results) of the cells that
// stored history, in memory, as session number historySession.
const historySession = 1

type histEntry struct {
	line   int
	input  string
	output string
}

type historyRequest struct {
	Output         bool   `json:"output"`
	Raw            bool   `json:"raw"`
	HistAccessType string `json:"hist_access_type"`
	Session        int    `json:"session"`
	Start          int    `json:"start"`
	Stop           *int   `json:"stop"`
	N              *int   `json:"n"`
	Pattern        string `json:"pattern"`
	Unique         bool   `json:"unique"`
}

func (k *kernel) historyRequest(m *message) {
	var req historyRequest
	if err := json.Unmarshal(m.Content, &req); err != nil {
		k.replyError(k.shell, m, "BadRequest", "history_request: "+err.Error())
		return
	}
	entries := queryHistory(k.history, req)
	out := make([]any, 0, len(entries))
	for _, e := range entries {
		if req.Output {
			var o any
			if e.output != "" {
				o = e.output
			}
			out = append(out, []any{historySession, e.line, []any{e.input, o}})
		} else {
			out = append(out, []any{historySession, e.line, e.input})
		}
	}
	k.reply(k.shell, m, map[string]any{"status": "ok", "history": out})
}

// queryHistory selects entries of h as IPython's history manager does:
//   - tail: the last n entries (n defaults to 10);
//   - range: lines start <= line < stop of the current session (session 0,
//     a negative session counting back from the current one is not kept,
//     or historySession); stop absent or 0 means to the end;
//   - search: entries whose input matches the glob pattern (*, ?, [...]),
//     the last n if n is given.
//
// unique drops repeated inputs, keeping the latest.
func queryHistory(h []histEntry, req historyRequest) []histEntry {
	var sel []histEntry
	switch req.HistAccessType {
	case "tail":
		n := 10
		if req.N != nil {
			n = *req.N
		}
		sel = tail(h, n)
	case "range":
		if req.Session != 0 && req.Session != historySession {
			return nil
		}
		for _, e := range h {
			if e.line >= req.Start && (req.Stop == nil || *req.Stop <= 0 || e.line < *req.Stop) {
				sel = append(sel, e)
			}
		}
	case "search":
		pattern := req.Pattern
		if pattern == "" {
			pattern = "*"
		}
		for _, e := range h {
			if globMatch(pattern, e.input) {
				sel = append(sel, e)
			}
		}
		if req.N != nil && *req.N > 0 {
			sel = tail(sel, *req.N)
		}
	default:
		return nil
	}
	if req.Unique {
		sel = uniqueLatest(sel)
	}
	return sel
}

func tail(h []histEntry, n int) []histEntry {
	if n < 0 {
		n = 0
	}
	if n > len(h) {
		n = len(h)
	}
	return append([]histEntry(nil), h[len(h)-n:]...)
}

func uniqueLatest(h []histEntry) []histEntry {
	seen := map[string]bool{}
	var rev []histEntry
	for i := len(h) - 1; i >= 0; i-- {
		if !seen[h[i].input] {
			seen[h[i].input] = true
			rev = append(rev, h[i])
		}
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// globMatch matches s against a glob pattern with SQLite GLOB semantics
// (what IPython's history search uses): '*' matches any run of characters
// (newlines included), '?' one character, '[abc]', '[a-z]' and '[^abc]'
// a character class; matching is case sensitive and covers the whole s.
func globMatch(pattern, s string) bool {
	// Iterative matching with backtracking on the last '*'.
	px, sx := 0, 0
	starP, starS := -1, -1
	for sx < len(s) {
		if px < len(pattern) {
			switch pattern[px] {
			case '*':
				starP, starS = px, sx
				px++
				continue
			case '?':
				_, w := utf8.DecodeRuneInString(s[sx:])
				px++
				sx += w
				continue
			case '[':
				r, w := utf8.DecodeRuneInString(s[sx:])
				if ok, plen := matchClass(pattern[px:], r); plen > 0 {
					if ok {
						px += plen
						sx += w
						continue
					}
				} else if s[sx] == '[' { // unterminated class: literal '['
					px++
					sx++
					continue
				}
			default:
				pr, pw := utf8.DecodeRuneInString(pattern[px:])
				r, w := utf8.DecodeRuneInString(s[sx:])
				if pr == r {
					px += pw
					sx += w
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		px, sx = starP+1, starS
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// matchClass matches r against the class at the start of p ("[...]"). It
// returns plen=0 if the class is not terminated.
func matchClass(p string, r rune) (ok bool, plen int) {
	i := 1
	negate := false
	if i < len(p) && p[i] == '^' {
		negate = true
		i++
	}
	first := true
	for i < len(p) {
		if p[i] == ']' && !first {
			return ok != negate, i + 1
		}
		first = false
		lo, w := utf8.DecodeRuneInString(p[i:])
		i += w
		hi := lo
		if i+1 < len(p) && p[i] == '-' && p[i+1] != ']' {
			hi, w = utf8.DecodeRuneInString(p[i+1:])
			i += 1 + w
		}
		if lo <= r && r <= hi {
			ok = true
		}
	}
	return false, 0
}
