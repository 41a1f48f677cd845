//go:build !noasm

package cpuprobe

func vpandX(n int, p *byte)
func vpandXm(n int, p *byte)
func vmovdquXm(n int, p *byte)
func vpaddwX(n int, p *byte)
func vpsubdX(n int, p *byte)
func vpsrlwX(n int, p *byte)
func vpslldY(n int, p *byte)
func vpandY(n int, p *byte)
func vpunpckldqX(n int, p *byte)
func vpunpcklwdY(n int, p *byte)
func vpunpcklwdYm(n int, p *byte)
func vpshufbX(n int, p *byte)
func vpblendwX(n int, p *byte)
func vphaddwX(n int, p *byte)
func vpmaddubswX(n int, p *byte)
func vcvtdq2psX(n int, p *byte)
func vcvtph2psX(n int, p *byte)
func vmulpsX(n int, p *byte)
func movqGX(n int, p *byte)
func vpandXMad(n int, p *byte)
func vpaddwXMad(n int, p *byte)
func vpsrlwXMad(n int, p *byte)
func vpunpckldqXMad(n int, p *byte)
func vpsadbwXMad(n int, p *byte)
func mixFour(n int, p *byte)
func fmaUnpY(n int, p *byte)
func fmaSllAndY(n int, p *byte)
func mixQ4(n int, p *byte)

// The probes of probe2_amd64.s, run after the others.
func init() {
	probes = append(probes, []probe{
		{"VPAND xmm", vpandX, 8},
		{"VPAND m128 -> xmm (load folded)", vpandXm, 8},
		{"VMOVDQU m128 -> xmm", vmovdquXm, 8},
		{"VPADDW xmm", vpaddwX, 8},
		{"VPSUBD xmm", vpsubdX, 8},
		{"VPSRLW imm, xmm", vpsrlwX, 8},
		{"VPSLLD imm, ymm", vpslldY, 8},
		{"VPAND ymm", vpandY, 8},
		{"VPUNPCKLDQ xmm", vpunpckldqX, 8},
		{"VPUNPCKLWD ymm", vpunpcklwdY, 8},
		{"VPUNPCKLWD m256 -> ymm (load folded)", vpunpcklwdYm, 8},
		{"VPSHUFB xmm", vpshufbX, 8},
		{"VPBLENDW xmm", vpblendwX, 8},
		{"VPHADDW xmm", vphaddwX, 8},
		{"VPMADDUBSW xmm", vpmaddubswX, 8},
		{"VCVTDQ2PS xmm", vcvtdq2psX, 8},
		{"VCVTPH2PS xmm", vcvtph2psX, 8},
		{"VMULPS xmm", vmulpsX, 8},
		{"MOVQ r64 -> xmm", movqGX, 8},
		{"4 VPAND + 4 VPMADDUBSW xmm (all, per cycle)", vpandXMad, 8},
		{"4 VPADDW + 4 VPMADDUBSW xmm (all, per cycle)", vpaddwXMad, 8},
		{"4 VPSRLW + 4 VPMADDUBSW xmm (all, per cycle)", vpsrlwXMad, 8},
		{"4 VPUNPCKLDQ + 4 VPMADDUBSW xmm (all, per cycle)", vpunpckldqXMad, 8},
		{"4 VPSADBW + 4 VPMADDUBSW xmm (all, per cycle)", vpsadbwXMad, 8},
		{"VPMADDUBSW, VPSRLW, VCVTDQ2PS, VPADDW xmm, twice (all, per cycle)", mixFour, 8},
		{"4 VFMADD231PS (4 chains) + 4 VPUNPCKLWD m256, ymm (all, per cycle)", fmaUnpY, 8},
		{"4 VFMADD231PS (4 chains) + 2 VPSLLD + 2 VPAND, ymm (all, per cycle)", fmaSllAndY, 8},
		{"the Q4_0 kernel's integer instructions for 4 blocks (34), independent (all, per cycle)", mixQ4, 34},
	}...)
}

// ClockGHz is the core's clock as Rates measures it (the dependent-add
// chain, best of runs rounds of n iterations), for timings in cycles.
func ClockGHz(n, runs int) float64 {
	return 8 * float64(n) / bestOf(chainADD, n, runs) / 1e9 // eight dependent adds an iteration
}
