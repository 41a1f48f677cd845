package kernel

import (
	"encoding/binary"
	"testing"
)

func TestRuneOffsets(t *testing.T) {
	s := "a€😀b"
	for r, b := range []int{0, 1, 4, 8, 9, 9} {
		if got := runeToByte(s, r); got != b {
			t.Errorf("runeToByte(%d) = %d, want %d", r, got, b)
		}
	}
	for b, r := range []int{0, 1, 1, 1, 2, 2, 2, 2, 3, 4, 4} {
		if got := byteToRune(s, b); got != r {
			t.Errorf("byteToRune(%d) = %d, want %d", b, got, r)
		}
	}
	if runeToByte(s, -3) != 0 || byteToRune(s, -1) != 0 {
		t.Error("negative offsets")
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "a\nb", true}, {"echo*", "echo a/b", true}, {"echo*", "xecho", false},
		{"e?ho", "echo", true}, {"e?ho", "eho", false}, {"*a*b*", "xxaxxbxx", true}, {"*a*b", "ba", false},
		{"[ab]c", "bc", true}, {"[^ab]c", "bc", false}, {"[a-c]x", "cx", true}, {"[]]", "]", true},
		{"€?", "€😀", true}, {"[", "[", true}, {"E*", "echo", false},
	} {
		if got := globMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

func TestIncompleteTail(t *testing.T) {
	for s, want := range map[string]int{"": 0, "a": 0, "\xe2": 1, "a\xe2\x82": 2, "€": 0, "\xf0\x9f\x98": 3, "\x82": 0} {
		if got := incompleteTail([]byte(s)); got != want {
			t.Errorf("incompleteTail(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestLimitedConnScan(t *testing.T) {
	c := &limitedConn{limit: 1000, skip: 64}
	stream := make([]byte, 64)
	stream = append(stream, 0x01, 10)
	stream = append(stream, make([]byte, 10)...)
	stream = append(stream, 0x02)
	stream = binary.BigEndian.AppendUint64(stream, 900)
	stream = append(stream, make([]byte, 900)...)
	// feed byte by byte: header boundaries anywhere
	for i := range stream {
		if err := c.scan(stream[i : i+1]); err != nil {
			t.Fatalf("byte %d: %v", i, err)
		}
	}
	if err := c.scan(append([]byte{0x03}, binary.BigEndian.AppendUint64(nil, 600)...)); err != nil {
		t.Fatal(err)
	}
	c.scan(make([]byte, 600))
	if err := c.scan(append([]byte{0x02}, binary.BigEndian.AppendUint64(nil, 500)...)); err == nil {
		t.Error("message over the limit accepted")
	}
}

func TestSignerRoundTrip(t *testing.T) {
	for scheme := range hashes {
		s := newSigner(ConnectionInfo{Key: "k", SignatureScheme: scheme})
		frames, err := s.encode([][]byte{[]byte("id")}, newHeader("sess", "x_request"), nil, nil, map[string]any{"a": 1})
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.decode(frames)
		if err != nil || m.Header.MsgType != "x_request" || string(m.Idents[0]) != "id" {
			t.Fatalf("%s: %v %+v", scheme, err, m)
		}
		frames[len(frames)-1] = []byte(`{"a":2}`)
		if _, err := s.decode(frames); err != errBadSig {
			t.Errorf("%s: tampered content: %v", scheme, err)
		}
	}
}
