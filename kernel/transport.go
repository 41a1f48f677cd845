package kernel

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"
)

// zmq4 allocates every incoming frame at the size its header announces,
// before reading it: a 2^62-byte length in a forged header crashes the
// process. The kernel therefore listens through its own transports
// ("memwall-tcp", "memwall-ipc"), which wrap each accepted connection in a
// reader that follows the ZMTP 3 framing and cuts the connection when a
// frame or a message is larger than the limit.

const (
	limitedTCP = "memwall-tcp"
	limitedIPC = "memwall-ipc"
)

var (
	registerOnce sync.Once
	registerErr  error
	// maxMessageSize is read by the wrapping transport; set once by Serve
	// from Options (the registry is global, so it is package-wide).
	maxMessageMu   sync.Mutex
	maxMessageSize int64 = DefaultMaxMessageSize
)

// DefaultMaxMessageSize bounds the size of one incoming ZeroMQ message.
const DefaultMaxMessageSize = 256 << 20

// IOPubHighWaterMark is the most messages the iopub socket queues for its
// subscribers; beyond it messages are dropped (libzmq's default SNDHWM).
// Stream text is coalesced, so only a subscriber that stopped reading while
// a cell displays hundreds of outputs can reach it.
const IOPubHighWaterMark = 1000

// writeStallTimeout is how long one write to a peer may block (its
// receive buffer full because it stopped reading) before the kernel drops
// that connection. zmq4 writes to each subscriber in turn from one
// goroutine, so without it one stuck subscriber would stall iopub for all.
var writeStallTimeout atomic.Int64

func init() { writeStallTimeout.Store(int64(10 * time.Second)) }

func registerTransports() error {
	registerOnce.Do(func() {
		if err := zmq4.RegisterTransport(limitedTCP, limitedTransport{inner: transport.New("tcp")}); err != nil {
			registerErr = err
			return
		}
		registerErr = zmq4.RegisterTransport(limitedIPC, limitedTransport{inner: transport.New("unix")})
	})
	return registerErr
}

func currentLimit() int64 {
	maxMessageMu.Lock()
	defer maxMessageMu.Unlock()
	return maxMessageSize
}

type limitedTransport struct{ inner transport.Transport }

func (t limitedTransport) Dial(ctx context.Context, d transport.Dialer, addr string) (net.Conn, error) {
	return t.inner.Dial(ctx, d, addr)
}

func (t limitedTransport) Listen(ctx context.Context, addr string) (net.Listener, error) {
	l, err := t.inner.Listen(ctx, addr)
	if err != nil {
		return nil, err
	}
	return limitedListener{l}, nil
}

func (t limitedTransport) Addr(ep string) (string, error) { return t.inner.Addr(ep) }

type limitedListener struct{ net.Listener }

func (l limitedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &limitedConn{Conn: c, limit: currentLimit(), skip: 64}, nil
}

// limitedConn tracks ZMTP 3 framing on the read side: after the 64-byte
// greeting, every frame is a flags byte, a 1- or 8-byte big-endian size and
// the body.
type limitedConn struct {
	net.Conn
	limit int64

	skip    int64 // bytes of greeting or frame body still to pass through
	hdr     [9]byte
	hdrLen  int   // bytes of the current frame header seen
	msgSize int64 // bytes in the current (multi-frame) message so far
	more    bool  // current frame has the MORE flag
	err     error
}

// frameTooLarge is a net.Error so that zmq4 treats the connection as dead.
type frameTooLarge struct{ size, limit int64 }

func (e frameTooLarge) Error() string {
	return fmt.Sprintf("kernel: incoming ZeroMQ message of %d bytes exceeds the limit of %d bytes", e.size, e.limit)
}
func (frameTooLarge) Timeout() bool   { return false }
func (frameTooLarge) Temporary() bool { return false }

func (c *limitedConn) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.Conn.Read(p)
	if e := c.scan(p[:n]); e != nil {
		c.err = e
		c.Conn.Close()
		return 0, e
	}
	return n, err
}

// Write bounds the time a write may block (see writeStallTimeout).
func (c *limitedConn) Write(p []byte) (int, error) {
	d := time.Duration(writeStallTimeout.Load())
	if d > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(d))
	}
	n, err := c.Conn.Write(p)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		c.Conn.Close()
		return n, writeStalled{d}
	}
	return n, err
}

// writeStalled is a net.Error that is not a timeout, so that zmq4 drops
// the connection instead of retrying.
type writeStalled struct{ d time.Duration }

func (e writeStalled) Error() string {
	return fmt.Sprintf("kernel: peer did not read for %v: connection dropped", e.d)
}
func (writeStalled) Timeout() bool   { return false }
func (writeStalled) Temporary() bool { return false }

// scan advances the framing state over bytes read.
func (c *limitedConn) scan(b []byte) error {
	for len(b) > 0 {
		if c.skip > 0 {
			k := min(int64(len(b)), c.skip)
			c.skip -= k
			b = b[k:]
			continue
		}
		c.hdr[c.hdrLen] = b[0]
		c.hdrLen++
		b = b[1:]
		flags := c.hdr[0]
		long := flags&0x02 != 0
		need := 2
		if long {
			need = 9
		}
		if c.hdrLen < need {
			continue
		}
		var size int64
		if long {
			u := binary.BigEndian.Uint64(c.hdr[1:9])
			if u > uint64(c.limit) {
				return frameTooLarge{int64(min(u, 1<<62)), c.limit}
			}
			size = int64(u)
		} else {
			size = int64(c.hdr[1])
		}
		c.hdrLen = 0
		if !c.more {
			c.msgSize = 0
		}
		c.more = flags&0x01 != 0
		c.msgSize += size
		if c.msgSize > c.limit {
			return frameTooLarge{c.msgSize, c.limit}
		}
		c.skip = size
	}
	return nil
}
