package engine

import "fmt"

// ggufMatrix views a 2-D GGUF tensor's data as a Matrix without copying
// (copied counts bytes that had to be copied for alignment).
func ggufMatrix(t *GGUFTensor, raw []byte) (mx Matrix, copied int64, err error) {
	mx = Matrix{Rows: int(t.Dims[1]), Cols: int(t.Dims[0])}
	switch t.Type {
	case GGMLF32:
		v, cp := f32View(raw)
		if cp {
			copied = t.Bytes
		}
		mx.F = v
		return mx, copied, nil
	}
	return mx, 0, unsupportedType(t)
}

// ggufDequantVector converts a 1-D tensor (a norm's weights) to fp32.
func ggufDequantVector(t *GGUFTensor, raw []byte) ([]float32, error) {
	return nil, unsupportedType(t)
}

// encodeTensor stores fp32 values (rows of cols) as type typ.
func encodeTensor(typ GGMLType, vals []float32, cols int) ([]byte, error) {
	switch typ {
	case GGMLF32:
		return appendF32(make([]byte, 0, 4*len(vals)), vals), nil
	}
	return nil, fmt.Errorf("cannot store tensors as %s", typ)
}
