package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memwall/memwall/kernel"
)

// TestExploreWithJupyterClient runs %explore in the memwall kernel under
// Debian's jupyter_client, which plays the widget front end
// (testdata/explore_client.py): the layer slider's comm_open, an update to
// another layer answered with that layer's view within a second, comm_info,
// request_states, an out-of-range value.
func TestExploreWithJupyterClient(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import jupyter_client").Run(); err != nil {
		msg := "no " + py + " with jupyter_client; install python3-jupyter-client"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	root := t.TempDir()
	bin := filepath.Join(root, "memwall")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	prefix := filepath.Join(root, "prefix")
	// No model path: %load stories260K is the model built into the binary.
	if _, err := kernel.Install(kernel.InstallOptions{Name: "memwall-widgets-test", Executable: bin, Prefix: prefix}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/explore_client.py", "memwall-widgets-test")
	cmd.Dir = "."
	cmd.Env = append(os.Environ(), "MEMWALL_MODEL=",
		"JUPYTER_PATH="+filepath.Join(prefix, "share", "jupyter"),
		"JUPYTER_DATA_DIR="+filepath.Join(root, "data"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(root, "runtime"),
		"JUPYTER_CONFIG_DIR="+filepath.Join(root, "config"),
		"PYTHONDONTWRITEBYTECODE=1",
	)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("explore_client.py:\n%s", out)
	if err != nil {
		t.Fatalf("explore_client.py: %v", err)
	}
	if !strings.Contains(string(out), "view of layer 2 after") {
		t.Error("the script did not report the redraw time")
	}
}
