package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestNPYRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		shape []int
		n     int
	}{{[]int{}, 1}, {[]int{5}, 5}, {[]int{2, 3}, 6}, {[]int{2, 3, 4}, 24}, {[]int{0, 7}, 0}, {[]int{1, 1, 1, 1, 1, 3}, 3}}
	for _, c := range cases {
		data := make([]float32, c.n)
		for i := range data {
			data[i] = float32(i)*0.5 - 1
		}
		if c.n > 2 {
			data[1] = float32(math.Inf(-1))
			data[2] = float32(math.NaN())
		}
		path := filepath.Join(dir, fmt.Sprintf("a%v.npy", c.shape))
		if err := WriteNPY(path, c.shape, data); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(path)
		if !bytes.HasPrefix(raw, []byte("\x93NUMPY\x01\x00")) {
			t.Fatalf("bad magic: %q", raw[:8])
		}
		hlen := int(raw[8]) | int(raw[9])<<8
		if (10+hlen)%64 != 0 || raw[10+hlen-1] != '\n' || len(raw) != 10+hlen+4*c.n {
			t.Errorf("shape %v: header length %d, file %d bytes", c.shape, hlen, len(raw))
		}
		shape, got, err := ReadNPY(path)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(shape) != fmt.Sprint(c.shape) || len(got) != c.n {
			t.Errorf("shape %v read back as %v (%d values)", c.shape, shape, len(got))
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(data[i]) {
				t.Errorf("shape %v value %d: %v != %v", c.shape, i, got[i], data[i])
				break
			}
		}
	}
	h, _ := npyHeader([]int{3})
	if !strings.Contains(string(h), "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }") {
		t.Errorf("1-d header: %q", h)
	}
}

func TestNPYBadShape(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.npy")
	for _, shape := range [][]int{{2, 2}, {-1, -3}, {}} {
		if err := WriteNPY(path, shape, []float32{1, 2, 3}); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("shape %v: err = %v", shape, err)
		}
	}
	assertOnly(t, dir)
}

// failAfter fails every write once n bytes have gone through.
type failAfter struct {
	w io.Writer
	n int
}

var errDiskFull = errors.New("no space left on device (simulated)")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errDiskFull
	}
	if len(p) > f.n {
		k, _ := f.w.Write(p[:f.n])
		f.n = 0
		return k, errDiskFull
	}
	f.n -= len(p)
	return f.w.Write(p)
}

// assertOnly fails if dir holds files other than the named ones.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if fmt.Sprint(got) != fmt.Sprint(names) {
		t.Errorf("directory holds %v, want %v", got, names)
	}
}

func TestNPYAtomicFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "acts.npy")
	data := make([]float32, 300_000) // larger than the write buffer
	// A failure part-way leaves no file and names the path.
	err := writeNPYAtomic(path, []int{len(data)}, data, func(w io.Writer) io.Writer { return &failAfter{w: w, n: 500_000} })
	if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v", err)
	}
	assertOnly(t, dir)

	// With an existing file, a failed rewrite leaves it intact.
	if err := WriteNPY(path, []int{2}, []float32{1, 2}); err != nil {
		t.Fatal(err)
	}
	err = writeNPYAtomic(path, []int{len(data)}, data, func(w io.Writer) io.Writer { return &failAfter{w: w, n: 0} })
	if err == nil {
		t.Fatal("expected an error")
	}
	assertOnly(t, dir, "acts.npy")
	if shape, got, err := ReadNPY(path); err != nil || shape[0] != 2 || got[1] != 2 {
		t.Errorf("old file damaged: %v %v %v", shape, got, err)
	}

	// A directory that does not exist.
	missing := filepath.Join(dir, "nope", "x.npy")
	if err := WriteNPY(missing, []int{1}, []float32{1}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing dir: %v", err)
	}
}

func TestNPYDevFull(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/dev/full is Linux-only")
	}
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer f.Close()
	if err := EncodeNPY(f, []int{4}, []float32{1, 2, 3, 4}); err == nil {
		t.Error("writing to /dev/full succeeded")
	}
}

func TestDecodeNPYErrors(t *testing.T) {
	var good bytes.Buffer
	EncodeNPY(&good, []int{2, 2}, []float32{1, 2, 3, 4})
	g := good.Bytes()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("XNUMPY"), g[6:]...),
		"truncated": g[:len(g)-3],
		"dtype":     bytes.Replace(g, []byte("<f4"), []byte("<f8"), 1),
		"fortran":   bytes.Replace(g, []byte("False"), []byte("True "), 1),
		"version":   append(append([]byte{}, g[:6]...), append([]byte{9, 0}, g[8:]...)...),
	} {
		if _, _, err := DecodeNPY(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, _, err := ReadNPY(filepath.Join(t.TempDir(), "missing.npy")); err == nil {
		t.Error("missing file read")
	}
}

// TestNPYWithNumPy checks the file against NumPy itself, if it is installed.
func TestNPYWithNumPy(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s cannot import numpy: %v", py, err)
		}
		t.Skipf("numpy not available (%v); install python3-numpy to run this test", err)
	}
	path := filepath.Join(t.TempDir(), "m.npy")
	data := make([]float32, 2*3*5)
	for i := range data {
		data[i] = float32(i)*0.25 - 3
	}
	if err := WriteNPY(path, []int{2, 3, 5}, data); err != nil {
		t.Fatal(err)
	}
	script := `import json, sys, numpy as np
a = np.load(sys.argv[1])
print(json.dumps({"shape": list(a.shape), "dtype": a.dtype.str, "c": bool(a.flags.c_contiguous),
                  "v": a[1, 2, 3].item(), "flat": a.ravel().tolist()}))`
	out, err := exec.Command(py, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy failed: %v\n%s", err, out)
	}
	var r struct {
		Shape []int
		Dtype string
		C     bool
		V     float64
		Flat  []float64
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if fmt.Sprint(r.Shape) != "[2 3 5]" || r.Dtype != "<f4" || !r.C || len(r.Flat) != len(data) {
		t.Fatalf("numpy sees %+v", r)
	}
	if r.V != float64(data[1*15+2*5+3]) {
		t.Errorf("a[1,2,3] = %v, want %v", r.V, data[1*15+2*5+3])
	}
	for i, v := range r.Flat {
		if float32(v) != data[i] {
			t.Fatalf("value %d: numpy %v, ours %v", i, v, data[i])
		}
	}
	// And the other way: a file numpy wrote reads back with ReadNPY.
	p2 := filepath.Join(t.TempDir(), "np.npy")
	if out, err := exec.Command(py, "-c", `import sys, numpy as np
np.save(sys.argv[1], np.arange(12, dtype='<f4').reshape(3, 4) / 4)`, p2).CombinedOutput(); err != nil {
		t.Fatalf("numpy save: %v\n%s", err, out)
	}
	shape, got, err := ReadNPY(p2)
	if err != nil || fmt.Sprint(shape) != "[3 4]" || got[11] != 2.75 {
		t.Errorf("reading numpy's file: %v %v %v", shape, got, err)
	}
}
