package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/memwall/memwall/asm"
)

// Matrix is a weight matrix of Rows×Cols, stored row-major as Type says:
// fp32 (F), llama2.c's Q8_0 (Q values with one scale in S per GS values of
// a row), f16 or bf16 (H, bit patterns), or ggml's Q8_0 or Q4_0 blocks (B,
// Cols/32 blocks per row). Only the slice of its type is set.
type Matrix struct {
	Rows, Cols int
	Type       WeightType
	F          []float32
	Q          []int8
	S          []float32
	GS         int
	H          []uint16
	B          []byte
}

// Quantized reports whether the matrix is stored as llama2.c's Q8_0 (the
// other quantized types are told apart by Type).
func (m *Matrix) Quantized() bool { return m.Q != nil }

// kind is m.Type, also for a Q8_0 matrix built without setting it.
func (m *Matrix) kind() WeightType {
	if m.Type == WeightF32 && m.Q != nil {
		return WeightQ8
	}
	return m.Type
}

// Bytes is the number of bytes streamed to multiply by the matrix once.
func (m *Matrix) Bytes() int64 {
	switch m.kind() {
	case WeightQ8:
		return int64(len(m.Q)) + 4*int64(len(m.S))
	case WeightF16, WeightBF16:
		return 2 * int64(len(m.H))
	case WeightQ8Blocks, WeightQ4_0:
		return int64(len(m.B))
	}
	return 4 * int64(len(m.F))
}

// Row returns row r as fp32: the row itself for fp32, else dequantized (or
// converted) into dst, which must hold Cols values.
func (m *Matrix) Row(r int, dst []float32) []float32 {
	c := m.Cols
	switch m.kind() {
	case WeightQ8:
		q := m.Q[r*c : (r+1)*c]
		s := m.S[r*c/m.GS:]
		for i, v := range q {
			dst[i] = float32(v) * s[i/m.GS]
		}
	case WeightF16:
		asm.F16ToF32s(dst[:c], m.H[r*c:(r+1)*c])
	case WeightBF16:
		asm.BF16ToF32s(dst[:c], m.H[r*c:(r+1)*c])
	case WeightQ8Blocks:
		rb := c / asm.BlockSize * asm.Q8BlockBytes
		asm.DequantizeQ8Blocks(dst[:c], m.B[r*rb:(r+1)*rb])
	case WeightQ4_0:
		rb := c / asm.BlockSize * asm.Q4_0BlockBytes
		asm.DequantizeQ4_0Blocks(dst[:c], m.B[r*rb:(r+1)*rb])
	default:
		return m.F[r*c : (r+1)*c]
	}
	return dst[:c]
}

// Layer is one transformer block's weights.
type Layer struct {
	AttNorm, FFNNorm []float32
	Wq, Wk, Wv, Wo   Matrix
	W1, W2, W3       Matrix
}

// blockMatrix is one of a block's seven matrices: its op in the cost model
// and the profile, its tensor name in a llama2.c checkpoint (after
// "layers.N."), and where a Layer holds it.
type blockMatrix struct {
	op, name string
	of       func(*Layer) *Matrix
}

// blockMatrices lists a block's matrices in the order of the forward pass:
// the one list that code walking them (byte counts, conversion, copies,
// lookups by name) takes them from.
var blockMatrices = [...]blockMatrix{
	{"wq", "attention.wq", func(l *Layer) *Matrix { return &l.Wq }},
	{"wk", "attention.wk", func(l *Layer) *Matrix { return &l.Wk }},
	{"wv", "attention.wv", func(l *Layer) *Matrix { return &l.Wv }},
	{"wo", "attention.wo", func(l *Layer) *Matrix { return &l.Wo }},
	{"w1", "feed_forward.w1", func(l *Layer) *Matrix { return &l.W1 }},
	{"w2", "feed_forward.w2", func(l *Layer) *Matrix { return &l.W2 }},
	{"w3", "feed_forward.w3", func(l *Layer) *Matrix { return &l.W3 }},
}

// Weights are all of a model's tensors, as views over the mapped file (or
// over an aligned copy, see Model.Aligned).
type Weights struct {
	Embed     Matrix // Vocab×Dim token embedding
	Layers    []Layer
	FinalNorm []float32
	Cls       Matrix // Vocab×Dim classifier (the embedding when shared)
}

// Layout selects where the forward pass reads weights from.
type Layout int

const (
	// LayoutMapped uses the weights in place in the mapped file (zero
	// copy; v0 rows start 28 bytes into the file, so not 64-byte aligned).
	LayoutMapped Layout = iota
	// LayoutAligned uses a 64-byte-aligned copy made on first use.
	LayoutAligned
)

func (l Layout) String() string {
	if l == LayoutAligned {
		return "aligned"
	}
	return "mapped"
}

// Model is a loaded checkpoint. It is safe for concurrent use by several
// States. Close releases the mapping; a Model must not be used after Close.
type Model struct {
	Config
	Path    string
	Tensors []TensorInfo
	W       *Weights
	Load    LoadInfo
	// GGUF is the parsed header of a GGUF file (nil for llama2.c files):
	// its metadata and tensor table.
	GGUF *GGUFFile
	// Tok is the tokenizer stored in the file (GGUF), or nil.
	Tok *Tokenizer

	mu      sync.Mutex
	m       *mapping
	aligned *Weights
	// borrowed: m is another Model's mapping (a draft's, DraftModel),
	// which Close leaves to its owner.
	borrowed bool
}

// LoadInfo reports how the model was loaded.
type LoadInfo struct {
	Duration    time.Duration // time from open to usable
	FileBytes   int64
	MappedBytes int64 // bytes mapped (0 when read into the heap)
	CopiedBytes int64 // bytes copied out of the file (misaligned scales, or the whole file without mmap)
	Mmap        bool
	Prefaulted  bool
	// Warnings are things the caller should tell the user: an overridden
	// context length, a GGUF file without a tokenizer.
	Warnings []string
	// Converted says how Model.Convert changed the weights' storage at
	// load ("" if it did not), e.g. "converted at load from fp32 in 40ms".
	Converted string
}

// LoadOptions tunes Open. The zero value maps the file lazily.
type LoadOptions struct {
	// Prefault reads the whole file into memory at load time (madvise
	// willneed and a touch of every page) instead of on first use.
	Prefault bool
	// NoMmap reads the file into the heap instead of mapping it.
	NoMmap bool
	// ContextLength, when positive, replaces the context length a GGUF
	// file declares (llama.context_length), with a warning in
	// LoadInfo.Warnings. llama2.c files use their seq_len.
	ContextLength int
}

// Open loads a llama2.c checkpoint (v0, v1 or v2) or a GGUF file (told
// apart by its magic), mapping it read-only.
// Every error names the file and says what is wrong and where.
func Open(path string, opts LoadOptions) (*Model, error) {
	return OpenContext(context.Background(), path, opts)
}

// OpenContext is Open that stops when ctx is done: reading the file into
// the heap (NoMmap) and prefaulting check ctx every few MiB, and the error
// is then ctx's cause. A path that is not a regular file is a
// *NotRegularError before anything is opened.
func OpenContext(ctx context.Context, path string, opts LoadOptions) (*Model, error) {
	start := time.Now()
	m, err := open(ctx, path, opts)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	m.Load.Duration = time.Since(start)
	return m, nil
}

func open(ctx context.Context, path string, opts LoadOptions) (*Model, error) {
	mp, size, err := mapFile(ctx, path, opts.NoMmap)
	if err != nil {
		return nil, err
	}
	model, err := loadMapped(mp, size, path, opts)
	if err != nil {
		mp.close()
		return nil, err
	}
	if n := opts.ContextLength; n > 0 && model.GGUF == nil && n != model.SeqLen {
		model.Load.Warnings = append(model.Load.Warnings, fmt.Sprintf("context length override %d ignored: a llama2.c checkpoint's seq_len (%d) is part of its format", n, model.SeqLen))
	}
	if opts.Prefault {
		if err := model.PrefaultContext(ctx); err != nil {
			mp.close()
			return nil, err
		}
		model.Load.Prefaulted = true
	}
	return model, nil
}

// loadMapped builds a model over a file's bytes: GGUF when the file starts
// with GGUF's magic or is named .gguf (so that a damaged GGUF file is
// reported as one), a llama2.c checkpoint otherwise.
func loadMapped(mp *mapping, size int64, path string, opts LoadOptions) (*Model, error) {
	if isGGUF(mp.data) || strings.EqualFold(filepath.Ext(path), ".gguf") {
		return newGGUFModel(mp, size, path, opts)
	}
	return newModel(mp, size, path)
}

// newModel validates the bytes of a checkpoint (size is the file's size)
// and builds the model over them.
func newModel(mp *mapping, size int64, path string) (*Model, error) {
	c, err := parseHeader(mp.data, size)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := c.checkSize(size); err != nil {
		return nil, err
	}
	ts, _ := c.layout()
	model := &Model{Config: c, Path: path, Tensors: ts, m: mp, Load: mp.loadInfo(size)}
	w, copied, err := model.views()
	if err != nil {
		return nil, err
	}
	model.W = w
	model.Load.CopiedBytes += copied
	return model, nil
}

// views builds the Weights as slices over the mapping.
func (m *Model) views() (w *Weights, copied int64, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer m.catchFault(&err)
	byName := make(map[string]TensorInfo, len(m.Tensors))
	for _, t := range m.Tensors {
		byName[t.Name] = t
	}
	data := m.m.data
	vec := func(name string) []float32 {
		t := byName[name]
		v, cp := f32View(data[t.Offset : t.Offset+t.Bytes])
		if cp {
			copied += t.Bytes
		}
		return v
	}
	mat := func(name string) Matrix {
		t := byName[name]
		mx := Matrix{Rows: t.Shape[0], Cols: t.Shape[1]}
		if t.DType == F32 {
			mx.F = vec(name)
			return mx
		}
		mx.Q = i8s(data[t.Offset : t.Offset+t.Bytes])
		s, cp := f32View(data[t.ScaleOffset : t.ScaleOffset+t.ScaleBytes])
		if cp {
			copied += t.ScaleBytes
		}
		mx.S, mx.GS, mx.Type = s, m.GroupSize, WeightQ8
		return mx
	}
	w = &Weights{Layers: make([]Layer, m.Layers)}
	w.Embed = mat("tok_embeddings")
	for l := range w.Layers {
		p := fmt.Sprintf("layers.%d.", l)
		L := &w.Layers[l]
		L.AttNorm, L.FFNNorm = vec(p+"attention_norm"), vec(p+"ffn_norm")
		for _, bm := range blockMatrices {
			*bm.of(L) = mat(p + bm.name)
		}
	}
	w.FinalNorm = vec("norm")
	if m.Shared {
		w.Cls = w.Embed
	} else {
		w.Cls = mat("output")
	}
	return w, copied, nil
}

// Close unmaps the file. Weights obtained from the model must not be used
// afterwards.
func (m *Model) Close() error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.aligned = nil
	if m.borrowed {
		return nil
	}
	return m.m.close()
}

// Resident reports how many bytes of the mapped file are in physical
// memory right now.
func (m *Model) Resident() (int64, error) { return m.m.resident() }

// Prefault reads every page of the mapping into memory now.
func (m *Model) Prefault() error { return m.PrefaultContext(context.Background()) }

// PrefaultContext is Prefault that stops when ctx is done.
func (m *Model) PrefaultContext(ctx context.Context) error {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return m.checkFault(m.m.prefault(ctx))
}

// Evict drops this process's mapping of the file's pages (madvise
// dontneed), so the next access faults them in again (from the page cache
// unless the cache was dropped too).
func (m *Model) Evict() error { return m.m.evict() }

// Mapped reports whether the weights are a memory map of the file.
func (m *Model) Mapped() bool { return m.m.mapped }

// WeightBytes is the number of weight bytes one token streams: every
// matrix once plus the norms and one embedding row.
func (m *Model) WeightBytes() int64 {
	var n int64
	for i := range m.W.Layers {
		l := &m.W.Layers[i]
		for _, bm := range blockMatrices {
			n += bm.of(l).Bytes()
		}
		n += 4 * int64(len(l.AttNorm)+len(l.FFNNorm))
	}
	n += m.W.Cls.Bytes() + 4*int64(len(m.W.FinalNorm))
	n += m.W.Embed.Bytes() / int64(m.Vocab)
	return n
}

// ErrNoTensor is returned by TensorValues for a name the model lacks.
var ErrNoTensor = errors.New("no such tensor")

// tensor finds a tensor by its checkpoint name (as in Tensors, llama2.c's
// or GGUF's names on any model): a vector or a matrix. The classifier of a tied model has no tensor of its own.
func (m *Model) tensor(name string) (vec []float32, mx *Matrix) {
	w := m.W
	if local := localName(name); local != "" {
		name = local
	}
	switch name {
	case "tok_embeddings":
		return nil, &w.Embed
	case "norm":
		return w.FinalNorm, nil
	case "output":
		if m.Shared {
			return nil, nil
		}
		return nil, &w.Cls
	}
	rest, ok := strings.CutPrefix(name, "layers.")
	if !ok {
		return nil, nil
	}
	num, what, _ := strings.Cut(rest, ".")
	l, err := strconv.Atoi(num)
	if err != nil || l < 0 || l >= len(w.Layers) || strconv.Itoa(l) != num {
		return nil, nil
	}
	L := &w.Layers[l]
	switch what {
	case "attention_norm":
		return L.AttNorm, nil
	case "ffn_norm":
		return L.FFNNorm, nil
	}
	for _, bm := range blockMatrices {
		if bm.name == what {
			return nil, bm.of(L)
		}
	}
	return nil, nil
}

// TensorValues returns a copy of the named tensor's values as fp32 (Q8_0
// dequantized) and its shape ([n] or [rows, cols]).
func (m *Model) TensorValues(name string) (vals []float32, shape []int, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer m.catchFault(&err)
	vec, mx := m.tensor(name)
	switch {
	case vec != nil:
		return append([]float32(nil), vec...), []int{len(vec)}, nil
	case mx != nil:
		out := make([]float32, mx.Rows*mx.Cols)
		for r := 0; r < mx.Rows; r++ {
			row := out[r*mx.Cols : (r+1)*mx.Cols]
			copy(row, mx.Row(r, row))
		}
		return out, []int{mx.Rows, mx.Cols}, nil
	}
	return nil, nil, fmt.Errorf("%w %q in %s", ErrNoTensor, name, m.Path)
}

// MatFlops is the floating-point operations of one token's matrix
// products (a multiply and an add per weight).
func (m *Model) MatFlops() int64 { return MatrixCost(m.Config, EncodingOf(m)).Flops }

// Aligned returns the weights copied into 64-byte-aligned memory, making
// the copy on first call. The copy lives until Close.
func (m *Model) Aligned() (w *Weights, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.aligned != nil {
		return m.aligned, nil
	}
	if m.m == nil || (m.m.mapped && m.m.data == nil) {
		return nil, errors.New("model is closed")
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer m.catchFault(&err)
	cpF := func(v []float32) []float32 {
		out := asm.AlignedFloat32(len(v))
		copy(out, v)
		return out
	}
	cpM := func(x Matrix) Matrix {
		y := x
		switch x.kind() {
		case WeightQ8:
			y.Q = asm.AlignedInt8(len(x.Q))
			copy(y.Q, x.Q)
			y.S = cpF(x.S)
		case WeightF16, WeightBF16:
			y.H = asm.AlignedUint16(len(x.H))
			copy(y.H, x.H)
		case WeightQ8Blocks, WeightQ4_0:
			y.B = asm.AlignedBytes(len(x.B))
			copy(y.B, x.B)
		default:
			y.F = cpF(x.F)
		}
		return y
	}
	src := m.W
	w = &Weights{Layers: make([]Layer, len(src.Layers)), FinalNorm: cpF(src.FinalNorm)}
	w.Embed = cpM(src.Embed)
	for i := range src.Layers {
		l, L := &src.Layers[i], &w.Layers[i]
		L.AttNorm, L.FFNNorm = cpF(l.AttNorm), cpF(l.FFNNorm)
		for _, bm := range blockMatrices {
			*bm.of(L) = cpM(*bm.of(l))
		}
	}
	if m.Shared {
		w.Cls = w.Embed
	} else {
		w.Cls = cpM(src.Cls)
	}
	m.aligned = w
	return w, nil
}
