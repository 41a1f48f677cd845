package kernel

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// ProtocolVersion is the Jupyter messaging protocol version the kernel speaks.
const ProtocolVersion = "5.3"

// delimiter separates routing identities from the message proper.
var delimiter = []byte("<IDS|MSG>")

// header is a Jupyter message header.
type header struct {
	MsgID    string `json:"msg_id"`
	Session  string `json:"session"`
	Username string `json:"username"`
	Date     string `json:"date"`
	MsgType  string `json:"msg_type"`
	Version  string `json:"version"`
}

// message is a decoded wire message. Header is kept both parsed and raw so
// that replies can quote it verbatim as their parent_header.
type message struct {
	Idents    [][]byte
	Header    header
	RawHeader json.RawMessage
	Parent    json.RawMessage
	Metadata  json.RawMessage
	Content   json.RawMessage
	Buffers   [][]byte

	// commID is the comm_id of a comm_msg, set by the shell reader
	// before the message is queued (tagComm).
	commID string

	// Digest is a prefix of the verified signature (zero when signing is
	// off); the kernel drops a message whose digest it has seen before.
	Digest digest
}

var (
	errNoDelimiter = errors.New("no <IDS|MSG> delimiter")
	errBadSig      = errors.New("bad signature")
	errNoSig       = errors.New("missing signature")
)

// decode parses and verifies a multipart message as received from a ROUTER.
func (s signer) decode(frames [][]byte) (*message, error) {
	i := 0
	for i < len(frames) && !bytes.Equal(frames[i], delimiter) {
		i++
	}
	if i == len(frames) {
		return nil, errNoDelimiter
	}
	if len(frames)-i-1 < 5 {
		return nil, fmt.Errorf("%d frames after the delimiter, want at least 5", len(frames)-i-1)
	}
	m := &message{Idents: frames[:i]}
	sig, parts := frames[i+1], frames[i+2:]
	if s.enabled() {
		if len(sig) == 0 {
			return nil, errNoSig
		}
		want := s.mac(parts[0], parts[1], parts[2], parts[3])
		got := make([]byte, hex.DecodedLen(len(sig)))
		if n, err := hex.Decode(got, sig); err != nil || !hmac.Equal(got[:n], want) {
			return nil, errBadSig
		}
		copy(m.Digest[:], want)
	}
	m.RawHeader, m.Parent, m.Metadata, m.Content = parts[0], parts[1], parts[2], parts[3]
	m.Buffers = parts[4:]
	if err := json.Unmarshal(m.RawHeader, &m.Header); err != nil {
		return nil, fmt.Errorf("header: %v", err)
	}
	if m.Header.MsgType == "" {
		return nil, errors.New("header: no msg_type")
	}
	if !isObject(m.Content) {
		return nil, errors.New("content: not a JSON object")
	}
	if !isObject(m.Parent) {
		m.Parent = json.RawMessage("{}")
	}
	if !isObject(m.Metadata) {
		m.Metadata = json.RawMessage("{}")
	}
	return m, nil
}

// digest identifies a signed message for replay detection: the first 16
// bytes of its HMAC.
type digest [16]byte

// replayWindow remembers the digests of the last n signed messages, like
// jupyter_client's Session.digest_history: a validly signed message seen
// again (a replay, by whoever captured it on the wire) is rejected.
type replayWindow struct {
	mu   sync.Mutex
	seen map[digest]struct{}
	ring []digest
	next int
}

// replayWindowSize is how many digests the kernel remembers.
const replayWindowSize = 1 << 14

func newReplayWindow(n int) *replayWindow {
	return &replayWindow{seen: make(map[digest]struct{}, n), ring: make([]digest, 0, n)}
}

// add records d and reports whether it was new.
func (w *replayWindow) add(d digest) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, dup := w.seen[d]; dup {
		return false
	}
	if len(w.ring) < cap(w.ring) {
		w.ring = append(w.ring, d)
	} else {
		delete(w.seen, w.ring[w.next])
		w.ring[w.next] = d
		w.next = (w.next + 1) % len(w.ring)
	}
	w.seen[d] = struct{}{}
	return true
}

// isObject reports whether b is a syntactically valid JSON object.
func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) >= 2 && b[0] == '{' && json.Valid(b)
}

// newHeader makes a header for an outgoing message.
func newHeader(session, msgType string) header {
	return header{
		MsgID:    uuid.NewString(),
		Session:  session,
		Username: "kernel",
		Date:     time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		MsgType:  msgType,
		Version:  ProtocolVersion,
	}
}

// encode builds the frames of an outgoing message: idents, delimiter,
// signature, header, parent, metadata, content, then any binary buffers
// (which the signature does not cover, as in the Jupyter wire protocol).
func (s signer) encode(idents [][]byte, h header, parent json.RawMessage, metadata, content any, buffers ...[]byte) ([][]byte, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if len(parent) == 0 {
		parent = json.RawMessage("{}")
	}
	var mb []byte
	if metadata == nil {
		mb = []byte("{}")
	} else if mb, err = json.Marshal(metadata); err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", h.MsgType, err)
	}
	cb, err := json.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("content of %s: %w", h.MsgType, err)
	}
	frames := make([][]byte, 0, len(idents)+6+len(buffers))
	frames = append(frames, idents...)
	frames = append(frames, delimiter)
	var sig []byte
	if s.enabled() {
		sig = []byte(hex.EncodeToString(s.mac(hb, parent, mb, cb)))
	} else {
		sig = []byte{}
	}
	frames = append(frames, sig, hb, parent, mb, cb)
	frames = append(frames, buffers...)
	return frames, nil
}
