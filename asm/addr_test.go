package asm

import "unsafe"

func addr[T any](p *T) uintptr { return uintptr(unsafe.Pointer(p)) }
