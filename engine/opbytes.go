package engine

// OpWeightBytes is the weight bytes one decoded token streams per matrix
// op of the cost model ("wq", "wk", "wv", "wo", "w1", "w2", "w3" summed
// over the layers, "classifier", and "embed" for the one embedding row),
// each from the stored matrices' own Matrix.Bytes: right for files that mix
// types per tensor (a GGUF Q8_0 file with f16 ffn_down), where a single
// encoding for the whole model is not.
func (m *Model) OpWeightBytes() map[string]int64 {
	out := map[string]int64{}
	for i := range m.W.Layers {
		for _, bm := range blockMatrices {
			out[bm.op] += bm.of(&m.W.Layers[i]).Bytes()
		}
	}
	out["classifier"] = m.W.Cls.Bytes()
	out["embed"] = m.W.Embed.Bytes() / int64(max(m.W.Embed.Rows, 1))
	return out
}
