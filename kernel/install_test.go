package kernel_test

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/memwall/memwall/kernel"
)

func TestInstallUninstall(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	t.Setenv("JUPYTER_DATA_DIR", data)
	prefix := t.TempDir()
	for _, tc := range []struct {
		opts kernel.InstallOptions
		dir  string
	}{
		{kernel.InstallOptions{Name: "memwall", DisplayName: "memwall (Llama 2)", Executable: exe, User: true}, filepath.Join(data, "kernels", "memwall")},
		{kernel.InstallOptions{Name: "mw", Executable: exe}, filepath.Join(data, "kernels", "mw")},
		{kernel.InstallOptions{Name: "mw", Executable: exe, Prefix: prefix, InterruptMode: "signal"}, filepath.Join(prefix, "share", "jupyter", "kernels", "mw")},
		{kernel.InstallOptions{Name: "mw2", Executable: exe, SysPrefix: prefix}, filepath.Join(prefix, "share", "jupyter", "kernels", "mw2")},
	} {
		dir, err := kernel.Install(tc.opts)
		if err != nil {
			t.Fatalf("%+v: %v", tc.opts, err)
		}
		if dir != tc.dir {
			t.Errorf("dir %s, want %s", dir, tc.dir)
		}
		b, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
		if err != nil {
			t.Fatal(err)
		}
		var spec struct {
			Argv          []string       `json:"argv"`
			DisplayName   string         `json:"display_name"`
			Language      string         `json:"language"`
			InterruptMode string         `json:"interrupt_mode"`
			Metadata      map[string]any `json:"metadata"`
		}
		if err := json.Unmarshal(b, &spec); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(spec.Argv, []string{exe, "kernel", "{connection_file}"}) || spec.DisplayName == "" || spec.Language == "" || spec.Metadata == nil {
			t.Errorf("spec %s", b)
		}
		wantMode := tc.opts.InterruptMode
		if wantMode == "" {
			wantMode = "message"
		}
		if spec.InterruptMode != wantMode {
			t.Errorf("interrupt_mode %q", spec.InterruptMode)
		}
		for _, size := range []int{32, 64} {
			f, err := os.Open(filepath.Join(dir, "logo-"+itoa(size)+"x"+itoa(size)+".png"))
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil || img.Bounds().Dx() != size || img.Bounds().Dy() != size {
				t.Errorf("logo %d: %v %v", size, err, img.Bounds())
			}
		}
		if got, err := kernel.Uninstall(tc.opts); err != nil || got != dir {
			t.Errorf("uninstall: %v %s", err, got)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s still there", dir)
		}
	}
	if _, err := kernel.Uninstall(kernel.InstallOptions{Name: "never"}); err == nil {
		t.Error("uninstalling a missing spec succeeded")
	}
	for _, bad := range []kernel.InstallOptions{
		{Name: "a/b", Executable: exe},
		{Name: "x", Executable: filepath.Join(data, "nope")},
		{Name: "x"},
		{Name: "x", Executable: exe, User: true, Prefix: prefix},
		{Name: "x", Executable: exe, InterruptMode: "carrier-pigeon"},
	} {
		if _, err := kernel.Install(bad); err == nil {
			t.Errorf("Install(%+v) succeeded", bad)
		}
	}
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }
