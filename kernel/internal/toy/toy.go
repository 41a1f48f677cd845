// Package toy is a tiny line-oriented language used to test package kernel:
// each line of a cell is a command that exercises one kind of output.
//
//	echo TEXT          TEXT and a newline on stdout
//	stderr TEXT        TEXT and a newline on stderr
//	tokens N           N stream writes of "tok " (tests coalescing)
//	bytes HEX          raw bytes on stdout (e.g. a UTF-8 rune split in two writes: "bytes e2 82" "bytes ac")
//	display ID HTML    display_data with text/html (and display id ID, "-" for none)
//	update ID HTML     update_display_data for ID
//	clear [wait]       clear_output
//	result TEXT        execute_result
//	fail MSG           returns an error named ToyError with a traceback
//	plainerr MSG       returns a plain Go error
//	panic MSG          panics
//	input PROMPT       asks for input, then echoes "got: VALUE"
//	password PROMPT    same, hidden
//	sleep DURATION     waits, cancellable
//	spin               busy loop until cancelled (checks ctx.Err())
//	ignore DURATION    sleeps without watching the context
package toy

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/memwall/memwall/kernel"
)

// Interp is the toy interpreter. The zero value is ready to use.
type Interp struct{}

var commands = []string{"bytes", "clear", "display", "echo", "fail", "ignore", "input", "panic",
	"password", "plainerr", "result", "sleep", "spin", "stderr", "tokens", "update"}

// Info implements kernel.Interpreter.
func (Interp) Info() kernel.KernelInfo {
	return kernel.KernelInfo{
		Implementation:        "toy",
		ImplementationVersion: "0.1",
		Banner:                "toy kernel for testing package kernel",
		HelpLinks:             []kernel.HelpLink{{Text: "Jupyter", URL: "https://jupyter.org"}},
		LanguageInfo: kernel.LanguageInfo{
			Name: "toy", Version: "0.1", MIMEType: "text/x-toy", FileExtension: ".toy",
		},
	}
}

// ToyError is the error of the fail command.
type ToyError struct{ Msg string }

func (e *ToyError) Error() string { return e.Msg }

// Name implements the kernel's error naming.
func (e *ToyError) Name() string { return "ToyError" }

// Traceback implements the kernel's traceback.
func (e *ToyError) Traceback() []string {
	return []string{"Traceback (toy):", "  line 1: fail", "ToyError: " + e.Msg}
}

// Execute implements kernel.Interpreter.
func (Interp) Execute(ctx context.Context, code string, out kernel.Output) error {
	for _, line := range strings.Split(code, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cmd, arg, _ := strings.Cut(line, " ")
		switch cmd {
		case "echo":
			out.Stream("stdout", arg+"\n")
		case "stderr":
			out.Stream("stderr", arg+"\n")
		case "tokens":
			n, _ := strconv.Atoi(arg)
			for i := 0; i < n; i++ {
				out.Stream("stdout", "tok ")
			}
		case "bytes":
			b, err := hex.DecodeString(strings.ReplaceAll(arg, " ", ""))
			if err != nil {
				return err
			}
			out.Stream("stdout", string(b))
		case "display", "update":
			id, html, _ := strings.Cut(arg, " ")
			if id == "-" {
				id = ""
			}
			b := kernel.Bundle{Data: map[string]any{"text/plain": html, "text/html": "<b>" + html + "</b>"},
				Metadata: map[string]any{"toy": true}}
			if cmd == "display" {
				out.Display(b, id)
			} else {
				out.Update(b, id)
			}
		case "clear":
			out.Clear(arg == "wait")
		case "result":
			out.Result(kernel.Text(arg))
		case "fail":
			return &ToyError{Msg: arg}
		case "plainerr":
			return errors.New(arg)
		case "panic":
			panic(arg)
		case "input", "password":
			v, err := out.Input(ctx, arg, cmd == "password")
			if err != nil {
				return err
			}
			out.Stream("stdout", "got: "+v+"\n")
		case "sleep", "ignore":
			d, err := time.ParseDuration(arg)
			if err != nil {
				return err
			}
			if cmd == "ignore" {
				time.Sleep(d)
				continue
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		case "spin":
			x := 0
			for ctx.Err() == nil {
				for i := 0; i < 10000; i++ {
					x += i
				}
			}
			_ = x
			return ctx.Err()
		default:
			return fmt.Errorf("unknown command %q", cmd)
		}
	}
	return nil
}

// word returns the byte range of the identifier around cursor.
func word(code string, cursor int) (start, end int) {
	isWord := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	start = cursor
	for start > 0 && isWord(code[start-1]) {
		start--
	}
	end = cursor
	for end < len(code) && isWord(code[end]) {
		end++
	}
	return start, end
}

// Complete implements kernel.Interpreter: command names.
func (Interp) Complete(code string, cursor int) ([]string, int, int) {
	start, _ := word(code, cursor)
	prefix := code[start:cursor]
	var m []string
	for _, c := range commands {
		if strings.HasPrefix(c, prefix) {
			m = append(m, c)
		}
	}
	return m, start, cursor
}

// Inspect implements kernel.Interpreter: documents commands.
func (Interp) Inspect(code string, cursor, detail int) (kernel.Bundle, bool) {
	start, end := word(code, cursor)
	w := code[start:end]
	for _, c := range commands {
		if c == w {
			doc := c + ": a toy command"
			if detail > 0 {
				doc += " (more detail)"
			}
			return kernel.Bundle{Data: map[string]any{"text/plain": doc, "text/markdown": "**" + c + "**"}}, true
		}
	}
	return kernel.Bundle{}, false
}

// IsComplete implements kernel.Interpreter: a trailing backslash continues.
func (Interp) IsComplete(code string) (string, string) {
	switch {
	case strings.HasSuffix(strings.TrimRight(code, " "), "\\"):
		return "incomplete", "  "
	case strings.Contains(code, "!!"):
		return "invalid", ""
	}
	return "complete", ""
}

// EvaluateExpression implements kernel.ExpressionEvaluator: upper-cases.
func (Interp) EvaluateExpression(ctx context.Context, expr string) (kernel.Bundle, error) {
	if expr == "bad" {
		return kernel.Bundle{}, &ToyError{Msg: "bad expression"}
	}
	return kernel.Text(strings.ToUpper(expr)), nil
}
