package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The 16-bit cache's attention routines of every variant that runs here,
// against a float64 reference of the same converted values, at head sizes
// and strides that are not multiples of the vector width, with guard bands
// around the outputs to catch stray writes; and the mix continued over a
// split of the positions gives the same bits as one call.
func TestAttnH16Variants(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 16))
	type kvType struct {
		name   string
		conv   func(uint16) float32
		enc    func(float32) uint16
		scores func(k *Kernels) func(out, q []float32, k []uint16, stride int)
		mix    func(k *Kernels) func(out, att []float32, v []uint16, stride int)
	}
	types := []kvType{
		{KVF16, F16ToF32, F32ToF16,
			func(k *Kernels) func([]float32, []float32, []uint16, int) { return k.AttnScoresF16 },
			func(k *Kernels) func([]float32, []float32, []uint16, int) { return k.AttnMixF16 }},
		{KVBF16, BF16ToF32, F32ToBF16,
			func(k *Kernels) func([]float32, []float32, []uint16, int) { return k.AttnScoresBF16 },
			func(k *Kernels) func([]float32, []float32, []uint16, int) { return k.AttnMixBF16 }},
	}
	const guard = 5
	const sentinel = float32(-1234.5)
	ran := 0
	for _, vi := range Variants() {
		if !vi.Available {
			continue
		}
		k, err := Lookup(vi.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, ty := range types {
			if k.KVKernel(ty.name) == "" {
				t.Errorf("%s: KVKernel(%s) is empty", vi.Name, ty.name)
			}
			scores, mix := ty.scores(k), ty.mix(k)
			for _, hs := range []int{1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 47, 63, 64, 65, 100, 128} {
				for _, nt := range []int{1, 2, 5, 33} {
					stride := hs + rng.IntN(3)*(1+rng.IntN(9))
					off := rng.IntN(4) // an odd start as a head's slice of a row has
					cache := make([]uint16, off+nt*stride+hs)
					for i := range cache {
						cache[i] = ty.enc(float32(rng.NormFloat64()))
					}
					kv := cache[off:]
					q := make([]float32, hs)
					for i := range q {
						q[i] = float32(rng.NormFloat64())
					}
					// Scores.
					buf := make([]float32, nt+2*guard)
					for i := range buf {
						buf[i] = sentinel
					}
					scores(buf[guard:guard+nt], q, kv, stride)
					for i := range buf {
						if (i < guard || i >= guard+nt) && buf[i] != sentinel {
							t.Fatalf("%s %s scores hs=%d nt=%d: wrote outside the output at %d", vi.Name, ty.name, hs, nt, i-guard)
						}
					}
					for tt := 0; tt < nt; tt++ {
						var want, mag float64
						for i := 0; i < hs; i++ {
							p := float64(q[i]) * float64(ty.conv(kv[tt*stride+i]))
							want += p
							mag += math.Abs(p)
						}
						want /= math.Sqrt(float64(hs))
						mag /= math.Sqrt(float64(hs))
						if got := float64(buf[guard+tt]); math.Abs(got-want) > 1e-5*mag+1e-30 {
							t.Fatalf("%s %s scores hs=%d nt=%d stride=%d t=%d: %v, want %v", vi.Name, ty.name, hs, nt, stride, tt, got, want)
						}
					}
					// Mix, from a non-zero start.
					att := make([]float32, nt)
					for i := range att {
						att[i] = rng.Float32()
					}
					out := make([]float32, hs+2*guard)
					for i := range out {
						out[i] = sentinel
					}
					o := out[guard : guard+hs]
					for i := range o {
						o[i] = float32(rng.NormFloat64())
					}
					start := append([]float32(nil), o...)
					mix(o, att, kv, stride)
					for i := range out {
						if (i < guard || i >= guard+hs) && out[i] != sentinel {
							t.Fatalf("%s %s mix hs=%d nt=%d: wrote outside the output at %d", vi.Name, ty.name, hs, nt, i-guard)
						}
					}
					for i := 0; i < hs; i++ {
						want, mag := float64(start[i]), math.Abs(float64(start[i]))
						for tt := 0; tt < nt; tt++ {
							p := float64(att[tt]) * float64(ty.conv(kv[tt*stride+i]))
							want += p
							mag += math.Abs(p)
						}
						if got := float64(o[i]); math.Abs(got-want) > 1e-5*mag+1e-30 {
							t.Fatalf("%s %s mix hs=%d nt=%d stride=%d i=%d: %v, want %v", vi.Name, ty.name, hs, nt, stride, i, got, want)
						}
					}
					// Split: positions [0, a) then [a, nt).
					a := nt / 2
					o2 := append([]float32(nil), start...)
					mix(o2, att[:a], kv, stride)
					mix(o2, att[a:], kv[a*stride:], stride)
					for i := range o2 {
						if math.Float32bits(o2[i]) != math.Float32bits(o[i]) {
							t.Fatalf("%s %s mix hs=%d nt=%d split at %d: column %d %v, one call %v", vi.Name, ty.name, hs, nt, a, i, o2[i], o[i])
						}
					}
					ran++
				}
			}
		}
	}
	if ran == 0 {
		t.Fatal("no variant ran")
	}
}

// The portable routine over a cache holding exactly representable values
// gives what the fp32 AttnScores and AttnMix of the same variant give on
// the converted values (the SIMD routines sum in their own order, so this
// is held for the portable ones, bit for bit).
func TestAttnH16PortableMatchesFP32(t *testing.T) {
	k, err := Lookup("scalar")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	hs, nt, stride := 13, 9, 20
	kv := make([]uint16, nt*stride)
	kf := make([]float32, nt*stride)
	for i := range kv {
		kv[i] = F32ToF16(float32(rng.NormFloat64()))
		kf[i] = F16ToF32(kv[i])
	}
	q := make([]float32, hs)
	for i := range q {
		q[i] = float32(rng.NormFloat64())
	}
	a, b := make([]float32, nt), make([]float32, nt)
	k.AttnScoresF16(a, q, kv, stride)
	k.AttnScores(b, q, kf, stride)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("score %d: f16 cache %v, fp32 cache of the same values %v", i, a[i], b[i])
		}
	}
	oa, ob := make([]float32, hs), make([]float32, hs)
	k.AttnMixF16(oa, a, kv, stride)
	k.AttnMix(ob, b, kf, stride)
	for i := range oa {
		if oa[i] != ob[i] {
			t.Fatalf("mix %d: f16 cache %v, fp32 cache of the same values %v", i, oa[i], ob[i])
		}
	}
}
