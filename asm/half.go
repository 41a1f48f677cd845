package asm

import (
	"encoding/binary"
	"math"
)

// Conversions between float32 and the 16-bit formats GGUF files store
// (IEEE binary16 "f16" and bfloat16 "bf16"), and the two block formats of
// ggml (Q8_0 and Q4_0), with ggml's rounding rules so that what memwall
// writes is what llama.cpp would write for the same values.

// Block layouts (ggml's, little-endian): a block covers BlockSize weights
// of a row; Q8_0 is an f16 scale d and 32 int8 q (weight = d·q), Q4_0 an
// f16 scale d and 16 bytes whose low nibbles are weights 0..15 and high
// nibbles weights 16..31 (weight = d·(nibble−8)).
const (
	BlockSize      = 32
	Q8BlockBytes   = 2 + BlockSize
	Q4_0BlockBytes = 2 + BlockSize/2
)

// F16ToF32 converts an IEEE binary16 bit pattern to float32. Every f16
// value is exact in float32: normals and subnormals alike, ±0 and ±inf;
// a NaN keeps its sign and payload (shifted into the top of the float32
// mantissa), as VCVTPH2PS and FCVT do for quiet NaNs.
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal: rebias 15 → 127
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	}
	// Subnormal or zero: mant·2^-24, exact in float32.
	v := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// F32ToF16 converts f to IEEE binary16, rounding to nearest with ties to
// even (as F16C's VCVTPS2PH and ggml's GGML_FP32_TO_FP16 do): values too
// large become ±inf, tiny ones round into the subnormals or to ±0. A NaN
// stays NaN with its sign and the top of its payload, made quiet.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // the f16 biased exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal (or zero) in f16: q·2^-24, q the 24-bit significand
		// m (implicit one included) shifted right by 14-e, rounded once.
		if e < -10 {
			return sign // below half the smallest subnormal: ±0
		}
		m := mant | 0x800000 // implicit one
		shift := uint32(14 - e)
		q := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && q&1 == 1) {
			q++ // may carry into the smallest normal, which is right
		}
		return sign | uint16(q)
	}
	q := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && q&1 == 1) {
		q++ // a carry out of the mantissa bumps the exponent, up to inf
	}
	return sign | uint16(q)
}

// BF16ToF32 converts a bfloat16 bit pattern (the top half of a float32)
// to float32, exactly.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 converts f to bfloat16, rounding to nearest with ties to even
// (ggml's GGML_FP32_TO_BF16: subnormals kept, overflow to ±inf). A NaN
// stays NaN, made quiet.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// F32ToF16s and the other slice conversions convert element by element
// (len(dst) = len(src)).
func F32ToF16s(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = F32ToF16(v)
	}
}

func F32ToBF16s(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = F32ToBF16(v)
	}
}

func F16ToF32s(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = F16ToF32(v)
	}
}

func BF16ToF32s(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = BF16ToF32(v)
	}
}

// blockScale reads a block's f16 scale.
func blockScale(b []byte) float32 { return F16ToF32(binary.LittleEndian.Uint16(b)) }

// QuantizeQ8Blocks writes x (len a multiple of 32) as GGUF Q8_0 blocks into
// dst (len(x)/32·34 bytes), as ggml's quantize_row_q8_0_ref does: per
// block d = max|x|/127, stored as f16; q = round(x·(1/d)) with halves away
// from zero, computed from the float32 d (not the rounded f16); a block of
// zeros has d = 0 and q = 0.
func QuantizeQ8Blocks(dst []byte, x []float32) {
	nb := len(x) / BlockSize
	_ = dst[nb*Q8BlockBytes-1]
	for b := 0; b < nb; b++ {
		xb := x[b*BlockSize : (b+1)*BlockSize]
		blk := dst[b*Q8BlockBytes : (b+1)*Q8BlockBytes]
		var amax float32
		for _, v := range xb {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(blk, F32ToF16(d))
		for j, v := range xb {
			blk[2+j] = byte(int8(roundAway(float32(v * id))))
		}
	}
}

// QuantizeQ4_0Blocks writes x (len a multiple of 32) as GGUF Q4_0 blocks
// into dst (len(x)/32·18 bytes), as ggml's quantize_row_q4_0_ref does: per
// block the value m of largest magnitude (the first, on ties) gives
// d = m/−8, stored as f16, and each weight becomes
// min(15, trunc(x·(1/d) + 8.5)), so m itself maps to 0 (−8) and the other
// end of the range is clipped at 7.
func QuantizeQ4_0Blocks(dst []byte, x []float32) {
	nb := len(x) / BlockSize
	_ = dst[nb*Q4_0BlockBytes-1]
	for b := 0; b < nb; b++ {
		xb := x[b*BlockSize : (b+1)*BlockSize]
		blk := dst[b*Q4_0BlockBytes : (b+1)*Q4_0BlockBytes]
		var amax, m float32
		for _, v := range xb {
			if a := abs32(v); amax < a {
				amax, m = a, v
			}
		}
		d := m / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(blk, F32ToF16(d))
		for j := 0; j < BlockSize/2; j++ {
			lo := min(15, int8(float32(xb[j]*id)+8.5))
			hi := min(15, int8(float32(xb[j+BlockSize/2]*id)+8.5))
			blk[2+j] = byte(lo) | byte(hi)<<4
		}
	}
}

// DequantizeQ8Blocks writes the values of Q8_0 blocks (len(src)/34 of
// them) to dst: d·q with d the f16 scale, as ggml's dequantize_row_q8_0.
func DequantizeQ8Blocks(dst []float32, src []byte) {
	nb := len(src) / Q8BlockBytes
	_ = dst[nb*BlockSize-1]
	for b := 0; b < nb; b++ {
		blk := src[b*Q8BlockBytes : (b+1)*Q8BlockBytes]
		d := blockScale(blk)
		for j := 0; j < BlockSize; j++ {
			dst[b*BlockSize+j] = float32(int8(blk[2+j])) * d
		}
	}
}

// DequantizeQ4_0Blocks writes the values of Q4_0 blocks (len(src)/18 of
// them) to dst: d·(nibble−8), as ggml's dequantize_row_q4_0.
func DequantizeQ4_0Blocks(dst []float32, src []byte) {
	nb := len(src) / Q4_0BlockBytes
	_ = dst[nb*BlockSize-1]
	for b := 0; b < nb; b++ {
		blk := src[b*Q4_0BlockBytes : (b+1)*Q4_0BlockBytes]
		d := blockScale(blk)
		o := dst[b*BlockSize : (b+1)*BlockSize]
		for j := 0; j < BlockSize/2; j++ {
			o[j] = float32(int32(blk[2+j]&15)-8) * d
			o[j+BlockSize/2] = float32(int32(blk[2+j]>>4)-8) * d
		}
	}
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// roundAway rounds v half away from zero, as C's roundf (|v| ≤ 127 here,
// where adding 0.5 in float64 is exact).
func roundAway(v float32) float32 {
	if v < 0 {
		return -float32(math.Floor(float64(-v) + 0.5))
	}
	return float32(math.Floor(float64(v) + 0.5))
}
