package browser

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestReadFragmentedMessage feeds the frame reader a message split into
// three fragments with a ping between them, frames of every length
// encoding, and a masked frame.
func TestReadFragmentedMessage(t *testing.T) {
	var in bytes.Buffer
	frag := func(fin bool, op byte, p string) {
		b := byte(op)
		if fin {
			b |= 0x80
		}
		var hdr bytes.Buffer
		writeFrame(&hdr, op, []byte(p), false)
		raw := hdr.Bytes()
		raw[0] = b
		in.Write(raw)
	}
	long := strings.Repeat("x", 70000) // 64-bit length
	mid := strings.Repeat("y", 300)    // 16-bit length
	frag(false, opText, "hel")
	frag(true, opPing, "are you there")
	frag(false, opContinuation, mid)
	frag(true, opContinuation, long)
	writeFrame(&in, opText, []byte("masked"), true) // a server must not mask, but a reader can cope
	var out bytes.Buffer
	c := &wsConn{br: bufio.NewReader(&in), conn: nil}
	c.conn = fakeConn{&out}
	msg, err := c.readMessage()
	if err != nil {
		t.Fatal(err)
	}
	if want := "hel" + mid + long; string(msg) != want {
		t.Fatalf("reassembled %d bytes, want %d", len(msg), len(want))
	}
	// The ping was answered with a masked pong carrying its payload.
	fin, op, payload, err := readFrame(&out)
	if err != nil || !fin || op != opPong || string(payload) != "are you there" {
		t.Errorf("pong: %v %x %q %v", fin, op, payload, err)
	}
	if msg, err := c.readMessage(); err != nil || string(msg) != "masked" {
		t.Errorf("masked frame: %q %v", msg, err)
	}
	if _, err := c.readMessage(); err == nil {
		t.Error("read past the end")
	}
	if acceptKey("dGhlIHNhbXBsZSBub25jZQ==") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" { // RFC 6455 §1.3
		t.Error("Sec-WebSocket-Accept computed wrongly")
	}
}

// fakeConn is a net.Conn that only writes.
type fakeConn struct{ w *bytes.Buffer }

func (f fakeConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (f fakeConn) Write(p []byte) (int, error)      { return f.w.Write(p) }
func (f fakeConn) Close() error                     { return nil }
func (f fakeConn) LocalAddr() net.Addr              { return nil }
func (f fakeConn) RemoteAddr() net.Addr             { return nil }
func (f fakeConn) SetDeadline(time.Time) error      { return nil }
func (f fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f fakeConn) SetWriteDeadline(time.Time) error { return nil }
