package inspect

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Join combines several bundles into one display: texts one after the
// other, HTML and SVG side by side in a single HTML block, and js as the
// JSON. Empty bundles are left out.
func Join(parts []Bundle, js any) Bundle {
	var text []string
	var h strings.Builder
	for _, p := range parts {
		if p.Text != "" {
			text = append(text, p.Text)
		}
		switch {
		case p.SVG != "":
			h.WriteString(`<div style="margin:4px 0">` + PictureHTML(p.SVG) + `</div>`)
		case p.HTML != "":
			h.WriteString(`<div style="margin:4px 0">` + p.HTML + `</div>`)
		case p.Text != "":
			h.WriteString(`<pre style="margin:0">` + html.EscapeString(p.Text) + `</pre>`)
		}
	}
	return Bundle{Text: strings.Join(text, "\n\n"), HTML: h.String(), JSON: js}
}

// Human formats n with a decimal SI prefix and a unit: 1.23 MB, 4.00 GFLOP.
func Human(n float64, unit string) string {
	for _, p := range []struct {
		v float64
		s string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if math.Abs(n) >= p.v {
			return fmt.Sprintf("%.2f %s%s", n/p.v, p.s, unit)
		}
	}
	return fmt.Sprintf("%.0f %s", n, unit)
}
