package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// Checkpoint format versions. V0 is llama2.c's legacy export (a 7-int32
// header, fp32 tensors); V1 and V2 start with the "ak42" magic and a 256-byte
// header, V1 holding fp32 tensors and V2 Q8_0 tensors.
const (
	V0 = 0
	V1 = 1
	V2 = 2
	// VGGUF marks a model read from a GGUF file (see gguf.go); its tensors
	// may each have their own type.
	VGGUF = 3
)

// Magic is the uint32 (little-endian) that starts version 1 and 2 files:
// the bytes "24ka" on disk, 0x616b3432.
const Magic = 0x616b3432

const (
	v0HeaderBytes = 7 * 4
	v1HeaderBytes = 256
)

// Config is a model's shape and storage.
type Config struct {
	Dim       int // residual stream width
	HiddenDim int // feed-forward width
	Layers    int
	Heads     int // query heads
	KVHeads   int // key/value heads (grouped-query attention when < Heads)
	Vocab     int
	SeqLen    int // maximum context

	Version   int  // V0, V1, V2 or VGGUF
	Shared    bool // the classifier is the token embedding (weight tying)
	GroupSize int  // Q8_0 group size (V2 only)

	// Set from a GGUF file's metadata; zero means llama2.c's values.
	NormEps     float32 // RMSNorm epsilon (llama2.c: 1e-5)
	RopeBase    float32 // RoPE frequency base (llama2.c: 10000)
	GGUFVersion int     // the file's GGUF version
}

// Eps is the RMSNorm epsilon.
func (c Config) Eps() float32 {
	if c.NormEps != 0 {
		return c.NormEps
	}
	return rmsEps
}

// RopeTheta is the RoPE frequency base.
func (c Config) RopeTheta() float32 {
	if c.RopeBase != 0 {
		return c.RopeBase
	}
	return 10000
}

// HeadSize is the width of one attention head.
func (c Config) HeadSize() int { return c.Dim / c.Heads }

// KVDim is the width of the key (and value) vector of one position.
func (c Config) KVDim() int { return c.Dim * c.KVHeads / c.Heads }

// Quantized reports whether the matrices are stored as Q8_0.
func (c Config) Quantized() bool { return c.Version == V2 }

// Params is the number of parameters the model computes with (the legacy
// RoPE tables of v0 files are not parameters; a shared classifier counts
// once).
func (c Config) Params() int64 {
	d, h, l, v := int64(c.Dim), int64(c.HiddenDim), int64(c.Layers), int64(c.Vocab)
	kv := int64(c.KVDim())
	p := v*d + l*(2*d+d*d+2*kv*d+d*d+3*h*d) + d
	if !c.Shared {
		p += v * d
	}
	return p
}

// FormatName is a short human name for the storage format.
func (c Config) FormatName() string {
	switch c.Version {
	case V0:
		return "llama2.c legacy (v0), fp32"
	case V1:
		return "llama2.c version 1, fp32"
	case V2:
		return fmt.Sprintf("llama2.c version 2, Q8_0 (group size %d)", c.GroupSize)
	case VGGUF:
		return fmt.Sprintf("GGUF version %d (each tensor's type in its table)", c.GGUFVersion)
	}
	return fmt.Sprintf("unknown version %d", c.Version)
}

// Validate checks that the shape is usable: positive sizes, heads dividing
// dim, kv heads dividing heads, an even head size, a group size dividing
// every matrix row, and tensor sizes that fit in int64.
func (c Config) Validate() error {
	fields := []struct {
		name string
		v    int
	}{
		{"dim", c.Dim}, {"hidden_dim", c.HiddenDim}, {"n_layers", c.Layers},
		{"n_heads", c.Heads}, {"n_kv_heads", c.KVHeads}, {"vocab_size", c.Vocab}, {"seq_len", c.SeqLen},
	}
	for _, f := range fields {
		if f.v <= 0 {
			return &FieldError{Field: f.name, Value: int64(f.v), Want: "a positive number"}
		}
		if int64(f.v) > maxDim {
			return &FieldError{Field: f.name, Value: int64(f.v), Want: fmt.Sprintf("at most %d", maxDim)}
		}
	}
	if c.Layers > maxLayers {
		return &FieldError{Field: "n_layers", Value: int64(c.Layers), Want: fmt.Sprintf("at most %d", maxLayers)}
	}
	if c.Dim%c.Heads != 0 {
		return &FieldError{Field: "n_heads", Value: int64(c.Heads), Want: fmt.Sprintf("a divisor of dim %d", c.Dim)}
	}
	if c.Heads%c.KVHeads != 0 {
		return &FieldError{Field: "n_kv_heads", Value: int64(c.KVHeads), Want: fmt.Sprintf("a divisor of n_heads %d", c.Heads)}
	}
	if c.HeadSize()%2 != 0 {
		return &FieldError{Field: "n_heads", Value: int64(c.Heads), Want: fmt.Sprintf("a head size dim/n_heads that is even for RoPE (got %d)", c.HeadSize())}
	}
	if c.Version == V2 {
		if c.GroupSize <= 0 {
			return &FieldError{Field: "group_size", Value: int64(c.GroupSize), Want: "a positive number"}
		}
		for _, r := range []struct {
			name string
			n    int
		}{{"dim", c.Dim}, {"hidden_dim", c.HiddenDim}} {
			if r.n%c.GroupSize != 0 {
				return &FieldError{Field: "group_size", Value: int64(c.GroupSize),
					Want: fmt.Sprintf("a divisor of every matrix row, but %s %d is not a multiple (llama2.c's runq would silently drop the tail of each row)", r.name, r.n)}
			}
		}
	}
	if c.Version == VGGUF {
		// The GGUF reader has checked every tensor's size against the file.
		return nil
	}
	if _, err := c.layout(); err != nil {
		return err
	}
	return nil
}

// maxDim bounds every header field so that products of a few of them are
// checked for overflow rather than trusted.
const maxDim = 1 << 24

// maxLayers bounds the layer count (the largest Llama models have 126) so
// that a corrupt header cannot make the tensor table itself huge.
const maxLayers = 4096

// FieldError is a header field with a value the engine cannot use.
type FieldError struct {
	Field string
	Value int64
	Want  string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("header field %s = %d: want %s", e.Field, e.Value, e.Want)
}

// SizeError is a file whose size does not match what its header implies.
type SizeError struct {
	Section  string // the first section that does not fit, or "end of file"
	Offset   int64  // where that section starts
	Expected int64  // total bytes the header implies
	Actual   int64  // bytes in the file
}

func (e *SizeError) Error() string {
	if e.Actual < e.Expected {
		return fmt.Sprintf("file is truncated: header implies %d bytes but the file has %d; section %s (at offset %d) is cut short",
			e.Expected, e.Actual, e.Section, e.Offset)
	}
	return fmt.Sprintf("file has %d bytes of trailing garbage: header implies %d bytes but the file has %d",
		e.Actual-e.Expected, e.Expected, e.Actual)
}

// DType is how a tensor's values are stored.
type DType string

const (
	F32 DType = "f32"
	Q80 DType = "q8_0"
)

// TensorInfo describes one tensor in a checkpoint file.
type TensorInfo struct {
	Name   string // e.g. "layers.3.attention.wq"
	Shape  []int  // rows, cols (or one dimension for vectors)
	DType  DType
	Offset int64 // byte offset of the values (int8 values for Q8_0)
	Bytes  int64 // bytes of the values
	// ScaleOffset and ScaleBytes locate the fp32 group scales of a Q8_0
	// tensor (zero otherwise).
	ScaleOffset int64
	ScaleBytes  int64
	// Skipped marks data the engine does not use (v0's legacy RoPE tables).
	Skipped bool
}

// Elems is the number of values in the tensor.
func (t TensorInfo) Elems() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// End is the offset just past the tensor's last byte.
func (t TensorInfo) End() int64 {
	if t.ScaleBytes > 0 {
		return t.ScaleOffset + t.ScaleBytes
	}
	return t.Offset + t.Bytes
}

// Alignment is the largest power of two (up to 64) dividing the offset: 64
// means cache-line aligned.
func (t TensorInfo) Alignment() int {
	a := 1
	for a < 64 && t.Offset%int64(a*2) == 0 {
		a *= 2
	}
	return a
}

func headerBytes(version int) int64 {
	if version == V0 {
		return v0HeaderBytes
	}
	return v1HeaderBytes
}

// mul multiplies non-negative sizes, reporting overflow of int64.
func mul(xs ...int64) (int64, bool) {
	r := int64(1)
	for _, x := range xs {
		hi, lo := bits.Mul64(uint64(r), uint64(x))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, false
		}
		r = int64(lo)
	}
	return r, true
}

var errOverflow = errors.New("tensor sizes overflow int64")

// layout lists every tensor of the file in storage order, with offsets. It
// fails if any size overflows int64.
func (c Config) layout() ([]TensorInfo, error) {
	d, h, L, v, kv := int64(c.Dim), int64(c.HiddenDim), c.Layers, int64(c.Vocab), int64(c.KVDim())
	off := headerBytes(c.Version)
	var out []TensorInfo
	var bad bool
	add := func(name string, dt DType, skipped bool, shape ...int64) {
		if bad {
			return
		}
		n, ok := mul(shape...)
		if !ok {
			bad = true
			return
		}
		t := TensorInfo{Name: name, DType: dt, Offset: off, Skipped: skipped}
		for _, s := range shape {
			t.Shape = append(t.Shape, int(s))
		}
		if dt == F32 {
			t.Bytes, ok = mul(n, 4)
		} else {
			t.Bytes = n
			t.ScaleOffset = off + n
			t.ScaleBytes, ok = mul(n/int64(c.GroupSize), 4)
		}
		if !ok || t.End() < off || t.End() > math.MaxInt64/2 {
			bad = true
			return
		}
		off = t.End()
		out = append(out, t)
	}
	perLayer := func(what string, dt DType, shape ...int64) {
		for l := 0; l < L; l++ {
			add(fmt.Sprintf("layers.%d.%s", l, what), dt, false, shape...)
		}
	}
	mat := F32
	if c.Version == V2 {
		mat = Q80
	}
	switch c.Version {
	case V0:
		add("tok_embeddings", F32, false, v, d)
		perLayer("attention_norm", F32, d)
		perLayer("attention.wq", F32, d, d)
		perLayer("attention.wk", F32, kv, d)
		perLayer("attention.wv", F32, kv, d)
		perLayer("attention.wo", F32, d, d)
		perLayer("ffn_norm", F32, d)
		perLayer("feed_forward.w1", F32, h, d)
		perLayer("feed_forward.w2", F32, d, h)
		perLayer("feed_forward.w3", F32, h, d)
		add("norm", F32, false, d)
		hs := int64(c.HeadSize())
		add("freq_cis_real", F32, true, int64(c.SeqLen), hs/2)
		add("freq_cis_imag", F32, true, int64(c.SeqLen), hs/2)
		if !c.Shared {
			add("output", F32, false, v, d)
		}
	case V1, V2:
		perLayer("attention_norm", F32, d)
		perLayer("ffn_norm", F32, d)
		add("norm", F32, false, d)
		add("tok_embeddings", mat, false, v, d)
		perLayer("attention.wq", mat, d, d)
		perLayer("attention.wk", mat, kv, d)
		perLayer("attention.wv", mat, kv, d)
		perLayer("attention.wo", mat, d, d)
		perLayer("feed_forward.w1", mat, h, d)
		perLayer("feed_forward.w2", mat, d, h)
		perLayer("feed_forward.w3", mat, h, d)
		if !c.Shared {
			add("output", mat, false, v, d)
		}
	default:
		return nil, &FieldError{Field: "version", Value: int64(c.Version), Want: "0, 1 or 2"}
	}
	if bad {
		return nil, fmt.Errorf("header: %w (dim %d, hidden_dim %d, n_layers %d, vocab_size %d)", errOverflow, c.Dim, c.HiddenDim, c.Layers, c.Vocab)
	}
	return out, nil
}

// FileSize is the exact number of bytes a checkpoint of this config has.
func (c Config) FileSize() (int64, error) {
	ts, err := c.layout()
	if err != nil {
		return 0, err
	}
	return ts[len(ts)-1].End(), nil
}

// Tensors lists the tensors of a file with this config, in storage order.
func (c Config) Tensors() ([]TensorInfo, error) { return c.layout() }

// parseHeader reads the header at the start of data (which may be only the
// first bytes of the file) and returns the config. size is the whole
// file's size, used to name truncation precisely.
func parseHeader(data []byte, size int64) (Config, error) {
	if size < 4 {
		return Config{}, &SizeError{Section: "header", Offset: 0, Expected: v0HeaderBytes, Actual: size}
	}
	le := binary.LittleEndian
	var c Config
	if le.Uint32(data) == Magic {
		if size < v1HeaderBytes {
			return Config{}, &SizeError{Section: "header (256 bytes for version 1/2)", Offset: 0, Expected: v1HeaderBytes, Actual: size}
		}
		c.Version = int(int32(le.Uint32(data[4:])))
		if c.Version != V1 && c.Version != V2 {
			return Config{}, &FieldError{Field: "version (offset 4)", Value: int64(c.Version), Want: "1 (fp32) or 2 (Q8_0) after the ak42 magic"}
		}
		p := readInts(data[8:36])
		c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, c.Vocab, c.SeqLen = p[0], p[1], p[2], p[3], p[4], p[5], p[6]
		switch data[36] {
		case 0:
		case 1:
			c.Shared = true
		default:
			return Config{}, &FieldError{Field: "shared_classifier (offset 36)", Value: int64(data[36]), Want: "0 or 1"}
		}
		if c.Version == V2 {
			c.GroupSize = int(int32(le.Uint32(data[37:])))
		}
		return c, nil
	}
	if size < v0HeaderBytes {
		return Config{}, &SizeError{Section: "header (7 int32 for the legacy format)", Offset: 0, Expected: v0HeaderBytes, Actual: size}
	}
	p := readInts(data[:28])
	c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, c.Vocab, c.SeqLen = p[0], p[1], p[2], p[3], p[4], p[5], p[6]
	c.Version = V0
	// llama2.c's legacy export marks an untied classifier by negating
	// vocab_size.
	c.Shared = true
	if c.Vocab < 0 {
		c.Shared = false
		c.Vocab = -c.Vocab
	}
	// A legacy file starting with a plausible ak42-like magic was handled
	// above; one starting with something absurd is caught by Validate.
	return c, nil
}

func readInts(b []byte) [7]int {
	var p [7]int
	for i := range p {
		p[i] = int(int32(binary.LittleEndian.Uint32(b[i*4:])))
	}
	return p
}

// checkSize compares the file size with what the config implies and names
// the first section that does not fit.
func (c Config) checkSize(size int64) error {
	ts, err := c.layout()
	if err != nil {
		return err
	}
	want := ts[len(ts)-1].End()
	if size == want {
		return nil
	}
	e := &SizeError{Section: "end of file", Offset: want, Expected: want, Actual: size}
	if size < want {
		for _, t := range ts {
			if t.End() > size {
				e.Section, e.Offset = t.Name, t.Offset
				if t.ScaleBytes > 0 && t.Offset+t.Bytes <= size {
					e.Section, e.Offset = t.Name+" (scales)", t.ScaleOffset
				}
				break
			}
		}
	}
	return e
}

// encodeHeader returns the header bytes for c.
func (c Config) encodeHeader() []byte {
	le := binary.LittleEndian
	vocab := c.Vocab
	if c.Version == V0 {
		if !c.Shared {
			vocab = -vocab
		}
		b := make([]byte, v0HeaderBytes)
		for i, v := range []int{c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, vocab, c.SeqLen} {
			le.PutUint32(b[i*4:], uint32(int32(v)))
		}
		return b
	}
	b := make([]byte, v1HeaderBytes)
	le.PutUint32(b, Magic)
	le.PutUint32(b[4:], uint32(int32(c.Version)))
	for i, v := range []int{c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, vocab, c.SeqLen} {
		le.PutUint32(b[8+i*4:], uint32(int32(v)))
	}
	if c.Shared {
		b[36] = 1
	}
	if c.Version == V2 {
		le.PutUint32(b[37:], uint32(int32(c.GroupSize)))
	}
	return b
}
