package inspect

import (
	"encoding/json"
	"encoding/xml"
	"math"
	"strings"
	"testing"
)

func TestTableText(t *testing.T) {
	tb := Table{
		Title:  "bench",
		Header: []string{"variant", "tok/s", "GB/s"},
		Rows:   [][]string{{"scalar", "3.5", "1.2"}, {"avx2", "12", "20.5"}, {"a\nb", "100", ""}},
		Note:   "higher is better",
	}
	got := tb.Text()
	want := strings.Join([]string{
		"bench",
		"variant  tok/s  GB/s",
		"-------  -----  ----",
		"scalar     3.5   1.2",
		"avx2        12  20.5",
		`a\nb       100`,
		"higher is better",
	}, "\n")
	if got != want {
		t.Errorf("text:\n%s\nwant:\n%s", got, want)
	}
	if (Table{}).Text() != "(empty table)" {
		t.Error("empty table text")
	}
}

func TestTableHTML(t *testing.T) {
	tb := Table{
		Title:     "<tokens> & co",
		Header:    []string{"pos", "token"},
		Rows:      [][]string{{"0", "<s>"}, {"1", ` "hi" & 'bye'`}, {"2"}},
		Shade:     [][]float64{{math.NaN(), 0}, {math.NaN(), 1}},
		RowHeader: true,
	}
	h := tb.HTML()
	for _, bad := range []string{"<s>", "<tokens>", `"hi"`, "<style", "<script", "class="} {
		if strings.Contains(h, bad) {
			t.Errorf("HTML contains %q:\n%s", bad, h)
		}
	}
	if !strings.Contains(h, "&lt;s&gt;") || !strings.Contains(h, "&amp;") {
		t.Errorf("not escaped:\n%s", h)
	}
	// It is well-formed markup: parse it as XML.
	var root struct {
		XMLName xml.Name
	}
	if err := xml.Unmarshal([]byte(h), &root); err != nil {
		t.Fatalf("HTML is not well-formed: %v\n%s", err, h)
	}
	if strings.Count(h, "<tr>") != 4 || strings.Count(h, "<th ") != 2+3 {
		t.Errorf("rows/headers wrong:\n%s", h)
	}
	// Shaded cells get the colour map and a contrasting text colour.
	light, dark := Blues.At(0), Blues.At(1)
	if !strings.Contains(h, "background:"+light.Hex()+";color:#000000") ||
		!strings.Contains(h, "background:"+dark.Hex()+";color:#ffffff") {
		t.Errorf("shading:\n%s", h)
	}
	b := tb.Bundle()
	if _, err := json.Marshal(b.JSON); err != nil || b.Text == "" || b.HTML != h {
		t.Errorf("bundle: %v", err)
	}
}

func TestLogitLensTable(t *testing.T) {
	tb := LogitLensTable([]string{"L0", "L1"}, []string{"0 'The'", "1 ' cat'"},
		[][]string{{" the", "<0x0A>"}, {" cat", "\n"}},
		[][]float64{{0.1, 0.02}, {0.9}})
	txt := tb.Text()
	for _, want := range []string{"' the' 0.10", "'<0x0A>' 0.02", "' cat' 0.90", `'\n'`} {
		if !strings.Contains(txt, want) {
			t.Errorf("missing %q in\n%s", want, txt)
		}
	}
	h := tb.HTML()
	if !strings.Contains(h, Blues.At(0.9).Hex()) || !strings.Contains(h, "&lt;0x0A&gt;") {
		t.Errorf("html:\n%s", h)
	}
}
