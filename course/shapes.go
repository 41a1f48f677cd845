package course

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// LLCBytes is the size of the largest CPU cache Linux reports (0 when
// unknown).
func LLCBytes() int64 {
	var best int64
	dirs, _ := filepath.Glob("/sys/devices/system/cpu/cpu0/cache/index*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "size"))
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		mul := int64(1)
		switch {
		case strings.HasSuffix(v, "K"):
			mul, v = 1<<10, strings.TrimSuffix(v, "K")
		case strings.HasSuffix(v, "M"):
			mul, v = 1<<20, strings.TrimSuffix(v, "M")
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n*mul > best {
			best = n * mul
		}
	}
	return best
}

// ShapeRow is one named shape's sizes, counted from its config.
type ShapeRow struct {
	Name                 string
	Config               engine.Config
	Tied, Untied, V2     int64 // file sizes: v0 tied, v0 untied, v2 (Q8_0)
	GroupSize            int
	FP32Bytes, Int8Bytes int64 // weight bytes per token (cost model)
}

// ShapesResult is the named shapes' parameters and bytes.
type ShapesResult struct {
	LLC  int64
	Rows []ShapeRow
}

// Shapes counts the files and the bytes per token of named shapes; llc is
// the largest cache (LLCBytes), 0 when unknown.
func Shapes(names []string, llc int64) (*ShapesResult, error) {
	r := &ShapesResult{LLC: llc}
	for _, n := range names {
		cfg, err := engine.Shape(n)
		if err != nil {
			return nil, err
		}
		row := ShapeRow{Name: n, Config: cfg, GroupSize: engine.DefaultGroupSize(cfg)}
		v0 := cfg
		v0.Version = engine.V0
		if row.Tied, err = v0.FileSize(); err != nil {
			return nil, err
		}
		v0.Shared = false
		if row.Untied, err = v0.FileSize(); err != nil {
			return nil, err
		}
		q := cfg
		q.Version, q.GroupSize = engine.V2, row.GroupSize
		if row.V2, err = q.FileSize(); err != nil {
			return nil, err
		}
		_, row.FP32Bytes = engine.TokenCost(cfg, engine.Encoding{}, 0)
		_, row.Int8Bytes = engine.TokenCost(cfg, engine.Encoding{Quantized: true, GroupSize: row.GroupSize}, 0)
		r.Rows = append(r.Rows, row)
	}
	return r, nil
}

// Conclusions: which shapes' weights per token fit in the cache (so the
// memory wall does not apply to them), and what int8 saves.
func (r *ShapesResult) Conclusions() Conclusions {
	var cs Conclusions
	for _, row := range r.Rows {
		c := Conclusion{ID: "fits_" + row.Name, Claim: row.Name + "'s fp32 weights per token fit in the largest CPU cache", Source: Counted,
			Evidence: ev("fp32_bytes_per_token", row.FP32Bytes, "llc_bytes", r.LLC, "int8_bytes_per_token", row.Int8Bytes)}
		switch {
		case r.LLC == 0:
			c.Verdict = Unsupported
			c.Text = "the cache size is unknown on this system"
		case row.FP32Bytes <= r.LLC:
			c.Verdict = Holds
			c.Text = fmt.Sprintf("%s per token against a %s cache: after the first token its weights can stay in cache, and DRAM bandwidth does not bound it",
				inspect.Human(float64(row.FP32Bytes), "B"), inspect.Human(float64(r.LLC), "B"))
		default:
			c.Verdict = DoesNotHold
			c.Text = fmt.Sprintf("%s per token, %.1f× the %s cache: every token streams its weights from DRAM", inspect.Human(float64(row.FP32Bytes), "B"),
				float64(row.FP32Bytes)/float64(r.LLC), inspect.Human(float64(r.LLC), "B"))
		}
		cs = append(cs, c)
	}
	return cs
}

// Bundle renders the table and conclusions.
func (r *ShapesResult) Bundle() inspect.Bundle {
	t := inspect.Table{Title: "The named shapes: parameters and bytes", Header: []string{"shape", "dim×layers", "heads/kv", "vocab", "parameters",
		"v0 file (tied)", "v0 file (untied)", "v2 file (Q8_0)", "fp32 bytes/token", "int8 bytes/token", "fits in cache"}}
	var rows []map[string]any
	for _, row := range r.Rows {
		cfg := row.Config
		fits := "unknown"
		if r.LLC > 0 {
			fits = map[bool]string{true: "yes", false: "no"}[row.FP32Bytes <= r.LLC]
		}
		h := func(v int64) string { return inspect.Human(float64(v), "B") }
		t.Rows = append(t.Rows, []string{row.Name, fmt.Sprintf("%d×%d", cfg.Dim, cfg.Layers), fmt.Sprintf("%d/%d", cfg.Heads, cfg.KVHeads), fmt.Sprint(cfg.Vocab),
			fmt.Sprintf("%d (%s)", cfg.Params(), inspect.Human(float64(cfg.Params()), "")), h(row.Tied), h(row.Untied), h(row.V2), h(row.FP32Bytes), h(row.Int8Bytes), fits})
		rows = append(rows, map[string]any{"shape": row.Name, "dim": cfg.Dim, "hidden_dim": cfg.HiddenDim, "layers": cfg.Layers, "heads": cfg.Heads, "kv_heads": cfg.KVHeads,
			"vocab": cfg.Vocab, "seq_len": cfg.SeqLen, "params": cfg.Params(), "v0_tied_bytes": row.Tied, "v0_untied_bytes": row.Untied, "v2_bytes": row.V2,
			"group_size": row.GroupSize, "fp32_bytes_per_token": row.FP32Bytes, "int8_bytes_per_token": row.Int8Bytes, "fits_llc": r.LLC > 0 && row.FP32Bytes <= r.LLC})
	}
	t.Note = fmt.Sprintf("parameters count a tied classifier once; bytes/token (counted by the cost model): every matrix once, the norms and one embedding row; v2 group size: llama2.c's rule; cache: the largest CPU cache Linux reports (%s)", inspect.Human(float64(r.LLC), "B"))
	cs := r.Conclusions()
	return inspect.Join([]inspect.Bundle{t.Bundle(), cs.Bundle()}, map[string]any{"llc_bytes": r.LLC, "shapes": rows, "conclusions": cs.JSON()})
}
