package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/memwall/memwall/asm"
)

// KVType is how a State stores its key/value cache: fp32 (the default,
// what llama2.c keeps), or 16 bits a value, f16 (what llama.cpp keeps by
// default) or bf16. A 16-bit cache halves the bytes attention reads at
// long contexts; every key and value is rounded once, when it is stored,
// and the current position's key and value are read back from the cache
// like every other, so a position's result does not depend on whether it
// was computed by Forward or in a batch.
type KVType int

const (
	KVF32 KVType = iota
	KVF16
	KVBF16
)

func (t KVType) String() string {
	switch t {
	case KVF32:
		return "fp32"
	case KVF16:
		return "f16"
	case KVBF16:
		return "bf16"
	}
	return fmt.Sprintf("KVType(%d)", int(t))
}

// Bytes is the size of one cached value.
func (t KVType) Bytes() int {
	if t == KVF32 {
		return 4
	}
	return 2
}

// ParseKVType reads a cache type by name: fp32 (or f32), f16 (or fp16),
// bf16.
func ParseKVType(s string) (KVType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "fp32", "f32", "":
		return KVF32, nil
	case "f16", "fp16":
		return KVF16, nil
	case "bf16":
		return KVBF16, nil
	}
	return 0, fmt.Errorf("unknown key/value cache type %q (want fp32, f16 or bf16)", s)
}

// KVKernel names the attention routine this State runs for its cache, so
// that a fallback to portable code is visible where speed is reported.
func (s *State) KVKernel() string {
	switch s.kv {
	case KVF16:
		return s.ops.KVKernel(asm.KVF16)
	case KVBF16:
		return s.ops.KVKernel(asm.KVBF16)
	}
	return "fp32 AttnScores and AttnMix of " + s.ops.Name
}

// KV reports the cache type in use.
func (s *State) KV() KVType { return s.kv }

// SetKV switches the cache's storage. The cached positions are dropped
// (a sequence continues only in the type it was started in): the next
// Forward or Prefill must start again from position 0.
func (s *State) SetKV(t KVType) error {
	switch t {
	case KVF32, KVF16, KVBF16:
	default:
		return fmt.Errorf("unknown key/value cache type %v", t)
	}
	s.kv = t
	s.keyCache, s.valueCache = make([][]float32, s.M.Layers), make([][]float32, s.M.Layers)
	s.key16, s.value16 = nil, nil
	if t != KVF32 {
		s.key16, s.value16 = make([][]uint16, s.M.Layers), make([][]uint16, s.M.Layers)
	}
	s.kvCap = 0
	return nil
}

// KVBytes is the cache's size in bytes for n positions of every layer.
func (s *State) KVBytes(n int) int64 {
	c := s.M.Config
	return 2 * int64(n) * int64(c.KVDim()) * int64(c.Layers) * int64(s.kv.Bytes())
}

// growKV resizes the caches to hold newCap positions, keeping what they
// hold.
func (s *State) growKV(newCap int) {
	kv := s.M.KVDim()
	if s.kv == KVF32 {
		for l := range s.keyCache {
			s.keyCache[l] = append(make([]float32, 0, newCap*kv), s.keyCache[l]...)[:newCap*kv]
			s.valueCache[l] = append(make([]float32, 0, newCap*kv), s.valueCache[l]...)[:newCap*kv]
		}
		return
	}
	for l := range s.key16 {
		s.key16[l] = append(make([]uint16, 0, newCap*kv), s.key16[l]...)[:newCap*kv]
		s.value16[l] = append(make([]uint16, 0, newCap*kv), s.value16[l]...)[:newCap*kv]
	}
	if s.kvScratch == nil {
		s.kvScratch = make([]float32, 2*kv)
	}
}

// kvRows returns where the key and value of n positions from pos go as
// the products compute them: the cache rows themselves for an fp32 cache,
// scratch rows (stored by kvStore) for a 16-bit one.
func (s *State) kvRows(l, pos, n int, scratch []float32) (k, v []float32) {
	kv := s.M.KVDim()
	if s.kv == KVF32 {
		return s.keyCache[l][pos*kv : (pos+n)*kv], s.valueCache[l][pos*kv : (pos+n)*kv]
	}
	return scratch[:n*kv], scratch[n*kv : 2*n*kv]
}

// kvStore puts the keys and values of n positions from pos into the
// cache: rounded into a 16-bit one; copied into an fp32 one unless they
// are its rows already (as kvRows gives them).
func (s *State) kvStore(l, pos, n int, k, v []float32) {
	kv := s.M.KVDim()
	switch s.kv {
	case KVF32:
		if dst := s.keyCache[l][pos*kv : (pos+n)*kv]; &dst[0] != &k[0] {
			copy(dst, k[:n*kv])
			copy(s.valueCache[l][pos*kv:(pos+n)*kv], v[:n*kv])
		}
	case KVF16:
		asm.F32ToF16s(s.key16[l][pos*kv:(pos+n)*kv], k[:n*kv])
		asm.F32ToF16s(s.value16[l][pos*kv:(pos+n)*kv], v[:n*kv])
	case KVBF16:
		asm.F32ToBF16s(s.key16[l][pos*kv:(pos+n)*kv], k[:n*kv])
		asm.F32ToBF16s(s.value16[l][pos*kv:(pos+n)*kv], v[:n*kv])
	}
}

// kvCopy copies positions [from, to) of every layer's cache from src
// (of the same type).
func (s *State) kvCopy(src *State, from, to int) {
	kv := s.M.KVDim()
	for l := 0; l < s.M.Layers; l++ {
		if s.kv == KVF32 {
			copy(s.keyCache[l][from*kv:to*kv], src.keyCache[l][from*kv:to*kv])
			copy(s.valueCache[l][from*kv:to*kv], src.valueCache[l][from*kv:to*kv])
		} else {
			copy(s.key16[l][from*kv:to*kv], src.key16[l][from*kv:to*kv])
			copy(s.value16[l][from*kv:to*kv], src.value16[l][from*kv:to*kv])
		}
	}
}

// scores writes one head's scores over positions [t0, t0+len(out)) of
// layer l's keys, the head's values starting at column col of each row.
func (s *State) scores(out, q []float32, l, t0, col int) {
	kv := s.M.KVDim()
	off := t0*kv + col
	switch s.kv {
	case KVF16:
		s.ops.AttnScoresF16(out, q, s.key16[l][off:], kv)
	case KVBF16:
		s.ops.AttnScoresBF16(out, q, s.key16[l][off:], kv)
	default:
		s.ops.AttnScores(out, q, s.keyCache[l][off:], kv)
	}
}

// mix adds one head's weighted sum of layer l's values over positions
// [t0, t0+len(att)) to out.
func (s *State) mix(out, att []float32, l, t0, col int) {
	kv := s.M.KVDim()
	off := t0*kv + col
	switch s.kv {
	case KVF16:
		s.ops.AttnMixF16(out, att, s.value16[l][off:], kv)
	case KVBF16:
		s.ops.AttnMixBF16(out, att, s.value16[l][off:], kv)
	default:
		s.ops.AttnMix(out, att, s.valueCache[l][off:], kv)
	}
}

// warmKV brings positions [t0, t1) of layer l's keys (or values) into
// cache with one sequential pass (see attnBlock).
func (s *State) warmKV(l int, keys bool, t0, t1 int) {
	kv := s.M.KVDim()
	if s.kv == KVF32 {
		c := s.valueCache[l]
		if keys {
			c = s.keyCache[l]
		}
		asm.Warm(c[t0*kv : t1*kv])
		return
	}
	c := s.value16[l]
	if keys {
		c = s.key16[l]
	}
	asm.Warm16(c[t0*kv : t1*kv])
}

// cacheRows returns layer l's cached keys (or values) at positions
// [0, n) as float32: the cache itself for fp32, a converted copy else.
func (s *State) cacheRows(l, n int, keys bool) []float32 {
	kv := s.M.KVDim()
	s.ensure(n)
	if s.kv == KVF32 {
		if keys {
			return s.keyCache[l][:n*kv]
		}
		return s.valueCache[l][:n*kv]
	}
	src := s.value16[l][:n*kv]
	if keys {
		src = s.key16[l][:n*kv]
	}
	out := make([]float32, n*kv)
	if s.kv == KVF16 {
		asm.F16ToF32s(out, src)
	} else {
		asm.BF16ToF32s(out, src)
	}
	return out
}

// kvBatchScratch is room for the new keys and values of n positions of a
// 16-bit cache (nil for fp32, whose rows take them directly).
func (s *State) kvBatchScratch(n int) []float32 {
	if s.kv == KVF32 {
		return nil
	}
	if need := 2 * n * s.M.KVDim(); len(s.kvBatch) < need {
		s.kvBatch = make([]float32, need)
	}
	return s.kvBatch
}

// kvSnap is a copy of positions [0, n) of every layer's cache, in the
// cache's own type.
type kvSnap struct {
	n        int
	k, v     [][]float32
	k16, v16 [][]uint16
}

// kvSnapshot copies positions [0, n) of every layer's cache.
func (s *State) kvSnapshot(n int) kvSnap {
	kv := s.M.KVDim()
	sn := kvSnap{n: n}
	for l := 0; l < s.M.Layers; l++ {
		if s.kv == KVF32 {
			sn.k = append(sn.k, slices.Clone(s.keyCache[l][:n*kv]))
			sn.v = append(sn.v, slices.Clone(s.valueCache[l][:n*kv]))
		} else {
			sn.k16 = append(sn.k16, slices.Clone(s.key16[l][:n*kv]))
			sn.v16 = append(sn.v16, slices.Clone(s.value16[l][:n*kv]))
		}
	}
	return sn
}

// kvRestore puts a snapshot back (the cache must hold its positions).
func (s *State) kvRestore(sn kvSnap) {
	for l := 0; l < s.M.Layers; l++ {
		if s.kv == KVF32 {
			copy(s.keyCache[l], sn.k[l])
			copy(s.valueCache[l], sn.v[l])
		} else {
			copy(s.key16[l], sn.k16[l])
			copy(s.value16[l], sn.v16[l])
		}
	}
}
