package course

import (
	"strings"
	"testing"

	"github.com/memwall/memwall/inspect"
)

// A point above the DRAM roof is put down to the cache only when its
// model's weights fit in it.
func TestRooflineAboveRoof(t *testing.T) {
	r := &RooflineResult{Bandwidth: inspect.Spread{N: 3, Median: 10, Min: 10, Max: 10}, FP32Peak: 100, Int8Peak: 200,
		WeightBytes: 400 << 20, Int8WeightBytes: 16 << 20, LLC: 32 << 20}
	pt := func(group string, gflops float64) inspect.RooflinePoint {
		p := inspect.RooflinePoint{Name: "all ops", Group: group, Intensity: 0.5, GFLOPS: gflops, Memory: r.memRoof(), Compute: r.fp32Roof()}
		if strings.HasPrefix(group, "int8") {
			p.Compute = r.int8Roof()
		}
		return p
	}
	r.Points = []inspect.RooflinePoint{pt("fp32 decode", 4), pt("int8 decode", 4)}
	c, _ := r.Conclusions().Find("above_roof")
	if c.Verdict != Holds {
		t.Errorf("every point under its roof: %+v", c)
	}
	r.Points[1].GFLOPS = 9 // 1.8× the 5 GFLOP/s the DRAM roof allows at 0.5 FLOP/byte
	c, _ = r.Conclusions().Find("above_roof")
	if c.Verdict != DoesNotHold || c.Evidence["points_above_in_cache"] != 1 || !strings.Contains(c.Text, "not reading DRAM") {
		t.Errorf("int8 weights in cache: %+v", c)
	}
	r.Points[0].GFLOPS, r.Points[1].GFLOPS = 9, 4
	c, _ = r.Conclusions().Find("above_roof")
	if c.Verdict != DoesNotHold || c.Evidence["points_above_in_cache"] != 0 || strings.Contains(c.Text, "not reading DRAM") {
		t.Errorf("fp32 weights larger than the cache: %+v", c)
	}
	r.LLC = 0
	if c, _ = r.Conclusions().Find("above_roof"); !strings.Contains(c.Text, "unknown") {
		t.Errorf("unknown cache: %+v", c)
	}
}
