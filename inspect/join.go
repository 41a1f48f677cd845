package inspect

import (
	"html"
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
			h.WriteString(`<div style="margin:4px 0">` + p.SVG + `</div>`)
		case p.HTML != "":
			h.WriteString(`<div style="margin:4px 0">` + p.HTML + `</div>`)
		case p.Text != "":
			h.WriteString(`<pre style="margin:0">` + html.EscapeString(p.Text) + `</pre>`)
		}
	}
	return Bundle{Text: strings.Join(text, "\n\n"), HTML: h.String(), JSON: js}
}
