package kernel_test

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/google/uuid"

	"github.com/memwall/memwall/kernel"
	"github.com/memwall/memwall/kernel/internal/toy"
)

// This file is a minimal Jupyter client over zmq4, used to drive an
// in-process kernel in the tests and benchmarks.

type wireMsg struct {
	Idents   [][]byte
	Header   map[string]any
	Parent   map[string]any
	Metadata map[string]any
	Content  map[string]any
	Buffers  [][]byte
}

func (m *wireMsg) Type() string     { s, _ := m.Header["msg_type"].(string); return s }
func (m *wireMsg) ParentID() string { s, _ := m.Parent["msg_id"].(string); return s }
func (m *wireMsg) str(k string) string {
	s, _ := m.Content[k].(string)
	return s
}

type testClient struct {
	t       testing.TB
	ci      kernel.ConnectionInfo
	newHash func() hash.Hash
	session string
	id      string

	shell, control, stdin, iopub, hb zmq4.Socket
	shellCh, controlCh, stdinCh      chan *wireMsg
	iopubCh                          chan *wireMsg

	serveErr chan error
	cancel   context.CancelFunc
	closed   sync.Once
}

type kernelConfig struct {
	transport string
	scheme    string
	key       string
	interp    kernel.Interpreter
	interval  time.Duration
	maxMsg    int64
	// logs, when set, receives the kernel's log: through Options.LogWriter
	// (the kernel's default Info-level logger), or at Debug level with
	// debugLog.
	logs     io.Writer
	debugLog bool
}

func newConnFile(t testing.TB, cfg kernelConfig) string {
	dir := t.TempDir()
	ci := map[string]any{
		"transport": "tcp", "ip": "127.0.0.1",
		"shell_port": 0, "control_port": 0, "iopub_port": 0, "stdin_port": 0, "hb_port": 0,
		"key": cfg.key, "signature_scheme": cfg.scheme,
	}
	if cfg.transport == "ipc" {
		ci["transport"] = "ipc"
		ci["ip"] = filepath.Join(dir, "k")
		for i, p := range []string{"shell_port", "control_port", "iopub_port", "stdin_port", "hb_port"} {
			ci[p] = i + 1
		}
	}
	b, _ := json.Marshal(ci)
	path := filepath.Join(dir, "kernel.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startKernel serves an in-process kernel and connects a client to it.
func startKernel(t testing.TB, cfg kernelConfig) *testClient {
	t.Helper()
	if cfg.scheme == "" {
		cfg.scheme = "hmac-sha256"
	}
	if cfg.key == "" && cfg.scheme != "none" {
		cfg.key = uuid.NewString()
	}
	if cfg.scheme == "none" {
		cfg.scheme, cfg.key = "hmac-sha256", ""
	}
	if cfg.interp == nil {
		cfg.interp = toy.Interp{}
	}
	path := newConnFile(t, cfg)
	ready := make(chan kernel.ConnectionInfo, 1)
	ctx, cancel := context.WithCancel(context.Background())
	c := &testClient{t: t, session: uuid.NewString(), id: uuid.NewString(), serveErr: make(chan error, 1), cancel: cancel}
	opts := kernel.Options{
		StreamInterval: cfg.interval,
		MaxMessageSize: cfg.maxMsg,
		Ready:          func(ci kernel.ConnectionInfo) { ready <- ci },
	}
	switch {
	case cfg.logs != nil && !cfg.debugLog:
		opts.LogWriter = cfg.logs
	case cfg.logs != nil:
		opts.Logger = slog.New(slog.NewTextHandler(cfg.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	default:
		logw := io.Discard
		if testing.Verbose() {
			logw = os.Stderr
		}
		opts.Logger = slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	go func() { c.serveErr <- kernel.Serve(ctx, path, cfg.interp, opts) }()
	select {
	case c.ci = <-ready:
	case err := <-c.serveErr:
		t.Fatalf("Serve: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("kernel not ready")
	}
	c.newHash = hashFor(cfg.scheme)
	c.connect()
	t.Cleanup(c.close)
	c.waitReady()
	return c
}

func hashFor(scheme string) func() hash.Hash {
	// The client recomputes signatures with the standard library, independently
	// of the kernel's table.
	return map[string]func() hash.Hash{
		"hmac-sha256": sha256.New, "hmac-sha1": sha1.New, "hmac-sha224": sha256.New224,
		"hmac-sha384": sha512.New384, "hmac-sha512": sha512.New, "hmac-md5": md5.New,
	}[scheme]
}

func (c *testClient) dial(s zmq4.Socket, port int) {
	if err := s.Dial(c.ci.Endpoint(port)); err != nil {
		c.t.Fatalf("dial %s: %v", c.ci.Endpoint(port), err)
	}
}

func (c *testClient) connect() {
	ctx := context.Background()
	id := zmq4.WithID(zmq4.SocketIdentity(c.id))
	c.shell = zmq4.NewDealer(ctx, id)
	c.control = zmq4.NewDealer(ctx, zmq4.WithID(zmq4.SocketIdentity(c.id+"-ctl")))
	c.stdin = zmq4.NewDealer(ctx, id)
	c.iopub = zmq4.NewSub(ctx)
	c.hb = zmq4.NewReq(ctx)
	c.dial(c.shell, c.ci.ShellPort)
	c.dial(c.control, c.ci.ControlPort)
	c.dial(c.stdin, c.ci.StdinPort)
	c.dial(c.iopub, c.ci.IOPubPort)
	c.dial(c.hb, c.ci.HBPort)
	if err := c.iopub.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		c.t.Fatal(err)
	}
	c.shellCh = c.pump(c.shell)
	c.controlCh = c.pump(c.control)
	c.stdinCh = c.pump(c.stdin)
	c.iopubCh = c.pump(c.iopub)
}

func (c *testClient) close() {
	c.closed.Do(func() {
		c.cancel()
		select {
		case <-c.serveErr:
		case <-time.After(3 * time.Second):
			c.t.Errorf("Serve did not return after cancel")
		}
		for _, s := range []zmq4.Socket{c.shell, c.control, c.stdin, c.iopub, c.hb} {
			if s != nil {
				s.Close()
			}
		}
	})
}

func (c *testClient) pump(s zmq4.Socket) chan *wireMsg {
	ch := make(chan *wireMsg, 10000)
	go func() {
		for {
			zm, err := s.Recv()
			if err != nil {
				return
			}
			m, err := c.decode(zm.Frames)
			if err != nil {
				c.t.Errorf("client: bad message from kernel: %v", err)
				continue
			}
			ch <- m
		}
	}()
	return ch
}

func (c *testClient) sign(parts ...[]byte) string {
	if c.ci.Key == "" {
		return ""
	}
	m := hmac.New(c.newHash, []byte(c.ci.Key))
	for _, p := range parts {
		m.Write(p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

func (c *testClient) decode(frames [][]byte) (*wireMsg, error) {
	i := 0
	for i < len(frames) && string(frames[i]) != "<IDS|MSG>" {
		i++
	}
	if len(frames)-i < 6 {
		return nil, fmt.Errorf("bad framing: %q", frames)
	}
	m := &wireMsg{Idents: frames[:i]}
	if sig := c.sign(frames[i+2], frames[i+3], frames[i+4], frames[i+5]); sig != string(frames[i+1]) {
		return nil, fmt.Errorf("bad signature %q, want %q", frames[i+1], sig)
	}
	for j, dst := range []*map[string]any{&m.Header, &m.Parent, &m.Metadata, &m.Content} {
		if err := json.Unmarshal(frames[i+2+j], dst); err != nil {
			return nil, fmt.Errorf("frame %d: %v: %s", j, err, frames[i+2+j])
		}
	}
	m.Buffers = frames[i+6:]
	if _, ok := m.Header["date"].(string); !ok {
		return nil, fmt.Errorf("no date in header %v", m.Header)
	}
	if v, _ := m.Header["version"].(string); v < "5.3" {
		return nil, fmt.Errorf("header version %q", v)
	}
	if _, err := uuid.Parse(m.Header["msg_id"].(string)); err != nil {
		return nil, fmt.Errorf("msg_id: %v", err)
	}
	return m, nil
}

// frames builds a signed request.
func (c *testClient) frames(msgType string, content any) (string, [][]byte) {
	id := uuid.NewString()
	h, _ := json.Marshal(map[string]any{
		"msg_id": id, "session": c.session, "username": "test", "msg_type": msgType,
		"version": "5.3", "date": time.Now().UTC().Format(time.RFC3339Nano),
	})
	cb, _ := json.Marshal(content)
	p, md := []byte("{}"), []byte("{}")
	return id, [][]byte{[]byte("<IDS|MSG>"), []byte(c.sign(h, p, md, cb)), h, p, md, cb}
}

func (c *testClient) sendRaw(s zmq4.Socket, frames [][]byte) {
	if err := s.Send(zmq4.NewMsgFrom(frames...)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *testClient) send(s zmq4.Socket, msgType string, content any) string {
	id, fr := c.frames(msgType, content)
	c.sendRaw(s, fr)
	return id
}

const timeout = 5 * time.Second

// reply waits for the reply to msgID on ch.
func (c *testClient) reply(ch chan *wireMsg, msgID string) *wireMsg {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-ch:
			if m.ParentID() == msgID {
				return m
			}
			c.t.Logf("skipping %s (parent %s)", m.Type(), m.ParentID())
		case <-deadline:
			c.t.Fatalf("no reply to %s", msgID)
			return nil
		}
	}
}

// noMessage checks that nothing arrives on ch for d.
func (c *testClient) noMessage(ch chan *wireMsg, d time.Duration) {
	c.t.Helper()
	select {
	case m := <-ch:
		c.t.Fatalf("unexpected message %s: %v", m.Type(), m.Content)
	case <-time.After(d):
	}
}

// iopubUntilIdle returns the iopub messages whose parent is msgID, from the
// first one to status idle (included).
func (c *testClient) iopubUntilIdle(msgID string) []*wireMsg {
	c.t.Helper()
	var out []*wireMsg
	deadline := time.After(timeout)
	for {
		select {
		case m := <-c.iopubCh:
			if m.ParentID() != msgID {
				continue
			}
			out = append(out, m)
			if m.Type() == "status" && m.str("execution_state") == "idle" {
				return out
			}
		case <-deadline:
			c.t.Fatalf("no idle for %s; got %d messages", msgID, len(out))
			return nil
		}
	}
}

// waitReady repeats kernel_info_request until iopub delivers (ZeroMQ
// subscriptions take effect asynchronously), then drains iopub.
func (c *testClient) waitReady() {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		id := c.send(c.shell, "kernel_info_request", map[string]any{})
		c.reply(c.shellCh, id)
		got := false
		wait := time.After(100 * time.Millisecond)
	drain:
		for {
			select {
			case m := <-c.iopubCh:
				if m.ParentID() == id && m.Type() == "status" && m.str("execution_state") == "idle" {
					got = true
				}
			case <-wait:
				break drain
			}
		}
		if got {
			return
		}
	}
	c.t.Fatal("iopub never connected")
}

// execute runs code and returns the shell reply and the iopub messages.
func (c *testClient) execute(code string, extra map[string]any) (*wireMsg, []*wireMsg) {
	c.t.Helper()
	content := map[string]any{"code": code, "silent": false, "store_history": true,
		"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true}
	for k, v := range extra {
		content[k] = v
	}
	id := c.send(c.shell, "execute_request", content)
	r := c.reply(c.shellCh, id)
	return r, c.iopubUntilIdle(id)
}

func types(ms []*wireMsg) []string {
	var s []string
	for _, m := range ms {
		t := m.Type()
		if t == "status" {
			t += ":" + m.str("execution_state")
		}
		s = append(s, t)
	}
	return s
}
