package kernel_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memwall/memwall/kernel"
)

// pythonWithJupyterClient returns a Python that can import jupyter_client:
// $MEMWALL_TEST_PYTHON, else /usr/bin/python3 (Debian's
// python3-jupyter-client). Without one the test fails if CI=true and is
// skipped otherwise.
func pythonWithJupyterClient(t testing.TB) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3"}
	if p := os.Getenv("MEMWALL_TEST_PYTHON"); p != "" {
		candidates = []string{p}
	}
	for _, py := range candidates {
		if err := exec.Command(py, "-c", "import jupyter_client").Run(); err == nil {
			return py
		}
	}
	msg := "no python3 with jupyter_client (tried " + strings.Join(candidates, ", ") +
		"); install python3-jupyter-client or set MEMWALL_TEST_PYTHON"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildOut  []byte
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildPath != "" {
		os.RemoveAll(filepath.Dir(buildPath))
	}
	os.Exit(code)
}

// testKernelBinary builds kernel/internal/testkernel once per test run.
func testKernelBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "memwall-testkernel")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "testkernel")
		if runtime.GOOS == "windows" {
			buildPath += ".exe"
		}
		cmd := exec.Command("go", "build", "-o", buildPath, "./internal/testkernel")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building testkernel: %v\n%s", buildErr, buildOut)
	}
	return buildPath
}

func TestJupyterClient(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	py := pythonWithJupyterClient(t)
	bin := testKernelBinary(t)
	root := t.TempDir()
	prefix := filepath.Join(root, "prefix")
	var names []string
	for _, mode := range []string{"signal", "message"} {
		name := "toy-" + mode
		if _, err := kernel.Install(kernel.InstallOptions{
			Name: name, DisplayName: "toy (" + mode + ")", Language: "toy",
			Executable: bin, InterruptMode: mode, Prefix: prefix,
		}); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{"testdata/client_test.py"}, names...)...)
	cmd.Env = append(os.Environ(),
		"JUPYTER_PATH="+filepath.Join(prefix, "share", "jupyter"),
		"JUPYTER_DATA_DIR="+filepath.Join(root, "data"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(root, "runtime"),
		"JUPYTER_CONFIG_DIR="+filepath.Join(root, "config"),
		"PYTHONDONTWRITEBYTECODE=1",
	)
	cmd.WaitDelay = 5 * time.Second // a kernel left behind must not hold the output pipe
	out, err := cmd.CombinedOutput()
	t.Logf("client_test.py output:\n%s", out)
	if err != nil {
		t.Fatalf("client_test.py: %v", err)
	}
}
