package kernel

import "testing"

// TestReplayWindow: a digest is rejected while it is among the last n
// seen, and accepted again once n newer ones have pushed it out (memory
// stays bounded).
func TestReplayWindow(t *testing.T) {
	w := newReplayWindow(3)
	d := func(b byte) digest { return digest{b} }
	for _, b := range []byte{1, 2, 3} {
		if !w.add(d(b)) {
			t.Fatalf("fresh digest %d rejected", b)
		}
	}
	if w.add(d(2)) {
		t.Fatal("replayed digest accepted")
	}
	if !w.add(d(4)) { // evicts 1
		t.Fatal("fresh digest 4 rejected")
	}
	if !w.add(d(1)) { // 1 fell out of the window; evicts 2
		t.Fatal("digest older than the window still rejected")
	}
	if w.add(d(3)) || w.add(d(4)) || w.add(d(1)) {
		t.Fatal("digest inside the window accepted")
	}
	if len(w.seen) != 3 || len(w.ring) != 3 {
		t.Fatalf("window holds %d/%d digests, want 3", len(w.seen), len(w.ring))
	}
}
