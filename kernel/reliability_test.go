package kernel_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/google/uuid"

	"github.com/memwall/memwall/kernel"
	"github.com/memwall/memwall/kernel/internal/toy"
)

// Faults a kernel must survive and attacks it must not fall for. Every
// wait is bounded; nothing here asserts a speed except where the protocol
// promises one (a shutdown within a second).

// counting wraps the toy interpreter and counts the cells it runs, so that
// a test can assert a cell did NOT run.
type counting struct {
	toy.Interp
	n atomic.Int64
}

func (c *counting) Execute(ctx context.Context, code string, out kernel.Output) error {
	c.n.Add(1)
	return c.Interp.Execute(ctx, code, out)
}

// flood is an interpreter whose cell "N SIZE" displays N outputs of SIZE
// bytes each, and "sleep D" waits: a generator of iopub traffic with a
// tiny source (the toy's display command would need a cell as big as its
// output, and the kernel keeps every cell's source in its history).
type flood struct{ toy.Interp }

func (flood) Execute(ctx context.Context, code string, out kernel.Output) error {
	var n, size int
	if _, err := fmt.Sscan(code, &n, &size); err != nil {
		return toy.Interp{}.Execute(ctx, code, out)
	}
	payload := strings.Repeat("x", size)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		out.Display(kernel.Text(payload), "")
	}
	return ctx.Err()
}

// syncBuffer is an io.Writer safe for the kernel's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startWithLog is startKernel with the kernel's log captured through
// Options.LogWriter (the default Info-level text logger) or, with debug, a
// Debug-level logger writing to the same buffer.
func startWithLog(t *testing.T, cfg kernelConfig, debug bool) (*testClient, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.logs, cfg.debugLog = logs, debug
	return startKernel(t, cfg), logs
}

// otherClient connects a second client (its own sockets and identity) to
// the kernel c talks to. Its sockets are closed by the caller.
func (c *testClient) otherClient() *testClient {
	o := &testClient{t: c.t, ci: c.ci, newHash: c.newHash, session: uuid.NewString(), id: uuid.NewString()}
	o.connect()
	return o
}

func (c *testClient) closeSockets() {
	for _, s := range []zmq4.Socket{c.shell, c.control, c.stdin, c.iopub, c.hb} {
		s.Close()
	}
}

// waitInput waits for the execute_input of msgID on iopub.
func (c *testClient) waitInput(msgID string) {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-c.iopubCh:
			if m.ParentID() == msgID && m.Type() == "execute_input" {
				return
			}
		case <-deadline:
			c.t.Fatalf("cell %s never started", msgID)
		}
	}
}

// ping sends one heartbeat and waits at most d for the echo.
func (c *testClient) ping(d time.Duration) error {
	payload := uuid.NewString()
	done := make(chan error, 1)
	go func() {
		if err := c.hb.Send(zmq4.NewMsgString(payload)); err != nil {
			done <- err
			return
		}
		m, err := c.hb.Recv()
		if err == nil && string(m.Frames[0]) != payload {
			err = fmt.Errorf("heartbeat echoed %q, sent %q", m.Frames[0], payload)
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		return fmt.Errorf("no heartbeat echo within %v", d)
	}
}

// ---- faults ----

func TestClientVanishesMidRequest(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	gone := c.otherClient()
	// Its subscription must be live before it can see the cell start.
	id := gone.send(gone.shell, "execute_request", map[string]any{"code": "tokens 2000\nsleep 300ms\ntokens 2000"})
	gone.waitInput(id)
	gone.closeSockets() // vanishes while the cell streams and before the reply
	// The kernel finishes the cell (its reply goes nowhere) and keeps serving.
	if r, _ := c.execute("echo still here", nil); r.str("status") != "ok" {
		t.Fatalf("after a client vanished: %v", r.Content)
	}
	fresh := c.otherClient()
	defer fresh.closeSockets()
	id = fresh.send(fresh.shell, "kernel_info_request", map[string]any{})
	if r := fresh.reply(fresh.shellCh, id); r.str("status") != "ok" {
		t.Fatalf("new client after a vanished one: %v", r.Content)
	}
	if err := c.ping(timeout); err != nil {
		t.Fatal(err)
	}
}

func TestInterruptStorm(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	id := c.send(c.shell, "execute_request", map[string]any{"code": "echo start\nspin"})
	c.waitInput(id)
	var ids []string
	for i := 0; i < 100; i++ {
		ids = append(ids, c.send(c.control, "interrupt_request", map[string]any{}))
	}
	// Every interrupt is answered, in order, and the cell ends interrupted.
	for _, iid := range ids {
		if r := c.reply(c.controlCh, iid); r.str("status") != "ok" {
			t.Fatalf("interrupt_reply %v", r.Content)
		}
	}
	if r := c.reply(c.shellCh, id); r.str("ename") != kernel.InterruptedName {
		t.Fatalf("interrupted cell: %v", r.Content)
	}
	c.iopubUntilIdle(id)
	// Interrupts that arrived after the cell ended do not leak into the next one.
	r, io := c.execute("sleep 50ms\necho next", nil)
	if r.str("status") != "ok" {
		t.Fatalf("cell after the storm: %v", r.Content)
	}
	if !hasStream(io, "next\n") {
		t.Errorf("cell after the storm: iopub %v", types(io))
	}
	if err := c.ping(timeout); err != nil {
		t.Fatal(err)
	}
}

func hasStream(io []*wireMsg, text string) bool {
	var all strings.Builder
	for _, m := range io {
		if m.Type() == "stream" {
			all.WriteString(m.str("text"))
		}
	}
	return strings.Contains(all.String(), text)
}

func TestRestartDuringGeneration(t *testing.T) {
	for _, code := range []string{"spin", "ignore 10s"} { // watches its context, or not
		t.Run(strings.Fields(code)[0], func(t *testing.T) {
			c := startKernel(t, kernelConfig{})
			id := c.send(c.shell, "execute_request", map[string]any{"code": code})
			c.waitInput(id)
			start := time.Now()
			sid := c.send(c.control, "shutdown_request", map[string]any{"restart": true})
			r := c.reply(c.controlCh, sid)
			if r.Content["restart"] != true || r.str("status") != "ok" {
				t.Errorf("shutdown_reply %v", r.Content)
			}
			select {
			case err := <-c.serveErr:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
				if d := time.Since(start); d > time.Second {
					t.Errorf("Serve returned %v after the restart request, want < 1s", d)
				}
			case <-time.After(time.Second):
				t.Fatal("Serve did not return within 1s of a restart request")
			}
			c.serveErr <- nil // for cleanup
		})
	}
}

func TestHeartbeatWhileCellRuns(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	for _, code := range []string{"spin", "ignore 2s"} {
		id := c.send(c.shell, "execute_request", map[string]any{"code": code})
		c.waitInput(id)
		for i := 0; i < 5; i++ {
			if err := c.ping(timeout); err != nil {
				t.Fatalf("%s: ping %d: %v", code, i, err)
			}
		}
		c.send(c.control, "interrupt_request", map[string]any{})
		c.reply(c.shellCh, id)
		c.iopubUntilIdle(id)
	}
}

// heapInUse returns the live heap after a full collection, in bytes.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func TestIOPubWithoutSubscriber(t *testing.T) {
	c := startKernel(t, kernelConfig{interp: flood{}})
	c.iopub.Close()                      // nobody listens on iopub any more
	const cells, n, size = 20, 500, 4096 // 40 MB of display_data in all
	before := heapInUse()
	for i := 0; i < cells; i++ {
		id := c.send(c.shell, "execute_request", map[string]any{"code": fmt.Sprint(n, " ", size)})
		if r := c.reply(c.shellCh, id); r.str("status") != "ok" {
			t.Fatalf("cell %d: %v", i, r.Content)
		}
	}
	after := heapInUse()
	growth := int64(after) - int64(before)
	t.Logf("heap in use %.1f MiB before, %.1f MiB after %d MB of output with no subscriber",
		float64(before)/(1<<20), float64(after)/(1<<20), cells*n*size>>20)
	if growth > 16<<20 {
		t.Errorf("heap grew by %.1f MiB publishing to nobody", float64(growth)/(1<<20))
	}
}

// TestStuckSubscriber: a subscriber that stops reading must neither grow
// the kernel's memory without bound (the iopub queue has a high-water
// mark) nor stall iopub for the other subscribers for good (a write that
// blocks longer than the stall timeout drops the stuck connection).
func TestStuckSubscriber(t *testing.T) {
	defer kernel.SetWriteStallTimeout(2 * time.Second)()
	c := startKernel(t, kernelConfig{interp: flood{}})
	// The main client keeps reading iopub (its pump) and drains it here.
	stopDrain := drainIOPub(c)
	stuck := zmq4.NewSub(context.Background())
	defer stuck.Close()
	if err := stuck.Dial(c.ci.Endpoint(c.ci.IOPubPort)); err != nil {
		t.Fatal(err)
	}
	if err := stuck.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		t.Fatal(err)
	}
	// Wait until the stuck subscriber is registered: it receives a status.
	got := make(chan struct{})
	go func() {
		for {
			id := c.send(c.shell, "kernel_info_request", map[string]any{})
			c.reply(c.shellCh, id)
			select {
			case <-got:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	if _, err := recvWithin(stuck, timeout); err != nil {
		t.Fatal("stuck subscriber never subscribed: ", err)
	}
	close(got)
	// From here on it reads nothing.
	before := heapInUse()
	const n, size = 6000, 16384 // 96 MB of display_data
	id := c.send(c.shell, "execute_request", map[string]any{"code": fmt.Sprint(n, " ", size)})
	select {
	case r := <-c.shellCh:
		if r.ParentID() != id || r.str("status") != "ok" {
			t.Fatalf("flood: %v", r.Content)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("no reply to the flood cell")
	}
	// The heap is shared with this test's client: do not count the
	// messages the reading client has decoded but not yet drained.
	clientHeld := uint64(len(c.iopubCh)) * size
	peak := heapInUse()
	growth := int64(peak) - int64(before) - int64(clientHeld)
	t.Logf("heap in use %.1f MiB before, %.1f MiB after %d MB published with one subscriber stuck (%.1f MiB held by the test client)",
		float64(before)/(1<<20), float64(peak)/(1<<20), n*size>>20, float64(clientHeld)/(1<<20))
	// Without a bound the queue alone would hold most of the 96 MB; with
	// the high-water mark it holds at most 1000 messages (16 MB).
	if growth > 48<<20 {
		t.Errorf("heap grew by %.1f MiB with a stuck subscriber (unbounded queue?)", float64(growth)/(1<<20))
	}
	// The reading subscriber gets traffic again once the stuck one is
	// dropped (what was queued meanwhile may be lost, as with libzmq).
	drained := stopDrain()
	sent := map[string]bool{}
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for recovered := false; !recovered; {
		select {
		case <-tick.C:
			sent[c.send(c.shell, "execute_request", map[string]any{"code": "echo alive"})] = true
		case m := <-c.shellCh:
			_ = m
		case m := <-c.iopubCh:
			recovered = sent[m.ParentID()] && m.Type() == "status" && m.str("execution_state") == "idle"
		case <-deadline:
			if os.Getenv("MEMWALL_DEBUG_STACKS") != "" {
				buf := make([]byte, 1<<20)
				os.Stderr.Write(buf[:runtime.Stack(buf, true)])
			}
			t.Fatal("iopub stayed stalled behind a subscriber that stopped reading")
		}
	}
	t.Logf("%d iopub messages drained during the flood", drained)
}

func recvWithin(s zmq4.Socket, d time.Duration) (zmq4.Msg, error) {
	type res struct {
		m   zmq4.Msg
		err error
	}
	ch := make(chan res, 1)
	go func() { m, err := s.Recv(); ch <- res{m, err} }()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-time.After(d):
		return zmq4.Msg{}, fmt.Errorf("nothing within %v", d)
	}
}

// ---- security ----

// TestForgedMessagesNeverRun sends execute_requests that must be dropped
// and checks, through a counting interpreter and the execution count, that
// none of them ran.
func TestForgedMessagesNeverRun(t *testing.T) {
	interp := &counting{}
	c, logs := startWithLog(t, kernelConfig{interp: interp}, true)
	code := map[string]any{"code": "echo pwned", "silent": false}
	var forged []string
	// Wrong signature of the right length (one hex digit changed).
	id, fr := c.frames("execute_request", code)
	sig := []byte(string(fr[1]))
	sig[10] = "01"[btoi(sig[10] == '0')]
	fr[1] = sig
	c.sendRaw(c.shell, fr)
	forged = append(forged, id)
	// Signed with another key.
	id, fr = c.frames("execute_request", code)
	other := &testClient{ci: kernel.ConnectionInfo{Key: "not-the-key"}, newHash: c.newHash}
	fr[1] = []byte(other.sign(fr[2], fr[3], fr[4], fr[5]))
	c.sendRaw(c.shell, fr)
	forged = append(forged, id)
	// No signature; a signature in upper- and lower-case garbage; truncated.
	for _, s := range []string{"", strings.Repeat("Z", 64), string(fr[1][:32])} {
		id, fr = c.frames("execute_request", code)
		fr[1] = []byte(s)
		c.sendRaw(c.shell, fr)
		forged = append(forged, id)
	}
	// Content tampered after signing.
	id, fr = c.frames("execute_request", code)
	fr[5] = []byte(`{"code":"echo tampered"}`)
	c.sendRaw(c.shell, fr)
	forged = append(forged, id)
	// Malformed JSON, correctly signed.
	id, fr = c.frames("execute_request", code)
	fr[5] = []byte(`{"code": "echo half`)
	fr[1] = []byte(c.sign(fr[2], fr[3], fr[4], fr[5]))
	c.sendRaw(c.shell, fr)
	forged = append(forged, id)
	// On control too (an execute_request there is an unknown request at
	// best, but a bad signature must drop it before that).
	id, fr = c.frames("execute_request", code)
	fr[1] = []byte(strings.Repeat("0", 64))
	c.sendRaw(c.control, fr)
	forged = append(forged, id)

	// A valid request now runs as cell 1: nothing before it ran.
	r, io := c.execute("echo real", nil)
	if r.str("status") != "ok" || r.Content["execution_count"] != float64(1) {
		t.Fatalf("first real cell: %v", r.Content)
	}
	if !hasStream(io, "real\n") {
		t.Errorf("first real cell iopub %v", types(io))
	}
	if n := interp.n.Load(); n != 1 {
		t.Errorf("interpreter ran %d cells, want 1", n)
	}
	c.noMessage(c.shellCh, 50*time.Millisecond)
	for _, m := range drain(c.iopubCh) {
		for _, f := range forged {
			if m.ParentID() == f {
				t.Errorf("iopub %s for a forged request", m.Type())
			}
		}
	}
	log := logs.String()
	if got := strings.Count(log, "dropped invalid message"); got < len(forged)-1 {
		t.Errorf("%d drops logged for %d forged messages (one has bad JSON content):\n%s", got, len(forged), log)
	}
	if strings.Contains(log, c.ci.Key) {
		t.Errorf("the key %q appears in the log:\n%s", c.ci.Key, log)
	}
	if strings.Contains(log, "pwned") {
		t.Errorf("forged code reached the log:\n%s", log)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func drain(ch chan *wireMsg) []*wireMsg {
	var out []*wireMsg
	for {
		select {
		case m := <-ch:
			out = append(out, m)
		case <-time.After(50 * time.Millisecond):
			return out
		}
	}
}

// TestReplayAndForeignSession documents the policy: a byte-for-byte replay
// of a validly signed message is dropped (the kernel remembers recent
// signatures, as jupyter_client's Session does); a message signed with
// the key but carrying another client's session id is served, because
// every client holding the key is trusted equally and clients sharing a
// kernel (a notebook and a console) each have their own session.
func TestReplayAndForeignSession(t *testing.T) {
	interp := &counting{}
	c, logs := startWithLog(t, kernelConfig{interp: interp}, false)
	id, fr := c.frames("execute_request", map[string]any{"code": "echo once"})
	c.sendRaw(c.shell, fr)
	if r := c.reply(c.shellCh, id); r.str("status") != "ok" {
		t.Fatalf("original: %v", r.Content)
	}
	c.iopubUntilIdle(id)
	for i := 0; i < 3; i++ {
		c.sendRaw(c.shell, fr) // replay on shell
	}
	c.sendRaw(c.control, fr) // and on control
	c.noMessage(c.shellCh, 200*time.Millisecond)
	c.noMessage(c.controlCh, 10*time.Millisecond)
	if n := interp.n.Load(); n != 1 {
		t.Fatalf("replayed cell ran: %d executions", n)
	}
	if !strings.Contains(logs.String(), "dropped replayed message") {
		t.Errorf("replay not logged:\n%s", logs.String())
	}
	// A fresh message with a foreign session, correctly signed, runs.
	h, _ := json.Marshal(map[string]any{"msg_id": uuid.NewString(), "session": "someone-else", "username": "x",
		"msg_type": "execute_request", "version": "5.3", "date": time.Now().UTC().Format(time.RFC3339Nano)})
	var hm map[string]any
	json.Unmarshal(h, &hm)
	cb := []byte(`{"code":"echo foreign"}`)
	c.sendRaw(c.shell, [][]byte{[]byte("<IDS|MSG>"), []byte(c.sign(h, []byte("{}"), []byte("{}"), cb)), h, []byte("{}"), []byte("{}"), cb})
	if r := c.reply(c.shellCh, hm["msg_id"].(string)); r.str("status") != "ok" || r.Content["execution_count"] != float64(2) {
		t.Fatalf("foreign session: %v", r.Content)
	}
	if n := interp.n.Load(); n != 2 {
		t.Errorf("%d executions, want 2", n)
	}
}

func TestEmptyKeyWarns(t *testing.T) {
	c, logs := startWithLog(t, kernelConfig{scheme: "none"}, false)
	if r, _ := c.execute("echo unsigned", nil); r.str("status") != "ok" {
		t.Fatalf("unsigned execute: %v", r.Content)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "empty key") {
		t.Errorf("no warning about the empty key:\n%s", logs.String())
	}
	// With a key, no such warning.
	_, logs = startWithLog(t, kernelConfig{}, false)
	if strings.Contains(logs.String(), "empty key") {
		t.Errorf("empty-key warning with a key:\n%s", logs.String())
	}
}

// TestBindsOnlyTheConnectionAddress: a kernel told to listen on 127.0.0.1
// is reachable there and not on another local address, and /proc/net/tcp
// lists its ports on 127.0.0.1 only.
func TestBindsOnlyTheConnectionAddress(t *testing.T) {
	c := startKernel(t, kernelConfig{})
	ports := []int{c.ci.ShellPort, c.ci.ControlPort, c.ci.IOPubPort, c.ci.StdinPort, c.ci.HBPort}
	for _, p := range ports {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), time.Second)
		if err != nil {
			t.Errorf("port %d on 127.0.0.1: %v", p, err)
		} else {
			conn.Close()
		}
		// 127.0.0.2 is this machine too (all of 127/8 is loopback on Linux).
		conn, err = net.DialTimeout("tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(p)), time.Second)
		if err == nil {
			conn.Close()
			t.Errorf("port %d reachable on 127.0.0.2: bound to more than the connection file's address", p)
		}
	}
	if runtime.GOOS != "linux" {
		return
	}
	listen, err := listeningSockets()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		addrs := listen[p]
		if len(addrs) != 1 || addrs[0] != "127.0.0.1" {
			t.Errorf("port %d listens on %v, want [127.0.0.1]", p, addrs)
		}
	}
}

// listeningSockets parses /proc/net/tcp and /proc/net/tcp6: port → local
// addresses in state LISTEN.
func listeningSockets() (map[int][]string, error) {
	out := map[int][]string{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			if f == "/proc/net/tcp6" {
				continue
			}
			return nil, err
		}
		s := bufio.NewScanner(bytes.NewReader(data))
		s.Scan() // header
		for s.Scan() {
			fields := strings.Fields(s.Text())
			if len(fields) < 4 || fields[3] != "0A" { // 0A = TCP_LISTEN
				continue
			}
			hostHex, portHex, ok := strings.Cut(fields[1], ":")
			if !ok {
				continue
			}
			port, _ := strconv.ParseInt(portHex, 16, 32)
			raw, err := hex.DecodeString(hostHex)
			if err != nil {
				continue
			}
			// Each 32-bit word is in host (little-endian) order.
			for i := 0; i+4 <= len(raw); i += 4 {
				raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
			}
			out[int(port)] = append(out[int(port)], net.IP(raw).String())
		}
	}
	return out, nil
}

// TestKeyNeverLogged drives every error path that logs (bad signatures,
// bad framing, oversized frames, unknown types, panics) at Debug level and
// checks the key is nowhere in the log.
func TestKeyNeverLogged(t *testing.T) {
	c, logs := startWithLog(t, kernelConfig{key: "s3cret-" + uuid.NewString()}, true)
	_, fr := c.frames("execute_request", map[string]any{"code": "echo x"})
	fr[1] = []byte(strings.Repeat("a", 64))
	c.sendRaw(c.shell, fr)
	c.sendRaw(c.shell, [][]byte{[]byte("<IDS|MSG>"), []byte(c.ci.Key)}) // the key itself as a "signature"
	_, fr = c.frames("execute_request", map[string]any{"code": "echo x"})
	fr[1] = []byte(hex.EncodeToString([]byte(c.ci.Key)))
	c.sendRaw(c.control, fr)
	c.send(c.shell, "frobnicate_request", map[string]any{})
	r, _ := c.execute("panic boom", nil)
	if r.str("ename") != "Panic" {
		t.Errorf("panic cell: %v", r.Content)
	}
	id := c.send(c.shell, "kernel_info_request", map[string]any{})
	c.reply(c.shellCh, id)
	log := logs.String()
	if !strings.Contains(log, "bad signature") {
		t.Fatalf("bad signatures not logged (is the log captured?):\n%s", log)
	}
	if strings.Contains(log, c.ci.Key) {
		t.Errorf("key in log:\n%s", log)
	}
	if strings.Contains(log, hex.EncodeToString([]byte(c.ci.Key))) {
		t.Errorf("hex of the key in log")
	}
}

var _ = io.Discard
