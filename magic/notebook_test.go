package magic

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNotebook runs every code cell of notebooks/magics.ipynb in order, as
// the kernel would, and checks that it uses every magic. It takes a few
// seconds (it writes a synthetic stories15M-shape model); -short skips it.
func TestNotebook(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	raw, err := os.ReadFile(filepath.Join("..", "notebooks", "magics.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			Type   string   `json:"cell_type"`
			Source []string `json:"source"`
		} `json:"cells"`
		Metadata struct {
			Kernelspec struct{ Name, Language string } `json:"kernelspec"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &nb); err != nil {
		t.Fatal(err)
	}
	if nb.Metadata.Kernelspec.Name != "memwall" || nb.Metadata.Kernelspec.Language != "memwall" {
		t.Errorf("kernelspec %+v", nb.Metadata.Kernelspec)
	}
	s := newTest(t)
	used := map[string]bool{}
	for _, c := range nb.Cells {
		if c.Type != "code" {
			continue
		}
		code := strings.Join(c.Source, "")
		stmts, _ := parseCell(code, 0)
		for _, st := range stmts {
			used[st.name] = true
		}
		if raceEnabled && heavy(code) {
			// Under the race detector the benchmarks take minutes; they are
			// covered with small sizes by their own tests.
			t.Logf("skipped under -race: %s", code)
			continue
		}
		t0 := time.Now()
		run(t, s, code)
		t.Logf("%6.2fs  %s", time.Since(t0).Seconds(), strings.ReplaceAll(code, "\n", " ⏎ "))
	}
	for _, n := range magicNames() {
		if !used[n] {
			t.Errorf("the notebook does not use %%%s", n)
		}
	}
}

func heavy(code string) bool {
	for _, m := range []string{"%bench", "%bandwidth", "%roofline", "stories15M"} {
		if strings.Contains(code, m) {
			return true
		}
	}
	return false
}
