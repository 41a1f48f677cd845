package course

import (
	"math"
	"testing"

	"github.com/memwall/memwall/engine"
)

func TestIntensityVerdicts(t *testing.T) {
	c110, _ := engine.Shape("stories110M")
	r, err := Intensity("stories110M", c110, 10)
	if err != nil {
		t.Fatal(err)
	}
	cs := r.Conclusions()
	if v := verdict(t, cs, "fp32_intensity"); v != DoesNotHold {
		t.Errorf("fp32 at 0.5 FLOP/byte: %q", v)
	}
	if v := verdict(t, cs, "int8_intensity"); v != Holds {
		t.Errorf("int8 group 64 (1.88 FLOP/byte): %q", v)
	}
	if c, _ := cs.Find("paper_93"); math.Abs(c.Evidence["paper_share"]-(1-200.0/3000)) > 1e-12 || math.Abs(c.Evidence["fp32_share"]-(1-50.0/3000)) > 1e-12 {
		t.Errorf("93%% derivation: %v", c.Evidence)
	}
	// Group size 4 (stories260K): a 4-byte scale per 4 weights, 2 bytes per weight.
	c260, _ := engine.Shape("stories260K")
	r, _ = Intensity("stories260K", c260, 0)
	if v := verdict(t, r.Conclusions(), "int8_intensity"); v != DoesNotHold {
		t.Errorf("int8 group 4 (1 FLOP/byte): %q", v)
	}
	if _, err := Intensity("x", c260, c260.SeqLen); err == nil {
		t.Error("position past the context accepted")
	}
}
