package proc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWaitHTTP(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls++; calls < 3 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if err := WaitHTTP(context.Background(), 10*time.Second, srv.URL, nil); err != nil || calls != 3 {
		t.Errorf("WaitHTTP: %v after %d calls, want nil after 3", err, calls)
	}
	exited := make(chan struct{})
	close(exited)
	if err := WaitHTTP(context.Background(), 10*time.Second, srv.URL, exited); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("WaitHTTP on an exited server: %v", err)
	}
	if err := Poll(context.Background(), 300*time.Millisecond, func() (bool, error) { return false, nil }); err == nil {
		t.Error("Poll never done: no error")
	}
}

func TestOutputKeepsTheFirstMiB(t *testing.T) {
	var o Output
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for i := 0; i < 2<<10; i++ {
		if n, err := o.Write(line); n != len(line) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if n := len(o.String()); n != 1<<20 {
		t.Errorf("kept %d bytes, want %d", n, 1<<20)
	}
}
