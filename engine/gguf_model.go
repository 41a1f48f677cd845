package engine

import (
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
)

// ggufLayerNames pairs the names of a block's tensors in GGUF (blk.N.X.weight)
// with memwall's llama2.c names (layers.N.Y).
var ggufLayerNames = [][2]string{
	{"attn_norm", "attention_norm"},
	{"attn_q", "attention.wq"},
	{"attn_k", "attention.wk"},
	{"attn_v", "attention.wv"},
	{"attn_output", "attention.wo"},
	{"ffn_norm", "ffn_norm"},
	{"ffn_gate", "feed_forward.w1"},
	{"ffn_down", "feed_forward.w2"},
	{"ffn_up", "feed_forward.w3"},
}

var ggufGlobalNames = [][2]string{
	{"token_embd.weight", "tok_embeddings"},
	{"output_norm.weight", "norm"},
	{"output.weight", "output"},
}

// GGUFName is the GGUF name of a tensor given by memwall's llama2.c name
// (tok_embeddings, layers.3.attention.wq, ...), or "" if it has none.
func GGUFName(local string) string {
	for _, p := range ggufGlobalNames {
		if p[1] == local {
			return p[0]
		}
	}
	rest, ok := strings.CutPrefix(local, "layers.")
	if !ok {
		return ""
	}
	num, what, _ := strings.Cut(rest, ".")
	for _, p := range ggufLayerNames {
		if p[1] == what {
			return "blk." + num + "." + p[0] + ".weight"
		}
	}
	return ""
}

// localName is the llama2.c name of a GGUF tensor name, or "".
func localName(gguf string) string {
	for _, p := range ggufGlobalNames {
		if p[0] == gguf {
			return p[1]
		}
	}
	rest, ok := strings.CutPrefix(gguf, "blk.")
	if !ok {
		return ""
	}
	num, what, _ := strings.Cut(rest, ".")
	what, ok = strings.CutSuffix(what, ".weight")
	if !ok {
		return ""
	}
	for _, p := range ggufLayerNames {
		if p[0] == what {
			return "layers." + num + "." + p[1]
		}
	}
	return ""
}

// metaErr is an error about metadata key: at its entry's offset (or, for
// a missing key, at the end of the metadata section).
func (f *GGUFFile) metaErr(key, expected, found string) error {
	off := f.DataOffset
	if kv := f.Lookup(key); kv != nil {
		off = kv.Offset
	}
	return &GGUFError{Offset: off, Field: fmt.Sprintf("metadata %q", key), Expected: expected, Found: found}
}

// Uint returns an integer metadata value of any integer type, ok false if
// the key is absent; a value that is not a non-negative integer is an
// error.
func (f *GGUFFile) Uint(key string) (v int64, ok bool, err error) {
	kv := f.Lookup(key)
	if kv == nil {
		return 0, false, nil
	}
	var x int64
	switch n := kv.Value.(type) {
	case uint8:
		x = int64(n)
	case uint16:
		x = int64(n)
	case uint32:
		x = int64(n)
	case uint64:
		if n > math.MaxInt64 {
			return 0, true, f.metaErr(key, "an integer below 2^63", describeValue(kv))
		}
		x = int64(n)
	case int8:
		x = int64(n)
	case int16:
		x = int64(n)
	case int32:
		x = int64(n)
	case int64:
		x = n
	default:
		return 0, true, f.metaErr(key, "an integer", describeValue(kv))
	}
	if x < 0 {
		return 0, true, f.metaErr(key, "a non-negative integer", describeValue(kv))
	}
	return x, true, nil
}

// String returns a string metadata value, ok false if absent.
func (f *GGUFFile) String(key string) (string, bool, error) {
	kv := f.Lookup(key)
	if kv == nil {
		return "", false, nil
	}
	s, isStr := kv.Value.(string)
	if !isStr {
		return "", true, f.metaErr(key, "a string", describeValue(kv))
	}
	return s, true, nil
}

// Float returns a float32 or float64 metadata value, ok false if absent.
func (f *GGUFFile) Float(key string) (float64, bool, error) {
	kv := f.Lookup(key)
	if kv == nil {
		return 0, false, nil
	}
	switch x := kv.Value.(type) {
	case float32:
		return float64(x), true, nil
	case float64:
		return x, true, nil
	}
	return 0, true, f.metaErr(key, "a float32", describeValue(kv))
}

// Bool returns a bool metadata value, ok false if absent.
func (f *GGUFFile) Bool(key string) (bool, bool, error) {
	kv := f.Lookup(key)
	if kv == nil {
		return false, false, nil
	}
	b, isBool := kv.Value.(bool)
	if !isBool {
		return false, true, f.metaErr(key, "a bool", describeValue(kv))
	}
	return b, true, nil
}

// requireUint is Uint for a key the model cannot do without.
func (f *GGUFFile) requireUint(key string, limit int64) (int, error) {
	v, ok, err := f.Uint(key)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, f.metaErr(key, "this key (a Llama model needs it)", "no such key")
	}
	if v == 0 || v > limit {
		return 0, f.metaErr(key, fmt.Sprintf("a positive integer of at most %d", limit), strconv.FormatInt(v, 10))
	}
	return int(v), nil
}

// ggufConfig reads the Llama hyperparameters from the metadata.
func ggufConfig(f *GGUFFile) (Config, error) {
	c := Config{Version: VGGUF, GGUFVersion: int(f.Version)}
	arch, ok, err := f.String("general.architecture")
	if err != nil {
		return c, err
	}
	if !ok {
		return c, f.metaErr("general.architecture", `"llama"`, "no such key")
	}
	if arch != "llama" {
		return c, f.metaErr("general.architecture", `"llama" (memwall runs the Llama architecture only)`, strconv.Quote(arch))
	}
	for _, k := range []struct {
		key string
		dst *int
		max int64
	}{
		{"llama.embedding_length", &c.Dim, maxDim},
		{"llama.feed_forward_length", &c.HiddenDim, maxDim},
		{"llama.block_count", &c.Layers, maxLayers},
		{"llama.attention.head_count", &c.Heads, maxDim},
		{"llama.context_length", &c.SeqLen, maxDim},
	} {
		if *k.dst, err = f.requireUint(k.key, k.max); err != nil {
			return c, err
		}
	}
	c.KVHeads = c.Heads
	if v, ok, err := f.Uint("llama.attention.head_count_kv"); err != nil {
		return c, err
	} else if ok {
		if v == 0 || v > int64(c.Heads) {
			return c, f.metaErr("llama.attention.head_count_kv", fmt.Sprintf("1 to head_count %d", c.Heads), strconv.FormatInt(v, 10))
		}
		c.KVHeads = int(v)
	}
	if c.Dim%c.Heads != 0 {
		return c, f.metaErr("llama.attention.head_count", fmt.Sprintf("a divisor of embedding_length %d", c.Dim), strconv.Itoa(c.Heads))
	}
	if c.Heads%c.KVHeads != 0 {
		return c, f.metaErr("llama.attention.head_count_kv", fmt.Sprintf("a divisor of head_count %d", c.Heads), strconv.Itoa(c.KVHeads))
	}
	eps, ok, err := f.Float("llama.attention.layer_norm_rms_epsilon")
	if err != nil {
		return c, err
	}
	if !ok {
		return c, f.metaErr("llama.attention.layer_norm_rms_epsilon", "this key (a Llama model needs it)", "no such key")
	}
	if !(eps > 0 && eps < 1) {
		return c, f.metaErr("llama.attention.layer_norm_rms_epsilon", "a small positive number", fmt.Sprint(eps))
	}
	c.NormEps = float32(eps)
	// llama.cpp's default when the key is absent.
	c.RopeBase = 10000
	if b, ok, err := f.Float("llama.rope.freq_base"); err != nil {
		return c, err
	} else if ok {
		if !(b > 1) || math.IsInf(b, 0) {
			return c, f.metaErr("llama.rope.freq_base", "a base above 1", fmt.Sprint(b))
		}
		c.RopeBase = float32(b)
	}
	if rd, ok, err := f.Uint("llama.rope.dimension_count"); err != nil {
		return c, err
	} else if ok && rd != int64(c.Dim/c.Heads) {
		return c, f.metaErr("llama.rope.dimension_count", fmt.Sprintf("the head size %d (memwall rotates whole heads; partial rotary embeddings are not supported)", c.Dim/c.Heads), strconv.FormatInt(rd, 10))
	}
	if st, ok, err := f.String("llama.rope.scaling.type"); err != nil {
		return c, err
	} else if ok && st != "none" {
		factor, has, _ := f.Float("llama.rope.scaling.factor")
		if !(st == "linear" && (!has || factor == 1)) {
			return c, f.metaErr("llama.rope.scaling.type", `"none" (memwall does not scale RoPE)`, strconv.Quote(st))
		}
	}
	if n, ok, err := f.Uint("llama.expert_count"); err != nil {
		return c, err
	} else if ok && n > 0 {
		return c, f.metaErr("llama.expert_count", "0 (mixture-of-experts models are not supported)", strconv.FormatInt(n, 10))
	}
	// The vocabulary size: llama.vocab_size if present, else the token
	// embedding's rows (checked against the tokenizer's length later).
	emb := f.Tensor("token_embd.weight")
	if emb == nil {
		return c, &GGUFError{Offset: f.DataOffset, Field: `tensor "token_embd.weight"`, Expected: "the token embedding", Found: "no such tensor"}
	}
	if len(emb.Dims) != 2 {
		return c, &GGUFError{Offset: emb.InfoOffset, Field: `tensor "token_embd.weight" shape`, Expected: fmt.Sprintf("[%d, vocabulary size]", c.Dim), Found: dimsString(emb.Dims)}
	}
	c.Vocab = int(emb.Dims[1])
	if v, ok, err := f.Uint("llama.vocab_size"); err != nil {
		return c, err
	} else if ok && v != int64(c.Vocab) {
		return c, f.metaErr("llama.vocab_size", fmt.Sprintf("%d, the rows of token_embd.weight", c.Vocab), strconv.FormatInt(v, 10))
	}
	c.Shared = f.Tensor("output.weight") == nil
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("GGUF metadata: %w", err)
	}
	return c, nil
}

// ggufExpected lists the tensors a Llama model of config c has, with their
// GGUF shapes (ggml order: row length first).
func ggufExpected(c Config) []struct {
	name string
	dims []int64
	why  string
} {
	d, h, kv, v := int64(c.Dim), int64(c.HiddenDim), int64(c.KVDim()), int64(c.Vocab)
	type ex = struct {
		name string
		dims []int64
		why  string
	}
	out := []ex{
		{"token_embd.weight", []int64{d, v}, "[embedding_length, vocabulary]"},
		{"output_norm.weight", []int64{d}, "[embedding_length]"},
	}
	if !c.Shared {
		out = append(out, ex{"output.weight", []int64{d, v}, "[embedding_length, vocabulary]"})
	}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		out = append(out,
			ex{p + "attn_norm.weight", []int64{d}, "[embedding_length]"},
			ex{p + "attn_q.weight", []int64{d, d}, "[embedding_length, embedding_length]"},
			ex{p + "attn_k.weight", []int64{d, kv}, "[embedding_length, embedding_length/head_count*head_count_kv]"},
			ex{p + "attn_v.weight", []int64{d, kv}, "[embedding_length, embedding_length/head_count*head_count_kv]"},
			ex{p + "attn_output.weight", []int64{d, d}, "[embedding_length, embedding_length]"},
			ex{p + "ffn_norm.weight", []int64{d}, "[embedding_length]"},
			ex{p + "ffn_gate.weight", []int64{d, h}, "[embedding_length, feed_forward_length]"},
			ex{p + "ffn_down.weight", []int64{h, d}, "[feed_forward_length, embedding_length]"},
			ex{p + "ffn_up.weight", []int64{d, h}, "[embedding_length, feed_forward_length]"},
		)
	}
	return out
}

// newGGUFModel builds a model over a mapped GGUF file.
func newGGUFModel(mp *mapping, size int64, path string, opts LoadOptions) (model *Model, err error) {
	// Parsing reads the mapping: a file truncated underneath faults.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer catchFault(&err)
	f, err := ParseGGUF(mp.data)
	if err != nil {
		return nil, err
	}
	c, err := ggufConfig(f)
	if err != nil {
		return nil, err
	}
	model = &Model{Config: c, Path: path, m: mp, GGUF: f, Load: mp.loadInfo(size)}
	if n := opts.ContextLength; n > 0 && n != c.SeqLen {
		if n > maxDim {
			return nil, fmt.Errorf("context length override %d: want at most %d", n, maxDim)
		}
		model.Load.Warnings = append(model.Load.Warnings, fmt.Sprintf(
			"context length set to %d by override; the file's llama.context_length is %d (positions beyond the length the model was trained on may give poor output)", n, c.SeqLen))
		model.SeqLen = n
	}
	// Every tensor must be one the architecture uses, with the shape the
	// metadata implies.
	want := ggufExpected(model.Config)
	expected := make(map[string]bool, len(want))
	for _, e := range want {
		expected[e.name] = true
		t := f.Tensor(e.name)
		if t == nil {
			return nil, &GGUFError{Offset: f.DataOffset, Field: fmt.Sprintf("tensor %q", e.name), Expected: fmt.Sprintf("a tensor of shape %s = %s", e.why, dimsString(e.dims)), Found: "no such tensor"}
		}
		if !slices.Equal(t.Dims, e.dims) {
			return nil, &GGUFError{Offset: t.InfoOffset, Field: fmt.Sprintf("tensor %q shape", e.name), Expected: fmt.Sprintf("%s = %s from the metadata", e.why, dimsString(e.dims)), Found: dimsString(t.Dims)}
		}
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if !expected[t.Name] {
			what := "a tensor the Llama architecture does not use"
			if strings.HasSuffix(t.Name, ".bias") {
				what = "a bias (memwall's Llama has none)"
			} else if t.Name == "rope_freqs.weight" {
				what = "per-dimension RoPE frequency factors (Llama 3.1 style scaling, not supported)"
			}
			return nil, &GGUFError{Offset: t.InfoOffset, Field: fmt.Sprintf("tensor %q", t.Name), Expected: "only the tensors of a Llama model", Found: what}
		}
		model.Tensors = append(model.Tensors, TensorInfo{
			Name: t.Name, Shape: reverseDims(t.Dims), DType: DType(strings.ToLower(t.Type.String())),
			Offset: t.Offset, Bytes: t.Bytes,
		})
	}
	w, copied, err := model.ggufViews()
	if err != nil {
		return nil, err
	}
	model.W = w
	model.Load.CopiedBytes += copied
	tok, note, err := ggufTokenizer(f, c.Vocab)
	if err != nil {
		return nil, err
	}
	if note != "" {
		model.Load.Warnings = append(model.Load.Warnings, note)
	}
	model.Tok = tok
	return model, nil
}

// reverseDims turns ggml's order (row length first) into memwall's (rows,
// cols).
func reverseDims(d []int64) []int {
	out := make([]int, len(d))
	for i, x := range d {
		out[len(d)-1-i] = int(x)
	}
	return out
}

// ggufViews builds the Weights over the mapped tensors.
func (m *Model) ggufViews() (w *Weights, copied int64, err error) {
	f := m.GGUF
	data := m.m.data
	vec := func(name string) ([]float32, error) {
		t := f.Tensor(name)
		raw := data[t.Offset : t.Offset+t.Bytes]
		if t.Type != GGMLF32 {
			v, err := ggufDequantVector(t, raw)
			copied += 4 * int64(len(v))
			return v, err
		}
		v, cp := f32View(raw)
		if cp {
			copied += t.Bytes
		}
		return v, nil
	}
	mat := func(name string) (Matrix, error) {
		t := f.Tensor(name)
		mx, cp, err := ggufMatrix(t, data[t.Offset:t.Offset+t.Bytes])
		copied += cp
		return mx, err
	}
	w = &Weights{Layers: make([]Layer, m.Layers)}
	if w.Embed, err = mat("token_embd.weight"); err != nil {
		return nil, 0, err
	}
	if w.FinalNorm, err = vec("output_norm.weight"); err != nil {
		return nil, 0, err
	}
	for l := range w.Layers {
		p := fmt.Sprintf("blk.%d.", l)
		L := &w.Layers[l]
		for _, v := range []struct {
			name string
			dst  *[]float32
		}{{"attn_norm", &L.AttNorm}, {"ffn_norm", &L.FFNNorm}} {
			if *v.dst, err = vec(p + v.name + ".weight"); err != nil {
				return nil, 0, err
			}
		}
		for _, bm := range blockMatrices {
			if *bm.of(L), err = mat(GGUFName(fmt.Sprintf("layers.%d.%s", l, bm.name))); err != nil {
				return nil, 0, err
			}
		}
	}
	if m.Shared {
		w.Cls = w.Embed
	} else if w.Cls, err = mat("output.weight"); err != nil {
		return nil, 0, err
	}
	return w, copied, nil
}

// unsupportedType is the error for a tensor whose type the engine does not
// compute with.
func unsupportedType(t *GGUFTensor) error {
	kind := ""
	if strings.HasSuffix(t.Type.String(), "_K") {
		kind = " (K-quants are not supported yet)"
	}
	return &GGUFError{Offset: t.InfoOffset, Field: fmt.Sprintf("tensor %q type", t.Name),
		Expected: "a type memwall computes with: F32, F16, BF16, Q8_0 or Q4_0", Found: t.Type.String() + kind}
}
