package asm

import "unsafe"

// Alignment is the byte alignment AlignedFloat32 and AlignedInt8 give: one
// cache line, and the width of an AVX-512 register.
const Alignment = 64

// AlignedFloat32 returns a zeroed slice of n float32 whose first element
// sits on a 64-byte boundary.
func AlignedFloat32(n int) []float32 {
	if n <= 0 {
		return []float32{}
	}
	const per = Alignment / 4
	buf := make([]float32, n+per)
	off := int(uintptr(unsafe.Pointer(&buf[0]))%Alignment) / 4
	if off != 0 {
		off = per - off
	}
	return buf[off : off+n : off+n]
}

// AlignedInt8 returns a zeroed slice of n int8 whose first element sits on a
// 64-byte boundary.
func AlignedInt8(n int) []int8 {
	if n <= 0 {
		return []int8{}
	}
	buf := make([]int8, n+Alignment)
	off := int(uintptr(unsafe.Pointer(&buf[0])) % Alignment)
	if off != 0 {
		off = Alignment - off
	}
	return buf[off : off+n : off+n]
}
