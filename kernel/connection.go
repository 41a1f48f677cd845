package kernel

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
)

// ConnectionInfo is the content of a Jupyter connection file: where the
// five channels listen and how messages are signed.
type ConnectionInfo struct {
	Transport       string `json:"transport"` // "tcp" or "ipc"
	IP              string `json:"ip"`        // tcp: address to bind; ipc: path prefix
	ShellPort       int    `json:"shell_port"`
	ControlPort     int    `json:"control_port"`
	IOPubPort       int    `json:"iopub_port"`
	StdinPort       int    `json:"stdin_port"`
	HBPort          int    `json:"hb_port"`
	Key             string `json:"key"`
	SignatureScheme string `json:"signature_scheme"`
	KernelName      string `json:"kernel_name,omitempty"`
}

// Endpoint returns the ZeroMQ endpoint of a port of this connection, as
// Jupyter names it: "tcp://IP:PORT" or "ipc://IP-PORT".
func (c ConnectionInfo) Endpoint(port int) string {
	if c.Transport == "ipc" {
		return fmt.Sprintf("ipc://%s-%d", c.IP, port)
	}
	return "tcp://" + net.JoinHostPort(c.IP, strconv.Itoa(port))
}

// hashes maps each supported signature_scheme to its hash.
var hashes = map[string]func() hash.Hash{
	"hmac-sha256": sha256.New,
	"hmac-sha1":   sha1.New,
	"hmac-sha224": sha256.New224,
	"hmac-sha384": sha512.New384,
	"hmac-sha512": sha512.New,
	"hmac-md5":    md5.New,
}

func schemes() string {
	var s []string
	for k := range hashes {
		s = append(s, k)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// ReadConnectionFile reads and validates a connection file. Errors name the
// file and the offending field.
func ReadConnectionFile(path string) (ConnectionInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return ConnectionInfo{}, fmt.Errorf("connection file: %w", err)
	}
	ci, err := ParseConnectionInfo(data)
	if err != nil {
		return ConnectionInfo{}, fmt.Errorf("connection file %s: %w", path, err)
	}
	return ci, nil
}

// ParseConnectionInfo parses and validates the JSON of a connection file.
// Missing transport defaults to "tcp", missing ip to "127.0.0.1" (tcp) or
// "kernel-ipc" (ipc), missing signature_scheme to "hmac-sha256". A port of
// 0 (tcp only) binds a free port; Options.Ready reports the one chosen.
func ParseConnectionInfo(data []byte) (ConnectionInfo, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(data, se.Offset)
			return ConnectionInfo{}, fmt.Errorf("invalid JSON at line %d, column %d: %v", line, col, err)
		}
		return ConnectionInfo{}, fmt.Errorf("invalid JSON: must be an object: %v", err)
	}
	if raw == nil {
		return ConnectionInfo{}, errors.New("invalid JSON: must be an object, got null")
	}
	var ci ConnectionInfo
	str := func(field string, dst *string) error {
		v, ok := raw[field]
		if !ok || string(v) == "null" {
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("field %q: must be a string, got %s", field, truncate(string(v), 40))
		}
		return nil
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"transport", &ci.Transport}, {"ip", &ci.IP}, {"key", &ci.Key},
		{"signature_scheme", &ci.SignatureScheme}, {"kernel_name", &ci.KernelName},
	} {
		if err := str(f.name, f.dst); err != nil {
			return ConnectionInfo{}, err
		}
	}
	switch ci.Transport {
	case "":
		ci.Transport = "tcp"
	case "tcp", "ipc":
	default:
		return ConnectionInfo{}, fmt.Errorf("field \"transport\": %q is not supported (want \"tcp\" or \"ipc\")", ci.Transport)
	}
	if ci.IP == "" {
		if ci.Transport == "tcp" {
			ci.IP = "127.0.0.1"
		} else {
			ci.IP = "kernel-ipc"
		}
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{
		{"shell_port", &ci.ShellPort}, {"control_port", &ci.ControlPort},
		{"iopub_port", &ci.IOPubPort}, {"stdin_port", &ci.StdinPort}, {"hb_port", &ci.HBPort},
	} {
		v, ok := raw[p.name]
		if !ok {
			return ConnectionInfo{}, fmt.Errorf("field %q: missing", p.name)
		}
		var n json.Number
		d := json.NewDecoder(bytes.NewReader(v))
		d.UseNumber()
		if err := d.Decode(&n); err != nil {
			return ConnectionInfo{}, fmt.Errorf("field %q: must be an integer, got %s", p.name, truncate(string(v), 40))
		}
		i, err := strconv.Atoi(n.String())
		if err != nil || i < 0 || i > 65535 {
			return ConnectionInfo{}, fmt.Errorf("field %q: must be an integer port in 0..65535, got %s", p.name, n)
		}
		if ci.Transport == "ipc" && i == 0 {
			return ConnectionInfo{}, fmt.Errorf("field %q: ipc transport needs a non-zero port number", p.name)
		}
		*p.dst = i
	}
	if ci.SignatureScheme == "" {
		ci.SignatureScheme = "hmac-sha256"
	}
	if _, ok := hashes[ci.SignatureScheme]; !ok {
		return ConnectionInfo{}, fmt.Errorf("field \"signature_scheme\": %q is not supported (supported: %s)", ci.SignatureScheme, schemes())
	}
	return ci, nil
}

func lineCol(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col = 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// signer signs and verifies messages; a nil key disables signing.
type signer struct {
	key []byte
	h   func() hash.Hash
}

func newSigner(ci ConnectionInfo) signer {
	if ci.Key == "" {
		return signer{}
	}
	return signer{key: []byte(ci.Key), h: hashes[ci.SignatureScheme]}
}

func (s signer) enabled() bool { return len(s.key) > 0 }

// mac computes the HMAC of the four signed frames.
func (s signer) mac(frames ...[]byte) []byte {
	m := hmac.New(s.h, s.key)
	for _, f := range frames {
		m.Write(f)
	}
	return m.Sum(nil)
}
