package kernel_test

import (
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/memwall/memwall/kernel/internal/toy"
)

// commMsg sends a comm_msg with data (and buffers) on shell.
func (c *testClient) commMsg(commID string, data map[string]any, buffers ...[]byte) string {
	id, fr := c.frames("comm_msg", map[string]any{"comm_id": commID, "data": data})
	c.sendRaw(c.shell, append(fr, buffers...))
	return id
}

// commInfo asks for the open comms on s.
func (c *testClient) commInfo(s zmq4.Socket, ch chan *wireMsg, target string) map[string]any {
	c.t.Helper()
	content := map[string]any{}
	if target != "" {
		content["target_name"] = target
	}
	r := c.reply(ch, c.send(s, "comm_info_request", content))
	if r.Type() != "comm_info_reply" || r.str("status") != "ok" {
		c.t.Fatalf("comm_info: %s %v", r.Type(), r.Content)
	}
	return r.Content["comms"].(map[string]any)
}

func ofType(ms []*wireMsg, typ string) []*wireMsg {
	var out []*wireMsg
	for _, m := range ms {
		if m.Type() == typ {
			out = append(out, m)
		}
	}
	return out
}

func TestCommFromFrontEnd(t *testing.T) {
	c := startKernel(t, kernelConfig{interp: &toy.CommInterp{}})
	id := c.send(c.shell, "comm_open", map[string]any{"comm_id": "c1", "target_name": "toy.echo", "data": map[string]any{"x": 1}})
	io := c.iopubUntilIdle(id)
	if got := types(io); !reflect.DeepEqual(got, []string{"status:busy", "comm_msg", "status:idle"}) {
		t.Fatalf("comm_open: iopub %v", got)
	}
	if d := io[1].Content["data"].(map[string]any); io[1].str("comm_id") != "c1" || d["opened"] != true || d["data"].(map[string]any)["x"] != 1.0 {
		t.Errorf("open reply %v", io[1].Content)
	}
	for _, ch := range []struct {
		s  zmq4.Socket
		in chan *wireMsg
	}{{c.shell, c.shellCh}, {c.control, c.controlCh}} {
		if got := c.commInfo(ch.s, ch.in, ""); !reflect.DeepEqual(got, map[string]any{"c1": map[string]any{"target_name": "toy.echo"}}) {
			t.Errorf("comm_info: %v", got)
		}
		if got := c.commInfo(ch.s, ch.in, "jupyter.widget"); len(got) != 0 {
			t.Errorf("comm_info filtered by another target: %v", got)
		}
		if got := c.commInfo(ch.s, ch.in, "toy.echo"); len(got) != 1 {
			t.Errorf("comm_info filtered by its target: %v", got)
		}
	}

	// Buffers both ways; the reply's parent is the comm_msg.
	mid := c.commMsg("c1", map[string]any{"cmd": "echo", "v": "é"}, []byte{0, 1, 2}, []byte("second"))
	io = c.iopubUntilIdle(mid)
	if got := types(io); !reflect.DeepEqual(got, []string{"status:busy", "comm_msg", "status:idle"}) {
		t.Fatalf("echo: iopub %v", got)
	}
	e := io[1]
	if e.Content["data"].(map[string]any)["v"] != "é" || e.Metadata["echo"] != true {
		t.Errorf("echo %v %v", e.Content, e.Metadata)
	}
	if len(e.Buffers) != 2 || string(e.Buffers[0]) != "second" || !reflect.DeepEqual(e.Buffers[1], []byte{0, 1, 2}) {
		t.Errorf("echo buffers %q", e.Buffers)
	}

	// Output of a handler goes to iopub with the comm message as parent.
	mid = c.commMsg("c1", map[string]any{"cmd": "stream", "text": "from handler\n"})
	if s := ofType(c.iopubUntilIdle(mid), "stream"); len(s) != 1 || s[0].str("text") != "from handler\n" {
		t.Errorf("handler stream %v", s)
	}

	// The front end closes it.
	id = c.send(c.shell, "comm_close", map[string]any{"comm_id": "c1", "data": map[string]any{}})
	if s := ofType(c.iopubUntilIdle(id), "stream"); len(s) != 1 || s[0].str("text") != "closed c1\n" {
		t.Errorf("close handler %v", s)
	}
	if got := c.commInfo(c.shell, c.shellCh, ""); len(got) != 0 {
		t.Errorf("comm_info after close: %v", got)
	}
}

func TestCommFromKernel(t *testing.T) {
	ti := &toy.CommInterp{}
	c := startKernel(t, kernelConfig{interp: ti})
	_, io := c.execute(`commopen toy.echo {"hello":"world"}`, nil)
	opens := ofType(io, "comm_open")
	if len(opens) != 1 {
		t.Fatalf("iopub %v", types(io))
	}
	o := opens[0]
	commID := o.str("comm_id")
	if o.str("target_name") != "toy.echo" || o.Content["data"].(map[string]any)["hello"] != "world" ||
		o.Metadata["version"] != "toy" || len(o.Buffers) != 1 || string(o.Buffers[0]) != "buf0" {
		t.Errorf("comm_open %v %v %q", o.Content, o.Metadata, o.Buffers)
	}
	if s := ofType(io, "stream"); len(s) != 1 || strings.TrimSpace(s[0].str("text")) != commID {
		t.Errorf("stream %v", s)
	}
	if got := c.commInfo(c.control, c.controlCh, "toy.echo"); len(got) != 1 || got[commID] == nil {
		t.Errorf("comm_info %v", got)
	}
	// The front end talks back on the kernel's comm.
	mid := c.commMsg(commID, map[string]any{"cmd": "echo", "n": 7})
	if m := ofType(c.iopubUntilIdle(mid), "comm_msg"); len(m) != 1 || m[0].Content["data"].(map[string]any)["n"] != 7.0 {
		t.Errorf("echo on a kernel comm %v", m)
	}
	// A handler can close its comm.
	mid = c.commMsg(commID, map[string]any{"cmd": "close"})
	if m := ofType(c.iopubUntilIdle(mid), "comm_close"); len(m) != 1 || m[0].str("comm_id") != commID {
		t.Errorf("close from handler %v", m)
	}
	// A comm_msg for the closed comm is dropped: no handler runs.
	before := ti.Handled.Load()
	mid = c.commMsg(commID, map[string]any{"cmd": "echo"})
	if got := types(c.iopubUntilIdle(mid)); !reflect.DeepEqual(got, []string{"status:busy", "status:idle"}) {
		t.Errorf("comm_msg for a closed comm: %v", got)
	}
	if ti.Handled.Load() != before {
		t.Errorf("a handler ran for a closed comm")
	}
	// Sending on it from a cell is an error, not a crash.
	r, _ := c.execute("commsend "+commID+` {"x":1}`, nil)
	if r.str("status") != "error" || !strings.Contains(r.str("evalue"), "no comm") {
		t.Errorf("send on closed comm %v", r.Content)
	}
	// Kernel-side close.
	_, io = c.execute(`commopen toy.echo {}`, nil)
	id2 := ofType(io, "comm_open")[0].str("comm_id")
	_, io = c.execute("commclose "+id2, nil)
	if m := ofType(io, "comm_close"); len(m) != 1 || m[0].str("comm_id") != id2 {
		t.Errorf("commclose %v", types(io))
	}
	if got := c.commInfo(c.shell, c.shellCh, ""); len(got) != 0 {
		t.Errorf("comm_info after closes: %v", got)
	}
}

func TestCommUnknownTargetAndRejected(t *testing.T) {
	c, logs := startWithLog(t, kernelConfig{interp: &toy.CommInterp{}}, false)
	id := c.send(c.shell, "comm_open", map[string]any{"comm_id": "w1", "target_name": "jupyter.widget", "data": map[string]any{}})
	io := c.iopubUntilIdle(id)
	if got := types(io); !reflect.DeepEqual(got, []string{"status:busy", "comm_close", "status:idle"}) || io[1].str("comm_id") != "w1" {
		t.Errorf("unknown target: %v", got)
	}
	id = c.send(c.shell, "comm_open", map[string]any{"comm_id": "r1", "target_name": "toy.echo", "data": map[string]any{"reject": true}})
	io = c.iopubUntilIdle(id)
	if got := types(io); !reflect.DeepEqual(got, []string{"status:busy", "error", "comm_close", "status:idle"}) || io[2].str("comm_id") != "r1" {
		t.Errorf("rejected open: %v", got)
	}
	if got := c.commInfo(c.shell, c.shellCh, ""); len(got) != 0 {
		t.Errorf("comm_info: %v", got)
	}
	// Unknown comm ids are logged and dropped.
	mid := c.commMsg("nosuch", map[string]any{"cmd": "echo"})
	if got := types(c.iopubUntilIdle(mid)); !reflect.DeepEqual(got, []string{"status:busy", "status:idle"}) {
		t.Errorf("unknown comm id: %v", got)
	}
	c.send(c.shell, "comm_close", map[string]any{"comm_id": "nosuch2", "data": map[string]any{}})
	c.send(c.shell, "comm_msg", map[string]any{"data": map[string]any{}})
	if r, _ := c.execute("echo alive", nil); r.str("status") != "ok" {
		t.Fatalf("kernel after bad comm messages: %v", r.Content)
	}
	for _, want := range []string{"comm_id=nosuch ", "comm_id=nosuch2", "without a comm_id", "target_name=jupyter.widget"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestCommHandlerFailures(t *testing.T) {
	c := startKernel(t, kernelConfig{interp: &toy.CommInterp{}})
	c.iopubUntilIdle(c.send(c.shell, "comm_open", map[string]any{"comm_id": "f1", "target_name": "toy.echo", "data": map[string]any{}}))
	for _, tc := range []struct{ cmd, ename, evalue string }{
		{"panic", "Panic", "toy.echo handler panicked"},
		{"fail", "ToyError", "handler failed"},
		{"nonsense", "Error", "unknown cmd"},
	} {
		mid := c.commMsg("f1", map[string]any{"cmd": tc.cmd})
		io := c.iopubUntilIdle(mid)
		errs := ofType(io, "error")
		if len(errs) != 1 || errs[0].str("ename") != tc.ename || !strings.Contains(errs[0].str("evalue"), tc.evalue) {
			t.Errorf("%s: iopub %v %v", tc.cmd, types(io), errs)
		}
	}
	// The comm survives its handler's failures, and so does the kernel.
	mid := c.commMsg("f1", map[string]any{"cmd": "echo", "ok": true})
	if m := ofType(c.iopubUntilIdle(mid), "comm_msg"); len(m) != 1 {
		t.Errorf("echo after failures: %v", m)
	}
	if r, _ := c.execute("echo alive", nil); r.str("status") != "ok" {
		t.Errorf("execute after failures: %v", r.Content)
	}
}

func TestCommInterruptAndOrder(t *testing.T) {
	c := startKernel(t, kernelConfig{interp: &toy.CommInterp{}})
	c.iopubUntilIdle(c.send(c.shell, "comm_open", map[string]any{"comm_id": "i1", "target_name": "toy.echo", "data": map[string]any{}}))

	// An interrupt cancels a handler's context.
	mid := c.commMsg("i1", map[string]any{"cmd": "spin"})
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	c.reply(c.controlCh, c.send(c.control, "interrupt_request", map[string]any{}))
	io := c.iopubUntilIdle(mid)
	if e := ofType(io, "error"); len(e) != 1 || e[0].str("ename") != "KeyboardInterrupt" {
		t.Errorf("interrupted handler: %v", types(io))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("interrupt took %v", d)
	}

	// A message whose arrival interrupts (a Stop button) gets through to
	// a handler that it would otherwise wait behind.
	mid = c.commMsg("i1", map[string]any{"cmd": "spin"})
	time.Sleep(50 * time.Millisecond)
	sid := c.commMsg("i1", map[string]any{"cmd": "stop"})
	if e := ofType(c.iopubUntilIdle(mid), "error"); len(e) != 1 || e[0].str("ename") != "KeyboardInterrupt" {
		t.Errorf("stop did not interrupt the handler: %v", e)
	}
	if m := ofType(c.iopubUntilIdle(sid), "comm_msg"); len(m) != 1 || m[0].Content["data"].(map[string]any)["stopped"] != true {
		t.Errorf("stop message itself: %v", m)
	}

	// Comm messages wait for the cell ahead of them, and the cell behind
	// them waits for the handler: one at a time, in order.
	eid := c.send(c.shell, "execute_request", map[string]any{"code": "sleep 200ms\necho cell", "silent": false, "allow_stdin": false})
	mid = c.commMsg("i1", map[string]any{"cmd": "sleep", "ms": 100})
	eid2 := c.send(c.shell, "execute_request", map[string]any{"code": "echo after", "silent": false, "allow_stdin": false})
	var order []string
	deadline := time.After(5 * time.Second)
	for len(order) < 3 {
		select {
		case m := <-c.iopubCh:
			if m.Type() == "status" && m.str("execution_state") == "idle" {
				switch m.ParentID() {
				case eid:
					order = append(order, "cell")
				case mid:
					order = append(order, "comm")
				case eid2:
					order = append(order, "after")
				}
			}
			if m.Type() == "status" && m.str("execution_state") == "busy" && m.ParentID() == mid && len(order) != 1 {
				t.Errorf("comm handler started before the cell ahead of it ended (%v)", order)
			}
		case <-deadline:
			t.Fatalf("order so far %v", order)
		}
	}
	if !reflect.DeepEqual(order, []string{"cell", "comm", "after"}) {
		t.Errorf("order %v", order)
	}
}

// settledHeap is the heap in use once iopub has been quiet for 200 ms and
// the test client's own queue of iopub messages (in this process too) has
// been emptied.
func (c *testClient) settledHeap() uint64 {
	for quiet := false; !quiet; {
		select {
		case <-c.iopubCh:
		case <-time.After(200 * time.Millisecond):
			quiet = true
		}
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestCommFlood(t *testing.T) {
	ti := &toy.CommInterp{}
	c := startKernel(t, kernelConfig{interp: ti})
	c.iopubUntilIdle(c.send(c.shell, "comm_open", map[string]any{"comm_id": "fl", "target_name": "toy.echo", "data": map[string]any{}}))
	heap := c.settledHeap
	var base uint64
	const n = 1000
	for round := 0; round < 3; round++ {
		start := time.Now()
		for i := 0; i < n; i++ {
			c.commMsg("fl", map[string]any{"cmd": "count", "i": i})
		}
		// The kernel answers on control while the flood is handled.
		r := c.reply(c.controlCh, c.send(c.control, "kernel_info_request", map[string]any{}))
		if r.str("status") != "ok" {
			t.Fatalf("kernel_info during flood: %v", r.Content)
		}
		// 2,000 status messages can overflow iopub's high-water mark and
		// be dropped (as with libzmq); the shell reply to a cell queued
		// behind the flood cannot.
		eid := c.send(c.shell, "execute_request", map[string]any{"code": "echo x", "silent": true})
		if r := c.reply(c.shellCh, eid); r.str("status") != "ok" {
			t.Fatalf("cell after flood: %v", r.Content)
		}
		t.Logf("round %d: %d messages handled in %v, %d replies sent", round, n, time.Since(start), ti.Sent.Load())
		if round == 0 {
			base = heap()
		}
	}
	if h := ti.Handled.Load(); h != 3*n {
		t.Errorf("handled %d comm messages, want %d", h, 3*n)
	}
	if s := ti.Sent.Load(); s >= n {
		t.Errorf("%d replies for %d flooded messages: not coalesced", s, 3*n)
	}
	grow := int64(heap()) - int64(base)
	t.Logf("heap after two more floods: %+d bytes", grow)
	if grow > 8<<20 {
		t.Errorf("heap grew by %d bytes over two more floods", grow)
	}
	if r, _ := c.execute("echo responsive", nil); r.str("status") != "ok" {
		t.Errorf("after flood %v", r.Content)
	}
}
