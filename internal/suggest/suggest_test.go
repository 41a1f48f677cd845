package suggest

import (
	"reflect"
	"testing"
)

func TestNearest(t *testing.T) {
	names := []string{"generate", "gen", "topk", "tokens", "attention", "run"}
	for _, c := range []struct {
		in   string
		n    int
		want []string
	}{
		{"genrate", 1, []string{"generate"}},
		{"tokns", 2, []string{"tokens"}},
		{"atten", 1, []string{"attention"}},
		{"zzzzzzzz", 3, nil},
		{"rn", 1, []string{"run"}},
	} {
		if got := Nearest(c.in, names, c.n); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Nearest(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	if d := Distance("kitten", "sitting"); d != 3 {
		t.Errorf("Distance = %d", d)
	}
}
