package magic

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memwall/memwall/builtin"
	"github.com/memwall/memwall/internal/pull"
	"github.com/memwall/memwall/kernel"
)

// TestPullMagic pulls the tokenizer from a loopback server: the progress
// display is one display_data updated in place, the result names the
// file and its SHA-256, and %pull --list then shows it present.
func TestPullMagic(t *testing.T) {
	f, _ := builtin.Lookup("tokenizer.bin")
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(rc)
	rc.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/tokenizer.bin" {
			http.NotFound(w, r)
			return
		}
		// Slow enough that progress is reported more than once.
		w.Header().Set("Content-Length", "433869")
		for i := 0; i < len(tok); i += 64 << 10 {
			w.Write(tok[i:min(i+64<<10, len(tok))])
			w.(http.Flusher).Flush()
			time.Sleep(60 * time.Millisecond)
		}
	}))
	defer srv.Close()
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	t.Setenv(pull.BaseURLEnv, srv.URL)
	s := isolate(t)
	t.Setenv("XDG_DATA_HOME", data)
	r := &updateRecorder{recorder: &recorder{}}
	if err := s.Execute(t.Context(), "%pull tokenizer", r); err != nil {
		t.Fatal(err)
	}
	if len(r.displays) < 2 || len(r.updates) < 3 || r.ids[0] == "" {
		t.Fatalf("%d displays, %d updates: want a progress display updated in place", len(r.displays), len(r.updates))
	}
	for _, id := range r.updateIDs {
		if id != r.ids[0] {
			t.Errorf("update of display %q, the progress display is %q", id, r.ids[0])
		}
	}
	if txt := r.updates[len(r.updates)-1].Data["text/plain"].(string); !strings.Contains(txt, "100%") {
		t.Errorf("last progress %q", txt)
	}
	if h := r.updates[0].Data["text/html"].(string); !strings.Contains(h, "<progress") {
		t.Errorf("progress HTML %q", h)
	}
	js := r.recorder.lastJSON(t)
	want := filepath.Join(data, "memwall", "models", "tokenizer.bin")
	if js["path"] != want || js["sha256"] != f.SHA256 || js["bytes"].(float64) != float64(f.Size) {
		t.Errorf("result %v", js)
	}
	if b, err := os.ReadFile(want); err != nil || !bytes.Equal(b, tok) {
		t.Errorf("pulled file: %v", err)
	}
	js = run(t, s, "%pull --list").lastJSON(t)
	found := false
	for _, e := range js["files"].([]any) {
		m := e.(map[string]any)
		if m["name"] == "tokenizer" {
			found = m["present"] == true
		}
	}
	if !found {
		t.Errorf("--list does not show the tokenizer present: %v", js)
	}
	// Unknown names get suggestions; a failed pull is an error.
	if err := s.Execute(t.Context(), "%pull stories15m", &recorder{}); err == nil || !strings.Contains(err.Error(), "did you mean stories15M") {
		t.Errorf("%%pull stories15m: %v", err)
	}
	if err := s.Execute(t.Context(), "%pull stories42M", &recorder{}); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("%%pull from a server without the file: %v", err)
	}
}

// updateRecorder also records the display id of each update.
type updateRecorder struct {
	*recorder
	updateIDs []string
}

func (r *updateRecorder) Update(b kernel.Bundle, id string) {
	r.recorder.Update(b, id)
	r.mu.Lock()
	r.updateIDs = append(r.updateIDs, id)
	r.mu.Unlock()
}
