package browser

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/memwall/memwall/internal/testdata"
	"github.com/memwall/memwall/tests/internal/proc"
)

// notebookCandidates are the notebooks the test opens, first found wins
// (relative to the repository root). The course's quickstart is the one
// meant; the others keep the test useful while the course is written.
var notebookCandidates = []string{
	"notebooks/quickstart.ipynb",
	"notebooks/01-quickstart.ipynb",
	"notebooks/magics.ipynb",
}

const (
	chromiumPath = "/usr/bin/chromium"
	jupyterPath  = "/usr/bin/jupyter"
)

// fallbackNotebook is written when none of the candidates exists.
const fallbackNotebook = `{"cells": [
 {"cell_type": "code", "metadata": {}, "execution_count": null, "outputs": [], "source": ["%load stories260K"]},
 {"cell_type": "code", "metadata": {}, "execution_count": null, "outputs": [], "source": ["%generate -n 24 -t 0 Once upon a time"]},
 {"cell_type": "code", "metadata": {}, "execution_count": null, "outputs": [], "source": ["%attention --layer 1"]}
 ],
 "metadata": {"kernelspec": {"name": "memwall", "display_name": "memwall", "language": "memwall"}},
 "nbformat": 4, "nbformat_minor": 5}`

func TestNotebookInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a notebook server and a browser")
	}
	jupyter, chromium := jupyterPath, chromiumPath
	proc.Need(t, proc.Executable(jupyter), "Jupyter's classic Notebook (jupyter-notebook, "+jupyter+")")
	proc.Need(t, proc.Executable(chromium), "Chromium ("+chromium+")")
	version, err := exec.Command(jupyter, "notebook", "--version").CombinedOutput()
	proc.Need(t, err == nil, "jupyter notebook ("+strings.TrimSpace(string(version))+")")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	tmp := t.TempDir()
	// The test runs on a copy of the tracked tree in a fresh directory, as
	// a new user's clone would be: nothing beside it, and a kernel that
	// can only find the model built into the binary.
	root := copyTree(t, testdata.Root(), filepath.Join(tmp, "clone"))

	// memwall and its kernelspec.
	_, prefix := proc.InstallMemwall(t, root, tmp)

	// The notebook, copied so that running it (and autosave) leaves the
	// repository alone.
	nbDir := filepath.Join(tmp, "nb")
	os.MkdirAll(nbDir, 0o755)
	name, src := "fallback.ipynb", []byte(fallbackNotebook)
	for _, c := range notebookCandidates {
		if b, err := os.ReadFile(filepath.Join(root, c)); err == nil {
			name, src = filepath.Base(c), b
			break
		}
	}
	t.Logf("notebook: %s", name)
	if err := os.WriteFile(filepath.Join(nbDir, name), src, 0o644); err != nil {
		t.Fatal(err)
	}

	// The notebook server, on loopback, with a token.
	port, token := proc.FreePort(t), uuid.NewString()
	server := exec.Command(jupyter, "notebook", "--no-browser", "--ip=127.0.0.1", "--port="+strconv.Itoa(port),
		"--port-retries=0", "--NotebookApp.token="+token, "--notebook-dir="+nbDir, "--NotebookApp.open_browser=False")
	server.Env = append(proc.JupyterEnv(prefix, tmp),
		"IPYTHONDIR="+filepath.Join(tmp, "ipython"),
		"XDG_CACHE_HOME="+filepath.Join(tmp, "cache"),
		"XDG_DATA_HOME="+filepath.Join(tmp, "share"),
		"MEMWALL_MODEL=",
		"MEMWALL_MODELS=",
	)
	serverLog := &proc.Output{}
	server.Stdout, server.Stderr = serverLog, serverLog
	if os.Geteuid() == 0 {
		server.Args = append(server.Args, "--allow-root")
	}
	serverDone := proc.StartGroup(t, server)
	defer func() {
		if t.Failed() {
			t.Logf("notebook server log:\n%s", serverLog.String())
		}
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := proc.WaitHTTP(ctx, 60*time.Second, base+"/api/status?token="+token, serverDone); err != nil {
		t.Fatalf("notebook server not up: %v", err)
	}

	// Headless Chromium with its DevTools endpoint on a free loopback port.
	chrome := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(tmp, "chromium"), "--remote-debugging-port=0",
		"--remote-debugging-address=127.0.0.1", "--window-size=1280,1600", "about:blank")
	stderr, err := chrome.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	proc.StartGroup(t, chrome)
	wsURL, err := devToolsURL(ctx, stderr)
	if err != nil {
		t.Fatal(err)
	}
	pageWS, err := pageTarget(ctx, wsURL)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := dialWS(ctx, pageWS)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.close()
	page := newCDP(ws)

	nbURL := base + "/notebooks/" + name + "?token=" + token
	if err := page.call(ctx, "Page.navigate", map[string]any{"url": nbURL}, nil); err != nil {
		t.Fatal(err)
	}
	// Wait for the notebook to load and its kernel to connect.
	if err := proc.Poll(ctx, 60*time.Second, func() (bool, error) {
		var ok bool
		err := page.eval(ctx, `typeof Jupyter !== "undefined" && !!Jupyter.notebook && !!Jupyter.notebook.kernel &&
			Jupyter.notebook.kernel.is_connected() && Jupyter.notebook.kernel.info_reply !== undefined &&
			Jupyter.notebook.kernel.info_reply.implementation === "memwall"`, &ok)
		return ok, err
	}); err != nil {
		shot(t, ctx, page, "browser-load-failed")
		t.Fatalf("notebook or kernel did not come up: %v", err)
	}
	// The editor mode named by language_info must be one the Notebook
	// has: a mode it lacks is a 404 on codemirror/mode/NAME/NAME.js and
	// cells without highlighting.
	var mode string
	if err := proc.Poll(ctx, 20*time.Second, func() (bool, error) {
		err := page.eval(ctx, `(() => { const c = Jupyter.notebook.get_cells().find(c => c.cell_type === "code");
			return c ? c.code_mirror.getMode().name : "no code cell"; })()`, &mode)
		return err == nil && mode != "" && mode != "null" && mode != "text", err
	}); err != nil {
		t.Errorf("code cells have no highlighting mode (CodeMirror mode %q): %v", mode, err)
	}
	t.Logf("code cells use CodeMirror mode %q", mode)
	if m := regexp.MustCompile(`404 GET \S*codemirror/mode/\S*`).FindString(serverLog.String()); m != "" {
		t.Errorf("the Notebook could not load the editor mode: %s", m)
	}
	var nCode int
	if err := page.eval(ctx, `(() => {
		const cells = Jupyter.notebook.get_cells().filter(c => c.cell_type === "code");
		Jupyter.notebook.clear_all_output();
		cells.forEach(c => c.set_input_prompt(null));
		Jupyter.notebook.execute_all_cells();
		return cells.length;
	})()`, &nCode); err != nil {
		t.Fatal(err)
	}
	t.Logf("running %d code cells", nCode)

	type progress struct {
		Counted, Code, Errors int
		Idle                  bool
		ErrorText             string
	}
	var p progress
	start := time.Now()
	if err := proc.Poll(ctx, 100*time.Second, func() (bool, error) {
		err := page.eval(ctx, `(() => {
			const cells = Jupyter.notebook.get_cells().filter(c => c.cell_type === "code");
			const counted = cells.filter(c => typeof c.input_prompt_number === "number").length;
			const errs = document.querySelectorAll(".output_area .output_error");
			const icon = document.querySelector("#kernel_indicator_icon");
			return {Counted: counted, Code: cells.length, Errors: errs.length,
				Idle: !!icon && icon.classList.contains("kernel_idle_icon"),
				ErrorText: errs.length ? errs[0].innerText.slice(0, 400) : ""};
		})()`, &p)
		if err != nil {
			return false, err
		}
		if p.Errors > 0 {
			return false, fmt.Errorf("a cell failed: %s", p.ErrorText)
		}
		return p.Idle && p.Counted == p.Code, nil
	}); err != nil {
		shot(t, ctx, page, "browser-run-failed")
		t.Fatalf("running the notebook: %v (progress %+v)", err, p)
	}
	t.Logf("all %d cells ran in %v", p.Code, time.Since(start).Round(time.Millisecond))

	var out struct {
		SVGs int
		Text string
	}
	if err := page.eval(ctx, `({SVGs: document.querySelectorAll(".output_area svg").length,
		Text: Array.from(document.querySelectorAll(".output_area .output_text")).map(e => e.innerText).join("\n")})`, &out); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d SVG pictures on the page; %d characters of output text", out.SVGs, len(out.Text))
	if out.SVGs == 0 {
		t.Error("no SVG picture in the outputs (document.querySelectorAll('.output_area svg'))")
	}
	if !strings.Contains(out.Text, "Once upon a time") {
		t.Errorf("generated text not in the outputs; text begins %q", clip(out.Text, 300))
	}
	if strings.Contains(string(src), "%load stories260K") {
		var all string
		if err := page.eval(ctx, `Array.from(document.querySelectorAll(".output_area")).map(e => e.innerText).join("\n")`, &all); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(all, "stories260K.bin (built-in)") || !strings.Contains(all, filepath.Join(tmp, "cache", "memwall", "builtin")) {
			t.Errorf("the notebook's %%load stories260K did not load the built-in model from the cache directory; outputs begin %q", clip(all, 600))
		}
	}
	shot(t, ctx, page, "browser-"+strings.TrimSuffix(name, ".ipynb"))
	// And one with the first picture in view.
	page.eval(ctx, `(() => { const s = document.querySelector(".output_area svg"); if (s) s.scrollIntoView(); })()`, nil)
	shot(t, ctx, page, "browser-"+strings.TrimSuffix(name, ".ipynb")+"-svg")
}

// shot saves a PNG screenshot of the page as a test artefact.
func shot(t *testing.T, ctx context.Context, page *cdp, name string) {
	t.Helper()
	var r struct {
		Data string `json:"data"`
	}
	if err := page.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &r); err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Errorf("screenshot is not a PNG (%d bytes, %v)", len(png), err)
		return
	}
	dir := os.Getenv("MEMWALL_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(testdata.Root(), "test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("artefacts: %v", err)
		return
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("artefacts: %v", err)
		return
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
}

// devToolsURL reads Chromium's stderr until it announces its DevTools
// websocket, then keeps draining stderr so Chromium never blocks on it.
func devToolsURL(ctx context.Context, stderr io.Reader) (string, error) {
	re := regexp.MustCompile(`DevTools listening on (ws://127\.0\.0\.1:\d+/\S+)`)
	found := make(chan string, 1)
	var tail proc.Output
	go func() {
		s := bufio.NewScanner(stderr)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for s.Scan() {
			if !sent {
				tail.Write([]byte(s.Text() + "\n"))
				if m := re.FindStringSubmatch(s.Text()); m != nil {
					found <- m[1]
					sent = true
				}
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case u, ok := <-found:
		if !ok {
			return "", fmt.Errorf("chromium exited without a DevTools endpoint:\n%s", tail.String())
		}
		return u, nil
	case <-time.After(30 * time.Second):
		return "", fmt.Errorf("chromium announced no DevTools endpoint within 30s:\n%s", tail.String())
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// pageTarget returns the websocket of the browser's page (about:blank).
func pageTarget(ctx context.Context, browserWS string) (string, error) {
	m := regexp.MustCompile(`^ws://(127\.0\.0\.1:\d+)/`).FindStringSubmatch(browserWS)
	if m == nil {
		return "", fmt.Errorf("unexpected DevTools URL %q", browserWS)
	}
	var ws string
	err := proc.Poll(ctx, 20*time.Second, func() (bool, error) {
		resp, err := http.Get("http://" + m[1] + "/json/list")
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		var targets []struct {
			Type string `json:"type"`
			WS   string `json:"webSocketDebuggerUrl"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
			return false, nil
		}
		for _, tg := range targets {
			if tg.Type == "page" && tg.WS != "" {
				ws = tg.WS
				return true, nil
			}
		}
		return false, nil
	})
	return ws, err
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// copyTree copies the files git tracks under root (every regular file but
// .git when root is not a git checkout) to dst and returns dst.
func copyTree(t *testing.T, root, dst string) string {
	t.Helper()
	var files []string
	if out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output(); err == nil {
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
	} else {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == ".git" {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				rel, _ := filepath.Rel(root, p)
				files = append(files, rel)
			}
			return nil
		})
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("copied %d tracked files to %s", len(files), dst)
	return dst
}
