package magic

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/internal/testdata"
)

// copyFile copies src to dir and returns the new path.
func copyFile(t *testing.T, src, dir string) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Skipf("shared model missing: %v", err)
	}
	defer in.Close()
	dst := filepath.Join(dir, filepath.Base(src))
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestModelTruncatedWhileMapped: a checkpoint cut short under a loaded
// model (another process rewriting it, a full disk while copying) makes
// the next cell fail with an error that says so, instead of killing the
// kernel with SIGBUS; loading a good copy afterwards works.
func TestModelTruncatedWhileMapped(t *testing.T) {
	dir := t.TempDir()
	model := copyFile(t, testdata.Model("stories260K.bin"), dir)
	tok := copyFile(t, testdata.Model("tok512.bin"), dir)
	s := New(Options{WorkDir: dir, CacheDir: t.TempDir()})
	defer s.Close()
	ctx := context.Background()
	var r recorder
	if err := s.Execute(ctx, "%load "+model+" --tokenizer "+tok, &r); err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := s.Execute(ctx, "%generate -n 8 Once upon a time", &r); err != nil {
		t.Fatalf("generate before truncation: %v", err)
	}
	if err := os.Truncate(model, 4096); err != nil {
		t.Fatal(err)
	}
	var r2 recorder
	err := s.Execute(ctx, "%generate -n 8 Once upon a time", &r2)
	if err == nil {
		t.Fatalf("generate on a truncated model succeeded: %q", r2.text())
	}
	var fe *engine.FaultError
	if !errors.As(err, &fe) {
		t.Errorf("error %v (%T) does not wrap engine.FaultError", err, err)
	}
	var me *Error
	if !errors.As(err, &me) || me.Magic != "generate" {
		t.Errorf("error %#v is not a MagicError naming %%generate", err)
	}
	t.Logf("error after truncation: %v", err)
	// Analyses read the weights too.
	if err := s.Execute(ctx, "%topk", &r2); err == nil {
		t.Errorf("%%topk on a truncated model succeeded")
	}
	// A fresh copy loads and generates.
	good := copyFile(t, testdata.Model("stories260K.bin"), t.TempDir())
	var r3 recorder
	if err := s.Execute(ctx, "%load "+good+" --tokenizer "+tok+"\n%generate -n 8 Once upon a time", &r3); err != nil {
		t.Fatalf("load after the fault: %v", err)
	}
	if !strings.Contains(r3.stream.String(), "Once upon a time") {
		t.Errorf("generation after reload: %q", r3.stream.String())
	}
}

// TestSaveOnFullDisk: %save onto a full file system fails with a clear
// error and leaves neither the .npy nor a temporary file behind. It mounts
// a 64 KiB tmpfs (root only); without one it is skipped, unless CI=true.
func TestSaveOnFullDisk(t *testing.T) {
	dir := t.TempDir()
	mnt := filepath.Join(dir, "full")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt).CombinedOutput(); err != nil {
		msg := "cannot mount a small tmpfs to fill (needs root): " + strings.TrimSpace(string(out))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, out)
		}
	})
	// Fill it.
	f, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for i := 0; i < 1000; i++ {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling: %v", err)
			}
			break
		}
	}
	f.Close()

	model := testdata.Model("stories260K.bin")
	if _, err := os.Stat(model); err != nil {
		t.Skipf("shared model missing: %v", err)
	}
	s := New(Options{WorkDir: mnt, CacheDir: t.TempDir()})
	defer s.Close()
	ctx := context.Background()
	var r recorder
	if err := s.Execute(ctx, "%load "+model+" --tokenizer "+testdata.Model("tok512.bin")+
		"\n%generate -n 16 Once upon a time\n%cache blocks.0.hook_resid_post", &r); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(mnt, "resid.npy")
	err = s.Execute(ctx, "%save blocks.0.hook_resid_post "+target, &r)
	if err == nil {
		t.Fatalf("%%save on a full file system succeeded")
	}
	if !strings.Contains(err.Error(), "no space left") || !strings.Contains(err.Error(), "resid.npy") {
		t.Errorf("error %q should name the file and say the disk is full", err)
	}
	entries, _ := os.ReadDir(mnt)
	for _, e := range entries {
		if e.Name() != "filler" {
			t.Errorf("left behind on the full disk: %s", e.Name())
		}
	}
	// The same save to a disk with room works.
	ok := filepath.Join(dir, "resid.npy")
	if err := s.Execute(ctx, "%save blocks.0.hook_resid_post "+ok, &r); err != nil {
		t.Fatalf("%%save with room: %v", err)
	}
	if st, err := os.Stat(ok); err != nil || st.Size() < 128 {
		t.Errorf("saved file: %v %v", st, err)
	}
}

// TestAttentionLayerPanelTitles: %attention --layer L titles its panels
// "L<L> H<h>" (they said L0 for every layer, seen in the browser test's
// screenshot).
func TestAttentionLayerPanelTitles(t *testing.T) {
	model := testdata.Model("stories260K.bin")
	if _, err := os.Stat(model); err != nil {
		t.Skipf("shared model missing: %v", err)
	}
	s := New(Options{WorkDir: t.TempDir(), CacheDir: t.TempDir()})
	defer s.Close()
	var r recorder
	if err := s.Execute(context.Background(), "%load "+model+" --tokenizer "+testdata.Model("tok512.bin")+
		"\n%generate -n 0 Once upon a time\n%attention --layer 2", &r); err != nil {
		t.Fatal(err)
	}
	var svg string
	for _, d := range r.displays {
		if v, ok := d.Data["image/svg+xml"].(string); ok {
			svg = v
		}
		if v, ok := d.Data["text/html"].(string); ok && strings.Contains(v, "<svg") {
			svg = v
		}
	}
	if !strings.Contains(svg, ">L2 H0<") || strings.Contains(svg, ">L0 H") {
		i := strings.Index(svg, "H0<")
		t.Errorf("panel titles of layer 2 wrong: %q", svg[max(0, i-20):min(len(svg), i+10)])
	}
}
