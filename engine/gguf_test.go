package engine

import (
	"context"
	"math"
	"testing"

	"github.com/memwall/memwall/internal/testdata"
)

func openGGUF(t testing.TB, name string) *Model {
	t.Helper()
	m, err := Open(testdata.GGUF(name), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestGGUFSmoke(t *testing.T) {
	m := openGGUF(t, "stories260K-f32.gguf")
	t.Logf("%+v", m.Config)
	s, err := NewState(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := m.Tok.Encode("Once upon a time", true, false)
	t.Log(ids)
	var logits []float32
	for i, id := range ids {
		logits, err = s.Forward(context.Background(), id, i)
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Log(Argmax(logits), logits[:3])
}

func TestGGUFWriteReadBack(t *testing.T) {
	src := openGGUF(t, "stories260K-f32.gguf")
	p := t.TempDir() + "/out.gguf"
	rep, err := WriteGGUF(p, src.Config, src.Tok, FromModel(src), GGUFWriteOptions{Type: GGMLF32})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	m, err := Open(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, ti := range src.Tensors {
		a, _, err := src.TensorValues(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := m.TensorValues(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d]: %v vs %v", ti.Name, i, a[i], b[i])
			}
		}
	}
}

// TestOpWeightBytes: the per-op weight bytes of the mixed Q8_0 file count
// ffn_down in f16 and the rest in 34-byte blocks of 32, and add up to
// WeightBytes with the norms.
func TestOpWeightBytes(t *testing.T) {
	m := openGGUF(t, "stories260K-q8_0.gguf")
	ob := m.OpWeightBytes()
	c := m.Config
	if want := int64(c.Layers * c.Dim * c.HiddenDim * 2); ob["w2"] != want {
		t.Errorf("w2 (f16): %d bytes, want %d", ob["w2"], want)
	}
	if want := int64(c.Layers * c.Dim * c.Dim / 32 * 34); ob["wq"] != want {
		t.Errorf("wq (q8_0 blocks): %d bytes, want %d", ob["wq"], want)
	}
	var sum int64
	for _, b := range ob {
		sum += b
	}
	norms := int64(4 * (2*c.Layers + 1) * c.Dim)
	if sum+norms != m.WeightBytes() {
		t.Errorf("ops %d + norms %d != WeightBytes %d", sum, norms, m.WeightBytes())
	}
}
