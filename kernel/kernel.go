package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/google/uuid"
)

// Options configure Serve. The zero value works.
type Options struct {
	// Logger receives the kernel's log. If nil, a text logger at level Info
	// writes to LogWriter, or to os.Stderr if LogWriter is nil too (Jupyter
	// servers show a kernel's stderr in their own log).
	Logger    *slog.Logger
	LogWriter io.Writer

	// HandleSignals makes Serve catch SIGINT, which then interrupts the
	// running cell instead of killing the process (Jupyter's
	// interrupt_mode "signal"), and SIGTERM, which shuts the kernel down
	// cleanly. Set it in a kernel binary; leave it off in tests and when
	// several kernels share a process.
	HandleSignals bool

	// MaxMessageSize bounds one incoming ZeroMQ message in bytes; a peer that
	// sends more is disconnected. 0 means DefaultMaxMessageSize. The bound
	// is process-wide: the last Serve to start sets it.
	MaxMessageSize int64

	// StreamInterval is the longest time stream text waits in the buffer
	// before it is published; 0 means 50 ms.
	StreamInterval time.Duration

	// Ready, if set, is called once every socket is bound, with the
	// connection as bound (ports of 0 in the connection file replaced by
	// the ports chosen).
	Ready func(ConnectionInfo)
}

// Serve runs a kernel for interp on the connection described by the
// connection file connFile, until a shutdown_request arrives or ctx is
// cancelled; it then closes its sockets and returns nil (within about a
// second, unless the interpreter ignores the cancellation of its context).
// It returns an error only if the connection file is invalid or a socket
// cannot be bound.
func Serve(ctx context.Context, connFile string, interp Interpreter, opts Options) error {
	ci, err := ReadConnectionFile(connFile)
	if err != nil {
		return err
	}
	return ServeConnection(ctx, ci, interp, opts)
}

// ServeConnection is Serve with the connection given directly.
func ServeConnection(ctx context.Context, ci ConnectionInfo, interp Interpreter, opts Options) error {
	if interp == nil {
		return errors.New("kernel: nil Interpreter")
	}
	k := newKernel(ci, interp, opts)
	return k.serve(ctx)
}

// channel is one of the kernel's sockets with a lock serialising sends.
type channel struct {
	name string
	sock zmq4.Socket
	port *int
	mu   sync.Mutex
	ipc  string // socket file to remove on close
}

type kernel struct {
	ci     ConnectionInfo
	interp Interpreter
	opts   Options
	log    *slog.Logger
	sign   signer

	session  string
	kernelID string
	interval time.Duration

	shell, control, stdin, iopub, hb *channel

	ctx    context.Context
	cancel context.CancelFunc
	closed atomic.Bool

	queue  *msgQueue
	replay *replayWindow
	wg     sync.WaitGroup

	runMu     sync.Mutex
	runCancel context.CancelCauseFunc

	shutdownOnce sync.Once
	shutdown     atomic.Bool

	inputMu   sync.Mutex // one input_request at a time
	pendingMu sync.Mutex
	pending   *pendingInput

	comms    *Comms
	parentMu sync.Mutex
	parent   *message // the request the executor handles (or handled last)

	// executor-goroutine state
	abort     int // queued requests still to abort after a failed cell
	execCount int
	history   []histEntry
}

type pendingInput struct {
	msgID string
	ch    chan string
}

func newKernel(ci ConnectionInfo, interp Interpreter, opts Options) *kernel {
	lg := opts.Logger
	if lg == nil {
		w := opts.LogWriter
		if w == nil {
			w = os.Stderr
		}
		lg = slog.New(slog.NewTextHandler(w, nil))
	}
	interval := opts.StreamInterval
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	k := &kernel{
		ci:       ci,
		interp:   interp,
		opts:     opts,
		log:      lg,
		sign:     newSigner(ci),
		session:  uuid.NewString(),
		kernelID: uuid.NewString(),
		interval: interval,
		queue:    newMsgQueue(),
		replay:   newReplayWindow(replayWindowSize),
	}
	k.shell = &channel{name: "shell", port: &k.ci.ShellPort}
	k.control = &channel{name: "control", port: &k.ci.ControlPort}
	k.stdin = &channel{name: "stdin", port: &k.ci.StdinPort}
	k.iopub = &channel{name: "iopub", port: &k.ci.IOPubPort}
	k.hb = &channel{name: "hb", port: &k.ci.HBPort}
	k.comms = newComms(k)
	if cu, ok := interp.(CommUser); ok {
		func() {
			defer func() {
				if v := recover(); v != nil {
					k.log.Error("panic in Interpreter.UseComms", "panic", v)
				}
			}()
			cu.UseComms(k.comms)
		}()
	}
	return k
}

func (k *kernel) channels() []*channel {
	return []*channel{k.shell, k.control, k.stdin, k.iopub, k.hb}
}

func (k *kernel) serve(parent context.Context) error {
	if err := registerTransports(); err != nil {
		return fmt.Errorf("kernel: %w", err)
	}
	if k.opts.MaxMessageSize > 0 {
		maxMessageMu.Lock()
		maxMessageSize = k.opts.MaxMessageSize
		maxMessageMu.Unlock()
	}
	if !k.sign.enabled() {
		k.log.Warn("connection file has an empty key: messages are not signed, anyone who can reach the ports can run code")
	}
	k.ctx, k.cancel = context.WithCancel(parent)
	defer k.cancel()

	zlog := log.New(io.Discard, "", 0)
	if k.log.Enabled(context.Background(), slog.LevelDebug) {
		zlog = slog.NewLogLogger(k.log.Handler(), slog.LevelDebug)
	}
	sctx := context.Background() // sockets live until closed below
	k.shell.sock = zmq4.NewRouter(sctx, zmq4.WithLogger(zlog))
	k.control.sock = zmq4.NewRouter(sctx, zmq4.WithLogger(zlog))
	k.stdin.sock = zmq4.NewRouter(sctx, zmq4.WithLogger(zlog))
	k.iopub.sock = zmq4.NewPub(sctx, zmq4.WithLogger(zlog))
	// zmq4's PUB queues without bound by default; like libzmq's SNDHWM,
	// cap the queue and drop beyond it, so that a slow subscriber cannot
	// make the kernel's memory grow without limit.
	if err := k.iopub.sock.SetOption(zmq4.OptionHWM, IOPubHighWaterMark); err != nil {
		k.log.Warn("cannot set the iopub high-water mark", "err", err)
	}
	k.hb.sock = zmq4.NewRep(sctx, zmq4.WithLogger(zlog))

	for _, c := range k.channels() {
		if err := k.listen(c); err != nil {
			k.closeSockets()
			return err
		}
	}
	k.log.Info("kernel listening", "transport", k.ci.Transport, "ip", k.ci.IP,
		"shell", k.ci.ShellPort, "control", k.ci.ControlPort, "iopub", k.ci.IOPubPort,
		"stdin", k.ci.StdinPort, "hb", k.ci.HBPort)

	if k.opts.HandleSignals {
		sigs := make(chan os.Signal, 4)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sigs)
		go func() {
			for {
				select {
				case <-k.ctx.Done():
					return
				case s := <-sigs:
					if s == os.Interrupt {
						k.log.Info("SIGINT: interrupting")
						k.interrupt()
					} else {
						k.log.Info("SIGTERM: shutting down")
						k.stop()
					}
				}
			}
		}()
	}

	k.publish(nil, "status", map[string]any{"execution_state": "starting"})
	k.spawn(k.heartbeat)
	k.spawn(k.readShell)
	k.spawn(k.readControl)
	k.spawn(k.readStdin)
	k.spawn(k.executor)
	if k.opts.Ready != nil {
		k.opts.Ready(k.ci)
	}

	<-k.ctx.Done()
	k.interrupt()
	if k.shutdown.Load() {
		// zmq4's PUB sends from a queue: let the shutdown_reply and the
		// last status leave before the connections close.
		time.Sleep(50 * time.Millisecond)
	}
	k.closeSockets()
	done := make(chan struct{})
	go func() { k.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(300 * time.Millisecond):
		k.log.Warn("interpreter did not return after cancellation; leaving it behind")
	}
	k.log.Info("kernel stopped")
	return nil
}

func (k *kernel) spawn(f func()) {
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		f()
	}()
}

// listen binds c where the connection info says.
func (k *kernel) listen(c *channel) error {
	var ep string
	if k.ci.Transport == "ipc" {
		path := fmt.Sprintf("%s-%d", k.ci.IP, *c.port)
		// libzmq unlinks a stale socket file before binding; do the same.
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(path)
		}
		ep = limitedIPC + "://" + path
		c.ipc = path
	} else {
		ep = limitedTCP + "://" + net.JoinHostPort(k.ci.IP, fmt.Sprint(*c.port))
	}
	if err := c.sock.Listen(ep); err != nil {
		return fmt.Errorf("kernel: %s channel: cannot bind %s: %w", c.name, k.ci.Endpoint(*c.port), err)
	}
	if a, ok := c.sock.Addr().(*net.TCPAddr); ok {
		*c.port = a.Port
	}
	return nil
}

// closeSockets closes every socket, giving up on one that hangs.
func (k *kernel) closeSockets() {
	k.closed.Store(true)
	var wg sync.WaitGroup
	for _, c := range k.channels() {
		if c.sock == nil {
			continue
		}
		wg.Add(1)
		go func(c *channel) {
			defer wg.Done()
			c.sock.Close()
			if c.ipc != "" {
				os.Remove(c.ipc)
			}
		}(c)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(500 * time.Millisecond):
		k.log.Warn("closing sockets timed out")
	}
}

// stop makes serve return.
func (k *kernel) stop() {
	k.shutdownOnce.Do(func() {
		k.shutdown.Store(true)
		k.cancel()
	})
}

// interrupt cancels the running cell, if any.
func (k *kernel) interrupt() {
	k.runMu.Lock()
	defer k.runMu.Unlock()
	if k.runCancel != nil {
		k.runCancel(ErrInterrupted)
	}
}

// ---- receiving ----

// recv reads and decodes the next valid message from c. It returns nil
// when the kernel is stopping.
func (k *kernel) recv(c *channel) *message {
	for {
		zm, err := c.sock.Recv()
		if k.ctx.Err() != nil || k.closed.Load() {
			return nil
		}
		if err != nil {
			k.log.Warn("receive failed", "channel", c.name, "err", err)
			select {
			case <-k.ctx.Done():
				return nil
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		m, err := k.sign.decode(zm.Frames)
		if err != nil {
			k.log.Warn("dropped invalid message", "channel", c.name, "err", err)
			continue
		}
		if k.sign.enabled() && !k.replay.add(m.Digest) {
			k.log.Warn("dropped replayed message (its signature was seen before)", "channel", c.name,
				"msg_type", m.Header.MsgType, "msg_id", m.Header.MsgID)
			continue
		}
		k.log.Debug("received", "channel", c.name, "msg_type", m.Header.MsgType, "msg_id", m.Header.MsgID)
		return m
	}
}

func (k *kernel) heartbeat() {
	for {
		zm, err := k.hb.sock.Recv()
		if k.ctx.Err() != nil || k.closed.Load() {
			return
		}
		if err != nil {
			k.log.Debug("heartbeat receive failed", "err", err)
			continue
		}
		if err := k.hb.sock.Send(zm); err != nil {
			k.log.Debug("heartbeat send failed", "err", err)
		}
	}
}

func (k *kernel) readShell() {
	for {
		m := k.recv(k.shell)
		if m == nil {
			return
		}
		switch m.Header.MsgType {
		case "interrupt_request", "shutdown_request":
			// Must not wait behind the running cell.
			k.handleControl(k.shell, m)
		case "comm_msg":
			tagComm(m)
			k.comms.arriving(m)
			k.queue.push(m)
		default:
			k.queue.push(m)
		}
	}
}

func (k *kernel) readControl() {
	for {
		m := k.recv(k.control)
		if m == nil {
			return
		}
		k.handleControl(k.control, m)
	}
}

func (k *kernel) readStdin() {
	for {
		m := k.recv(k.stdin)
		if m == nil {
			return
		}
		if m.Header.MsgType != "input_reply" {
			k.log.Warn("unexpected message on stdin", "msg_type", m.Header.MsgType)
			continue
		}
		var c struct {
			Value string `json:"value"`
		}
		var p struct {
			MsgID string `json:"msg_id"`
		}
		_ = json.Unmarshal(m.Content, &c)
		_ = json.Unmarshal(m.Parent, &p)
		k.pendingMu.Lock()
		pi := k.pending
		if pi != nil && (p.MsgID == "" || p.MsgID == pi.msgID) {
			select {
			case pi.ch <- c.Value:
			default:
			}
		} else {
			k.log.Warn("input_reply without a matching input_request", "parent_msg_id", p.MsgID)
		}
		k.pendingMu.Unlock()
	}
}

// ---- sending ----

// send signs and sends a message on c. It reports failures in the log.
func (k *kernel) send(c *channel, idents [][]byte, h header, parent json.RawMessage, content any) {
	k.sendFull(c, idents, h, parent, nil, content, nil)
}

// sendFull is send with metadata and binary buffers.
func (k *kernel) sendFull(c *channel, idents [][]byte, h header, parent json.RawMessage, metadata, content any, buffers [][]byte) {
	if k.closed.Load() {
		return
	}
	frames, err := k.sign.encode(idents, h, parent, metadata, content, buffers...)
	if err != nil {
		k.log.Error("cannot encode message", "channel", c.name, "msg_type", h.MsgType, "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.sock.Send(zmq4.NewMsgFrom(frames...)); err != nil {
		k.log.Warn("send failed", "channel", c.name, "msg_type", h.MsgType, "err", err)
	}
}

// reply answers req on the channel it came in on.
func (k *kernel) reply(c *channel, req *message, content any) {
	t := strings.TrimSuffix(req.Header.MsgType, "_request") + "_reply"
	k.send(c, req.Idents, newHeader(k.session, t), req.RawHeader, content)
}

// publish sends a message on iopub; parent may be nil.
func (k *kernel) publish(parent *message, msgType string, content any) {
	k.publishFull(parent, msgType, nil, content, nil)
}

// publishFull is publish with metadata and binary buffers.
func (k *kernel) publishFull(parent *message, msgType string, metadata, content any, buffers [][]byte) {
	var ph json.RawMessage
	if parent != nil {
		ph = parent.RawHeader
	}
	topic := []byte("kernel." + k.kernelID + "." + msgType)
	k.sendFull(k.iopub, [][]byte{topic}, newHeader(k.session, msgType), ph, metadata, content, buffers)
}

func (k *kernel) status(parent *message, state string) {
	k.publish(parent, "status", map[string]any{"execution_state": state})
}

// errorContent is the content of an error reply or message.
func errorContent(ename, evalue string, traceback []string) map[string]any {
	if traceback == nil {
		traceback = []string{}
	}
	return map[string]any{"status": "error", "ename": ename, "evalue": evalue, "traceback": traceback}
}

func (k *kernel) replyError(c *channel, req *message, ename, evalue string) {
	k.reply(c, req, errorContent(ename, evalue, []string{ename + ": " + evalue}))
}

// ---- control ----

func (k *kernel) handleControl(c *channel, m *message) {
	k.status(m, "busy")
	func() {
		defer k.recoverRequest(c, m)
		switch m.Header.MsgType {
		case "kernel_info_request":
			k.reply(c, m, k.kernelInfo())
		case "interrupt_request":
			k.interrupt()
			k.reply(c, m, map[string]any{"status": "ok"})
		case "shutdown_request":
			var req struct {
				Restart bool `json:"restart"`
			}
			_ = json.Unmarshal(m.Content, &req)
			content := map[string]any{"status": "ok", "restart": req.Restart}
			k.reply(c, m, content)
			k.publish(m, "shutdown_reply", content)
			k.shutdown.Store(true)
		case "comm_info_request":
			k.commInfo(c, m)
		default:
			k.unknown(c, m)
		}
	}()
	k.status(m, "idle")
	if k.shutdown.Load() {
		k.stop()
	}
}

func (k *kernel) unknown(c *channel, m *message) {
	k.log.Warn("unknown message type", "channel", c.name, "msg_type", m.Header.MsgType)
	if strings.HasSuffix(m.Header.MsgType, "_request") {
		k.replyError(c, m, "UnknownMessageType", fmt.Sprintf("message type %q is not supported by this kernel", m.Header.MsgType))
	}
}

// recoverRequest turns a panic while handling a request into an error reply.
func (k *kernel) recoverRequest(c *channel, m *message) {
	if v := recover(); v != nil {
		k.log.Error("panic while handling request", "msg_type", m.Header.MsgType, "panic", v)
		if strings.HasSuffix(m.Header.MsgType, "_request") {
			k.replyError(c, m, "Panic", fmt.Sprint(v))
		}
	}
}

func (k *kernel) kernelInfo() map[string]any {
	var info KernelInfo
	func() {
		defer func() {
			if v := recover(); v != nil {
				k.log.Error("panic in Interpreter.Info", "panic", v)
			}
		}()
		info = k.interp.Info()
	}()
	li := info.LanguageInfo
	lang := map[string]any{
		"name":           li.Name,
		"version":        li.Version,
		"mimetype":       li.MIMEType,
		"file_extension": li.FileExtension,
	}
	if li.PygmentsLexer != "" {
		lang["pygments_lexer"] = li.PygmentsLexer
	}
	if li.CodeMirrorMode != "" {
		lang["codemirror_mode"] = li.CodeMirrorMode
	}
	if li.NbconvertExporter != "" {
		lang["nbconvert_exporter"] = li.NbconvertExporter
	}
	links := info.HelpLinks
	if links == nil {
		links = []HelpLink{}
	}
	return map[string]any{
		"status":                 "ok",
		"protocol_version":       ProtocolVersion,
		"implementation":         info.Implementation,
		"implementation_version": info.ImplementationVersion,
		"language_info":          lang,
		"banner":                 info.Banner,
		"help_links":             links,
		"debugger":               false,
	}
}
