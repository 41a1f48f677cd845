// Package notebooks holds memwall's course notebooks. Its test executes
// every notebook headlessly with the real memwall kernel and Jupyter's own
// runner (nbconvert), and checks each cell's outputs against expectations
// kept in the cell's metadata:
//
//	"memwall": {"expect": ["substring", ...],       // must appear in the outputs
//	            "expect_mime": ["image/svg+xml"],    // MIME types that must be present
//	            "expect_error": "substring"}         // the cell must fail with this
//
// A cell that errors without expect_error fails the test.
package notebooks

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/memwall/memwall/inspect"
)

// jupyterEnv builds memwall and installs its kernelspec into a temporary
// Jupyter data path; it returns the environment for jupyter commands.
func jupyterEnv(t testing.TB) []string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/jupyter"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("jupyter (Debian's jupyter-nbconvert) is missing; make deps installs it")
		}
		t.Skip("jupyter is not installed (run make deps); under CI=true this fails")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "memwall")
	build := exec.Command("go", "build", "-o", bin, "../cmd/memwall")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building memwall: %v\n%s", err, out)
	}
	prefix := filepath.Join(dir, "prefix")
	if out, err := exec.Command(bin, "install", "--prefix", prefix).CombinedOutput(); err != nil {
		t.Fatalf("installing the kernelspec: %v\n%s", err, out)
	}
	env := append(os.Environ(),
		"JUPYTER_PATH="+filepath.Join(prefix, "share", "jupyter"),
		"JUPYTER_DATA_DIR="+filepath.Join(dir, "data"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(dir, "runtime"),
		"JUPYTER_CONFIG_DIR="+filepath.Join(dir, "config"),
		"IPYTHONDIR="+filepath.Join(dir, "ipython"),
		// Only the project's own models: nothing a user pulled, and no
		// model directory named by the environment.
		"XDG_DATA_HOME="+filepath.Join(dir, "share"),
		"MEMWALL_MODEL=",
		"MEMWALL_MODELS=",
	)
	if os.Getenv("CI") == "true" {
		env = append(env, "MEMWALL_QUICK=1")
	}
	return env
}

type notebook struct {
	Cells []struct {
		CellType string          `json:"cell_type"`
		Source   json.RawMessage `json:"source"`
		Metadata struct {
			Memwall struct {
				Expect      []string `json:"expect"`
				ExpectMIME  []string `json:"expect_mime"`
				ExpectError string   `json:"expect_error"`
			} `json:"memwall"`
		} `json:"metadata"`
		Outputs []map[string]any `json:"outputs"`
	} `json:"cells"`
	Metadata struct {
		Kernelspec struct {
			Name string `json:"name"`
		} `json:"kernelspec"`
	} `json:"metadata"`
}

func source(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var lines []string
	json.Unmarshal(raw, &lines)
	return strings.Join(lines, "")
}

// outputText gathers everything a cell showed: stream text, every MIME
// representation, error names and values.
func outputText(outs []map[string]any) (text string, mimes map[string]bool, errs []string) {
	var sb strings.Builder
	mimes = map[string]bool{}
	join := func(v any) string {
		switch x := v.(type) {
		case string:
			return x
		case []any:
			var s strings.Builder
			for _, p := range x {
				s.WriteString(fmt.Sprint(p))
			}
			return s.String()
		default:
			b, _ := json.Marshal(x)
			return string(b)
		}
	}
	for _, o := range outs {
		switch o["output_type"] {
		case "stream":
			sb.WriteString(join(o["text"]))
		case "error":
			e := fmt.Sprintf("%v: %v", o["ename"], o["evalue"])
			errs = append(errs, e)
			sb.WriteString(e)
		default:
			if data, ok := o["data"].(map[string]any); ok {
				for k, v := range data {
					mimes[k] = true
					sb.WriteString(join(v))
					sb.WriteString("\n")
				}
			}
		}
	}
	return sb.String(), mimes, errs
}

// Execute runs a notebook with nbconvert and returns the executed copy.
func Execute(t testing.TB, env []string, path, outDir string) (*notebook, time.Duration) {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("/usr/bin/jupyter", "nbconvert", "--to", "notebook", "--execute",
		"--ExecutePreprocessor.timeout=900", "--ExecutePreprocessor.kernel_name=memwall",
		"--allow-errors", "--output-dir", outDir, path)
	cmd.Env = env
	cmd.Dir = filepath.Dir(path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nbconvert --execute %s: %v\n%s", path, err, out)
	}
	b, err := os.ReadFile(filepath.Join(outDir, filepath.Base(path)))
	if err != nil {
		t.Fatal(err)
	}
	var nb notebook
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatal(err)
	}
	return &nb, time.Since(start)
}

func TestNotebooks(t *testing.T) {
	paths, _ := filepath.Glob("*.ipynb")
	sort.Strings(paths)
	if len(paths) == 0 {
		t.Fatal("no notebooks")
	}
	env := jupyterEnv(t)
	out := t.TempDir()
	if d := os.Getenv("MEMWALL_NOTEBOOK_ARTIFACTS"); d != "" {
		out = d
		os.MkdirAll(out, 0o755)
	}
	for _, p := range paths {
		t.Run(strings.TrimSuffix(p, ".ipynb"), func(t *testing.T) {
			abs, _ := filepath.Abs(p)
			nb, took := Execute(t, env, abs, out)
			t.Logf("%s executed in %v", p, took.Round(time.Millisecond))
			if nb.Metadata.Kernelspec.Name != "memwall" {
				t.Errorf("kernelspec %q, want memwall", nb.Metadata.Kernelspec.Name)
			}
			checked := 0
			for i, c := range nb.Cells {
				if c.CellType != "code" {
					continue
				}
				text, mimes, errs := outputText(c.Outputs)
				m := c.Metadata.Memwall
				where := fmt.Sprintf("%s cell %d (%q)", p, i, firstLine(source(c.Source)))
				if m.ExpectError != "" {
					if len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), m.ExpectError) {
						t.Errorf("%s: want an error containing %q, got %v", where, m.ExpectError, errs)
					}
				} else if len(errs) > 0 {
					t.Errorf("%s: unexpected error: %s", where, strings.Join(errs, "; "))
				}
				for _, want := range m.Expect {
					if !strings.Contains(text, want) {
						t.Errorf("%s: outputs lack %q", where, want)
					}
				}
				for _, mt := range m.ExpectMIME {
					if !mimes[mt] {
						t.Errorf("%s: no %s output (have %v)", where, mt, keys(mimes))
					}
				}
				checked += len(m.Expect) + len(m.ExpectMIME)
				for _, problem := range checkConclusions(c.Outputs) {
					t.Errorf("%s: %s", where, problem)
				}
				if len(c.Outputs) == 0 && strings.TrimSpace(source(c.Source)) != "" && !strings.HasPrefix(strings.TrimSpace(source(c.Source)), "%reset") {
					t.Logf("%s: no output", where)
				}
			}
			if checked == 0 {
				t.Errorf("%s has no output checks in its cells' metadata", p)
			}
		})
	}
}

// checkConclusions holds every course result's conclusions (the
// inspect.JSONMIME "conclusions" of an output) to their data: each has a
// claim, a verdict, a text and named evidence, and every piece of evidence
// named like a top-level number of the same JSON has that number's value,
// so a sentence cannot drift from the figures printed beside it.
func checkConclusions(outs []map[string]any) []string {
	var problems []string
	for _, o := range outs {
		data, _ := o["data"].(map[string]any)
		js, _ := data[inspect.JSONMIME].(map[string]any)
		raw, ok := js["conclusions"]
		if !ok {
			continue
		}
		cs, _ := raw.([]any)
		if len(cs) == 0 {
			problems = append(problems, "empty conclusions")
		}
		for _, x := range cs {
			c, _ := x.(map[string]any)
			ev, _ := c["evidence"].(map[string]any)
			for _, k := range []string{"id", "claim", "verdict", "text"} {
				if s, _ := c[k].(string); s == "" {
					problems = append(problems, fmt.Sprintf("conclusion %v has no %s", c["id"], k))
				}
			}
			if len(ev) == 0 {
				problems = append(problems, fmt.Sprintf("conclusion %v names no evidence", c["id"]))
			}
			for k, v := range ev {
				top, ok := js[k].(float64)
				if f, isNum := v.(float64); ok && isNum && f != top {
					problems = append(problems, fmt.Sprintf("conclusion %v: evidence %s = %v but the JSON says %v", c["id"], k, f, top))
				}
			}
		}
	}
	return problems
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 50 {
		s = s[:50] + "…"
	}
	return s
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestCommittedConclusions checks the conclusions already committed in the
// notebooks' outputs (without running anything), and that the checker
// catches a conclusion whose evidence disagrees with its JSON.
func TestCommittedConclusions(t *testing.T) {
	paths, _ := filepath.Glob("*.ipynb")
	found := 0
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var nb notebook
		if err := json.Unmarshal(raw, &nb); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for i, c := range nb.Cells {
			for _, problem := range checkConclusions(c.Outputs) {
				t.Errorf("%s cell %d: %s", p, i, problem)
			}
			for _, o := range c.Outputs {
				if d, ok := o["data"].(map[string]any); ok {
					if js, ok := d[inspect.JSONMIME].(map[string]any); ok && js["conclusions"] != nil {
						found++
					}
				}
			}
		}
	}
	if found == 0 {
		t.Error("no committed output carries conclusions (09-paper should)")
	}
	bad := []map[string]any{{"data": map[string]any{inspect.JSONMIME: map[string]any{"p50_ms": 1.5,
		"conclusions": []any{map[string]any{"id": "tail", "claim": "c", "verdict": "holds", "text": "t", "evidence": map[string]any{"p50_ms": 2.5}}}}}}}
	if len(checkConclusions(bad)) != 1 {
		t.Error("a conclusion whose evidence contradicts its JSON passed")
	}
}
