package asm

import "unsafe"

// Alignment is the byte alignment the Aligned functions give: one cache
// line, and the width of an AVX-512 register.
const Alignment = 64

// AlignedFloat32 returns a zeroed slice of n float32 whose first element
// sits on a 64-byte boundary.
func AlignedFloat32(n int) []float32 { return aligned[float32](n) }

// AlignedInt8 returns a zeroed slice of n int8 whose first element sits on a
// 64-byte boundary.
func AlignedInt8(n int) []int8 { return aligned[int8](n) }

// AlignedUint16 returns a zeroed slice of n uint16 (f16 or bf16 weights)
// whose first element sits on a 64-byte boundary.
func AlignedUint16(n int) []uint16 { return aligned[uint16](n) }

// AlignedBytes returns a zeroed slice of n bytes (block weights) whose
// first element sits on a 64-byte boundary.
func AlignedBytes(n int) []byte { return aligned[byte](n) }

// aligned allocates n elements of T (a size that divides Alignment) with
// room to start the slice on an Alignment boundary, and starts it there.
func aligned[T float32 | int8 | uint16 | byte](n int) []T {
	if n <= 0 {
		return []T{}
	}
	var z T
	size := int(unsafe.Sizeof(z))
	per := Alignment / size
	buf := make([]T, n+per)
	off := int(uintptr(unsafe.Pointer(&buf[0]))%Alignment) / size
	if off != 0 {
		off = per - off
	}
	return buf[off : off+n : off+n]
}
