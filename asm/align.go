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

// AlignedUint16 returns a zeroed slice of n uint16 (f16 or bf16 weights)
// whose first element sits on a 64-byte boundary.
func AlignedUint16(n int) []uint16 {
	if n <= 0 {
		return []uint16{}
	}
	const per = Alignment / 2
	buf := make([]uint16, n+per)
	off := int(uintptr(unsafe.Pointer(&buf[0]))%Alignment) / 2
	if off != 0 {
		off = per - off
	}
	return buf[off : off+n : off+n]
}

// AlignedBytes returns a zeroed slice of n bytes (block weights) whose
// first element sits on a 64-byte boundary.
func AlignedBytes(n int) []byte {
	if n <= 0 {
		return []byte{}
	}
	buf := make([]byte, n+Alignment)
	off := int(uintptr(unsafe.Pointer(&buf[0])) % Alignment)
	if off != 0 {
		off = Alignment - off
	}
	return buf[off : off+n : off+n]
}
