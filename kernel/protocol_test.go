package kernel_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/memwall/memwall/kernel"
	"github.com/memwall/memwall/kernel/internal/toy"
)

func TestKernelInfoShellAndControl(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	for _, ch := range []struct {
		name string
		s    zmq4.Socket
		in   chan *wireMsg
	}{{"shell", c.shell, c.shellCh}, {"control", c.control, c.controlCh}} {
		id := c.send(ch.s, "kernel_info_request", map[string]any{})
		r := c.reply(ch.in, id)
		if r.Type() != "kernel_info_reply" || r.str("status") != "ok" || r.str("protocol_version") != kernel.ProtocolVersion {
			t.Fatalf("%s: reply %s %v", ch.name, r.Type(), r.Content)
		}
		li := r.Content["language_info"].(map[string]any)
		if li["name"] != "toy" || li["file_extension"] != ".toy" || r.str("implementation") != "toy" {
			t.Errorf("%s: language_info %v", ch.name, r.Content)
		}
		if got := types(c.iopubUntilIdle(id)); !reflect.DeepEqual(got, []string{"status:busy", "status:idle"}) {
			t.Errorf("%s: iopub %v", ch.name, got)
		}
	}
}

func TestExecuteOutputs(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	code := "echo hello\nstderr oops\ndisplay d1 first\nupdate d1 second\ndisplay - anon\nclear wait\nresult 42"
	r, io := c.execute(code, nil)
	if r.str("status") != "ok" || r.Content["execution_count"] != 1.0 {
		t.Fatalf("reply %v", r.Content)
	}
	want := []string{"status:busy", "execute_input", "stream", "stream", "display_data", "update_display_data",
		"display_data", "clear_output", "execute_result", "status:idle"}
	if got := types(io); !reflect.DeepEqual(got, want) {
		t.Fatalf("iopub %v, want %v", got, want)
	}
	if io[1].str("code") != code || io[1].Content["execution_count"] != 1.0 {
		t.Errorf("execute_input %v", io[1].Content)
	}
	if io[2].str("name") != "stdout" || io[2].str("text") != "hello\n" || io[3].str("name") != "stderr" {
		t.Errorf("streams %v %v", io[2].Content, io[3].Content)
	}
	tr := io[4].Content["transient"].(map[string]any)
	data := io[4].Content["data"].(map[string]any)
	if tr["display_id"] != "d1" || data["text/html"] != "<b>first</b>" || data["text/plain"] != "first" {
		t.Errorf("display_data %v", io[4].Content)
	}
	if io[5].Content["transient"].(map[string]any)["display_id"] != "d1" ||
		io[5].Content["data"].(map[string]any)["text/plain"] != "second" {
		t.Errorf("update_display_data %v", io[5].Content)
	}
	if _, has := io[6].Content["transient"].(map[string]any)["display_id"]; has {
		t.Errorf("anonymous display has a display_id: %v", io[6].Content)
	}
	if io[7].Content["wait"] != true {
		t.Errorf("clear_output %v", io[7].Content)
	}
	if io[8].Content["execution_count"] != 1.0 || io[8].Content["data"].(map[string]any)["text/plain"] != "42" {
		t.Errorf("execute_result %v", io[8].Content)
	}
	r, _ = c.execute("echo again", nil)
	if r.Content["execution_count"] != 2.0 {
		t.Errorf("second count %v", r.Content)
	}
}

func TestStreamCoalescing(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	const n = 20000
	start := time.Now()
	_, io := c.execute("tokens 20000\nsleep 120ms\ntokens 10", nil)
	elapsed := time.Since(start)
	var text strings.Builder
	streams := 0
	for _, m := range io {
		if m.Type() == "stream" {
			streams++
			text.WriteString(m.str("text"))
		}
	}
	if text.String() != strings.Repeat("tok ", n+10) {
		t.Fatalf("stream text wrong: %d bytes", text.Len())
	}
	// 80 KB + 40 B over ~120 ms: at 50 ms intervals that is a handful.
	if limit := 3 + int(elapsed/(50*time.Millisecond)); streams > limit {
		t.Errorf("%d stream messages for %d writes in %v, want <= %d", streams, n+10, elapsed, limit)
	}
}

func TestStreamSplitUTF8(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	// "€" is e2 82 ac: the first two bytes are flushed by the timer while
	// the cell sleeps; the kernel must hold them back.
	_, io := c.execute("bytes 41e282\nsleep 150ms\nbytes ac42", nil)
	var text string
	for _, m := range io {
		if m.Type() == "stream" {
			text += m.str("text")
		}
	}
	if text != "A€B" {
		t.Errorf("text %q, want %q", text, "A€B")
	}
}

func TestExecuteErrors(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	for _, tc := range []struct {
		code, ename, evalue string
		tbFirst             string
	}{
		{"echo before\nfail broken", "ToyError", "broken", "Traceback (toy):"},
		{"plainerr plain", "Error", "plain", "Error: plain"},
		{"panic boom", "Panic", "boom", "panic: boom"},
		{"nosuchcommand", "Error", `unknown command "nosuchcommand"`, ""},
	} {
		r, io := c.execute(tc.code, nil)
		if r.str("status") != "error" || r.str("ename") != tc.ename || r.str("evalue") != tc.evalue {
			t.Errorf("%q: reply %v", tc.code, r.Content)
		}
		tb, ok := r.Content["traceback"].([]any)
		if !ok || len(tb) == 0 || (tc.tbFirst != "" && tb[0] != tc.tbFirst) {
			t.Errorf("%q: traceback %v", tc.code, r.Content["traceback"])
		}
		var errMsg *wireMsg
		for _, m := range io {
			if m.Type() == "error" {
				errMsg = m
			}
		}
		if errMsg == nil || errMsg.str("ename") != tc.ename || errMsg.Content["traceback"] == nil {
			t.Errorf("%q: iopub %v", tc.code, types(io))
		}
	}
	if r, _ := c.execute("echo still alive", nil); r.str("status") != "ok" {
		t.Errorf("after errors: %v", r.Content)
	}
}

func TestStopOnError(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	base := map[string]any{"code": "", "silent": false, "store_history": true, "user_expressions": map[string]any{}, "allow_stdin": false}
	with := func(code string, stop bool) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		m["code"], m["stop_on_error"] = code, stop
		return m
	}
	first := c.send(c.shell, "execute_request", with("sleep 200ms\nfail stop", true))
	second := c.send(c.shell, "execute_request", with("echo queued1", true))
	info := c.send(c.shell, "kernel_info_request", map[string]any{})
	third := c.send(c.shell, "execute_request", with("echo queued2", true))
	if r := c.reply(c.shellCh, first); r.str("status") != "error" {
		t.Fatalf("first %v", r.Content)
	}
	if r := c.reply(c.shellCh, second); r.str("status") != "aborted" {
		t.Errorf("second %v", r.Content)
	}
	if r := c.reply(c.shellCh, info); r.str("status") != "ok" {
		t.Errorf("kernel_info in the queue %v", r.Content)
	}
	if r := c.reply(c.shellCh, third); r.str("status") != "aborted" {
		t.Errorf("third %v", r.Content)
	}
	if got := types(c.iopubUntilIdle(second)); !reflect.DeepEqual(got, []string{"status:busy", "status:idle"}) {
		t.Errorf("aborted iopub %v", got)
	}
	if r, _ := c.execute("echo after", nil); r.str("status") != "ok" {
		t.Errorf("after abort %v", r.Content)
	}
	// stop_on_error=false: queued cells run.
	first = c.send(c.shell, "execute_request", with("sleep 100ms\nfail nostop", false))
	second = c.send(c.shell, "execute_request", with("echo runs", true))
	c.reply(c.shellCh, first)
	if r := c.reply(c.shellCh, second); r.str("status") != "ok" {
		t.Errorf("stop_on_error=false: %v", r.Content)
	}
}

func TestSilentAndHistoryFlags(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	r, io := c.execute("echo quiet\nresult 1", map[string]any{"silent": true})
	if r.str("status") != "ok" || r.Content["execution_count"] != 0.0 {
		t.Errorf("silent reply %v", r.Content)
	}
	if got := types(io); !reflect.DeepEqual(got, []string{"status:busy", "status:idle"}) {
		t.Errorf("silent iopub %v", got)
	}
	r, _ = c.execute("echo nostore", map[string]any{"store_history": false})
	if r.Content["execution_count"] != 0.0 {
		t.Errorf("store_history=false count %v", r.Content)
	}
	r, _ = c.execute("  \n", nil)
	if r.str("status") != "ok" || r.Content["execution_count"] != 0.0 {
		t.Errorf("blank cell %v", r.Content)
	}
	r, _ = c.execute("echo stored", nil)
	if r.Content["execution_count"] != 1.0 {
		t.Errorf("count %v", r.Content)
	}
}

func TestUserExpressions(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	r, _ := c.execute("echo x", map[string]any{"user_expressions": map[string]any{"a": "hello", "b": "bad", "c": 3}})
	ue := r.Content["user_expressions"].(map[string]any)
	a := ue["a"].(map[string]any)
	if a["status"] != "ok" || a["data"].(map[string]any)["text/plain"] != "HELLO" {
		t.Errorf("a: %v", a)
	}
	if b := ue["b"].(map[string]any); b["status"] != "error" || b["ename"] != "ToyError" {
		t.Errorf("b: %v", b)
	}
	if cc := ue["c"].(map[string]any); cc["status"] != "error" {
		t.Errorf("c: %v", cc)
	}
}

func TestCompleteInspectIsComplete(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	for _, tc := range []struct {
		code       string
		cursor     int // code points
		start, end float64
		matches    []any
	}{
		{"ec", 2, 0, 2, []any{"echo"}},
		{"€ é ec", 6, 4, 6, []any{"echo"}},
		{"😀😀 sl", 5, 3, 5, []any{"sleep"}},
		{"😀 p x", 3, 2, 3, []any{"panic", "password", "plainerr"}},
		{"zz", 2, 0, 2, []any{}},
	} {
		id := c.send(c.shell, "complete_request", map[string]any{"code": tc.code, "cursor_pos": tc.cursor})
		r := c.reply(c.shellCh, id)
		if r.str("status") != "ok" || r.Content["cursor_start"] != tc.start || r.Content["cursor_end"] != tc.end ||
			!reflect.DeepEqual(r.Content["matches"], tc.matches) {
			t.Errorf("complete %q@%d: %v", tc.code, tc.cursor, r.Content)
		}
		c.iopubUntilIdle(id)
	}

	id := c.send(c.shell, "inspect_request", map[string]any{"code": "ü echo", "cursor_pos": 4, "detail_level": 1})
	r := c.reply(c.shellCh, id)
	if r.Content["found"] != true || !strings.Contains(r.Content["data"].(map[string]any)["text/plain"].(string), "more detail") {
		t.Errorf("inspect %v", r.Content)
	}
	id = c.send(c.shell, "inspect_request", map[string]any{"code": "nothing", "cursor_pos": 3, "detail_level": 0})
	if r := c.reply(c.shellCh, id); r.Content["found"] != false || r.str("status") != "ok" {
		t.Errorf("inspect not found %v", r.Content)
	}

	for code, want := range map[string][]any{
		"echo a":    {"complete", nil},
		"echo a \\": {"incomplete", "  "},
		"!!":        {"invalid", nil},
	} {
		id := c.send(c.shell, "is_complete_request", map[string]any{"code": code})
		r := c.reply(c.shellCh, id)
		if r.str("status") != want[0] || (want[1] != nil && r.Content["indent"] != want[1]) {
			t.Errorf("is_complete %q: %v", code, r.Content)
		}
	}
}

func TestHistory(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	for _, code := range []string{"echo a", "result 1", "echo b", "echo a"} {
		c.execute(code, nil)
	}
	c.execute("echo silent", map[string]any{"silent": true})
	hist := func(content map[string]any) []any {
		id := c.send(c.shell, "history_request", content)
		r := c.reply(c.shellCh, id)
		if r.str("status") != "ok" {
			t.Fatalf("history %v", r.Content)
		}
		return r.Content["history"].([]any)
	}
	line := func(e any) float64 { return e.([]any)[1].(float64) }
	if h := hist(map[string]any{"hist_access_type": "tail", "n": 2, "output": false, "raw": true}); len(h) != 2 || line(h[0]) != 3 || h[1].([]any)[2] != "echo a" {
		t.Errorf("tail: %v", h)
	}
	if h := hist(map[string]any{"hist_access_type": "range", "session": 0, "start": 2, "stop": 4, "output": true, "raw": true}); len(h) != 2 || line(h[0]) != 2 {
		t.Errorf("range: %v", h)
	} else if io := h[0].([]any)[2].([]any); io[0] != "result 1" || io[1] != "1" {
		t.Errorf("range output: %v", h)
	}
	if h := hist(map[string]any{"hist_access_type": "search", "pattern": "echo*", "output": false, "raw": true}); len(h) != 3 {
		t.Errorf("search: %v", h)
	}
	if h := hist(map[string]any{"hist_access_type": "search", "pattern": "echo ?", "unique": true, "output": false, "raw": true}); len(h) != 2 || line(h[0]) != 3 || line(h[1]) != 4 {
		t.Errorf("search unique: %v", h)
	}
	if h := hist(map[string]any{"hist_access_type": "range", "session": 7, "start": 1, "output": false, "raw": true}); len(h) != 0 {
		t.Errorf("other session: %v", h)
	}
}

func TestComms(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	id := c.send(c.shell, "comm_info_request", map[string]any{})
	if r := c.reply(c.shellCh, id); r.str("status") != "ok" || len(r.Content["comms"].(map[string]any)) != 0 {
		t.Errorf("comm_info %v", r.Content)
	}
	id = c.send(c.control, "comm_info_request", map[string]any{"target_name": "x"})
	if r := c.reply(c.controlCh, id); r.str("status") != "ok" {
		t.Errorf("comm_info on control %v", r.Content)
	}
	id = c.send(c.shell, "comm_open", map[string]any{"comm_id": "c1", "target_name": "jupyter.widget", "data": map[string]any{}})
	io := c.iopubUntilIdle(id)
	if got := types(io); !reflect.DeepEqual(got, []string{"status:busy", "comm_close", "status:idle"}) || io[1].str("comm_id") != "c1" {
		t.Errorf("comm_open: %v", got)
	}
	c.send(c.shell, "comm_msg", map[string]any{"comm_id": "c1", "data": map[string]any{}})
	c.send(c.shell, "comm_close", map[string]any{"comm_id": "c1", "data": map[string]any{}})
	if r, _ := c.execute("echo ok", nil); r.str("status") != "ok" {
		t.Errorf("after comms %v", r.Content)
	}
	c.noMessage(c.shellCh, 50*time.Millisecond)
}

func TestInput(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	id := c.send(c.shell, "execute_request", map[string]any{"code": "echo before\npassword secret?", "allow_stdin": true})
	var req *wireMsg
	select {
	case req = <-c.stdinCh:
	case <-time.After(timeout):
		t.Fatal("no input_request")
	}
	if req.Type() != "input_request" || req.str("prompt") != "secret?" || req.Content["password"] != true || req.ParentID() != id {
		t.Fatalf("input_request %s %v", req.Type(), req.Content)
	}
	_, fr := c.frames("input_reply", map[string]any{"value": "bob"})
	// The reply's parent is the input_request.
	fr = c.withParent(fr, req)
	c.sendRaw(c.stdin, fr)
	r := c.reply(c.shellCh, id)
	io := c.iopubUntilIdle(id)
	var text string
	for _, m := range io {
		if m.Type() == "stream" {
			text += m.str("text")
		}
	}
	if r.str("status") != "ok" || text != "before\ngot: bob\n" {
		t.Errorf("reply %v, text %q", r.Content, text)
	}

	r, _ = c.execute("input nope", map[string]any{"allow_stdin": false})
	if r.str("status") != "error" || !strings.Contains(r.str("evalue"), "input") {
		t.Errorf("allow_stdin=false: %v", r.Content)
	}

	// Interrupt while waiting for input.
	id = c.send(c.shell, "execute_request", map[string]any{"code": "input wait", "allow_stdin": true})
	<-c.stdinCh
	c.send(c.control, "interrupt_request", map[string]any{})
	if r := c.reply(c.shellCh, id); r.str("ename") != kernel.InterruptedName {
		t.Errorf("interrupted input %v", r.Content)
	}
}

// withParent re-signs request frames with parent as parent_header.
func (c *testClient) withParent(fr [][]byte, parent *wireMsg) [][]byte {
	ph, _ := json.Marshal(parent.Header)
	fr[3] = ph
	fr[1] = []byte(c.sign(fr[2], fr[3], fr[4], fr[5]))
	return fr
}

func TestInterrupt(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	for _, via := range []string{"control", "shell"} {
		for _, code := range []string{"spin", "sleep 1h"} {
			id := c.send(c.shell, "execute_request", map[string]any{"code": "echo start\n" + code})
			// wait until the cell runs
			for m := range c.iopubCh {
				if m.ParentID() == id && m.Type() == "execute_input" {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
			sock, in := c.control, c.controlCh
			if via == "shell" {
				sock, in = c.shell, c.shellCh
			}
			start := time.Now()
			iid := c.send(sock, "interrupt_request", map[string]any{})
			if r := c.reply(in, iid); r.Type() != "interrupt_reply" || r.str("status") != "ok" {
				t.Errorf("interrupt_reply %v", r.Content)
			}
			r := c.reply(c.shellCh, id)
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Errorf("%s/%s: cell ended %v after the interrupt, want < 100ms", via, code, d)
			}
			if r.str("status") != "error" || r.str("ename") != kernel.InterruptedName {
				t.Errorf("interrupted reply %v", r.Content)
			}
			c.iopubUntilIdle(id)
			if r, _ := c.execute("echo next", nil); r.str("status") != "ok" {
				t.Errorf("next cell %v", r.Content)
			}
		}
	}
	// Interrupting an idle kernel is harmless.
	iid := c.send(c.control, "interrupt_request", map[string]any{})
	c.reply(c.controlCh, iid)
	if r, _ := c.execute("echo idle", nil); r.str("status") != "ok" {
		t.Errorf("after idle interrupt %v", r.Content)
	}
}

func TestBadMessagesAreDropped(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	_, fr := c.frames("kernel_info_request", map[string]any{})
	bad := append([][]byte(nil), fr...)
	bad[1] = []byte(strings.Repeat("0", 64))
	c.sendRaw(c.shell, bad)
	nosig := append([][]byte(nil), fr...)
	nosig[1] = []byte{}
	c.sendRaw(c.control, nosig)
	nothex := append([][]byte(nil), fr...)
	nothex[1] = []byte("zz")
	c.sendRaw(c.shell, nothex)
	c.sendRaw(c.shell, [][]byte{[]byte("garbage")})
	c.sendRaw(c.shell, [][]byte{[]byte("<IDS|MSG>"), []byte("x")})
	// well signed but not JSON
	h, p, md, ct := []byte("{not json"), []byte("{}"), []byte("{}"), []byte("{}")
	c.sendRaw(c.shell, [][]byte{[]byte("<IDS|MSG>"), []byte(c.sign(h, p, md, ct)), h, p, md, ct})
	h = []byte(`{"msg_id":"x","msg_type":"execute_request"}`)
	ct = []byte(`[1,2]`)
	c.sendRaw(c.shell, [][]byte{[]byte("<IDS|MSG>"), []byte(c.sign(h, p, md, ct)), h, p, md, ct})
	ct = []byte(`{"code": 12}`)
	c.sendRaw(c.shell, [][]byte{[]byte("<IDS|MSG>"), []byte(c.sign(h, p, md, ct)), h, p, md, ct})
	// the last one is valid JSON with a bad field type: it gets an error reply
	if r := c.reply(c.shellCh, "x"); r.str("status") != "error" {
		t.Errorf("bad execute content %v", r.Content)
	}
	c.noMessage(c.shellCh, 100*time.Millisecond)
	c.noMessage(c.controlCh, 10*time.Millisecond)
	for _, s := range []struct {
		s  zmq4.Socket
		in chan *wireMsg
	}{{c.shell, c.shellCh}, {c.control, c.controlCh}} {
		id := c.send(s.s, "kernel_info_request", map[string]any{})
		if r := c.reply(s.in, id); r.str("status") != "ok" {
			t.Errorf("after bad messages: %v", r.Content)
		}
	}
}

func TestUnknownMessageTypes(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	for _, s := range []struct {
		s  zmq4.Socket
		in chan *wireMsg
	}{{c.shell, c.shellCh}, {c.control, c.controlCh}} {
		id := c.send(s.s, "frobnicate_request", map[string]any{})
		r := c.reply(s.in, id)
		if r.Type() != "frobnicate_reply" || r.str("status") != "error" || r.str("ename") != "UnknownMessageType" {
			t.Errorf("unknown request: %s %v", r.Type(), r.Content)
		}
		c.send(s.s, "frobnicate_notice", map[string]any{})
		c.noMessage(s.in, 50*time.Millisecond)
	}
	if r, _ := c.execute("echo alive", nil); r.str("status") != "ok" {
		t.Errorf("after unknown %v", r.Content)
	}
}

func TestHeartbeat(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	for i := 0; i < 3; i++ {
		if err := c.hb.Send(zmq4.NewMsgString("ping")); err != nil {
			t.Fatal(err)
		}
		m, err := c.hb.Recv()
		if err != nil || string(m.Frames[0]) != "ping" {
			t.Fatalf("heartbeat: %v %q", err, m.Frames)
		}
	}
}

func TestShutdown(t *testing.T) {
	for _, restart := range []bool{false, true} {
		c := startKernel(t, kernelConfig{})
		start := time.Now()
		id := c.send(c.control, "shutdown_request", map[string]any{"restart": restart})
		r := c.reply(c.controlCh, id)
		if r.Type() != "shutdown_reply" || r.Content["restart"] != restart || r.str("status") != "ok" {
			t.Errorf("shutdown_reply %v", r.Content)
		}
		io := c.iopubUntilIdle(id)
		if got := types(io); !reflect.DeepEqual(got, []string{"status:busy", "shutdown_reply", "status:idle"}) {
			t.Errorf("iopub %v", got)
		}
		select {
		case err := <-c.serveErr:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("Serve returned after %v", d)
			}
		case <-time.After(time.Second):
			t.Fatal("Serve did not return within 1s")
		}
		c.serveErr <- nil // for cleanup
	}
}

func TestShutdownWhileRunning(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	c.send(c.shell, "execute_request", map[string]any{"code": "spin"})
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	id := c.send(c.shell, "shutdown_request", map[string]any{"restart": false}) // tolerated on shell
	c.reply(c.shellCh, id)
	select {
	case <-c.serveErr:
		if d := time.Since(start); d > time.Second {
			t.Errorf("Serve returned after %v", d)
		}
	case <-time.After(time.Second):
		t.Fatal("Serve did not return within 1s")
	}
	c.serveErr <- nil
}

func TestIPCTransport(t *testing.T) {
	c := startKernel(t, kernelConfig{transport: "ipc"})
	if _, err := os.Stat(c.ci.IP + "-1"); err != nil {
		t.Fatalf("ipc socket file: %v", err)
	}
	r, io := c.execute("echo over ipc", nil)
	if r.str("status") != "ok" || len(io) != 4 {
		t.Errorf("ipc execute %v %v", r.Content, types(io))
	}
	id := c.send(c.control, "kernel_info_request", map[string]any{})
	c.reply(c.controlCh, id)
	id = c.send(c.control, "shutdown_request", map[string]any{"restart": false})
	c.reply(c.controlCh, id)
	select {
	case <-c.serveErr:
	case <-time.After(time.Second):
		t.Fatal("Serve did not return")
	}
	c.serveErr <- nil
	matches, _ := filepath.Glob(c.ci.IP + "-*")
	if len(matches) != 0 {
		t.Errorf("ipc files left behind: %v", matches)
	}
}

func TestSignatureSchemes(t *testing.T) {
	for _, scheme := range []string{"hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-md5", "none"} {
		t.Run(scheme, func(t *testing.T) {
			c := startKernel(t, kernelConfig{scheme: scheme})
			if r, _ := c.execute("echo signed", nil); r.str("status") != "ok" {
				t.Errorf("%s: %v", scheme, r.Content)
			}
		})
	}
}

// zmtpGreeting and zmtpReady speak just enough ZMTP 3.0 to get past the
// handshake as a DEALER.
func zmtpHandshake(t *testing.T, conn net.Conn) {
	g := make([]byte, 64)
	g[0], g[9], g[10], g[11] = 0xff, 0x7f, 3, 0
	copy(g[12:], "NULL")
	if _, err := conn.Write(g); err != nil {
		t.Fatal(err)
	}
	body := []byte{5}
	body = append(body, "READY"...)
	for _, kv := range [][2]string{{"Socket-Type", "DEALER"}, {"Identity", "raw"}} {
		body = append(body, byte(len(kv[0])))
		body = append(body, kv[0]...)
		body = binary.BigEndian.AppendUint32(body, uint32(len(kv[1])))
		body = append(body, kv[1]...)
	}
	if _, err := conn.Write(append([]byte{0x04, byte(len(body))}, body...)); err != nil {
		t.Fatal(err)
	}
}

func TestOversizedFrame(t *testing.T) {
	c := startKernel(t, kernelConfig{maxMsg: 1 << 20})
	defer func() {
		// restore the process-wide default for other tests
		c2 := startKernel(t, kernelConfig{maxMsg: kernel.DefaultMaxMessageSize})
		c2.close()
	}()
	for _, frame := range [][]byte{
		// one frame announcing 2^60 bytes
		append([]byte{0x02}, binary.BigEndian.AppendUint64(nil, 1<<60)...),
		// many 200-byte frames with MORE set, 2 MB in all
		func() []byte {
			var b []byte
			for i := 0; i < 10000; i++ {
				b = append(b, 0x01, 200)
				b = append(b, make([]byte, 200)...)
			}
			return b
		}(),
	} {
		conn, err := net.Dial("tcp", net.JoinHostPort(c.ci.IP, strconv.Itoa(c.ci.ShellPort)))
		if err != nil {
			t.Fatal(err)
		}
		zmtpHandshake(t, conn)
		conn.Write(frame)
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = io.ReadAll(conn)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("kernel kept a connection that sent an oversized message")
		}
		conn.Close()
	}
	if r, _ := c.execute("echo survived", nil); r.str("status") != "ok" {
		t.Errorf("after oversized frame %v", r.Content)
	}
}

func TestConnectionFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ json, want string }{
		{`{"shell_port": 1,`, "line 1"},
		{`[]`, "object"},
		{`{"transport": "udp"}`, `"transport"`},
		{`{"ip": 5}`, `"ip"`},
		{`{"control_port":1,"iopub_port":1,"stdin_port":1,"hb_port":1}`, `"shell_port": missing`},
		{`{"shell_port":"x","control_port":1,"iopub_port":1,"stdin_port":1,"hb_port":1}`, `"shell_port"`},
		{`{"shell_port":70000,"control_port":1,"iopub_port":1,"stdin_port":1,"hb_port":1}`, `"shell_port"`},
		{`{"shell_port":1,"control_port":1,"iopub_port":1,"stdin_port":1,"hb_port":1,"signature_scheme":"hmac-sha3"}`, `"signature_scheme"`},
	} {
		path := filepath.Join(dir, "conn.json")
		os.WriteFile(path, []byte(tc.json), 0o600)
		err := kernel.Serve(context.Background(), path, toy.Interp{}, kernel.Options{LogWriter: io.Discard})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want it to name the file and mention %s", tc.json, err, tc.want)
		}
	}
	if err := kernel.Serve(context.Background(), filepath.Join(dir, "missing.json"), toy.Interp{}, kernel.Options{LogWriter: io.Discard}); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}
