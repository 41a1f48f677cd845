package engine

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"sort"
	"strings"

	"github.com/memwall/memwall/asm"
)

// GGUF is llama.cpp's model container: a header, typed key-value metadata,
// a table of tensor descriptions, then the tensor data, each tensor at an
// offset aligned to general.alignment (32 unless the file says otherwise).
// ParseGGUF reads the header and both tables from the mapped bytes; the
// tensor data stays where it lies.

// GGUFMagic is the little-endian uint32 of the bytes "GGUF" that start a
// GGUF file.
const GGUFMagic = 0x46554747

// ggufDefaultAlignment is the alignment of tensor data when the file has no
// general.alignment key.
const ggufDefaultAlignment = 32

// ggufMaxDims is ggml's GGML_MAX_DIMS.
const ggufMaxDims = 4

// ggufMaxDepth bounds how deeply arrays of arrays may nest, so that a
// malicious file cannot exhaust the stack.
const ggufMaxDepth = 8

// GGUFValueType is the type code of a metadata value.
type GGUFValueType uint32

// The metadata value types of the GGUF specification.
const (
	GGUFUint8 GGUFValueType = iota
	GGUFInt8
	GGUFUint16
	GGUFInt16
	GGUFUint32
	GGUFInt32
	GGUFFloat32
	GGUFBool
	GGUFString
	GGUFArray
	GGUFUint64
	GGUFInt64
	GGUFFloat64
)

var ggufValueNames = []string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

func (t GGUFValueType) String() string {
	if int(t) < len(ggufValueNames) {
		return ggufValueNames[t]
	}
	return fmt.Sprintf("unknown value type %d", uint32(t))
}

// fixedSize is the size in bytes of a scalar value type (0 for string and
// array, whose size depends on their contents).
func (t GGUFValueType) fixedSize() int {
	switch t {
	case GGUFUint8, GGUFInt8, GGUFBool:
		return 1
	case GGUFUint16, GGUFInt16:
		return 2
	case GGUFUint32, GGUFInt32, GGUFFloat32:
		return 4
	case GGUFUint64, GGUFInt64, GGUFFloat64:
		return 8
	}
	return 0
}

// GGMLType is the type code of a tensor's data.
type GGMLType uint32

// The ggml tensor types memwall computes with, and the ones it names in
// errors. The codes are ggml's (gaps are types ggml removed).
const (
	GGMLF32  GGMLType = 0
	GGMLF16  GGMLType = 1
	GGMLQ4_0 GGMLType = 2
	GGMLQ8_0 GGMLType = 8
	GGMLBF16 GGMLType = 30
)

// ggmlTypeInfo is a tensor type's name and block layout: blockSize values
// are stored in blockBytes bytes.
type ggmlTypeInfo struct {
	name                  string
	blockSize, blockBytes int
}

// size is the bytes of n values (a whole number of blocks).
func (ti ggmlTypeInfo) size(n int64) int64 {
	return n / int64(ti.blockSize) * int64(ti.blockBytes)
}

// ggmlTypeInfos lists every type a current GGUF file may hold, so that the
// reader can check the layout of tensors of any type and name the ones the
// engine does not compute with.
var ggmlTypeInfos = map[GGMLType]ggmlTypeInfo{
	0: {"F32", 1, 4}, 1: {"F16", 1, 2}, 2: {"Q4_0", asm.BlockSize, asm.Q4_0BlockBytes}, 3: {"Q4_1", 32, 20},
	6: {"Q5_0", 32, 22}, 7: {"Q5_1", 32, 24}, 8: {"Q8_0", asm.BlockSize, asm.Q8BlockBytes}, 9: {"Q8_1", 32, 36},
	10: {"Q2_K", 256, 84}, 11: {"Q3_K", 256, 110}, 12: {"Q4_K", 256, 144}, 13: {"Q5_K", 256, 176},
	14: {"Q6_K", 256, 210}, 15: {"Q8_K", 256, 292}, 16: {"IQ2_XXS", 256, 66}, 17: {"IQ2_XS", 256, 74},
	18: {"IQ3_XXS", 256, 98}, 19: {"IQ1_S", 256, 50}, 20: {"IQ4_NL", 32, 18}, 21: {"IQ3_S", 256, 110},
	22: {"IQ2_S", 256, 82}, 23: {"IQ4_XS", 256, 136}, 24: {"I8", 1, 1}, 25: {"I16", 1, 2},
	26: {"I32", 1, 4}, 27: {"I64", 1, 8}, 28: {"F64", 1, 8}, 29: {"IQ1_M", 256, 56},
	30: {"BF16", 1, 2}, 34: {"TQ1_0", 256, 54}, 35: {"TQ2_0", 256, 66},
}

func (t GGMLType) String() string {
	if ti, ok := ggmlTypeInfos[t]; ok {
		return ti.name
	}
	return fmt.Sprintf("unknown type %d", uint32(t))
}

// GGUFArrayValue is a metadata array: elements of one type, held as a
// typed Go slice ([]uint32, []string, []GGUFArrayValue for arrays of
// arrays, ...).
type GGUFArrayValue struct {
	Elem   GGUFValueType
	Values any
	Len    int
}

// GGUFKV is one metadata entry. Value holds a Go value of the entry's type:
// uint8 ... float64, bool, string, or GGUFArrayValue.
type GGUFKV struct {
	Key    string
	Type   GGUFValueType
	Value  any
	Offset int64 // where the entry starts in the file
}

// GGUFTensor is one entry of the tensor table.
type GGUFTensor struct {
	Name       string
	Dims       []int64 // ggml order: Dims[0] is the length of a row
	Type       GGMLType
	Offset     int64 // absolute offset of the data in the file
	Bytes      int64
	InfoOffset int64 // where the tensor's entry starts in the table
}

// Elems is the number of values in the tensor.
func (t *GGUFTensor) Elems() int64 { return elems(t.Dims) }

// elems is the number of values of a tensor of dimensions d.
func elems(d []int64) int64 {
	n := int64(1)
	for _, x := range d {
		n *= x
	}
	return n
}

// GGUFFile is a parsed GGUF header: its metadata and tensor table.
type GGUFFile struct {
	Version    uint32
	Alignment  int64
	DataOffset int64 // where the tensor data section starts
	KV         []GGUFKV
	Tensors    []GGUFTensor

	kv      map[string]int
	tensors map[string]int
}

// GGUFError is a malformed GGUF file: what is wrong (Field names the key,
// tensor or header field), where (byte offset), what was expected and what
// was found.
type GGUFError struct {
	Offset   int64
	Field    string
	Expected string
	Found    string
}

func (e *GGUFError) Error() string {
	return fmt.Sprintf("GGUF: %s at byte offset %d: expected %s, found %s", e.Field, e.Offset, e.Expected, e.Found)
}

// isGGUF reports whether data starts with the GGUF magic.
func isGGUF(data []byte) bool {
	return len(data) >= 4 && binary.LittleEndian.Uint32(data) == GGUFMagic
}

// ggufReader reads little-endian values from the file's bytes, every read
// checked against the end of the file.
type ggufReader struct {
	data []byte
	off  int64
	err  error
}

func (r *ggufReader) fail(off int64, field, expected, found string) {
	if r.err == nil {
		r.err = &GGUFError{Offset: off, Field: field, Expected: expected, Found: found}
	}
}

// take returns the next n bytes, or nil (with an error naming field) if the
// file ends first.
func (r *ggufReader) take(n int64, field string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > int64(len(r.data))-r.off {
		r.fail(r.off, field, fmt.Sprintf("%d more bytes", n), fmt.Sprintf("the file ends %d bytes later (file size %d)", int64(len(r.data))-r.off, len(r.data)))
		return nil
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b
}

func (r *ggufReader) u32(field string) uint32 {
	if b := r.take(4, field); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *ggufReader) u64(field string) uint64 {
	if b := r.take(8, field); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// str reads a GGUF string: a uint64 length, then that many bytes.
func (r *ggufReader) str(field string) string {
	at := r.off
	n := r.u64(field + " (string length)")
	if r.err != nil {
		return ""
	}
	if n > uint64(int64(len(r.data))-r.off) {
		r.fail(at, field, fmt.Sprintf("a string length of at most the %d bytes left in the file", int64(len(r.data))-r.off), fmt.Sprintf("length %d", n))
		return ""
	}
	return string(r.take(int64(n), field))
}

// value reads a value of type t. depth counts enclosing arrays.
func (r *ggufReader) value(t GGUFValueType, field string, depth int) any {
	le := binary.LittleEndian
	if t == GGUFString {
		return r.str(field)
	}
	if t == GGUFArray {
		return r.array(field, depth+1)
	}
	at := r.off
	n := t.fixedSize()
	if n == 0 {
		r.fail(at-4, field, "a value type code 0..12", fmt.Sprintf("%d", uint32(t)))
		return nil
	}
	b := r.take(int64(n), field)
	if b == nil {
		return nil
	}
	switch t {
	case GGUFUint8:
		return b[0]
	case GGUFInt8:
		return int8(b[0])
	case GGUFBool:
		if b[0] > 1 {
			r.fail(at, field, "a bool of 0 or 1", fmt.Sprintf("%d", b[0]))
			return nil
		}
		return b[0] == 1
	case GGUFUint16:
		return le.Uint16(b)
	case GGUFInt16:
		return int16(le.Uint16(b))
	case GGUFUint32:
		return le.Uint32(b)
	case GGUFInt32:
		return int32(le.Uint32(b))
	case GGUFFloat32:
		return math.Float32frombits(le.Uint32(b))
	case GGUFUint64:
		return le.Uint64(b)
	case GGUFInt64:
		return int64(le.Uint64(b))
	case GGUFFloat64:
		return math.Float64frombits(le.Uint64(b))
	}
	return nil
}

// array reads an array: element type, count, elements.
func (r *ggufReader) array(field string, depth int) any {
	at := r.off
	if depth > ggufMaxDepth {
		r.fail(at, field, fmt.Sprintf("arrays nested at most %d deep", ggufMaxDepth), fmt.Sprintf("depth %d", depth))
		return nil
	}
	et := GGUFValueType(r.u32(field + " (array element type)"))
	cntAt := r.off
	n := r.u64(field + " (array length)")
	if r.err != nil {
		return nil
	}
	if et > GGUFFloat64 {
		r.fail(at, field+" (array element type)", "a value type code 0..12", fmt.Sprintf("%d", uint32(et)))
		return nil
	}
	// Every element takes at least minSize bytes: a count the rest of the
	// file cannot hold is an error before anything is allocated.
	minSize := uint64(et.fixedSize())
	switch et {
	case GGUFString:
		minSize = 8
	case GGUFArray:
		minSize = 12
	}
	if left := uint64(int64(len(r.data)) - r.off); n > left/minSize {
		r.fail(cntAt, field+" (array length)", fmt.Sprintf("at most %d %s elements (the %d bytes left in the file)", left/minSize, et, left), fmt.Sprintf("%d", n))
		return nil
	}
	arr := GGUFArrayValue{Elem: et, Len: int(n)}
	if sz := et.fixedSize(); sz > 0 && et != GGUFBool {
		b := r.take(int64(n)*int64(sz), field)
		if b == nil {
			return nil
		}
		arr.Values = decodeFixed(et, b, int(n))
		return arr
	}
	switch et {
	// The elements are read under the array's name, which an error is
	// given the element's index by (elemFailed): a vocabulary holds tens
	// of thousands of strings, and naming each up front costs a formatted
	// string apiece at every load.
	case GGUFBool:
		v := make([]bool, n)
		for i := range v {
			x, _ := r.value(GGUFBool, field, depth).(bool)
			if r.err != nil {
				return r.elemFailed(field, i)
			}
			v[i] = x
		}
		arr.Values = v
	case GGUFString:
		v := make([]string, n)
		for i := range v {
			v[i] = r.str(field)
			if r.err != nil {
				return r.elemFailed(field, i)
			}
		}
		arr.Values = v
	case GGUFArray:
		v := make([]GGUFArrayValue, n)
		for i := range v {
			x, _ := r.array(field, depth+1).(GGUFArrayValue)
			if r.err != nil {
				return r.elemFailed(field, i)
			}
			v[i] = x
		}
		arr.Values = v
	}
	if r.err != nil {
		return nil
	}
	return arr
}

// elemFailed puts the index of the element being read into the error
// just recorded about array field (field[i], and field[i][j] for an array
// of arrays) and returns nil.
func (r *ggufReader) elemFailed(field string, i int) any {
	if e, ok := r.err.(*GGUFError); ok {
		e.Field = strings.Replace(e.Field, field, fmt.Sprintf("%s[%d]", field, i), 1)
	}
	return nil
}

// decodeFixed decodes n little-endian scalars of type t from b (the
// caller has checked that b holds them).
func decodeFixed(t GGUFValueType, b []byte, n int) any {
	switch t {
	case GGUFUint8:
		return decodeLE[uint8](b, n)
	case GGUFInt8:
		return decodeLE[int8](b, n)
	case GGUFUint16:
		return decodeLE[uint16](b, n)
	case GGUFInt16:
		return decodeLE[int16](b, n)
	case GGUFUint32:
		return decodeLE[uint32](b, n)
	case GGUFInt32:
		return decodeLE[int32](b, n)
	case GGUFFloat32:
		return decodeLE[float32](b, n)
	case GGUFUint64:
		return decodeLE[uint64](b, n)
	case GGUFInt64:
		return decodeLE[int64](b, n)
	case GGUFFloat64:
		return decodeLE[float64](b, n)
	}
	return nil
}

// decodeLE is n little-endian values of a fixed-size type from b.
func decodeLE[T uint8 | int8 | uint16 | int16 | uint32 | int32 | float32 | uint64 | int64 | float64](b []byte, n int) []T {
	v := make([]T, n)
	if _, err := binary.Decode(b, binary.LittleEndian, v); err != nil {
		return nil // b shorter than n values: the callers check first
	}
	return v
}

// ParseGGUF reads a GGUF file's header, metadata and tensor table from
// data (the whole file) and checks that every tensor lies, aligned, inside
// the data section, without overlapping another. Tensor data is not read.
func ParseGGUF(data []byte) (*GGUFFile, error) {
	r := &ggufReader{data: data}
	magic := r.take(4, "magic")
	if r.err != nil {
		return nil, r.err
	}
	if binary.LittleEndian.Uint32(magic) != GGUFMagic {
		return nil, &GGUFError{Offset: 0, Field: "magic", Expected: `the bytes "GGUF"`, Found: fmt.Sprintf("%q", magic)}
	}
	f := &GGUFFile{kv: map[string]int{}, tensors: map[string]int{}}
	f.Version = r.u32("version")
	if r.err != nil {
		return nil, r.err
	}
	switch f.Version {
	case 2, 3:
	case 1:
		return nil, &GGUFError{Offset: 4, Field: "version", Expected: "2 or 3", Found: "1 (the first GGUF version, with 32-bit counts, which llama.cpp no longer reads either)"}
	default:
		found := fmt.Sprintf("%d", f.Version)
		if f.Version&0xffff == 0 {
			found += " (a big-endian file? memwall reads little-endian GGUF only)"
		}
		return nil, &GGUFError{Offset: 4, Field: "version", Expected: "2 or 3", Found: found}
	}
	nTensors := r.u64("tensor count")
	nKV := r.u64("metadata count")
	if r.err != nil {
		return nil, r.err
	}
	left := uint64(len(data)) - uint64(r.off)
	// A metadata entry takes at least 12 bytes (key length and value
	// type), a tensor entry at least 24 (name length, dims, type, offset).
	if nKV > left/12 {
		return nil, &GGUFError{Offset: 16, Field: "metadata count", Expected: fmt.Sprintf("at most %d entries (the %d bytes left in the file)", left/12, left), Found: fmt.Sprintf("%d", nKV)}
	}
	if nTensors > left/24 {
		return nil, &GGUFError{Offset: 8, Field: "tensor count", Expected: fmt.Sprintf("at most %d tensors (the %d bytes left in the file)", left/24, left), Found: fmt.Sprintf("%d", nTensors)}
	}
	for i := uint64(0); i < nKV; i++ {
		at := r.off
		key := r.str(fmt.Sprintf("metadata entry %d key", i))
		if r.err != nil {
			return nil, r.err
		}
		if _, dup := f.kv[key]; dup {
			return nil, &GGUFError{Offset: at, Field: fmt.Sprintf("metadata key %q", key), Expected: "each key once", Found: "a second entry with this key"}
		}
		t := GGUFValueType(r.u32(fmt.Sprintf("metadata %q value type", key)))
		if r.err == nil && t > GGUFFloat64 {
			return nil, &GGUFError{Offset: r.off - 4, Field: fmt.Sprintf("metadata %q value type", key), Expected: "a value type code 0..12", Found: fmt.Sprintf("%d", uint32(t))}
		}
		v := r.value(t, fmt.Sprintf("metadata %q", key), 0)
		if r.err != nil {
			return nil, r.err
		}
		f.kv[key] = len(f.KV)
		f.KV = append(f.KV, GGUFKV{Key: key, Type: t, Value: v, Offset: at})
	}
	f.Alignment = ggufDefaultAlignment
	if kv := f.Lookup("general.alignment"); kv != nil {
		a, ok := kv.Value.(uint32)
		if !ok || a == 0 || a&(a-1) != 0 {
			return nil, &GGUFError{Offset: kv.Offset, Field: `metadata "general.alignment"`, Expected: "a uint32 power of two", Found: describeValue(kv)}
		}
		f.Alignment = int64(a)
	}
	for i := uint64(0); i < nTensors; i++ {
		at := r.off
		var t GGUFTensor
		t.InfoOffset = at
		t.Name = r.str(fmt.Sprintf("tensor %d name", i))
		nd := r.u32(fmt.Sprintf("tensor %q number of dimensions", t.Name))
		if r.err != nil {
			return nil, r.err
		}
		if _, dup := f.tensors[t.Name]; dup {
			return nil, &GGUFError{Offset: at, Field: fmt.Sprintf("tensor %q", t.Name), Expected: "each tensor name once", Found: "a second tensor with this name"}
		}
		if nd == 0 || nd > ggufMaxDims {
			return nil, &GGUFError{Offset: r.off - 4, Field: fmt.Sprintf("tensor %q number of dimensions", t.Name), Expected: fmt.Sprintf("1 to %d", ggufMaxDims), Found: fmt.Sprintf("%d", nd)}
		}
		n := uint64(1)
		for d := uint32(0); d < nd; d++ {
			dimAt := r.off
			x := r.u64(fmt.Sprintf("tensor %q dimension %d", t.Name, d))
			if r.err != nil {
				return nil, r.err
			}
			hi, lo := bits.Mul64(n, x)
			if x == 0 || x > math.MaxInt32 || hi != 0 || lo > math.MaxInt64/8 {
				return nil, &GGUFError{Offset: dimAt, Field: fmt.Sprintf("tensor %q dimension %d", t.Name, d), Expected: "a positive size whose product with the others fits in memory", Found: fmt.Sprintf("%d", x)}
			}
			n = lo
			t.Dims = append(t.Dims, int64(x))
		}
		typeAt := r.off
		t.Type = GGMLType(r.u32(fmt.Sprintf("tensor %q type", t.Name)))
		offAt := r.off
		rel := r.u64(fmt.Sprintf("tensor %q offset", t.Name))
		if r.err != nil {
			return nil, r.err
		}
		ti, ok := ggmlTypeInfos[t.Type]
		if !ok {
			return nil, &GGUFError{Offset: typeAt, Field: fmt.Sprintf("tensor %q type", t.Name), Expected: "a ggml type code (0-3, 6-30, 34, 35)", Found: fmt.Sprintf("%d", uint32(t.Type))}
		}
		if t.Dims[0]%int64(ti.blockSize) != 0 {
			return nil, &GGUFError{Offset: at, Field: fmt.Sprintf("tensor %q shape", t.Name), Expected: fmt.Sprintf("a row length (dimension 0) that is a multiple of %s's block of %d", ti.name, ti.blockSize), Found: fmt.Sprintf("%d", t.Dims[0])}
		}
		t.Bytes = ti.size(int64(n))
		if rel%uint64(f.Alignment) != 0 {
			return nil, &GGUFError{Offset: offAt, Field: fmt.Sprintf("tensor %q offset", t.Name), Expected: fmt.Sprintf("a multiple of the alignment %d", f.Alignment), Found: fmt.Sprintf("%d", rel)}
		}
		if rel > math.MaxInt64/2 {
			return nil, &GGUFError{Offset: offAt, Field: fmt.Sprintf("tensor %q offset", t.Name), Expected: "an offset inside the file", Found: fmt.Sprintf("%d", rel)}
		}
		t.Offset = int64(rel) // made absolute below
		f.tensors[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	// The data section starts at the next multiple of the alignment.
	f.DataOffset = (r.off + f.Alignment - 1) / f.Alignment * f.Alignment
	if f.DataOffset > int64(len(data)) && len(f.Tensors) > 0 {
		return nil, &GGUFError{Offset: r.off, Field: "data section", Expected: fmt.Sprintf("tensor data from offset %d", f.DataOffset), Found: fmt.Sprintf("the end of the file at %d", len(data))}
	}
	dataBytes := int64(len(data)) - f.DataOffset
	for i := range f.Tensors {
		t := &f.Tensors[i]
		rel := t.Offset
		if rel > dataBytes || t.Bytes > dataBytes-rel {
			return nil, &GGUFError{Offset: t.InfoOffset, Field: fmt.Sprintf("tensor %q data", t.Name),
				Expected: fmt.Sprintf("%d bytes (%s %s) inside the data section of %d bytes", t.Bytes, t.Type, dimsString(t.Dims), dataBytes),
				Found:    fmt.Sprintf("offset %d, ending at %d", rel, rel+t.Bytes)}
		}
		t.Offset = f.DataOffset + rel
	}
	// No two tensors may share bytes.
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	for k := 1; k < len(order); k++ {
		p, q := &f.Tensors[order[k-1]], &f.Tensors[order[k]]
		if p.Offset+p.Bytes > q.Offset {
			return nil, &GGUFError{Offset: q.InfoOffset, Field: fmt.Sprintf("tensor %q data", q.Name),
				Expected: fmt.Sprintf("data after tensor %q, which ends at offset %d", p.Name, p.Offset+p.Bytes-f.DataOffset),
				Found:    fmt.Sprintf("offset %d (overlapping)", q.Offset-f.DataOffset)}
		}
	}
	return f, nil
}

func dimsString(d []int64) string {
	s := make([]string, len(d))
	for i, x := range d {
		s[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// Lookup returns the metadata entry with the key, or nil.
func (f *GGUFFile) Lookup(key string) *GGUFKV {
	if i, ok := f.kv[key]; ok {
		return &f.KV[i]
	}
	return nil
}

// Tensor returns the tensor with the name, or nil.
func (f *GGUFFile) Tensor(name string) *GGUFTensor {
	if i, ok := f.tensors[name]; ok {
		return &f.Tensors[i]
	}
	return nil
}

// describeValue renders an entry's type and value for error messages.
func describeValue(kv *GGUFKV) string {
	return fmt.Sprintf("%s %s", kv.Type, FormatGGUFValue(kv.Value, 8))
}

// FormatGGUFValue renders a metadata value for people: scalars as they are,
// strings quoted, arrays with their element type, length and first
// elements (at most max).
func FormatGGUFValue(v any, max int) string {
	switch x := v.(type) {
	case string:
		if len(x) > 200 {
			return fmt.Sprintf("%q... (%d bytes)", x[:200], len(x))
		}
		return fmt.Sprintf("%q", x)
	case GGUFArrayValue:
		var items []string
		add := func(s string) { items = append(items, s) }
		n := min(x.Len, max)
		switch vs := x.Values.(type) {
		case []string:
			for _, s := range vs[:n] {
				add(fmt.Sprintf("%q", s))
			}
		case []GGUFArrayValue:
			for _, a := range vs[:n] {
				add(FormatGGUFValue(a, max))
			}
		default:
			// Only the first n elements are formatted (a vocabulary's
			// scores can be a few hundred thousand).
			v := reflect.ValueOf(x.Values)
			if v.Kind() == reflect.Slice {
				for i := 0; i < min(n, v.Len()); i++ {
					add(fmt.Sprint(v.Index(i).Interface()))
				}
			}
		}
		more := ""
		if x.Len > n {
			more = ", ..."
		}
		return fmt.Sprintf("[%s × %d: %s%s]", x.Elem, x.Len, strings.Join(items, ", "), more)
	}
	return fmt.Sprint(v)
}
