package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// ggufTiny is a small Llama shape for building GGUF files from.
var ggufTiny = Config{Dim: 32, HiddenDim: 64, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 40, SeqLen: 16, Version: VGGUF}

// tinyVocab is a sentencepiece-like vocabulary of n tokens: <unk>, <s>,
// </s>, then single letters and pairs.
func tinyVocab(n int) *Tokenizer {
	t := &Tokenizer{}
	for i := 0; i < n; i++ {
		var p string
		switch i {
		case 0:
			p = "<unk>"
		case 1:
			p = "<s>"
		case 2:
			p = "</s>"
		default:
			p = string(rune('a' + (i-3)%26))
			if i-3 >= 26 {
				p = " " + p
			}
		}
		t.Pieces = append(t.Pieces, p)
		t.Scores = append(t.Scores, float32(-i))
	}
	return t
}

// ggufTensorsOf lists config c's tensors as stored with type typ for the
// matrices (F32 norms).
func ggufTensorsOf(c Config, typ GGMLType) []ggufOut {
	var ts []ggufOut
	for _, e := range ggufExpected(c) {
		o := ggufOut{name: e.name, dims: e.dims, typ: GGMLF32}
		if len(e.dims) == 2 {
			o.typ = typ
		}
		ts = append(ts, o)
	}
	return ts
}

// buildGGUF encodes a file from metadata and a tensor table, with zero
// data of each tensor's size.
func buildGGUF(kvs []GGUFKV, ts []ggufOut) []byte {
	var total int64
	for i := range ts {
		if ti, ok := ggmlTypeInfos[ts[i].typ]; ok {
			ts[i].bytes = ti.size(elems(ts[i].dims))
		}
	}
	header, offsets := encodeGGUFHeader(kvs, ts, ggufDefaultAlignment)
	if len(ts) > 0 {
		total = offsets[len(ts)-1] + ts[len(ts)-1].bytes
	}
	return append(header, make([]byte, total)...)
}

func tinyKVs(c Config) []GGUFKV {
	return append(ggufLlamaMetadata(c, GGUFWriteOptions{}), ggufVocabMetadata(tinyVocab(c.Vocab))...)
}

// withKV replaces (or with remove, drops) one metadata entry.
func withKV(kvs []GGUFKV, key string, kv *GGUFKV) []GGUFKV {
	var out []GGUFKV
	for _, x := range kvs {
		if x.Key != key {
			out = append(out, x)
		} else if kv != nil {
			out = append(out, *kv)
		}
	}
	return out
}

// tensorField returns the offset of a field of tensor i's entry in a file
// built from kvs and ts: "type" or "offset".
func tensorField(t *testing.T, data []byte, name, field string) int {
	f, err := ParseGGUF(data)
	if err != nil {
		t.Fatal(err)
	}
	ti := f.Tensor(name)
	off := int(ti.InfoOffset) + 8 + len(ti.Name) + 4 + 8*len(ti.Dims)
	if field == "offset" {
		off += 4
	}
	return off
}

func patch32(b []byte, off int, v uint32) []byte {
	b = append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

func patch64(b []byte, off int, v uint64) []byte {
	b = append([]byte(nil), b...)
	binary.LittleEndian.PutUint64(b[off:], v)
	return b
}

func TestGGUFMalformed(t *testing.T) {
	c := ggufTiny
	kvs := tinyKVs(c)
	good := buildGGUF(kvs, ggufTensorsOf(c, GGMLF32))
	if _, err := newGGUFModel(&mapping{data: good}, int64(len(good)), "good.gguf", LoadOptions{}); err != nil {
		t.Fatalf("the unbroken file: %v", err)
	}
	qOff := tensorField(t, good, "blk.1.attn_q.weight", "offset")
	qType := tensorField(t, good, "blk.1.attn_q.weight", "type")
	relQ := binary.LittleEndian.Uint64(good[qOff:])

	fiveDims := ggufTensorsOf(c, GGMLF32)
	fiveDims[3].dims = []int64{int64(c.Dim), int64(c.Dim), 1, 1, 1}
	dupTensor := ggufTensorsOf(c, GGMLF32)
	dupTensor[4].name = dupTensor[3].name
	kquant := c
	kquant.Dim, kquant.HiddenDim, kquant.Heads, kquant.KVHeads = 256, 256, 4, 4
	kq := ggufTensorsOf(kquant, GGMLF32)
	kq[5].typ = 12 // Q4_K
	wrongShape := ggufTensorsOf(c, GGMLF32)
	for i := range wrongShape {
		if wrongShape[i].name == "blk.0.ffn_down.weight" {
			wrongShape[i].dims = []int64{int64(c.Dim), int64(c.HiddenDim)}
		}
	}
	strLenAt := 24 // the first key's length
	tokensKV := -1
	{
		f, _ := ParseGGUF(good)
		tokensKV = int(f.Lookup("tokenizer.ggml.tokens").Offset)
	}
	// The array length of tokenizer.ggml.tokens: after its key and the two
	// type codes.
	arrLenAt := tokensKV + 8 + len("tokenizer.ggml.tokens") + 4 + 4
	// The length of the fourth token's text: an error there names the
	// element.
	tok3At := arrLenAt + 8 + (8 + len("<unk>")) + (8 + len("<s>")) + (8 + len("</s>"))
	nested := withKV(kvs, "general.name", &GGUFKV{Key: "general.name", Type: GGUFArray, Value: GGUFArrayValue{Elem: GGUFString, Values: []string{"x"}, Len: 1}})

	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, []string{"magic", "file size 0"}},
		{"wrong magic", append([]byte("GGUX"), good[4:]...), []string{"magic", `"GGUF"`, `"GGUX"`, "offset 0"}},
		{"unknown version", patch32(good, 4, 7), []string{"version", "offset 4", "expected 2 or 3", "found 7"}},
		{"version 1", patch32(good, 4, 1), []string{"version", "found 1"}},
		{"big-endian", patch32(good, 4, 3<<24), []string{"big-endian"}},
		{"cut in the header", good[:12], []string{"tensor count", "the file ends"}},
		{"huge tensor count", patch64(good, 8, 1<<40), []string{"tensor count", "at most"}},
		{"huge metadata count", patch64(good, 16, 1<<40), []string{"metadata count", "at most"}},
		{"string length past the file", patch64(good, strLenAt, 1<<40), []string{"metadata entry 0 key", "offset 24", "string length", "found length 1099511627776"}},
		{"array length past the file", patch64(good, arrLenAt, 1<<40), []string{`"tokenizer.ggml.tokens" (array length)`, fmt.Sprintf("offset %d", arrLenAt), "found 1099511627776"}},
		{"cut in the metadata", good[:tokensKV+40], []string{"tokenizer.ggml.tokens", "the file ends"}},
		{"array element past the file", patch64(good, tok3At, 1<<40), []string{`metadata "tokenizer.ggml.tokens"[3]`, fmt.Sprintf("offset %d", tok3At), "found length 1099511627776"}},
		{"tensor offset outside the data", patch64(good, qOff, relQ+1<<20), []string{`tensor "blk.1.attn_q.weight" data`, "inside the data section", "found offset"}},
		{"tensor offset misaligned", patch64(good, qOff, relQ+4), []string{`tensor "blk.1.attn_q.weight" offset`, fmt.Sprintf("offset %d", qOff), "multiple of the alignment 32", fmt.Sprintf("found %d", relQ+4)}},
		{"overlapping tensors", patch64(good, qOff, relQ-32), []string{`tensor "blk.1.attn_q.weight" data`, "overlapping"}},
		{"unknown type code", patch32(good, qType, 99), []string{`tensor "blk.1.attn_q.weight" type`, fmt.Sprintf("offset %d", qType), "found 99"}},
		{"missing required key", buildGGUF(withKV(kvs, "llama.block_count", nil), ggufTensorsOf(c, GGMLF32)), []string{`metadata "llama.block_count"`, "no such key"}},
		{"missing epsilon", buildGGUF(withKV(kvs, "llama.attention.layer_norm_rms_epsilon", nil), ggufTensorsOf(c, GGMLF32)), []string{"layer_norm_rms_epsilon", "no such key"}},
		{"wrong key type", buildGGUF(withKV(kvs, "llama.embedding_length", &GGUFKV{Key: "llama.embedding_length", Type: GGUFString, Value: "32"}), ggufTensorsOf(c, GGMLF32)), []string{`metadata "llama.embedding_length"`, "expected an integer", `found string "32"`}},
		{"other architecture", buildGGUF(withKV(kvs, "general.architecture", &GGUFKV{Key: "general.architecture", Type: GGUFString, Value: "qwen2"}), ggufTensorsOf(c, GGMLF32)), []string{"general.architecture", `found "qwen2"`}},
		{"bad alignment", buildGGUF(append(kvs, GGUFKV{Key: "general.alignment", Type: GGUFUint32, Value: uint32(48)}), ggufTensorsOf(c, GGMLF32)), []string{"general.alignment", "power of two", "48"}},
		{"shape disagrees with metadata", buildGGUF(kvs, wrongShape), []string{`tensor "blk.0.ffn_down.weight" shape`, "[64, 32]", "found [32, 64]"}},
		{"metadata disagrees with shapes", buildGGUF(withKV(kvs, "llama.feed_forward_length", &GGUFKV{Key: "llama.feed_forward_length", Type: GGUFUint32, Value: uint32(96)}), ggufTensorsOf(c, GGMLF32)), []string{`tensor "blk.0.ffn_gate.weight" shape`, "feed_forward_length", "[32, 96]", "found [32, 64]"}},
		{"more than four dimensions", buildGGUF(kvs, fiveDims), []string{fmt.Sprintf("tensor %q number of dimensions", fiveDims[3].name), "1 to 4", "found 5"}},
		{"duplicate tensor names", buildGGUF(kvs, dupTensor), []string{fmt.Sprintf("tensor %q", dupTensor[3].name), "each tensor name once"}},
		{"duplicate keys", buildGGUF(append(kvs, kvs[0]), ggufTensorsOf(c, GGMLF32)), []string{fmt.Sprintf("metadata key %q", kvs[0].Key), "each key once"}},
		{"missing tensor", buildGGUF(kvs, ggufTensorsOf(c, GGMLF32)[:10]), []string{"no such tensor"}},
		{"extra tensor", buildGGUF(kvs, append(ggufTensorsOf(c, GGMLF32), ggufOut{name: "blk.0.attn_q.bias", dims: []int64{32}, typ: GGMLF32})), []string{`tensor "blk.0.attn_q.bias"`, "a bias"}},
		{"K-quant tensor", buildGGUF(tinyKVs(kquant), kq), []string{fmt.Sprintf("tensor %q type", kq[5].name), "found Q4_K", "K-quants are not supported yet"}},
		{"row not a whole block", buildGGUF(kvs, func() []ggufOut { ts := ggufTensorsOf(c, GGMLF32); ts[0].typ = 12; return ts }()), []string{`tensor "token_embd.weight" shape`, "multiple of Q4_K's block of 256", "found 32"}},
		{"vocabulary of another length", buildGGUF(withKV(kvs, "tokenizer.ggml.scores", &GGUFKV{Key: "tokenizer.ggml.scores", Type: GGUFArray, Value: GGUFArrayValue{Elem: GGUFFloat32, Values: []float32{1, 2}, Len: 2}}), ggufTensorsOf(c, GGMLF32)), []string{"tokenizer.ggml.scores", "an array of 40 entries", "float32 × 2"}},
		{"GPT-2 BPE vocabulary", buildGGUF(withKV(kvs, "tokenizer.ggml.model", &GGUFKV{Key: "tokenizer.ggml.model", Type: GGUFString, Value: "gpt2"}), ggufTensorsOf(c, GGMLF32)), []string{"tokenizer.ggml.model", "GPT-2-style", "not supported yet", `found "gpt2"`}},
		{"other BOS id", buildGGUF(withKV(kvs, "tokenizer.ggml.bos_token_id", &GGUFKV{Key: "tokenizer.ggml.bos_token_id", Type: GGUFUint32, Value: uint32(5)}), ggufTensorsOf(c, GGMLF32)), []string{"bos_token_id", "found 5"}},
		// Files the reader must accept (want nil).
		{"general.name an array (not a key the engine reads)", buildGGUF(nested, ggufTensorsOf(c, GGMLF32)), nil},
		{"version 2", patch32(good, 4, 2), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				var m *Model
				m, err = loadMapped(&mapping{data: tc.data}, int64(len(tc.data)), "bad.gguf", LoadOptions{})
				if err == nil && tc.want != nil {
					t.Fatalf("accepted (%+v)", m.Config)
				}
			}()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			var ge *GGUFError
			if tc.data != nil && !errors.As(err, &ge) && !strings.Contains(msg, "GGUF") {
				t.Errorf("error %q is not a GGUFError", msg)
			}
			t.Log(msg)
		})
	}
}

// TestGGUFValueTypes round-trips metadata of every value type, arrays of
// every element type and arrays of arrays through the encoder and the
// parser.
func TestGGUFValueTypes(t *testing.T) {
	kvs := []GGUFKV{
		{Key: "u8", Type: GGUFUint8, Value: uint8(200)},
		{Key: "i8", Type: GGUFInt8, Value: int8(-100)},
		{Key: "u16", Type: GGUFUint16, Value: uint16(60000)},
		{Key: "i16", Type: GGUFInt16, Value: int16(-30000)},
		{Key: "u32", Type: GGUFUint32, Value: uint32(4e9)},
		{Key: "i32", Type: GGUFInt32, Value: int32(-2e9)},
		{Key: "f32", Type: GGUFFloat32, Value: float32(1.5e-5)},
		{Key: "bool", Type: GGUFBool, Value: true},
		{Key: "str", Type: GGUFString, Value: "héllo\x00"},
		{Key: "u64", Type: GGUFUint64, Value: uint64(1 << 63)},
		{Key: "i64", Type: GGUFInt64, Value: int64(-1 << 62)},
		{Key: "f64", Type: GGUFFloat64, Value: 3.25},
		{Key: "empty", Type: GGUFString, Value: ""},
	}
	arrays := []any{
		[]uint8{1, 2}, []int8{-1}, []uint16{7}, []int16{-7}, []uint32{1, 2, 3}, []int32{-3}, []float32{0.5},
		[]bool{true, false}, []string{"a", "", "ccc"}, []uint64{9}, []int64{-9}, []float64{2.5},
	}
	for i, a := range arrays {
		et := []GGUFValueType{GGUFUint8, GGUFInt8, GGUFUint16, GGUFInt16, GGUFUint32, GGUFInt32, GGUFFloat32, GGUFBool, GGUFString, GGUFUint64, GGUFInt64, GGUFFloat64}[i]
		kvs = append(kvs, GGUFKV{Key: "arr." + et.String(), Type: GGUFArray, Value: GGUFArrayValue{Elem: et, Values: a, Len: reflect.ValueOf(a).Len()}})
	}
	inner := []GGUFArrayValue{
		{Elem: GGUFInt32, Values: []int32{1, 2}, Len: 2},
		{Elem: GGUFString, Values: []string{"x"}, Len: 1},
		{Elem: GGUFArray, Values: []GGUFArrayValue{{Elem: GGUFUint8, Values: []uint8{}, Len: 0}}, Len: 1},
	}
	kvs = append(kvs, GGUFKV{Key: "nested", Type: GGUFArray, Value: GGUFArrayValue{Elem: GGUFArray, Values: inner, Len: 3}})
	data := buildGGUF(kvs, nil)
	f, err := ParseGGUF(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.KV) != len(kvs) {
		t.Fatalf("%d entries, want %d", len(f.KV), len(kvs))
	}
	for i, kv := range f.KV {
		w := kvs[i]
		if kv.Key != w.Key || kv.Type != w.Type || !reflect.DeepEqual(kv.Value, w.Value) {
			t.Errorf("entry %d: %s %s %#v, want %s %s %#v", i, kv.Key, kv.Type, kv.Value, w.Key, w.Type, w.Value)
		}
	}
	// Too deep a nesting is refused, not recursed into.
	deep := GGUFArrayValue{Elem: GGUFUint8, Values: []uint8{}, Len: 0}
	for i := 0; i < 12; i++ {
		deep = GGUFArrayValue{Elem: GGUFArray, Values: []GGUFArrayValue{deep}, Len: 1}
	}
	_, err = ParseGGUF(buildGGUF([]GGUFKV{{Key: "deep", Type: GGUFArray, Value: deep}}, nil))
	if err == nil || !strings.Contains(err.Error(), "nested at most") {
		t.Errorf("deep nesting: %v", err)
	}
	// A bool other than 0 or 1.
	b := buildGGUF([]GGUFKV{{Key: "b", Type: GGUFBool, Value: true}}, nil)
	b[24+8+1+4] = 2
	if _, err := ParseGGUF(b); err == nil || !strings.Contains(err.Error(), "bool of 0 or 1") {
		t.Errorf("bool 2: %v", err)
	}
}

// TestGGUFVocabularyFlags: a vocabulary whose byte tokens are not at
// 3..258, that adds no BOS and no dummy-prefix space, encodes as its flags
// say, and control tokens decode to nothing.
func TestGGUFVocabularyFlags(t *testing.T) {
	c := ggufTiny
	c.Vocab = 300
	kvs := ggufLlamaMetadata(c, GGUFWriteOptions{})
	pieces := []string{"<unk>", "<s>", "</s>", "\u2581a", "a", "b", "ab"}
	types := []int32{tokenUnknown, tokenControl, tokenControl, tokenNormal, tokenNormal, tokenNormal, tokenNormal}
	for len(pieces) < c.Vocab-256 {
		pieces = append(pieces, fmt.Sprintf("x%d", len(pieces)))
		types = append(types, tokenNormal)
	}
	byte0 := len(pieces)
	for b := 0; b < 256; b++ {
		pieces = append(pieces, fmt.Sprintf("<0x%02X>", b))
		types = append(types, tokenByte)
	}
	scores := make([]float32, c.Vocab)
	scores[6] = 5 // "ab"
	n := c.Vocab
	kvs = append(kvs,
		GGUFKV{Key: "tokenizer.ggml.model", Type: GGUFString, Value: "llama"},
		GGUFKV{Key: "tokenizer.ggml.tokens", Type: GGUFArray, Value: GGUFArrayValue{Elem: GGUFString, Values: pieces, Len: n}},
		GGUFKV{Key: "tokenizer.ggml.scores", Type: GGUFArray, Value: GGUFArrayValue{Elem: GGUFFloat32, Values: scores, Len: n}},
		GGUFKV{Key: "tokenizer.ggml.token_type", Type: GGUFArray, Value: GGUFArrayValue{Elem: GGUFInt32, Values: types, Len: n}},
		GGUFKV{Key: "tokenizer.ggml.add_bos_token", Type: GGUFBool, Value: false},
		GGUFKV{Key: "tokenizer.ggml.add_space_prefix", Type: GGUFBool, Value: false},
	)
	data := buildGGUF(kvs, ggufTensorsOf(c, GGMLF32))
	m, err := loadMapped(&mapping{data: data}, int64(len(data)), "v.gguf", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := m.Tok.Encode("ab\xffa", true, false)
	want := []int{6, byte0 + 0xff, 4}
	if !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v (no BOS, no space prefix, byte 0xff at %d)", got, want, byte0+0xff)
	}
	if got := m.Tok.Encode(" a", true, false); !slices.Equal(got, []int{3}) {
		t.Errorf(`Encode(" a") = %v, want [3] ("▁a")`, got)
	}
	if d := m.Tok.Decode(6, 2); d != "" {
		t.Errorf("control token decodes to %q", d)
	}
	if d := m.Tok.DecodeAll(6, []int{3, byte0 + 'Z'}); d != " aZ" {
		t.Errorf("DecodeAll = %q", d)
	}
	// Writing the vocabulary back keeps its pieces, types and flags.
	kv2 := ggufVocabMetadata(m.Tok)
	for _, kv := range kv2 {
		if kv.Key == "tokenizer.ggml.add_bos_token" && kv.Value != false {
			t.Error("add_bos_token not kept")
		}
		if kv.Key == "tokenizer.ggml.tokens" && !reflect.DeepEqual(kv.Value.(GGUFArrayValue).Values, pieces) {
			t.Error("pieces not kept")
		}
	}
}

// TestGGUFAlignment: general.alignment sets where the data section and
// every tensor start; without the key it is 32.
func TestGGUFAlignment(t *testing.T) {
	c := ggufTiny
	for _, align := range []int64{32, 64, 256} {
		kvs := tinyKVs(c)
		if align != 32 {
			kvs = append(kvs, GGUFKV{Key: "general.alignment", Type: GGUFUint32, Value: uint32(align)})
		}
		ts := ggufTensorsOf(c, GGMLF32)
		for i := range ts {
			ts[i].bytes = 4
			for _, d := range ts[i].dims {
				ts[i].bytes *= d
			}
		}
		header, offsets := encodeGGUFHeader(kvs, ts, align)
		last := len(ts) - 1
		data := append(header, make([]byte, offsets[last]+ts[last].bytes)...)
		f, err := ParseGGUF(data)
		if err != nil {
			t.Fatalf("alignment %d: %v", align, err)
		}
		if f.Alignment != align || f.DataOffset%align != 0 || f.DataOffset != int64(len(header)) {
			t.Errorf("alignment %d: parsed %d, data at %d (header %d)", align, f.Alignment, f.DataOffset, len(header))
		}
		for i, ti := range f.Tensors {
			if ti.Offset != f.DataOffset+offsets[i] || ti.Offset%align != 0 {
				t.Errorf("alignment %d: %s at %d, want %d", align, ti.Name, ti.Offset, f.DataOffset+offsets[i])
			}
		}
	}
}
