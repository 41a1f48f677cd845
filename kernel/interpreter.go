package kernel

import (
	"context"
	"errors"
)

// Bundle is a MIME bundle: the same result in several representations,
// keyed by MIME type ("text/plain", "text/html", "image/png" (base64 text),
// "image/svg+xml", "application/json", ...). Frontends pick the richest one
// they can render. Data should always carry "text/plain" so that every
// frontend (and nbconvert to text) has something to show.
//
// Values must be JSON-marshalable. Metadata is optional per-MIME-type
// metadata (for example {"image/png": {"width": 640}}); nil is sent as {}.
type Bundle struct {
	Data     map[string]any
	Metadata map[string]any
}

// Text returns a Bundle holding only text/plain.
func Text(s string) Bundle {
	return Bundle{Data: map[string]any{"text/plain": s}}
}

// Output is where an executing cell sends what it produces. The kernel turns
// each call into an IOPub message whose parent is the execute_request.
//
// An Output is safe for concurrent use, but the order of messages is the
// order of calls. It is only valid while Execute runs: calls made after
// Execute has returned are dropped. When the request was sent with
// silent=true, every call except Input is a no-op.
type Output interface {
	// Stream appends text to a named stream ("stdout" or "stderr").
	// Text is buffered and coalesced: the kernel publishes it at most about
	// every 50 ms, before any other output (so ordering is kept) and when the
	// cell ends. Text may be split anywhere, even inside a UTF-8 sequence.
	Stream(name, text string)

	// Display publishes display_data. If displayID is not empty it is sent
	// as transient.display_id so that Update can replace the output later.
	Display(b Bundle, displayID string)

	// Update publishes update_display_data: every output displayed earlier
	// with displayID (in any cell) is replaced by b. An empty displayID is
	// ignored.
	Update(b Bundle, displayID string)

	// Clear publishes clear_output. With wait=true the frontend clears only
	// when the next output arrives (avoids flicker in animations).
	Clear(wait bool)

	// Result publishes execute_result, tagged with the cell's execution
	// count (the Out[n] of the notebook).
	Result(b Bundle)

	// Input asks the frontend for a line of text (input_request on the stdin
	// channel) and blocks until the reply arrives or ctx is done. It returns
	// ErrStdinNotAllowed when the frontend does not accept input requests
	// (allow_stdin=false). With password=true the frontend hides the typing.
	Input(ctx context.Context, prompt string, password bool) (string, error)
}

// Interpreter is the language a kernel hosts. The kernel calls Execute for
// one cell at a time, in order, from a single goroutine; Complete, Inspect
// and IsComplete are called from that same goroutine between cells. Info
// may be called from another goroutine at any time (kernel_info_request on
// the control channel) and must be safe for that.
//
// Cursor positions and ranges are byte offsets into code (Go string
// indices), always on UTF-8 boundaries. The kernel converts them from and
// to the Unicode code points of the Jupyter protocol, so implementations can
// slice code[:cursorPos] directly.
//
// A panic in any method is recovered by the kernel and reported as an error
// reply; the kernel keeps serving.
type Interpreter interface {
	// Info describes the kernel and its language for kernel_info_reply.
	Info() KernelInfo

	// Execute runs one cell. ctx is cancelled when the user interrupts the
	// kernel (interrupt_request or SIGINT; context.Cause(ctx) is then
	// ErrInterrupted) or when the kernel shuts down: long work must watch it
	// and return promptly (the kernel waits for Execute to return before the
	// next cell starts).
	//
	// A non-nil error becomes an "error" message on IOPub and an execute
	// reply with status "error". The error name shown is the result of a
	// Name() string method if the error (or one it wraps) has one, "Error"
	// otherwise; the traceback is the result of a Traceback() []string
	// method if present. An error returned after ctx was cancelled by an
	// interrupt is reported as KeyboardInterrupt.
	Execute(ctx context.Context, code string, out Output) error

	// Complete returns completion candidates for the cursor position, and
	// the byte range [start, end) of code that a chosen match replaces.
	Complete(code string, cursorPos int) (matches []string, start, end int)

	// Inspect returns documentation about the object at the cursor.
	// detailLevel is 0 or 1 (more detail). found=false means nothing known.
	Inspect(code string, cursorPos, detailLevel int) (b Bundle, found bool)

	// IsComplete tells a console whether code is ready to run: status is one
	// of "complete", "incomplete", "invalid" or "unknown"; indent is the
	// indentation to use for the next line when status is "incomplete".
	IsComplete(code string) (status, indent string)
}

// ExpressionEvaluator is an optional interface for an Interpreter: when
// implemented, the kernel evaluates the user_expressions of an
// execute_request with it after a successful cell. Without it every
// requested expression is answered with an error entry.
type ExpressionEvaluator interface {
	EvaluateExpression(ctx context.Context, expr string) (Bundle, error)
}

// KernelInfo is what kernel_info_reply says about the kernel.
type KernelInfo struct {
	Implementation        string // kernel implementation name, e.g. "memwall"
	ImplementationVersion string
	Banner                string
	HelpLinks             []HelpLink
	LanguageInfo          LanguageInfo
}

// HelpLink is an entry in the frontend's Help menu.
type HelpLink struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// LanguageInfo is the language_info of kernel_info_reply.
type LanguageInfo struct {
	Name              string // language name, e.g. "memwall"
	Version           string
	MIMEType          string // MIME type of a cell's source, e.g. "text/x-memwall"
	FileExtension     string // including the dot, e.g. ".mw"
	PygmentsLexer     string // optional
	CodeMirrorMode    string // optional
	NbconvertExporter string // optional
}

// ErrInterrupted is the cause (context.Cause) of the cancellation of a
// cell's context when the user interrupts the kernel.
var ErrInterrupted = errors.New("kernel: execution interrupted")

// ErrStdinNotAllowed is returned by Output.Input when the frontend sent the
// execute_request with allow_stdin=false.
var ErrStdinNotAllowed = errors.New("kernel: this frontend does not support input requests")

// InterruptedName is the ename of the error reported for an interrupted cell.
const InterruptedName = "KeyboardInterrupt"
