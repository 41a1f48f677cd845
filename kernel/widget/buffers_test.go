package widget

import (
	"reflect"
	"testing"
)

func TestBuffersRoundTrip(t *testing.T) {
	state := map[string]any{
		"top":  []byte{1},
		"list": []any{"x", []byte{2, 3}, map[string]any{"deep": []byte{4}}},
		"obj":  map[string]any{"k": []byte{5}, "keep": 1.0},
		"n":    7.0,
	}
	s, paths, bufs := removeBuffers(state)
	wantPaths := [][]any{{"list", 1}, {"list", 2, "deep"}, {"obj", "k"}, {"top"}}
	if !reflect.DeepEqual(paths, wantPaths) {
		t.Fatalf("paths %v, want %v", paths, wantPaths)
	}
	if !reflect.DeepEqual(bufs, [][]byte{{2, 3}, {4}, {5}, {1}}) {
		t.Fatalf("buffers %v", bufs)
	}
	// A list element becomes null, a map entry disappears; the input is untouched.
	if s["list"].([]any)[1] != nil || len(s["obj"].(map[string]any)) != 1 || s["top"] != nil {
		t.Errorf("state without buffers %v", s)
	}
	if _, ok := s["top"]; ok {
		t.Error("a top-level buffer key was kept")
	}
	if state["top"] == nil || state["list"].([]any)[1] == nil {
		t.Error("removeBuffers changed its input")
	}
	// The other side puts them back where they were (paths as JSON gives them).
	jsonPaths := [][]any{{"list", 1.0}, {"list", 2.0, "deep"}, {"obj", "k"}, {"top"}}
	putBuffers(s, jsonPaths, bufs)
	if !reflect.DeepEqual(s, state) {
		t.Errorf("round trip %v, want %v", s, state)
	}
	// Paths that do not fit are ignored, not a panic.
	before := len(s["obj"].(map[string]any))
	putBuffers(s, [][]any{{"n", 3.0}, {"list", 99.0}, {"list", -1.0}, {}, {"obj", 2.0}, {"obj", "new"}},
		[][]byte{{9}, {9}, {9}, {9}, {9}, {8}})
	if obj := s["obj"].(map[string]any); len(obj) != before+1 || !reflect.DeepEqual(obj["new"], []byte{8}) {
		t.Errorf("a good path after bad ones: %v", obj)
	}
}
