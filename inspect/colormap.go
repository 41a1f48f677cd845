package inspect

import (
	"fmt"
	"math"
)

// RGB is an opaque 8-bit colour.
type RGB struct{ R, G, B uint8 }

// Hex returns the colour as "#rrggbb".
func (c RGB) Hex() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// Luminance returns the WCAG relative luminance of c, in [0, 1].
func (c RGB) Luminance() float64 {
	lin := func(u uint8) float64 {
		s := float64(u) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// contrast returns the WCAG contrast ratio between two luminances.
func contrast(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	return (a + 0.05) / (b + 0.05)
}

// TextColorFor returns black or white, whichever has the higher contrast
// against the background bg.
func TextColorFor(bg RGB) RGB {
	l := bg.Luminance()
	if contrast(l, 0) >= contrast(l, 1) {
		return RGB{0, 0, 0}
	}
	return RGB{255, 255, 255}
}

// ColorMap maps a value in [0, 1] to a colour by linear interpolation between
// evenly spaced anchor colours. The zero ColorMap means "choose for me" where
// a renderer accepts one (see HeatmapOpts). Diverging maps are centred: 0.5
// is the neutral colour, and renderers make their range symmetric about zero.
type ColorMap struct {
	Name      string
	Diverging bool
	anchors   []RGB
}

// The built-in colour maps. The anchors are our own coarse approximations.
var (
	// Viridis is a perceptually ordered dark-purple → teal → yellow map for
	// non-negative data such as attention probabilities.
	Viridis = ColorMap{Name: "viridis", anchors: []RGB{
		{0x44, 0x01, 0x54}, {0x48, 0x28, 0x78}, {0x3e, 0x49, 0x89}, {0x31, 0x68, 0x8e},
		{0x26, 0x82, 0x8e}, {0x1f, 0x9e, 0x89}, {0x35, 0xb7, 0x79}, {0x6e, 0xce, 0x58},
		{0xfd, 0xe7, 0x25}}}
	// BlueWhiteRed is a diverging map for signed data: blue negative, white
	// zero, red positive.
	BlueWhiteRed = ColorMap{Name: "blue-white-red", Diverging: true, anchors: []RGB{
		{0x21, 0x66, 0xac}, {0x67, 0xa9, 0xcf}, {0xd1, 0xe5, 0xf0}, {0xf7, 0xf7, 0xf7},
		{0xfd, 0xdb, 0xc7}, {0xef, 0x8a, 0x62}, {0xb2, 0x18, 0x2b}}}
	// Blues is a light sequential map (white → dark blue), good behind text.
	Blues = ColorMap{Name: "blues", anchors: []RGB{
		{0xf7, 0xfb, 0xff}, {0xc6, 0xdb, 0xef}, {0x6b, 0xae, 0xd6}, {0x21, 0x71, 0xb5},
		{0x08, 0x30, 0x6b}}}
)

// IsZero reports whether m is the zero ColorMap.
func (m ColorMap) IsZero() bool { return len(m.anchors) == 0 }

// At returns the colour for t, clamped to [0, 1]. NaN gives mid grey. The
// zero ColorMap behaves as Viridis.
func (m ColorMap) At(t float64) RGB {
	a := m.anchors
	if len(a) == 0 {
		a = Viridis.anchors
	}
	if math.IsNaN(t) {
		return RGB{0x99, 0x99, 0x99}
	}
	t = math.Max(0, math.Min(1, t))
	if len(a) == 1 {
		return a[0]
	}
	x := t * float64(len(a)-1)
	i := int(x)
	if i >= len(a)-1 {
		return a[len(a)-1]
	}
	f := x - float64(i)
	mix := func(p, q uint8) uint8 { return uint8(math.Round(float64(p) + f*(float64(q)-float64(p)))) }
	return RGB{mix(a[i].R, a[i+1].R), mix(a[i].G, a[i+1].G), mix(a[i].B, a[i+1].B)}
}

// NewColorMap builds a colour map from two or more anchor colours, evenly
// spaced from 0 to 1.
func NewColorMap(name string, diverging bool, anchors ...RGB) ColorMap {
	return ColorMap{Name: name, Diverging: diverging, anchors: append([]RGB(nil), anchors...)}
}

// categorical is a colour-blind-safe palette (Okabe–Ito, reordered) for
// series, groups and segments; all entries are readable on white.
var categorical = []RGB{
	{0x00, 0x72, 0xb2}, // blue
	{0xd5, 0x5e, 0x00}, // vermillion
	{0x00, 0x9e, 0x73}, // green
	{0xcc, 0x79, 0xa7}, // purple-pink
	{0xe6, 0x9f, 0x00}, // orange
	{0x56, 0xb4, 0xe9}, // sky blue
	{0x8c, 0x6d, 0x31}, // brown
	{0x44, 0x44, 0x44}, // dark grey
}

// Palette returns the i-th categorical colour (cycling).
func Palette(i int) RGB {
	if i < 0 {
		i = -i
	}
	return categorical[i%len(categorical)]
}
