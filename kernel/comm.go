package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/google/uuid"
)

// Comms are the Jupyter messaging protocol's custom message channels
// between a front end and the kernel (comm_open, comm_msg, comm_close).
// Either side may open one; each has an id and names a target that tells
// the other side what it is for (Jupyter widgets use "jupyter.widget").
//
// The kernel knows nothing of what a comm carries: an Interpreter that
// implements CommUser is handed the kernel's *Comms before the kernel
// starts serving, registers its targets there and opens comms of its own.
//
// What the front end sends on a comm is handled by the executor, in order
// with the cells and never at the same time as a cell or another handler:
// a comm_msg that arrives while a cell runs waits for the cell. A handler
// gets a context that an interrupt cancels, and an Output whose messages
// have the comm message as their parent; a handler that returns an error
// or panics has its error published as an "error" message with that
// parent and logged, and the kernel carries on.

// CommMsg is a message that arrived on a comm: the comm_open that created
// it, a comm_msg, or the comm_close that ended it.
type CommMsg struct {
	// MsgID is the message's msg_id. What a handler sends while it runs
	// has this message as its parent.
	MsgID string
	// Data and Metadata are the message's content.data and metadata, as
	// received (a JSON object, or null).
	Data     json.RawMessage
	Metadata json.RawMessage
	// Buffers are the binary buffers that followed the message's frames.
	Buffers [][]byte
}

// CommFunc handles a message that arrived on comm c. ctx is cancelled when
// the user interrupts the kernel (context.Cause is then ErrInterrupted);
// out is valid only while the function runs.
type CommFunc func(ctx context.Context, c *Comm, m CommMsg, out Output) error

// CommUser is an optional interface for an Interpreter that uses comms:
// the kernel calls UseComms once, before it serves any request.
type CommUser interface {
	UseComms(c *Comms)
}

// ErrCommClosed is returned by Comm.Send and Comm.Close on a comm that is
// closed (by either side).
var ErrCommClosed = errors.New("kernel: comm is closed")

// Comms is a kernel's set of open comms and registered comm targets. Its
// methods are safe for concurrent use.
type Comms struct {
	k       *kernel
	mu      sync.Mutex
	targets map[string]CommFunc
	open    map[string]*Comm
}

func newComms(k *kernel) *Comms {
	return &Comms{k: k, targets: map[string]CommFunc{}, open: map[string]*Comm{}}
}

// Register makes the kernel accept comm_open for target: open is called
// for each with the new comm and the comm_open message (whose Data holds
// what the front end sent with it). If open returns an error the comm is
// closed again. A nil open unregisters the target; comms already open are
// not affected.
func (cs *Comms) Register(target string, open CommFunc) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if open == nil {
		delete(cs.targets, target)
		return
	}
	cs.targets[target] = open
}

// Open opens a comm from the kernel's side: a comm_open for target is
// published on iopub with data (any JSON-marshalable value; nil is sent as
// {}), metadata (nil: {}) and binary buffers.
func (cs *Comms) Open(target string, data any, metadata map[string]any, buffers [][]byte) (*Comm, error) {
	if target == "" {
		return nil, errors.New("kernel: comm target name is empty")
	}
	c := &Comm{id: uuid.NewString(), target: target, cs: cs}
	cs.mu.Lock()
	cs.open[c.id] = c
	cs.mu.Unlock()
	content := map[string]any{"comm_id": c.id, "target_name": target, "data": orEmpty(data)}
	if err := cs.k.publishComm("comm_open", content, metadata, buffers); err != nil {
		cs.mu.Lock()
		delete(cs.open, c.id)
		cs.mu.Unlock()
		return nil, err
	}
	return c, nil
}

// Get returns the open comm with the given id, or nil.
func (cs *Comms) Get(id string) *Comm {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.open[id]
}

// List returns the ids of the open comms whose target is target (every
// open comm if target is empty), sorted.
func (cs *Comms) List(target string) []string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var ids []string
	for id, c := range cs.open {
		if target == "" || c.target == target {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// info is the comms of comm_info_reply.
func (cs *Comms) info(target string) map[string]any {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := map[string]any{}
	for id, c := range cs.open {
		if target == "" || c.target == target {
			out[id] = map[string]any{"target_name": c.target}
		}
	}
	return out
}

// Comm is one open comm.
type Comm struct {
	id, target string
	cs         *Comms

	mu        sync.Mutex
	closed    bool
	onMsg     CommFunc
	onClose   CommFunc
	interrupt func(data json.RawMessage) bool
}

// ID is the comm's comm_id.
func (c *Comm) ID() string { return c.id }

// Target is the comm's target name.
func (c *Comm) Target() string { return c.target }

// OnMsg sets the handler of the comm_msg messages the front end sends on
// c. Without one they are logged and dropped.
func (c *Comm) OnMsg(f CommFunc) {
	c.mu.Lock()
	c.onMsg = f
	c.mu.Unlock()
}

// OnClose sets the function called when the front end closes c.
func (c *Comm) OnClose(f CommFunc) {
	c.mu.Lock()
	c.onClose = f
	c.mu.Unlock()
}

// InterruptOn sets a test that is applied to every comm_msg for c as it
// arrives, before it is queued: when f returns true the kernel interrupts
// what it is running (as interrupt_request does), and the message is then
// queued and handled as usual. This is how a Stop button stops a long
// handler that the message would otherwise wait behind. f runs on the
// kernel's reader goroutine and must be quick.
func (c *Comm) InterruptOn(f func(data json.RawMessage) bool) {
	c.mu.Lock()
	c.interrupt = f
	c.mu.Unlock()
}

// arriving applies c's interrupt test to a comm_msg about to be queued.
func (cs *Comms) arriving(m *message) {
	if m.commID == "" {
		return
	}
	c := cs.Get(m.commID)
	if c == nil {
		return
	}
	c.mu.Lock()
	f := c.interrupt
	c.mu.Unlock()
	if f == nil {
		return
	}
	var cc commContent
	if json.Unmarshal(m.Content, &cc) != nil {
		return
	}
	hit := false
	func() {
		defer func() {
			if v := recover(); v != nil {
				cs.k.log.Error("panic in a comm's interrupt test", "comm_id", c.id, "panic", v)
			}
		}()
		hit = f(cc.Data)
	}()
	if hit {
		cs.k.log.Info("comm message interrupts the running request", "comm_id", c.id)
		cs.k.interrupt()
	}
}

// Closed reports whether c has been closed by either side.
func (c *Comm) Closed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Pending is the number of comm_msg messages for c that the front end has
// sent and the kernel has queued but not yet handled. A handler that sees
// more coming can skip expensive work that the next message would redo
// (this is how a flood of slider moves is coalesced).
func (c *Comm) Pending() int { return c.cs.k.queue.pendingFor(c.id) }

// Send sends a comm_msg on c with data (JSON-marshalable; nil is {}),
// metadata (nil: {}) and binary buffers. Its parent is the request the
// kernel is handling (the cell or the comm message), or was handling last.
func (c *Comm) Send(data any, metadata map[string]any, buffers [][]byte) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return ErrCommClosed
	}
	return c.cs.k.publishComm("comm_msg", map[string]any{"comm_id": c.id, "data": orEmpty(data)}, metadata, buffers)
}

// Close closes c from the kernel's side (comm_close with data, nil: {}).
func (c *Comm) Close(data any) error {
	if !c.markClosed() {
		return ErrCommClosed
	}
	return c.cs.k.publishComm("comm_close", map[string]any{"comm_id": c.id, "data": orEmpty(data)}, nil, nil)
}

// markClosed closes c and forgets it; it reports whether c was open.
func (c *Comm) markClosed() bool {
	c.mu.Lock()
	was := !c.closed
	c.closed = true
	c.mu.Unlock()
	c.cs.mu.Lock()
	delete(c.cs.open, c.id)
	c.cs.mu.Unlock()
	return was
}

func orEmpty(v any) any {
	if v == nil {
		return map[string]any{}
	}
	if m, ok := v.(map[string]any); ok && m == nil {
		return map[string]any{}
	}
	return v
}

// publishComm publishes a comm message on iopub whose parent is the
// request being handled (or handled last).
func (k *kernel) publishComm(msgType string, content any, metadata map[string]any, buffers [][]byte) error {
	if k.closed.Load() {
		return errors.New("kernel: the kernel is shutting down")
	}
	var md any // a nil map would be sent as null, not {}
	if metadata != nil {
		md = metadata
	}
	k.publishFull(k.currentParent(), msgType, md, content, buffers)
	return nil
}

// currentParent is the request the executor is handling, or handled last.
func (k *kernel) currentParent() *message {
	k.parentMu.Lock()
	defer k.parentMu.Unlock()
	return k.parent
}

func (k *kernel) setParent(m *message) {
	k.parentMu.Lock()
	k.parent = m
	k.parentMu.Unlock()
}

// commContent is the content of comm_open, comm_msg and comm_close.
type commContent struct {
	CommID     string          `json:"comm_id"`
	TargetName string          `json:"target_name"`
	Data       json.RawMessage `json:"data"`
}

// handleComm handles comm_open, comm_msg and comm_close from the front
// end, on the executor.
func (k *kernel) handleComm(m *message) {
	var cc commContent
	if err := json.Unmarshal(m.Content, &cc); err != nil || cc.CommID == "" {
		k.log.Warn("dropped comm message without a comm_id", "msg_type", m.Header.MsgType, "msg_id", m.Header.MsgID)
		return
	}
	msg := CommMsg{MsgID: m.Header.MsgID, Data: cc.Data, Metadata: m.Metadata, Buffers: m.Buffers}
	cs := k.comms
	switch m.Header.MsgType {
	case "comm_open":
		c := &Comm{id: cc.CommID, target: cc.TargetName, cs: cs}
		cs.mu.Lock()
		open := cs.targets[cc.TargetName]
		_, dup := cs.open[cc.CommID]
		if !dup && open != nil {
			cs.open[c.id] = c
		}
		cs.mu.Unlock()
		switch {
		case dup:
			k.log.Warn("comm_open for a comm id already open: ignored", "comm_id", cc.CommID, "target_name", cc.TargetName)
		case open == nil:
			k.log.Info("comm_open for unknown target: closing it", "target_name", cc.TargetName, "comm_id", cc.CommID)
			k.publish(m, "comm_close", map[string]any{"comm_id": cc.CommID, "data": map[string]any{}})
		default:
			// A comm whose open handler failed is closed again, unless the
			// handler closed it already.
			if k.runComm(m, c, open, msg) != nil && c.markClosed() {
				k.publish(m, "comm_close", map[string]any{"comm_id": c.id, "data": map[string]any{}})
			}
		}
	case "comm_msg", "comm_close":
		c := cs.Get(cc.CommID)
		if c == nil {
			k.log.Warn("dropped "+m.Header.MsgType+" for a comm that is not open", "comm_id", cc.CommID, "msg_id", m.Header.MsgID)
			return
		}
		c.mu.Lock()
		f := c.onMsg
		if m.Header.MsgType == "comm_close" {
			f = c.onClose
		}
		c.mu.Unlock()
		if m.Header.MsgType == "comm_close" {
			c.markClosed()
		}
		if f == nil {
			if m.Header.MsgType == "comm_msg" {
				k.log.Warn("dropped comm_msg for a comm without a handler", "comm_id", c.id, "target_name", c.target)
			}
			return
		}
		k.runComm(m, c, f, msg)
	}
}

// runComm calls a comm handler the way run calls Execute (see guarded),
// with an Output parented to m. An error is published as an "error"
// message and returned.
func (k *kernel) runComm(m *message, c *Comm, f CommFunc, msg CommMsg) error {
	out := &cellOutput{k: k, parent: m, comm: true}
	err := k.guarded(out, func(ctx context.Context) error {
		return f(ctx, c, msg, out)
	}, "panic in comm handler", "comm_id", c.id, "target_name", c.target)
	if err == nil {
		return nil
	}
	ename, evalue, tb := DescribeError(err)
	k.log.Warn("comm handler failed", "comm_id", c.id, "target_name", c.target, "msg_type", m.Header.MsgType, "ename", ename, "err", evalue)
	k.publish(m, "error", map[string]any{"ename": ename, "evalue": evalue, "traceback": tb})
	return fmt.Errorf("%s: %s", ename, evalue)
}

// commInfo answers comm_info_request on c.
func (k *kernel) commInfo(c *channel, m *message) {
	var req struct {
		TargetName string `json:"target_name"`
	}
	_ = json.Unmarshal(m.Content, &req)
	k.reply(c, m, map[string]any{"status": "ok", "comms": k.comms.info(req.TargetName)})
}
