package engine

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
)

// GGUFWriteOptions says how WriteGGUF stores a model.
type GGUFWriteOptions struct {
	// Type is the type of the 2-D tensors (the matrices and the token
	// embedding): GGMLF32, GGMLF16, GGMLBF16, GGMLQ8_0 or GGMLQ4_0. A
	// matrix whose rows are not a whole number of blocks is stored as F16
	// instead (as llama-quantize does), and reported. Norms stay F32.
	Type GGMLType
	// Name is general.name.
	Name string
}

// GGUFWriteReport says what WriteGGUF wrote.
type GGUFWriteReport struct {
	Bytes    int64
	Types    map[GGMLType]int // tensors per type
	Fallback []string         // tensors stored as F16 because their rows do not fit the blocks
	NoVocab  bool             // written without a tokenizer
}

// ggufOut is one tensor to write: its GGUF name and shape, the type it is
// stored as, and the name its values are asked for by (llama2.c's).
type ggufOut struct {
	name, local string
	dims        []int64
	typ         GGMLType
	bytes       int64
}

// llamaFileType is llama.cpp's general.file_type for a model whose
// matrices are mostly typ.
func llamaFileType(typ GGMLType) uint32 {
	switch typ {
	case GGMLF16:
		return 1
	case GGMLQ4_0:
		return 2
	case GGMLQ8_0:
		return 7
	case GGMLBF16:
		return 32
	}
	return 0
}

// WriteGGUF writes a Llama model of config c as a GGUF version 3 file,
// asking src for each tensor's fp32 values (by memwall's llama2.c names,
// as FromModel and Synthetic answer) and storing the matrices as opt.Type.
// tok, when not nil, is stored as the file's sentencepiece vocabulary. The
// file is written as WriteCheckpoint writes (writeFile: a temporary name
// renamed into place, a full disk a *DiskFullError).
func WriteGGUF(path string, c Config, tok *Tokenizer, src TensorSource, opt GGUFWriteOptions) (rep GGUFWriteReport, err error) {
	fail := func(err error) (GGUFWriteReport, error) { return rep, fmt.Errorf("writing %s: %w", path, err) }
	c.Version = VGGUF
	if err := c.Validate(); err != nil {
		return fail(err)
	}
	if tok != nil && tok.VocabSize() != c.Vocab {
		return fail(fmt.Errorf("the tokenizer has %d tokens but the model's vocabulary %d", tok.VocabSize(), c.Vocab))
	}
	switch opt.Type {
	case GGMLF32, GGMLF16, GGMLBF16, GGMLQ8_0, GGMLQ4_0:
	default:
		return fail(fmt.Errorf("tensor type %s: want F32, F16, BF16, Q8_0 or Q4_0", opt.Type))
	}
	rep.Types = map[GGMLType]int{}
	var ts []ggufOut
	for _, e := range ggufExpected(c) {
		o := ggufOut{name: e.name, local: localName(e.name), dims: e.dims, typ: GGMLF32}
		if len(e.dims) == 2 {
			o.typ = opt.Type
			if bs := int64(ggmlTypeInfos[o.typ].blockSize); e.dims[0]%bs != 0 {
				o.typ = GGMLF16
				rep.Fallback = append(rep.Fallback, e.name)
			}
		}
		o.bytes = ggmlTypeInfos[o.typ].size(elems(e.dims))
		rep.Types[o.typ]++
		ts = append(ts, o)
	}
	kvs := ggufLlamaMetadata(c, opt)
	if tok != nil {
		kvs = append(kvs, ggufVocabMetadata(tok)...)
	} else {
		rep.NoVocab = true
	}
	header, offsets := encodeGGUFHeader(kvs, ts, ggufDefaultAlignment)
	size := int64(len(header))
	if len(ts) > 0 {
		size += offsets[len(ts)-1] + ts[len(ts)-1].bytes
	}
	err = writeFile(path, size, false, func(w io.Writer) error {
		if _, err := w.Write(header); err != nil {
			return err
		}
		pos := int64(len(header))
		for i, o := range ts {
			// Pad to the tensor's aligned offset.
			want := int64(len(header)) + offsets[i]
			if _, err := w.Write(make([]byte, want-pos)); err != nil {
				return err
			}
			pos = want
			vals, err := src(TensorInfo{Name: o.local, Shape: reverseDims(o.dims), DType: F32})
			if err != nil {
				return fmt.Errorf("tensor %s: %w", o.name, err)
			}
			if n := elems(o.dims); int64(len(vals)) != n {
				return fmt.Errorf("tensor %s: source gave %d values, want %d", o.name, len(vals), n)
			}
			b, err := encodeTensor(o.typ, vals, int(o.dims[0]))
			if err != nil {
				return fmt.Errorf("tensor %s: %w", o.name, err)
			}
			if int64(len(b)) != o.bytes {
				return fmt.Errorf("tensor %s: encoded %d bytes, want %d", o.name, len(b), o.bytes)
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
			pos += int64(len(b))
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	rep.Bytes = size
	return rep, nil
}

// ggufLlamaMetadata is the general.* and llama.* metadata of config c, with
// the keys llama.cpp's loader reads for a Llama model.
func ggufLlamaMetadata(c Config, opt GGUFWriteOptions) []GGUFKV {
	name := opt.Name
	if name == "" {
		name = "llama"
	}
	kvs := []GGUFKV{
		{Key: "general.architecture", Type: GGUFString, Value: "llama"},
		{Key: "general.name", Type: GGUFString, Value: name},
		{Key: "general.file_type", Type: GGUFUint32, Value: llamaFileType(opt.Type)},
	}
	if opt.Type == GGMLQ8_0 || opt.Type == GGMLQ4_0 {
		kvs = append(kvs, GGUFKV{Key: "general.quantization_version", Type: GGUFUint32, Value: uint32(2)})
	}
	u := func(k string, v int) GGUFKV { return GGUFKV{Key: k, Type: GGUFUint32, Value: uint32(v)} }
	kvs = append(kvs,
		u("llama.context_length", c.SeqLen),
		u("llama.embedding_length", c.Dim),
		u("llama.feed_forward_length", c.HiddenDim),
		u("llama.block_count", c.Layers),
		u("llama.attention.head_count", c.Heads),
		u("llama.attention.head_count_kv", c.KVHeads),
		u("llama.rope.dimension_count", c.HeadSize()),
		u("llama.vocab_size", c.Vocab),
		GGUFKV{Key: "llama.attention.layer_norm_rms_epsilon", Type: GGUFFloat32, Value: c.Eps()},
		GGUFKV{Key: "llama.rope.freq_base", Type: GGUFFloat32, Value: c.RopeTheta()},
	)
	return kvs
}

// ggufVocabMetadata stores a sentencepiece vocabulary the way llama.cpp's
// llama2.c converter does: spaces as U+2581, tokens 1 and 2 named <s> and
// </s>, and token types (unknown, control, byte, normal) where the
// vocabulary has none of its own.
func ggufVocabMetadata(t *Tokenizer) []GGUFKV {
	n := t.VocabSize()
	pieces := make([]string, n)
	types := make([]int32, n)
	for i, p := range t.Pieces {
		pieces[i] = strings.ReplaceAll(p, " ", spmSpace)
		switch {
		case t.types != nil:
			types[i] = t.types[i]
		case i == UNK:
			types[i] = tokenUnknown
		case i == BOS || i == EOS:
			types[i] = tokenControl
		case i >= 3 && i < 259 && isBytePiece(p):
			types[i] = tokenByte
		default:
			types[i] = tokenNormal
		}
	}
	if t.types == nil {
		// llama2.c's tokenizer.bin spells them "\n<s>\n" and "\n</s>\n".
		pieces[BOS], pieces[EOS] = "<s>", "</s>"
	}
	arr := func(k string, et GGUFValueType, v any) GGUFKV {
		return GGUFKV{Key: k, Type: GGUFArray, Value: GGUFArrayValue{Elem: et, Values: v, Len: n}}
	}
	return []GGUFKV{
		{Key: "tokenizer.ggml.model", Type: GGUFString, Value: "llama"},
		arr("tokenizer.ggml.tokens", GGUFString, pieces),
		arr("tokenizer.ggml.scores", GGUFFloat32, append([]float32(nil), t.Scores...)),
		arr("tokenizer.ggml.token_type", GGUFInt32, types),
		{Key: "tokenizer.ggml.unknown_token_id", Type: GGUFUint32, Value: uint32(UNK)},
		{Key: "tokenizer.ggml.bos_token_id", Type: GGUFUint32, Value: uint32(BOS)},
		{Key: "tokenizer.ggml.eos_token_id", Type: GGUFUint32, Value: uint32(EOS)},
		{Key: "tokenizer.ggml.add_bos_token", Type: GGUFBool, Value: !t.noBOS},
		{Key: "tokenizer.ggml.add_space_prefix", Type: GGUFBool, Value: !t.noSpacePrefix},
	}
}

func isBytePiece(p string) bool {
	_, ok := rawByte(p)
	return ok
}

// encodeGGUFHeader lays out a GGUF version 3 header: the counts, the
// metadata, the tensor table (offsets packed in order, each aligned), then
// zeros up to the aligned start of the data. It returns the header and
// each tensor's offset within the data section.
func encodeGGUFHeader(kvs []GGUFKV, ts []ggufOut, align int64) ([]byte, []int64) {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, GGUFMagic)
	b = le.AppendUint32(b, 3)
	b = le.AppendUint64(b, uint64(len(ts)))
	b = le.AppendUint64(b, uint64(len(kvs)))
	for _, kv := range kvs {
		b = appendGGUFString(b, kv.Key)
		b = le.AppendUint32(b, uint32(kv.Type))
		b = appendGGUFValue(b, kv.Type, kv.Value)
	}
	offsets := make([]int64, len(ts))
	var off int64
	for i, t := range ts {
		offsets[i] = off
		b = appendGGUFString(b, t.name)
		b = le.AppendUint32(b, uint32(len(t.dims)))
		for _, d := range t.dims {
			b = le.AppendUint64(b, uint64(d))
		}
		b = le.AppendUint32(b, uint32(t.typ))
		b = le.AppendUint64(b, uint64(off))
		off = (off + t.bytes + align - 1) / align * align
	}
	for int64(len(b))%align != 0 {
		b = append(b, 0)
	}
	return b, offsets
}

func appendGGUFString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// appendGGUFValue encodes a value of type t (the Go types ParseGGUF
// returns).
func appendGGUFValue(b []byte, t GGUFValueType, v any) []byte {
	le := binary.LittleEndian
	switch t {
	case GGUFUint8:
		return append(b, v.(uint8))
	case GGUFInt8:
		return append(b, byte(v.(int8)))
	case GGUFBool:
		if v.(bool) {
			return append(b, 1)
		}
		return append(b, 0)
	case GGUFUint16:
		return le.AppendUint16(b, v.(uint16))
	case GGUFInt16:
		return le.AppendUint16(b, uint16(v.(int16)))
	case GGUFUint32:
		return le.AppendUint32(b, v.(uint32))
	case GGUFInt32:
		return le.AppendUint32(b, uint32(v.(int32)))
	case GGUFFloat32:
		return le.AppendUint32(b, math.Float32bits(v.(float32)))
	case GGUFUint64:
		return le.AppendUint64(b, v.(uint64))
	case GGUFInt64:
		return le.AppendUint64(b, uint64(v.(int64)))
	case GGUFFloat64:
		return le.AppendUint64(b, math.Float64bits(v.(float64)))
	case GGUFString:
		return appendGGUFString(b, v.(string))
	case GGUFArray:
		a := v.(GGUFArrayValue)
		b = le.AppendUint32(b, uint32(a.Elem))
		b = le.AppendUint64(b, uint64(a.Len))
		switch vs := a.Values.(type) {
		case []uint8:
			return append(b, vs...)
		case []int8:
			for _, x := range vs {
				b = append(b, byte(x))
			}
		case []bool:
			for _, x := range vs {
				b = appendGGUFValue(b, GGUFBool, x)
			}
		case []uint16:
			for _, x := range vs {
				b = le.AppendUint16(b, x)
			}
		case []int16:
			for _, x := range vs {
				b = le.AppendUint16(b, uint16(x))
			}
		case []uint32:
			for _, x := range vs {
				b = le.AppendUint32(b, x)
			}
		case []int32:
			for _, x := range vs {
				b = le.AppendUint32(b, uint32(x))
			}
		case []float32:
			for _, x := range vs {
				b = le.AppendUint32(b, math.Float32bits(x))
			}
		case []uint64:
			for _, x := range vs {
				b = le.AppendUint64(b, x)
			}
		case []int64:
			for _, x := range vs {
				b = le.AppendUint64(b, uint64(x))
			}
		case []float64:
			for _, x := range vs {
				b = le.AppendUint64(b, math.Float64bits(x))
			}
		case []string:
			for _, x := range vs {
				b = appendGGUFString(b, x)
			}
		case []GGUFArrayValue:
			for _, x := range vs {
				b = appendGGUFValue(b, GGUFArray, x)
			}
		}
		return b
	}
	panic(fmt.Sprintf("appendGGUFValue: unknown type %d", t))
}
