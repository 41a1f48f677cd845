package kernel

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"testing"
)

// The fuzz targets below run as ordinary tests on their seeds (go test)
// and explore with go test -fuzz (scripts/fuzz.sh). A crash found by the
// fuzzer is saved under testdata/fuzz/<Target>/ and from then on replayed
// by every go test run.

// FuzzDecode feeds arbitrary frames to the wire decoder with signature
// checking on. It must never panic; a message it accepts must carry a
// correct signature over exactly the frames given, and a message whose
// signature was altered must be rejected.
func FuzzDecode(f *testing.F) {
	s := newSigner(ConnectionInfo{Key: "fuzz-key", SignatureScheme: "hmac-sha256"})
	hdr := `{"msg_id":"1","session":"s","username":"u","date":"","msg_type":"execute_request","version":"5.3"}`
	f.Add([]byte("id"), []byte(hdr), []byte("{}"), []byte("{}"), []byte(`{"code":"%help"}`), uint8(0))
	f.Add([]byte(""), []byte(hdr), []byte(`{"msg_id":"0"}`), []byte(`null`), []byte(`{}`), uint8(1))
	f.Add([]byte("a"), []byte(`{"msg_type":""}`), []byte("{}"), []byte("{}"), []byte(`{}`), uint8(0))
	f.Add([]byte("a"), []byte(`{not json`), []byte("{}"), []byte("{}"), []byte(`[1]`), uint8(2))
	f.Add([]byte("<IDS|MSG>"), []byte(hdr), []byte("{}"), []byte("{}"), []byte(`{"a":`), uint8(3))
	f.Add([]byte("x"), []byte(hdr), []byte(""), []byte(""), []byte(" {}"), uint8(4))
	f.Add([]byte("x"), []byte(hdr), []byte("{}"), []byte("{}"), []byte("{}"), uint8(5))
	f.Fuzz(func(t *testing.T, ident, h, parent, meta, content []byte, mode uint8) {
		sig := []byte(hex.EncodeToString(s.mac(h, parent, meta, content)))
		tampered := false
		switch mode % 6 {
		case 1: // flip one hex digit: right length, wrong value
			i := int(mode) % len(sig)
			if sig[i] == '0' {
				sig[i] = '1'
			} else {
				sig[i] = '0'
			}
			tampered = true
		case 2:
			sig = sig[:len(sig)-2]
			tampered = true
		case 3:
			sig = []byte{}
			tampered = true
		case 4:
			sig = append(sig, "00"...)
			tampered = true
		case 5: // uppercase hex is the same bytes
			sig = bytes.ToUpper(sig)
		}
		frames := [][]byte{ident, delimiter, sig, h, parent, meta, content}
		m, err := s.decode(frames)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if tampered {
			t.Fatalf("accepted a message with a tampered signature (mode %d)", mode%6)
		}
		if m.Header.MsgType == "" || !isObject(m.Content) || !isObject(m.Parent) || !isObject(m.Metadata) {
			t.Fatalf("accepted a malformed message: %+v", m)
		}
		var want header
		if err := json.Unmarshal(h, &want); err != nil || !reflect.DeepEqual(want, m.Header) {
			t.Fatalf("header %+v, want %+v (%v)", m.Header, want, err)
		}
		if m.Digest == (digest{}) {
			t.Fatal("no digest for a signed message")
		}
		// Re-encoding the decoded message verifies again.
		out, err := s.encode(m.Idents, m.Header, m.Parent, nil, json.RawMessage(m.Content))
		if err != nil {
			return // content that is valid JSON for json.Valid but not re-marshalable cannot occur
		}
		if _, err := s.decode(out); err != nil {
			t.Fatalf("re-encoded message rejected: %v", err)
		}
	})
}

// FuzzDecodeFrames feeds an arbitrary number of arbitrary frames.
func FuzzDecodeFrames(f *testing.F) {
	f.Add([]byte("a\x00<IDS|MSG>\x00sig\x00{}\x00{}\x00{}\x00{}"), false)
	f.Add([]byte("<IDS|MSG>\x00\x00{\"msg_type\":\"x\"}\x00{}\x00{}\x00{}\x00b1\x00b2"), true)
	f.Add([]byte(""), true)
	f.Fuzz(func(t *testing.T, data []byte, unsigned bool) {
		s := newSigner(ConnectionInfo{Key: "k", SignatureScheme: "hmac-sha512"})
		if unsigned {
			s = newSigner(ConnectionInfo{})
		}
		frames := bytes.Split(data, []byte{0})
		m, err := s.decode(frames)
		if err == nil && s.enabled() {
			// Only a correct HMAC passes; random data essentially never has one.
			i := 0
			for !bytes.Equal(frames[i], delimiter) {
				i++
			}
			want := hex.EncodeToString(s.mac(frames[i+2], frames[i+3], frames[i+4], frames[i+5]))
			if !bytes.EqualFold(frames[i+1], []byte(want)) {
				t.Fatalf("accepted signature %q, want %q", frames[i+1], want)
			}
		}
		if err == nil && len(m.Buffers) != len(frames)-len(m.Idents)-6 {
			t.Fatalf("buffers %d of %d frames", len(m.Buffers), len(frames))
		}
	})
}

// FuzzParseConnectionInfo feeds arbitrary JSON to the connection-file
// parser: it must return an error naming the problem or a connection that
// is valid and survives a round trip through JSON.
func FuzzParseConnectionInfo(f *testing.F) {
	f.Add([]byte(`{"transport":"tcp","ip":"127.0.0.1","shell_port":1,"control_port":2,"iopub_port":3,"stdin_port":4,"hb_port":5,"key":"k","signature_scheme":"hmac-sha256","kernel_name":"memwall"}`))
	f.Add([]byte(`{"transport":"ipc","ip":"/tmp/k","shell_port":1,"control_port":2,"iopub_port":3,"stdin_port":4,"hb_port":5}`))
	f.Add([]byte(`{"shell_port":0,"control_port":0,"iopub_port":0,"stdin_port":0,"hb_port":0,"key":null}`))
	f.Add([]byte(`{"shell_port":1e3,"control_port":-1,"iopub_port":"3","stdin_port":4.5,"hb_port":65536}`))
	f.Add([]byte(`{"shell_port":1,`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"transport":"udp"}`))
	f.Add([]byte(`{"signature_scheme":"hmac-sha3","shell_port":1,"control_port":2,"iopub_port":3,"stdin_port":4,"hb_port":5}`))
	f.Add([]byte("{\"ip\":\"\xff\xfe\",\"shell_port\":1,\"control_port\":2,\"iopub_port\":3,\"stdin_port\":4,\"hb_port\":5}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ci, err := ParseConnectionInfo(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if ci.Transport != "tcp" && ci.Transport != "ipc" {
			t.Fatalf("transport %q accepted", ci.Transport)
		}
		if _, ok := hashes[ci.SignatureScheme]; !ok {
			t.Fatalf("scheme %q accepted", ci.SignatureScheme)
		}
		for _, p := range []int{ci.ShellPort, ci.ControlPort, ci.IOPubPort, ci.StdinPort, ci.HBPort} {
			if p < 0 || p > 65535 || (ci.Transport == "ipc" && p == 0) {
				t.Fatalf("port %d accepted (%s)", p, ci.Transport)
			}
		}
		if ci.IP == "" {
			t.Fatal("empty ip accepted")
		}
		b, err := json.Marshal(ci)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseConnectionInfo(b)
		if err != nil {
			t.Fatalf("round trip of %s: %v", b, err)
		}
		if again != ci {
			// Invalid UTF-8 in strings is replaced by U+FFFD on marshal;
			// anything else must survive.
			if bytes.Equal(b, mustMarshal(again)) {
				return
			}
			t.Fatalf("round trip changed %+v to %+v", ci, again)
		}
	})
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// FuzzLimitedConnScan checks the frame-size guard: cutting the byte stream
// anywhere gives the same verdict as reading it whole, and a stream it
// accepts has no message over the limit.
func FuzzLimitedConnScan(f *testing.F) {
	f.Add(append(make([]byte, 64), 0x01, 3, 'a', 'b', 'c', 0x00, 1, 'd'), uint16(65), int64(100))
	f.Add(append(make([]byte, 64), 0x02, 0, 0, 0, 0, 0, 0, 1, 0), uint16(70), int64(100))
	f.Add(append(make([]byte, 64), 0x02, 0x40, 0, 0, 0, 0, 0, 0, 0), uint16(66), int64(1<<20))
	f.Fuzz(func(t *testing.T, stream []byte, cut uint16, limit int64) {
		if limit <= 0 {
			limit = -limit + 1
		}
		whole := &limitedConn{limit: limit, skip: 64}
		errWhole := whole.scan(stream)
		split := &limitedConn{limit: limit, skip: 64}
		k := int(cut) % (len(stream) + 1)
		errSplit := split.scan(stream[:k])
		if errSplit == nil {
			errSplit = split.scan(stream[k:])
		}
		if (errWhole == nil) != (errSplit == nil) {
			t.Fatalf("whole: %v, split at %d: %v", errWhole, k, errSplit)
		}
		if errWhole == nil && whole.msgSize > limit {
			t.Fatalf("message of %d bytes passed a limit of %d", whole.msgSize, limit)
		}
	})
}
