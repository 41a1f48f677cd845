package engine

import (
	"fmt"
	"unsafe"

	"github.com/memwall/memwall/asm"
)

// ggufWeightType is the Matrix type a GGUF tensor type computes as.
var ggufWeightType = map[GGMLType]WeightType{
	GGMLF32: WeightF32, GGMLF16: WeightF16, GGMLBF16: WeightBF16, GGMLQ8_0: WeightQ8Blocks, GGMLQ4_0: WeightQ4_0,
}

// u16View views b as uint16 values when it is 2-byte aligned and copies it
// otherwise.
func u16View(b []byte) (v []uint16, copied bool) {
	if len(b) == 0 {
		return nil, false
	}
	if uintptr(unsafe.Pointer(&b[0]))%2 == 0 {
		return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2), false
	}
	out := make([]uint16, len(b)/2)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(b)), b)
	return out, true
}

// ggufMatrix views a 2-D GGUF tensor's data as a Matrix where it lies in
// the file (copied counts bytes that had to be copied for alignment: only
// when the file's alignment is below the type's).
func ggufMatrix(t *GGUFTensor, raw []byte) (mx Matrix, copied int64, err error) {
	wt, ok := ggufWeightType[t.Type]
	if !ok {
		return mx, 0, unsupportedType(t)
	}
	mx = Matrix{Rows: int(t.Dims[1]), Cols: int(t.Dims[0]), Type: wt}
	var cp bool
	switch wt {
	case WeightF32:
		mx.F, cp = f32View(raw)
	case WeightF16, WeightBF16:
		mx.H, cp = u16View(raw)
	default:
		mx.B = raw // blocks are read bytewise: any alignment will do
	}
	if cp {
		copied = t.Bytes
	}
	return mx, copied, nil
}

// ggufDequantVector converts a 1-D tensor (a norm's weights) stored in
// another type than F32 to fp32 (a copy).
func ggufDequantVector(t *GGUFTensor, raw []byte) ([]float32, error) {
	mx, _, err := ggufMatrix(&GGUFTensor{Name: t.Name, Dims: []int64{t.Dims[0], 1}, Type: t.Type, InfoOffset: t.InfoOffset, Bytes: t.Bytes}, raw)
	if err != nil {
		return nil, err
	}
	out := make([]float32, mx.Cols)
	copy(out, mx.Row(0, out))
	return out, nil
}

// encodeTensor stores fp32 values (rows of cols) as type typ, with ggml's
// rounding and block layout.
func encodeTensor(typ GGMLType, vals []float32, cols int) ([]byte, error) {
	n := len(vals)
	switch typ {
	case GGMLF32:
		return appendF32(make([]byte, 0, 4*n), vals), nil
	case GGMLF16, GGMLBF16:
		h := make([]uint16, n)
		if typ == GGMLF16 {
			asm.F32ToF16s(h, vals)
		} else {
			asm.F32ToBF16s(h, vals)
		}
		b := make([]byte, 2*n)
		for i, x := range h {
			b[2*i], b[2*i+1] = byte(x), byte(x>>8)
		}
		return b, nil
	case GGMLQ8_0, GGMLQ4_0:
		if cols%asm.BlockSize != 0 {
			return nil, fmt.Errorf("rows of %d values are not a whole number of %s blocks of %d", cols, typ, asm.BlockSize)
		}
		if typ == GGMLQ8_0 {
			b := make([]byte, n/asm.BlockSize*asm.Q8BlockBytes)
			asm.QuantizeQ8Blocks(b, vals)
			return b, nil
		}
		b := make([]byte, n/asm.BlockSize*asm.Q4_0BlockBytes)
		asm.QuantizeQ4_0Blocks(b, vals)
		return b, nil
	}
	return nil, fmt.Errorf("cannot store tensors as %s", typ)
}
