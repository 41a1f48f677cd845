package pull

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memwall/memwall/builtin"
	"github.com/memwall/memwall/engine"
)

// testItem is a small model the tests serve: a synthetic checkpoint of
// the stories260K shape (1 MB), registered for the test's duration.
func testItem(t *testing.T) (Item, []byte) {
	t.Helper()
	it := Item{Name: "tiny", File: "tiny.bin", URL: "http://invalid.example/tiny.bin", Shape: "stories260K", What: "test"}
	old := Items
	Items = append(append([]Item(nil), Items...), it)
	t.Cleanup(func() { Items = old })
	return it, checkpoint(t, "stories260K")
}

func checkpoint(t *testing.T, shape string) []byte {
	t.Helper()
	return writeCheckpoint(t, shape, engine.Synthetic(7))
}

// zeros is a TensorSource of zero weights: quick to write at any size.
func zeros(t engine.TensorInfo) ([]float32, error) { return make([]float32, t.Elems()), nil }

func writeCheckpoint(t *testing.T, shape string, src engine.TensorSource) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), shape+".bin")
	c, err := engine.Shape(shape)
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.WriteCheckpoint(p, c, src); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// server serves files by name with http.ServeContent (so Range works)
// unless a behaviour is set, and logs each request's Range header.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	files  map[string][]byte
	ranges []string
	// serve, when set, handles the request instead (n counts requests
	// from 1).
	serve func(w http.ResponseWriter, r *http.Request, n int)
}

func newServer(t *testing.T, files map[string][]byte) *server {
	s := &server{files: files}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		n, serve := len(s.ranges), s.serve
		s.mu.Unlock()
		if serve != nil {
			serve(w, r, n)
			return
		}
		s.plain(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) plain(w http.ResponseWriter, r *http.Request) {
	b, ok := s.files[strings.TrimPrefix(r.URL.Path, "/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

func (s *server) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

// cut sends the headers of the whole file and the first n bytes, then
// drops the connection.
func cut(w http.ResponseWriter, b []byte, n int) {
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	w.Write(b[:n])
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

// noFiles checks that nothing is left under the final name (nor, when
// part is true, a partial file).
func noFiles(t *testing.T, dir, file string, part bool) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, file)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left under its final name (%v)", file, err)
	}
	if _, err := os.Stat(filepath.Join(dir, file+".part")); part && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.part left behind (%v)", file, err)
	}
}

func TestPullProgressAndDigest(t *testing.T) {
	it, data := testItem(t)
	srv := newServer(t, map[string][]byte{it.File: data})
	dir := t.TempDir()
	var ps []Progress
	r, err := Pull(context.Background(), it.Name, Options{Dir: dir, BaseURL: srv.URL, Interval: time.Nanosecond, Progress: func(p Progress) { ps = append(ps, p) }})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, it.File))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file differs from what was served (%v)", err)
	}
	if r.SHA256 != sum(data) || r.Size != int64(len(data)) || r.Downloaded != int64(len(data)) || r.Resumed != 0 || r.AlreadyPresent {
		t.Errorf("result %+v", r)
	}
	if len(ps) < 3 {
		t.Fatalf("%d progress reports for %d bytes", len(ps), len(data))
	}
	for i := 1; i < len(ps); i++ {
		if ps[i].Done < ps[i-1].Done || ps[i].Total != int64(len(data)) {
			t.Fatalf("progress %d: %+v after %+v", i, ps[i], ps[i-1])
		}
	}
	last := ps[len(ps)-1]
	if !last.Finished || last.Done != last.Total || last.Rate <= 0 {
		t.Errorf("last progress %+v", last)
	}
	if l := ps[len(ps)/2].Line(10); !strings.Contains(l, "[") || !strings.Contains(l, "%") || !strings.Contains(l, "MB") || !strings.Contains(l, "left") {
		t.Errorf("progress line %q", l)
	}
	noFiles(t, dir, "nonexistent", true)
	if _, err := os.Stat(filepath.Join(dir, it.File+".part")); !errors.Is(err, os.ErrNotExist) {
		t.Error(".part left after success")
	}
	// Pulling again finds the file, checks it, fetches nothing.
	n := len(srv.log())
	r, err = Pull(context.Background(), it.Name, Options{Dir: dir, BaseURL: srv.URL})
	if err != nil || !r.AlreadyPresent || r.SHA256 != sum(data) || len(srv.log()) != n {
		t.Errorf("second pull: %+v, %v, %d requests", r, err, len(srv.log())-n)
	}
	found := false
	for _, st := range List(dir) {
		if st.Name == it.Name {
			found = st.Present
		}
	}
	if !found {
		t.Error("List does not show the pulled file as present")
	}
}

func TestPullResumesAfterCut(t *testing.T) {
	it, data := testItem(t)
	srv := newServer(t, map[string][]byte{it.File: data})
	half := len(data)/2 + 123
	srv.serve = func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			cut(w, data, half)
		}
		srv.plain(w, r)
	}
	dir := t.TempDir()
	r, err := Pull(context.Background(), it.Name, Options{Dir: dir, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(r.Path); !bytes.Equal(got, data) || r.SHA256 != sum(data) {
		t.Fatal("resumed file differs from the served one")
	}
	log := srv.log()
	if len(log) != 2 || log[0] != "" || log[1] != fmt.Sprintf("bytes=%d-", half) {
		t.Errorf("requests' Range headers %q; want none, then bytes=%d-", log, half)
	}
	if r.Downloaded != int64(len(data)) {
		t.Errorf("downloaded %d bytes in all, want %d (half, then the rest)", r.Downloaded, len(data))
	}
}

func TestPullResumesAcrossCalls(t *testing.T) {
	it, data := testItem(t)
	srv := newServer(t, map[string][]byte{it.File: data})
	half := len(data) / 3
	srv.serve = func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			cut(w, data, half)
		}
		srv.plain(w, r)
	}
	dir := t.TempDir()
	_, err := Pull(context.Background(), it.Name, Options{Dir: dir, BaseURL: srv.URL, Retries: -1})
	if err == nil || !strings.Contains(err.Error(), "connection was cut") || !strings.Contains(err.Error(), "resumes") {
		t.Fatalf("cut without retries: %v", err)
	}
	noFiles(t, dir, it.File, false)
	if fi, err := os.Stat(filepath.Join(dir, it.File+".part")); err != nil || fi.Size() != int64(half) {
		t.Fatalf("partial file: %v, %v", fi, err)
	}
	r, err := Pull(context.Background(), it.Name, Options{Dir: dir, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if r.Resumed != int64(half) || r.Downloaded != int64(len(data)-half) || r.SHA256 != sum(data) {
		t.Errorf("resumed %d, downloaded %d, digest %s", r.Resumed, r.Downloaded, r.SHA256)
	}
	if log := srv.log(); log[len(log)-1] != fmt.Sprintf("bytes=%d-", half) {
		t.Errorf("second call's Range %q", log[len(log)-1])
	}
}

func TestPullServerIgnoringRangeStartsOver(t *testing.T) {
	it, data := testItem(t)
	srv := newServer(t, map[string][]byte{it.File: data})
	srv.serve = func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			cut(w, data, 1000)
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data) // 200 with the whole file, whatever Range says
	}
	dir := t.TempDir()
	r, err := Pull(context.Background(), it.Name, Options{Dir: dir, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(r.Path); !bytes.Equal(got, data) {
		t.Fatal("file differs after a restart from byte 0")
	}
}

func TestPullRejects(t *testing.T) {
	it, data := testItem(t)
	badHeader := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(badHeader[0:], 96) // dim 96: another shape, same size
	// 4 heads over 2 kv heads with seq_len 256 give the same file size as
	// stories260K's 8 over 4 with 512: only the header tells them apart.
	otherShape := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(otherShape[12:], 4)
	binary.LittleEndian.PutUint32(otherShape[16:], 2)
	binary.LittleEndian.PutUint32(otherShape[24:], 256)
	nan := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(nan[len(nan)/2&^3:], math.Float32bits(float32(math.NaN())))
	garbage := bytes.Repeat([]byte{0xff}, len(data))
	html := []byte("<!DOCTYPE html><html><body>Sign in to continue</body></html>")
	for _, c := range []struct {
		name  string
		serve func(w http.ResponseWriter, r *http.Request, n int)
		want  []string
	}{
		{"truncated, served as complete", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Length", fmt.Sprint(len(data)/2))
			w.Write(data[:len(data)/2])
		}, []string{"exactly", fmt.Sprint(len(data))}},
		{"truncated, no length", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.(http.Flusher).Flush() // chunked: no Content-Length
			w.Write(data[:len(data)-4096])
		}, []string{"ended after", "not the expected file"}},
		{"truncated, server supports Range", func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				cut(w, data, len(data)-8192) // as if the file were complete
			}
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data[:len(data)-8192]))
		}, []string{"ends before byte", "HTTP 416", "not the expected file"}},
		{"longer than the shape", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Write(append(append([]byte(nil), data...), 0, 0, 0, 0))
		}, []string{"more than", fmt.Sprint(len(data))}},
		{"bad header", func(w http.ResponseWriter, r *http.Request, n int) { w.Write(badHeader) }, []string{"not a valid tiny", "header implies"}},
		{"other shape, same size", func(w http.ResponseWriter, r *http.Request, n int) { w.Write(otherShape) }, []string{"not the stories260K shape", "heads 4/2"}},
		{"NaN weight", func(w http.ResponseWriter, r *http.Request, n int) { w.Write(nan) }, []string{"corrupt", "NaN", "byte offset"}},
		{"garbage", func(w http.ResponseWriter, r *http.Request, n int) { w.Write(garbage) }, []string{"not a valid tiny"}},
		{"HTML page", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(html)
		}, []string{"web page", "not a checkpoint"}},
		{"HTML page as octet-stream", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(append(html, make([]byte, len(data)-len(html))...))
		}, []string{"web page", "not a checkpoint"}},
		{"HTTP 404", func(w http.ResponseWriter, r *http.Request, n int) { http.NotFound(w, r) }, []string{"HTTP 404 Not Found", "/tiny.bin"}},
		{"HTTP 503", func(w http.ResponseWriter, r *http.Request, n int) {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}, []string{"HTTP 503"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, nil)
			srv.serve = c.serve
			dir := t.TempDir()
			_, err := Pull(context.Background(), it.Name, Options{Dir: dir, BaseURL: srv.URL})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			noFiles(t, dir, it.File, true)
		})
	}
}

func TestPullNoNetwork(t *testing.T) {
	it, _ := testItem(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	dir := t.TempDir()
	_, err = Pull(context.Background(), it.Name, Options{Dir: dir, BaseURL: "http://" + addr})
	var ne *NetworkError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "cannot reach "+addr) || !strings.Contains(err.Error(), "network connection") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("no network: %v", err)
	}
	noFiles(t, dir, it.File, true)
}

func TestPullInterrupted(t *testing.T) {
	it, data := testItem(t)
	srv := newServer(t, nil)
	srv.serve = func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:len(data)/4])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // stall until the client goes away
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Pull(ctx, it.Name, Options{Dir: dir, BaseURL: srv.URL, Interval: time.Nanosecond, Progress: func(p Progress) {
		if p.Done > 0 {
			cancel()
		}
	}})
	if err == nil || !strings.Contains(err.Error(), "interrupted") || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "resumes") {
		t.Fatalf("interrupted pull: %v", err)
	}
	noFiles(t, dir, it.File, false)
}

func TestPullRealShapeAndTokenizer(t *testing.T) {
	// stories15M as memwall's writer makes it: the exact size and header
	// the real file has (zero weights, which are quick to write).
	data := writeCheckpoint(t, "stories15M", zeros)
	tf, _ := builtin.Lookup("tokenizer.bin")
	rc, err := tf.Open()
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(rc)
	rc.Close()
	srv := newServer(t, map[string][]byte{"stories15M.bin": data, "tokenizer.bin": tok})
	dir := t.TempDir()
	t.Setenv(BaseURLEnv, srv.URL)
	for _, c := range []struct {
		name string
		data []byte
	}{{"stories15M", data}, {"tokenizer", tok}} {
		r, err := Pull(context.Background(), c.name, Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if r.Size != int64(len(c.data)) || r.SHA256 != sum(c.data) || r.Source != srv.URL+"/"+r.File {
			t.Errorf("%s: %+v", c.name, r)
		}
	}
	// A different, valid tokenizer is not llama2.c's.
	other := append([]byte(nil), tok...)
	other[len(other)-1] ^= 1
	srv.files["tokenizer.bin"] = other
	os.Remove(filepath.Join(dir, "tokenizer.bin"))
	if _, err := Pull(context.Background(), "tokenizer", Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("altered tokenizer: %v", err)
	}
	noFiles(t, dir, "tokenizer.bin", true)
}

func TestLookupSuggests(t *testing.T) {
	_, err := Lookup("stories51M")
	if err == nil || !strings.Contains(err.Error(), "did you mean stories15M") || !strings.Contains(err.Error(), "stories110M") {
		t.Errorf("Lookup(stories51M): %v", err)
	}
	_, err = Lookup("nosuch")
	if err == nil || !strings.Contains(err.Error(), "knows stories15M, stories42M, stories110M, tokenizer") {
		t.Errorf("Lookup(nosuch): %v", err)
	}
	for _, it := range Items {
		if it.Size() <= 0 {
			t.Errorf("%s: size %d", it.Name, it.Size())
		}
	}
	// The real files' sizes (from their headers).
	if it, _ := Lookup("stories110M"); it.Size() != 438381596 {
		t.Errorf("stories110M size %d", it.Size())
	}
}
