//go:build !noasm

package cpuprobe

import (
	"time"

	"golang.org/x/sys/cpu"
)

// Each probe runs n iterations of its loop body over registers (p points
// at 128 readable bytes for the loads).
func chainADD(n int, p *byte)
func pmaddwdY(n int, p *byte)
func pmaddwdX(n int, p *byte)
func pmaddubswY(n int, p *byte)
func pmovsxbwY(n int, p *byte)
func pmovsxbwX(n int, p *byte)
func vfmaddY(n int, p *byte)
func pmaddwdFMA(n int, p *byte)
func pmaddwdMovsx(n int, p *byte)
func paddY(n int, p *byte)
func psignabsY(n int, p *byte)
func cvtdq2psY(n int, p *byte)

type probe struct {
	name string
	fn   func(int, *byte)
	per  int // instructions of the named kind per iteration
}

var probes = []probe{
	{"VPMADDWD ymm", pmaddwdY, 8},
	{"VPMADDWD xmm", pmaddwdX, 8},
	{"VPMADDUBSW ymm", pmaddubswY, 8},
	{"VPMOVSXBW m128 -> ymm", pmovsxbwY, 8},
	{"VPMOVSXBW m64 -> xmm", pmovsxbwX, 8},
	{"VFMADD231PS ymm", vfmaddY, 8},
	{"VPMADDWD ymm beside as many FMAs (multiplies per cycle)", pmaddwdFMA, 4},
	{"VPMADDWD ymm beside as many VPMOVSXBW m128 (multiplies per cycle)", pmaddwdMovsx, 4},
	{"VPADDD ymm", paddY, 8},
	{"VPSIGNB/VPABSB ymm", psignabsY, 8},
	{"VCVTDQ2PS ymm", cvtdq2psY, 8},
}

// Clock is the core's clock in GHz as the dependent-add chain sees it, and
// Rates each probe's instructions per cycle at that clock; both best of
// runs rounds of n iterations. Without AVX2 and FMA there is nothing to
// run (nil, 0).
func Rates(n, runs int) (ghz float64, rates []Rate) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return 0, nil
	}
	ghz = ClockGHz(n, runs)
	for _, p := range probes {
		cycles := bestOf(p.fn, n, runs) * ghz * 1e9 / float64(n)
		rates = append(rates, Rate{p.name, float64(p.per) / cycles})
	}
	return ghz, rates
}

// bestOf is the fastest of runs timings of fn(n, buf), in seconds, with a
// 256-byte buffer for the probes that load.
func bestOf(fn func(int, *byte), n, runs int) float64 {
	var buf [256]byte
	best := 0.0
	for i := 0; i < runs; i++ {
		t := time.Now()
		fn(n, &buf[0])
		if d := time.Since(t).Seconds(); best == 0 || d < best {
			best = d
		}
	}
	return best
}
