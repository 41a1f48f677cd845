package inspect

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Table is a small table rendered as aligned plain text and as an HTML table
// with inline styles. Cells can be shaded by a value in [0, 1]; the text
// colour of a shaded cell is black or white, whichever contrasts more.
type Table struct {
	Title     string
	Header    []string
	Rows      [][]string
	Shade     [][]float64 // optional, parallel to Rows; NaN or missing means unshaded
	ColorMap  ColorMap    // for Shade; the zero value means Blues
	RowHeader bool        // render the first column as row headings
	Note      string      // a footnote under the table
	MaxCell   int         // cell text is cut to this many runes; 0 means 40
}

func (t Table) maxCell() int {
	if t.MaxCell > 0 {
		return t.MaxCell
	}
	return 40
}

func (t Table) cmap() ColorMap {
	if t.ColorMap.IsZero() {
		return Blues
	}
	return t.ColorMap
}

// shade returns the shade of cell (i, j) and whether it has one.
func (t Table) shade(i, j int) (float64, bool) {
	if i >= len(t.Shade) || j >= len(t.Shade[i]) {
		return 0, false
	}
	v := t.Shade[i][j]
	if math.IsNaN(v) {
		return 0, false
	}
	return max(0, min(1, v)), true
}

// numeric reports whether a cell reads as a number (so it is right-aligned).
func numeric(s string) bool {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, "%")
	s = strings.TrimSuffix(s, "x")
	s = strings.TrimSuffix(s, "×")
	s = strings.ReplaceAll(s, ",", "")
	if s == "" {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func (t Table) columns() int {
	n := len(t.Header)
	for _, r := range t.Rows {
		n = max(n, len(r))
	}
	return n
}

func cell(row []string, j int) string {
	if j < len(row) {
		return row[j]
	}
	return ""
}

// Text renders the table as aligned plain text with a rule under the header.
func (t Table) Text() string {
	nc := t.columns()
	if nc == 0 {
		if t.Title != "" {
			return Label(t.Title, 0) + ": (empty table)"
		}
		return "(empty table)"
	}
	disp := func(s string) string { return Label(s, t.maxCell()) }
	width := make([]int, nc)
	right := make([]bool, nc)
	for j := range nc {
		width[j] = utf8.RuneCountInString(disp(cell(t.Header, j)))
		right[j] = len(t.Rows) > 0
		for _, r := range t.Rows {
			c := disp(cell(r, j))
			width[j] = max(width[j], utf8.RuneCountInString(c))
			if c != "" && !numeric(c) {
				right[j] = false
			}
		}
	}
	pad := func(s string, j int) string {
		gap := strings.Repeat(" ", width[j]-utf8.RuneCountInString(s))
		if right[j] {
			return gap + s
		}
		return s + gap
	}
	var b strings.Builder
	if t.Title != "" {
		b.WriteString(Label(t.Title, 0))
		b.WriteString("\n")
	}
	line := func(row []string) {
		parts := make([]string, nc)
		for j := range nc {
			parts[j] = pad(disp(cell(row, j)), j)
		}
		b.WriteString(strings.TrimRight(strings.Join(parts, "  "), " "))
		b.WriteString("\n")
	}
	if len(t.Header) > 0 {
		line(t.Header)
		rules := make([]string, nc)
		for j := range nc {
			rules[j] = strings.Repeat("-", width[j])
		}
		b.WriteString(strings.Join(rules, "  "))
		b.WriteString("\n")
	}
	for _, r := range t.Rows {
		line(r)
	}
	if t.Note != "" {
		b.WriteString(Label(t.Note, 0))
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// HTML renders the table with inline styles only. It sets its own
// background and text colours so it reads under light and dark themes.
func (t Table) HTML() string {
	esc := func(s string) string { return html.EscapeString(Label(s, t.maxCell())) }
	nc := t.columns()
	right := make([]bool, nc)
	for j := range nc {
		right[j] = len(t.Rows) > 0
		for _, r := range t.Rows {
			if c := cell(r, j); c != "" && !numeric(c) {
				right[j] = false
			}
		}
	}
	const base = "padding:2px 8px;border:1px solid #d0d0d0;white-space:pre;"
	var b strings.Builder
	b.WriteString(`<div style="overflow-x:auto;max-width:100%">`)
	b.WriteString(`<table style="border-collapse:collapse;font-family:monospace;font-size:12px;color:#222222;background:#ffffff;margin:4px 0">`)
	if t.Title != "" {
		fmt.Fprintf(&b, `<caption style="caption-side:top;text-align:left;font-weight:bold;font-family:sans-serif;padding:4px 0;color:inherit">%s</caption>`,
			html.EscapeString(Label(t.Title, 0)))
	}
	if len(t.Header) > 0 {
		b.WriteString("<thead><tr>")
		for j := range nc {
			align := "left"
			if right[j] {
				align = "right"
			}
			fmt.Fprintf(&b, `<th style="%sbackground:#eeeeee;color:#111111;text-align:%s">%s</th>`, base, align, esc(cell(t.Header, j)))
		}
		b.WriteString("</tr></thead>")
	}
	b.WriteString("<tbody>")
	for i, r := range t.Rows {
		b.WriteString("<tr>")
		for j := range nc {
			style := base
			if right[j] && !(t.RowHeader && j == 0) {
				style += "text-align:right;"
			}
			tag := "td"
			if t.RowHeader && j == 0 {
				tag = "th"
				style += "background:#f4f4f4;color:#111111;text-align:left;"
			} else if v, ok := t.shade(i, j); ok {
				bg := t.cmap().At(v)
				style += fmt.Sprintf("background:%s;color:%s;", bg.Hex(), TextColorFor(bg).Hex())
			}
			fmt.Fprintf(&b, `<%s style="%s">%s</%s>`, tag, style, esc(cell(r, j)), tag)
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	if t.Note != "" {
		fmt.Fprintf(&b, `<div style="font-family:sans-serif;font-size:11px;color:#666666;background:#ffffff;padding:2px 0">%s</div>`,
			html.EscapeString(Label(t.Note, 0)))
	}
	b.WriteString("</div>")
	return b.String()
}

// Bundle renders the table as text, HTML and JSON ({title, header, rows}).
func (t Table) Bundle() Bundle {
	rows := t.Rows
	if rows == nil {
		rows = [][]string{}
	}
	return Bundle{
		Text: t.Text(),
		HTML: t.HTML(),
		JSON: map[string]any{"title": t.Title, "header": t.Header, "rows": rows},
	}
}

// LogitLensTable lays out a logit lens: one row per layer (rowNames), one
// column per position (colNames), each cell the top token and its
// probability, shaded by the probability. tokens and probs are indexed
// [layer][position]; missing entries are left blank.
func LogitLensTable(rowNames, colNames []string, tokens [][]string, probs [][]float64) Table {
	t := Table{
		Title:     "Logit lens: top token and probability",
		Header:    append([]string{"layer"}, colNames...),
		RowHeader: true,
		Note:      "cell: 'top token' probability; shade: probability (0 → 1)",
	}
	for i, name := range rowNames {
		row := []string{name}
		shade := []float64{math.NaN()}
		for j := range colNames {
			tok, p := "", math.NaN()
			if i < len(tokens) && j < len(tokens[i]) {
				tok = tokens[i][j]
			}
			if i < len(probs) && j < len(probs[i]) {
				p = probs[i][j]
			}
			switch {
			case tok == "" && math.IsNaN(p):
				row = append(row, "")
			case math.IsNaN(p):
				row = append(row, "'"+Label(tok, 14)+"'")
			default:
				row = append(row, fmt.Sprintf("'%s' %.2f", Label(tok, 14), p))
			}
			shade = append(shade, p)
		}
		t.Rows = append(t.Rows, row)
		t.Shade = append(t.Shade, shade)
	}
	return t
}
