package jupyterlab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/memwall/memwall/internal/testdata"
	"github.com/memwall/memwall/tests/internal/proc"
)

const (
	chromiumPath = "/usr/bin/chromium"
	pythonPath   = "/usr/bin/python3" // Debian's, where jupyter_server lives
)

// lab is one running fixture: the server, the browser and its page.
type lab struct {
	t         *testing.T
	ctx       context.Context // chromedp's, for the whole test
	base      string          // http://127.0.0.1:PORT
	token     string
	artefacts string

	mu       sync.Mutex
	problems []string // uncaught exceptions and console errors in the page
}

func TestJupyterLab(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JupyterLab fixture, starts jupyter_server and Chromium")
	}
	proc.Need(t, proc.Executable(chromiumPath), "Chromium ("+chromiumPath+", Debian package chromium)")
	proc.Need(t, proc.Executable(pythonPath) && exec.Command(pythonPath, "-c", "import jupyter_server, jupyterlab_server").Run() == nil,
		"jupyter_server and jupyterlab_server for "+pythonPath+" (Debian packages python3-jupyter-server, python3-jupyterlab-server)")
	_, err := exec.LookPath("npm")
	proc.Need(t, err == nil, "npm (Debian package npm)")

	root := testdata.Root()
	tmp := t.TempDir()
	l := &lab{t: t, token: uuid.NewString()}
	l.artefacts = os.Getenv("MEMWALL_ARTIFACTS")
	if l.artefacts == "" {
		l.artefacts = filepath.Join(os.TempDir(), "memwall-jupyterlab-"+time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(l.artefacts, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", l.artefacts)

	// The fixture, from the cache when the lockfile has not changed.
	start := time.Now()
	var buildLog bytes.Buffer
	build := exec.Command("bash", filepath.Join(root, "tests", "jupyterlab", "build.sh"))
	build.Stderr = &buildLog
	out, err := build.Output()
	if err != nil {
		t.Fatalf("building the JupyterLab fixture: %v\n%s", err, buildLog.String())
	}
	fixture := strings.TrimSpace(string(out))
	t.Logf("fixture %s ready in %v: %s", fixture, time.Since(start).Round(time.Millisecond), strings.TrimSpace(buildLog.String()))

	// memwall and its kernelspec in a prefix of the test's own.
	_, prefix := proc.InstallMemwall(t, root, tmp)

	// Notebooks: run/ gets the ones the test executes, read/ the committed
	// course as a reader opens it. Copies, so that running and autosave leave
	// the repository alone; a fresh JUPYTER_DATA_DIR has no signatures, so
	// every notebook opens untrusted.
	nbDir := filepath.Join(tmp, "nb")
	for _, d := range []string{"run", "read"} {
		if err := os.MkdirAll(filepath.Join(nbDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	course, _ := filepath.Glob(filepath.Join(root, "notebooks", "*.ipynb"))
	for _, src := range course {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{"run", "read"} {
			if err := os.WriteFile(filepath.Join(nbDir, d, filepath.Base(src)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The server on loopback with a token.
	port := proc.FreePort(t)
	l.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	server := exec.Command(pythonPath, filepath.Join(root, "tests", "jupyterlab", "app", "serve.py"), fixture,
		"--ServerApp.ip=127.0.0.1", "--ServerApp.port="+strconv.Itoa(port), "--ServerApp.port_retries=0",
		"--ServerApp.token="+l.token, "--ServerApp.root_dir="+nbDir, "--ServerApp.open_browser=False")
	if os.Geteuid() == 0 {
		server.Args = append(server.Args, "--ServerApp.allow_root=True")
	}
	server.Env = append(proc.JupyterEnv(prefix, tmp),
		"MEMWALL_LAB_STATE="+filepath.Join(tmp, "labstate"),
		"MEMWALL_MODEL="+filepath.Dir(testdata.Model("stories260K.bin")),
	)
	serverLog := &proc.Output{}
	server.Stdout, server.Stderr = serverLog, serverLog
	serverDone := proc.StartGroup(t, server)
	defer func() {
		if t.Failed() {
			t.Logf("jupyter_server log:\n%s", serverLog.String())
		}
	}()
	if err := proc.WaitHTTP(context.Background(), 60*time.Second, l.base+"/api/status?token="+l.token, serverDone); err != nil {
		t.Fatalf("jupyter_server not up: %v", err)
	}

	// Headless Chromium, driven by chromedp.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(filepath.Join(tmp, "chromium")),
		chromedp.WindowSize(1280, 1400),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithListener(l.listen))
	defer cancelCtx()
	l.ctx = ctx

	// JupyterLab itself.
	start = time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(l.base+"/lab?token="+l.token)); err != nil {
		t.Fatalf("opening JupyterLab: %v", err)
	}
	ready, err := l.wait(90*time.Second, `document.body && document.body.dataset.memwallReady`)
	if err != nil || ready != "true" {
		l.shot("lab-start-failed")
		t.Fatalf("JupyterLab did not start (%q, %v); page problems:\n%s", ready, err, l.pageProblems())
	}
	if err := l.eval(pageHelpers, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("JupyterLab started in %v", time.Since(start).Round(time.Millisecond))

	t.Run("reader", l.testReader)
	t.Run("quickstart", l.testQuickstart)
	t.Run("widgets", l.testWidgets)
	if p := l.pageProblems(); p != "" {
		t.Logf("problems the page reported (not failures by themselves):\n%s", p)
	}
}

// listen collects what goes wrong in the page, for the failure messages.
func (l *lab) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *cdpruntime.EventExceptionThrown:
		msg = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
	case *cdpruntime.EventConsoleAPICalled:
		if ev.Type != cdpruntime.ConsoleAPICalledTypeError && ev.Type != cdpruntime.ConsoleAPICalledTypeWarning {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			if a.Description != "" {
				parts = append(parts, a.Description)
			} else {
				parts = append(parts, string(a.Value))
			}
		}
		msg = string(ev.Type) + ": " + strings.Join(parts, " ")
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.problems) < 200 {
		l.problems = append(l.problems, clip(msg, 600))
	}
}

func (l *lab) pageProblems() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.problems, "\n")
}

// eval evaluates a JavaScript expression in the page, awaiting a promise,
// and decodes its value into v (nil: ignored).
func (l *lab) eval(expr string, v any) error {
	ctx, cancel := context.WithTimeout(l.ctx, 60*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("%s: %w", clip(expr, 80), err)
	}
	if v == nil || len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// wait polls expr until it is truthy and returns its value as a string.
func (l *lab) wait(limit time.Duration, expr string) (string, error) {
	var got string
	err := proc.Poll(l.ctx, limit, func() (bool, error) {
		var v any
		if err := l.eval(expr, &v); err != nil {
			return false, err
		}
		switch v := v.(type) {
		case nil:
			return false, nil
		case bool:
			got = strconv.FormatBool(v)
			return v, nil
		case string:
			got = v
			return v != "", nil
		default:
			b, _ := json.Marshal(v)
			got = string(b)
			return true, nil
		}
	})
	return got, err
}

// shot writes a PNG screenshot of the window.
func (l *lab) shot(name string) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(l.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil || len(png) < 8 || string(png[1:4]) != "PNG" {
		l.t.Errorf("screenshot %s: %v (%d bytes)", name, err, len(png))
		return
	}
	path := filepath.Join(l.artefacts, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		l.t.Errorf("screenshot: %v", err)
		return
	}
	l.t.Logf("screenshot: %s", path)
}

// open opens a notebook (a path under the server's root) in JupyterLab,
// closing whatever was open, and waits for its memwall kernel if asked to
// (JupyterLab starts one either way).
func (l *lab) open(path string, kernel bool) {
	l.t.Helper()
	if err := l.eval(fmt.Sprintf(`mwt.open(%q)`, path), nil); err != nil {
		l.shot("open-failed")
		l.t.Fatalf("opening %s: %v\npage problems:\n%s", path, err, l.pageProblems())
	}
	if !kernel {
		return
	}
	impl, err := l.wait(60*time.Second, `mwt.kernelReady()`)
	if err != nil || impl != "memwall" {
		l.shot("kernel-failed")
		l.t.Fatalf("%s: no memwall kernel (%q, %v)\npage problems:\n%s", path, impl, err, l.pageProblems())
	}
}

// outputInfo is what the page shows for one output of a code cell.
type outputInfo struct {
	Cell     int      // index among the notebook's cells
	Type     string   // output_type in the model
	Bundle   []string // MIME types in the model's bundle
	Rendered string   // data-mime-type of the renderer JupyterLab chose
	Picture  bool     // the model's bundle has a picture (SVG, or SVG inside HTML)
	Shown    bool     // an svg with content or a decoded img is in the rendered output
	Trusted  bool     // the cell's outputs are trusted
	Text     string   // the rendered output's text, clipped
}

// outputs reads every output of the open notebook, model and page side by side.
func (l *lab) outputs() []outputInfo {
	l.t.Helper()
	var out []outputInfo
	if err := l.eval(`mwt.outputs()`, &out); err != nil {
		l.t.Fatal(err)
	}
	return out
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
