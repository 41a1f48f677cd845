// Package inspect holds memwall's analyses and pictures: summary statistics of
// activations and timings, histograms, KL divergence, colour maps, SVG charts
// (heatmaps for attention patterns and weight slices, bar, line, CDF, stacked
// bar, histogram and roofline plots), HTML and plain-text tables, and NumPy
// .npy export.
//
// Everything here works on plain Go slices and small structs, so the package
// does not depend on the model; engine-specific analyses (attention capture,
// logit lens) are built on top of these pieces.
//
// Every picture is self-contained: SVG is generated as text by this package,
// with no scripts, external fonts, style sheets or element ids (so several
// pictures can be inlined in one page without clashing), and it paints its own
// white background so it reads the same under light and dark notebook themes.
// HTML uses inline styles only. Every renderer returns a Bundle whose plain-text
// form is always filled in, so a terminal or a log shows something readable.
//
// Renderers do not panic on empty, NaN or very large inputs: they draw a "no
// data" picture, skip the values they cannot place, or downsample.
package inspect

import "encoding/base64"

// Bundle is one displayable result in several representations. Fields that do
// not apply are left empty; Text is always set by this package's renderers.
type Bundle struct {
	Text string // text/plain: a readable ASCII rendering
	HTML string // text/html: inline-styled, self-contained
	SVG  string // image/svg+xml: self-contained
	JSON any    // JSONMIME: the data behind the picture, if useful
}

// JSONMIME is the MIME type of a bundle's data. It is memwall's own rather
// than application/json because JupyterLab ranks its JSON tree viewer above
// HTML and SVG: with application/json in the bundle, every table and
// picture would show there as a collapsible tree of numbers. No front end
// renders this type, so each shows the HTML or SVG, and programs (tests,
// nbconvert readers) still find the data under it.
const JSONMIME = "application/vnd.memwall.result+json"

// PictureHTML returns an SVG picture as HTML that every front end shows:
// inline, with its hover titles, where the output is trusted; as an image
// where a sanitizer removes inline SVG but keeps images with data URIs, as
// JupyterLab's does for a notebook its reader opened without running it.
// A style element, which the same sanitizer removes, hides the image copy
// when the inline picture is there; the inline picture's wrapper has no
// font size, so the labels and titles a sanitizer leaves behind when it
// strips the SVG's tags take no room (the SVG sets its own font size).
func PictureHTML(svg string) string {
	return `<div class="memwall-svg"><style>.memwall-svg>div~img{display:none}</style>` +
		`<div style="font-size:0;line-height:0">` + svg + `</div>` +
		`<img alt="picture" src="data:image/svg+xml;base64,` + base64.StdEncoding.EncodeToString([]byte(svg)) + `"></div>`
}

// MIME returns the bundle as a Jupyter MIME bundle. "text/plain" is always
// present; the other keys appear only when their field is set, and a
// picture is in "text/html" as well as in "image/svg+xml".
func (b Bundle) MIME() map[string]any {
	m := map[string]any{"text/plain": b.Text}
	if b.HTML != "" {
		m["text/html"] = b.HTML
	}
	if b.SVG != "" {
		m["image/svg+xml"] = b.SVG
		// Front ends prefer HTML to SVG, so the picture goes into the HTML
		// too, above the table if there is one.
		m["text/html"] = PictureHTML(b.SVG) + b.HTML
	}
	if b.JSON != nil {
		m[JSONMIME] = b.JSON
	}
	return m
}
