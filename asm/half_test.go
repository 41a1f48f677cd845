package asm

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// refF16 is IEEE binary16 h's value computed independently of F16ToF32,
// in float64 (NaN for NaN).
func refF16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0x1f:
		if m != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	case 0:
		return sign * math.Ldexp(m, -24)
	}
	return sign * math.Ldexp(1024+m, e-25)
}

// TestF16ToF32Exhaustive checks every one of the 65536 bit patterns: the
// value, the sign of zeros, NaN payloads, and the round trip through
// F32ToF16.
func TestF16ToF32Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := F16ToF32(h)
		want := refF16(h)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(f)) {
				t.Fatalf("F16ToF32(%#04x) = %v, want NaN", h, f)
			}
			b := math.Float32bits(f)
			if b>>31 != uint32(h>>15) || (b>>13)&0x3ff != uint32(h&0x3ff) {
				t.Fatalf("F16ToF32(%#04x) = %#08x: sign or payload lost", h, b)
			}
			// The way back makes a NaN quiet and keeps the rest.
			if got := F32ToF16(f); got != h|0x200 {
				t.Fatalf("F32ToF16(F16ToF32(%#04x)) = %#04x, want %#04x", h, got, h|0x200)
			}
			continue
		}
		if float64(f) != want || math.Signbit(float64(f)) != (h&0x8000 != 0) {
			t.Fatalf("F16ToF32(%#04x) = %v, want %v", h, f, want)
		}
		if got := F32ToF16(f); got != h {
			t.Fatalf("F32ToF16(F16ToF32(%#04x)) = %#04x", h, got)
		}
	}
}

// refF32ToF16 rounds f to binary16 in float64 arithmetic with
// math.RoundToEven, independently of F32ToF16 (not for NaN).
func refF32ToF16(f float32) uint16 {
	var sign uint16
	if math.Signbit(float64(f)) {
		sign = 0x8000
	}
	a := math.Abs(float64(f))
	if math.IsInf(a, 0) {
		return sign | 0x7c00
	}
	if a < math.Ldexp(1, -14) {
		// Subnormal range: multiples of 2^-24; 1024 is the smallest
		// normal's pattern, which the rounding may reach.
		return sign | uint16(math.RoundToEven(math.Ldexp(a, 24)))
	}
	_, e := math.Frexp(a) // a = fr·2^e, fr in [0.5, 1)
	e--                   // a = 1.x·2^e
	m := math.RoundToEven(math.Ldexp(a, 10-e))
	if m == 2048 {
		m, e = 1024, e+1
	}
	if e > 15 {
		return sign | 0x7c00
	}
	return sign | uint16(e+15)<<10 | uint16(m-1024)
}

func TestF32ToF16(t *testing.T) {
	check := func(b uint32) {
		f := math.Float32frombits(b)
		got := F32ToF16(f)
		if f != f {
			if got&0x7c00 != 0x7c00 || got&0x3ff == 0 || got&0x200 == 0 || got>>15 != uint16(b>>31) {
				t.Fatalf("F32ToF16(NaN %#08x) = %#04x, want a quiet NaN of the same sign", b, got)
			}
			return
		}
		if want := refF32ToF16(f); got != want {
			t.Fatalf("F32ToF16(%v = %#08x) = %#04x, want %#04x", f, b, got, want)
		}
	}
	// Every f16 value, the float32 values next to it, and the midpoints to
	// its neighbour with the float32 values either side of them: every
	// rounding decision, ties included.
	for i := 0; i < 0x7c00; i++ {
		for _, s := range []uint32{0, 1 << 31} {
			v := F16ToF32(uint16(i))
			next := F16ToF32(uint16(i + 1))
			mid := float32((float64(v) + float64(next)) / 2) // exact: one more bit
			for _, c := range []float32{v, mid, next} {
				b := math.Float32bits(c)
				for d := -2; d <= 2; d++ {
					check((b + uint32(d)) | s)
				}
			}
		}
	}
	// A stride through every float32 pattern, specials included.
	for b := uint64(0); b < 1<<32; b += 65521 {
		check(uint32(b))
	}
	for _, b := range []uint32{0, 1 << 31, 0x7f800000, 0xff800000, 0x7f7fffff, 0x477fe000, 0x477ff000, 0x477fefff, 0x00000001, 0x33000000, 0x33000001, 0x7fc00000, 0x7f800001, 0xffc12345} {
		check(b)
	}
	// Known values.
	for _, c := range []struct {
		f float32
		h uint16
	}{{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {65519.996, 0x7bff}, {float32(math.Ldexp(1, -24)), 0x0001},
		{float32(math.Ldexp(1, -25)), 0x0000}, {float32(math.Ldexp(1.5, -25)), 0x0001}, {float32(math.Ldexp(1, -14)), 0x0400}, {0.1, 0x2e66}} {
		if got := F32ToF16(c.f); got != c.h {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	if got := F32ToF16(float32(math.Copysign(0, -1))); got != 0x8000 {
		t.Errorf("F32ToF16(-0) = %#04x", got)
	}
}

func TestBF16(t *testing.T) {
	for _, c := range []struct {
		in  uint32
		out uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81}, // just above the tie
		{0x3f807fff, 0x3f80}, // just below
		{0x7f7fffff, 0x7f80}, // largest float rounds to inf
		{0x7f800000, 0x7f80}, // inf
		{0xff800000, 0xff80}, // -inf
		{0x80000000, 0x8000}, // -0
		{0x00000001, 0x0000}, // smallest subnormal
		{0x00008000, 0x0000}, // subnormal tie, even
		{0x00018000, 0x0002}, // subnormal tie, odd
		{0x7f800001, 0x7fc0}, // signalling NaN made quiet
		{0xffc00001, 0xffc0}, // negative quiet NaN
	} {
		if got := F32ToBF16(math.Float32frombits(c.in)); got != c.out {
			t.Errorf("F32ToBF16(%#08x) = %#04x, want %#04x", c.in, got, c.out)
		}
	}
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToF32(h)
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("BF16ToF32(%#04x) = %#08x", h, math.Float32bits(f))
		}
		if f != f {
			continue
		}
		if got := F32ToBF16(f); got != h {
			t.Fatalf("F32ToBF16(BF16ToF32(%#04x)) = %#04x", h, got)
		}
	}
	// Against float64 rounding on random finite values.
	r := rand.New(rand.NewPCG(21, 22))
	n := 1000000
	if testing.Short() {
		n = 100000
	}
	for i := 0; i < n; i++ {
		b := r.Uint32()
		f := math.Float32frombits(b)
		if f != f || math.IsInf(float64(f), 0) {
			continue
		}
		// The two bf16 neighbours, in float64 (the upper one may lie past
		// the float32 range: rounding to it means inf).
		lo := float64(math.Float32frombits(b &^ 0xffff))
		e := int(b>>23) & 0xff
		ulp := math.Ldexp(1, max(e, 1)-127-7)
		hi := lo + math.Copysign(ulp, lo)
		if lo == 0 {
			hi = math.Copysign(ulp, float64(f))
		}
		dl, dh := math.Abs(float64(f)-lo), math.Abs(hi-float64(f))
		want := uint16(b >> 16)
		if dh < dl || (dh == dl && want&1 == 1) {
			want++
		}
		if got := F32ToBF16(f); got != want {
			t.Fatalf("F32ToBF16(%#08x) = %#04x, want %#04x", b, got, want)
		}
	}
}

func block(scale uint16, rest ...byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, scale)
	return append(b, rest...)
}

func TestQuantizeBlocksKnown(t *testing.T) {
	// Q8_0: amax 127 gives d = 1 exactly, so the rounding of halves shows.
	x := make([]float32, 64)
	x[0], x[1], x[2], x[3], x[4], x[5] = 127, 0.5, -0.5, 1.5, -63.5, 2.49
	// second block all zeros
	got := make([]byte, 2*Q8BlockBytes)
	QuantizeQ8Blocks(got, x)
	q := make([]byte, 32)
	for i, v := range []int8{127, 1, -1, 2, -64, 2} {
		q[i] = byte(v)
	}
	want := append(block(0x3c00, q...), block(0, make([]byte, 32)...)...)
	if !bytes.Equal(got, want) {
		t.Errorf("QuantizeQ8Blocks:\n got % x\nwant % x", got, want)
	}

	// Q4_0: the value of largest magnitude m sets d = m/-8.
	x = make([]float32, 96)
	x[3], x[20] = -2, 1            // block 0: d = 0.25, id = 4
	x[32], x[33], x[34] = 8, -8, 4 // block 1: m = 8 (the first), d = -1
	got = make([]byte, 3*Q4_0BlockBytes)
	QuantizeQ4_0Blocks(got, x)
	b0 := bytes.Repeat([]byte{0x88}, 16)
	b0[3] = 0x80 // weight 3 → 0, weight 19 → 8
	b0[4] = 0xc8 // weight 4 → 8, weight 20 → trunc(4+8.5) = 12
	b1 := bytes.Repeat([]byte{0x88}, 16)
	b1[0] = 0x80 // 8·-1+8.5 → 0
	b1[1] = 0x8f // -8·-1+8.5 = 16.5 → 16, clipped to 15
	b1[2] = 0x84 // 4·-1+8.5 = 4.5 → 4
	// A block of zeros: m = +0, so d = 0/-8 = -0, stored as 0x8000, as
	// ggml stores it.
	want = append(append(block(0x3400, b0...), block(0xbc00, b1...)...), block(0x8000, bytes.Repeat([]byte{0x88}, 16)...)...)
	if !bytes.Equal(got, want) {
		t.Errorf("QuantizeQ4_0Blocks:\n got % x\nwant % x", got, want)
	}

	// And back.
	dq := make([]float32, 96)
	DequantizeQ4_0Blocks(dq, got)
	for i, w := range map[int]float32{3: -2, 20: 1, 32: 8, 33: -7, 34: 4, 0: 0, 40: 0} {
		if dq[i] != w {
			t.Errorf("DequantizeQ4_0Blocks[%d] = %v, want %v", i, dq[i], w)
		}
	}
}

// TestBlocksRoundTrip quantizes random rows and checks the dequantized
// values are within half a step (Q8_0) or a step (Q4_0, whose range is
// asymmetric) of the originals.
func TestBlocksRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	x := randF32(r, 32*50)
	for i := 0; i < 32; i++ {
		x[32+i] = 0 // a zero block
	}
	x[100] = float32(math.Ldexp(1, -30)) // tiny values, in a block of their own
	for i := 96; i < 128; i++ {
		x[i] = float32(math.Ldexp(float64(i-96), -30))
	}
	q8 := make([]byte, 50*Q8BlockBytes)
	QuantizeQ8Blocks(q8, x)
	dq8 := make([]float32, len(x))
	DequantizeQ8Blocks(dq8, q8)
	q4 := make([]byte, 50*Q4_0BlockBytes)
	QuantizeQ4_0Blocks(q4, x)
	dq4 := make([]float32, len(x))
	DequantizeQ4_0Blocks(dq4, q4)
	for b := 0; b < 50; b++ {
		var amax float64
		for _, v := range x[b*32 : (b+1)*32] {
			amax = max(amax, math.Abs(float64(v)))
		}
		// Half a step of the float32 scale, plus what rounding the scale
		// to f16 moves the largest weight by (all of it when the scale
		// underflows f16).
		d8 := float32(amax / 127)
		tol8 := float64(d8)*0.5 + 127*math.Abs(float64(F16ToF32(F32ToF16(d8))-d8)) + 1e-12
		d4 := float32(amax / 8)
		tol4 := float64(d4) + 8*math.Abs(float64(F16ToF32(F32ToF16(d4))-d4)) + 1e-12
		for i := b * 32; i < (b+1)*32; i++ {
			if e := math.Abs(float64(dq8[i] - x[i])); e > tol8*1.01 {
				t.Fatalf("Q8_0 block %d [%d]: %v back as %v", b, i, x[i], dq8[i])
			}
			if e := math.Abs(float64(dq4[i] - x[i])); e > tol4*1.01 {
				t.Fatalf("Q4_0 block %d [%d]: %v back as %v", b, i, x[i], dq4[i])
			}
		}
	}
}
