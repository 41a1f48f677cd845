package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"unicode/utf8"
)

// executor handles shell requests one at a time, in order.
func (k *kernel) executor() {
	for {
		m, ok := k.queue.pop(k.ctx)
		if !ok {
			return
		}
		if k.abort > 0 {
			k.abort--
			if m.Header.MsgType == "execute_request" {
				k.status(m, "busy")
				k.reply(k.shell, m, map[string]any{"status": "aborted"})
				k.status(m, "idle")
				continue
			}
		}
		k.setParent(m)
		k.status(m, "busy")
		k.handleShell(m)
		k.status(m, "idle")
	}
}

// handleShell handles one shell message.
func (k *kernel) handleShell(m *message) {
	defer k.recoverRequest(k.shell, m)
	switch m.Header.MsgType {
	case "execute_request":
		k.execute(m)
	case "kernel_info_request":
		k.reply(k.shell, m, k.kernelInfo())
	case "complete_request":
		k.complete(m)
	case "inspect_request":
		k.inspect(m)
	case "is_complete_request":
		k.isComplete(m)
	case "history_request":
		k.historyRequest(m)
	case "comm_info_request":
		k.commInfo(k.shell, m)
	case "comm_open", "comm_msg", "comm_close":
		k.handleComm(m)
	default:
		k.unknown(k.shell, m)
	}
}

type executeRequest struct {
	Code            string         `json:"code"`
	Silent          bool           `json:"silent"`
	StoreHistory    *bool          `json:"store_history"`
	UserExpressions map[string]any `json:"user_expressions"`
	AllowStdin      *bool          `json:"allow_stdin"`
	StopOnError     *bool          `json:"stop_on_error"`
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func (k *kernel) execute(m *message) {
	var req executeRequest
	if err := json.Unmarshal(m.Content, &req); err != nil {
		k.replyError(k.shell, m, "BadRequest", "execute_request: "+err.Error())
		return
	}
	blank := strings.TrimSpace(req.Code) == ""
	store := !req.Silent && boolOr(req.StoreHistory, true) && !blank
	stopOnError := boolOr(req.StopOnError, true)
	if store {
		k.execCount++
	}
	count := k.execCount
	if !req.Silent {
		// Every subscriber gets the echo: a 50 MB cell is echoed as its
		// first 64 KiB, as the history keeps it.
		k.publish(m, "execute_input", map[string]any{"code": clipHistory(req.Code), "execution_count": count})
	}

	var (
		err    error
		output string
	)
	if !blank {
		output, err = k.run(m, req, count)
	}
	if store {
		k.history = append(k.history, histEntry{line: count, input: clipHistory(req.Code), output: clipHistory(output)})
	}
	if err != nil {
		ename, evalue, tb := DescribeError(err)
		if !req.Silent {
			k.publish(m, "error", map[string]any{"ename": ename, "evalue": evalue, "traceback": tb})
		}
		c := errorContent(ename, evalue, tb)
		c["execution_count"] = count
		if stopOnError {
			// Abort what is queued now, before the client sees the reply
			// and sends more.
			k.abort = k.queue.len()
		}
		k.reply(k.shell, m, c)
		return
	}
	k.reply(k.shell, m, map[string]any{
		"status":           "ok",
		"execution_count":  count,
		"payload":          []any{},
		"user_expressions": k.userExpressions(req.UserExpressions),
	})
}

// run calls Interpreter.Execute with a cancellable context and an Output.
// It returns the text/plain of the last result and Execute's error.
func (k *kernel) run(m *message, req executeRequest, count int) (string, error) {
	out := &cellOutput{k: k, parent: m, count: count, silent: req.Silent, allowStdin: boolOr(req.AllowStdin, true)}
	err := k.guarded(out, func(ctx context.Context) error {
		return k.interp.Execute(ctx, req.Code, out)
	}, "panic in Interpreter.Execute")
	return out.lastResult, err
}

// guarded runs f, the Interpreter's code, on the executor: with a context
// that an interrupt cancels, a panic recovered as a panicError (and logged
// as what, with args), out closed when f returns, and an error that
// follows an interrupt marked as one.
func (k *kernel) guarded(out *cellOutput, f func(ctx context.Context) error, what string, args ...any) error {
	ctx, cancel := context.WithCancelCause(k.ctx)
	defer cancel(nil)
	k.runMu.Lock()
	k.runCancel = cancel
	k.runMu.Unlock()

	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				stack := string(debug.Stack())
				k.log.Error(what, append(args, "panic", v, "stack", stack)...)
				err = panicError{value: v, stack: stack}
			}
		}()
		return f(ctx)
	}()
	out.close()

	k.runMu.Lock()
	k.runCancel = nil
	k.runMu.Unlock()
	if err != nil && errors.Is(context.Cause(ctx), ErrInterrupted) {
		err = interruptedError{err}
	}
	return err
}

type panicError struct {
	value any
	stack string
}

func (e panicError) Error() string { return fmt.Sprint(e.value) }
func (e panicError) Name() string  { return "Panic" }
func (e panicError) Traceback() []string {
	tb := []string{"panic: " + e.Error(), ""}
	return append(tb, strings.Split(strings.TrimRight(e.stack, "\n"), "\n")...)
}

type interruptedError struct{ err error }

func (e interruptedError) Error() string { return "interrupted" }
func (e interruptedError) Unwrap() error { return e.err }

// DescribeError gives the ename, evalue and traceback with which the
// kernel reports err: the Name and Traceback of err or of an error it
// wraps where they have them (a panic in either is ignored), "Error" and
// a one-line traceback where not, and InterruptedName for a cell or
// handler the user interrupted. Code that shows errors elsewhere (a
// widget's Output) uses it to show them as a cell would.
func DescribeError(err error) (ename, evalue string, tb []string) {
	var ie interruptedError
	if errors.As(err, &ie) {
		return InterruptedName, "interrupted", []string{InterruptedName + ": interrupted"}
	}
	ename = "Error"
	var n interface{ Name() string }
	if errors.As(err, &n) {
		func() {
			defer func() { recover() }()
			if s := n.Name(); s != "" {
				ename = s
			}
		}()
	}
	evalue = err.Error()
	var t interface{ Traceback() []string }
	if errors.As(err, &t) {
		func() {
			defer func() { recover() }()
			tb = t.Traceback()
		}()
	}
	if tb == nil {
		tb = []string{ename + ": " + evalue}
	}
	return ename, evalue, tb
}

func (k *kernel) userExpressions(exprs map[string]any) map[string]any {
	res := map[string]any{}
	if len(exprs) == 0 {
		return res
	}
	ev, ok := k.interp.(ExpressionEvaluator)
	for name, e := range exprs {
		expr, isStr := e.(string)
		switch {
		case !isStr:
			res[name] = errorContent("TypeError", "user expression must be a string", nil)
		case !ok:
			res[name] = errorContent("NotImplementedError", "this kernel does not evaluate user_expressions", nil)
		default:
			b, err := func() (b Bundle, err error) {
				defer func() {
					if v := recover(); v != nil {
						err = panicError{value: v}
					}
				}()
				return ev.EvaluateExpression(k.ctx, expr)
			}()
			if err != nil {
				en, evl, tb := DescribeError(err)
				res[name] = errorContent(en, evl, tb)
				continue
			}
			res[name] = map[string]any{"status": "ok", "data": bundleData(b), "metadata": bundleMetadata(b)}
		}
	}
	return res
}

func bundleData(b Bundle) map[string]any {
	if b.Data == nil {
		return map[string]any{}
	}
	return b.Data
}

func bundleMetadata(b Bundle) map[string]any {
	if b.Metadata == nil {
		return map[string]any{}
	}
	return b.Metadata
}

// ---- completion, inspection ----

// runeToByte converts a code point offset into a byte offset of s,
// clamping to [0, len(s)].
func runeToByte(s string, r int) int {
	if r <= 0 {
		return 0
	}
	n := 0
	for i := range s {
		if n == r {
			return i
		}
		n++
	}
	return len(s)
}

// byteToRune converts a byte offset into a code point offset of s,
// clamping to [0, len(s)] and rounding down to a rune boundary.
func byteToRune(s string, b int) int {
	if b <= 0 {
		return 0
	}
	if b > len(s) {
		b = len(s)
	}
	for b > 0 && b < len(s) && !utf8.RuneStart(s[b]) {
		b--
	}
	return utf8.RuneCountInString(s[:b])
}

type cursorRequest struct {
	Code        string `json:"code"`
	CursorPos   *int   `json:"cursor_pos"`
	DetailLevel int    `json:"detail_level"`
}

func (k *kernel) parseCursor(m *message) (cursorRequest, int, bool) {
	var req cursorRequest
	if err := json.Unmarshal(m.Content, &req); err != nil {
		k.replyError(k.shell, m, "BadRequest", m.Header.MsgType+": "+err.Error())
		return req, 0, false
	}
	pos := len(req.Code)
	if req.CursorPos != nil {
		pos = runeToByte(req.Code, *req.CursorPos)
	}
	return req, pos, true
}

func (k *kernel) complete(m *message) {
	req, pos, ok := k.parseCursor(m)
	if !ok {
		return
	}
	matches, start, end := k.interp.Complete(req.Code, pos)
	if matches == nil {
		matches = []string{}
	}
	start, end = max(0, min(start, len(req.Code))), max(0, min(end, len(req.Code)))
	if start > end {
		start = end
	}
	k.reply(k.shell, m, map[string]any{
		"status":       "ok",
		"matches":      matches,
		"cursor_start": byteToRune(req.Code, start),
		"cursor_end":   byteToRune(req.Code, end),
		"metadata":     map[string]any{},
	})
}

func (k *kernel) inspect(m *message) {
	req, pos, ok := k.parseCursor(m)
	if !ok {
		return
	}
	b, found := k.interp.Inspect(req.Code, pos, req.DetailLevel)
	if !found {
		b = Bundle{}
	}
	k.reply(k.shell, m, map[string]any{
		"status":   "ok",
		"found":    found,
		"data":     bundleData(b),
		"metadata": bundleMetadata(b),
	})
}

func (k *kernel) isComplete(m *message) {
	var req struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(m.Content, &req); err != nil {
		k.replyError(k.shell, m, "BadRequest", "is_complete_request: "+err.Error())
		return
	}
	status, indent := k.interp.IsComplete(req.Code)
	switch status {
	case "complete", "invalid", "unknown":
		k.reply(k.shell, m, map[string]any{"status": status})
	case "incomplete":
		k.reply(k.shell, m, map[string]any{"status": status, "indent": indent})
	default:
		k.reply(k.shell, m, map[string]any{"status": "unknown"})
	}
}

// MaxHistoryEntry bounds the bytes of one input (or output) the history
// keeps, and of the execute_input echo: a 50 MB cell is answered, but not
// kept for the kernel's lifetime nor sent back to every client.
const MaxHistoryEntry = 64 << 10

func clipHistory(s string) string {
	if len(s) <= MaxHistoryEntry {
		return s
	}
	cut := MaxHistoryEntry
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n… (%d more bytes not kept in the history)", len(s)-cut)
}
