package magic

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// ggufCard is the part of the model card that only GGUF files have: the
// general.* metadata, the hyperparameters the file set, and every tensor's
// type. It returns nil for llama2.c files.
func (s *Interpreter) ggufCard() []inspect.Bundle {
	m := s.model
	g := m.GGUF
	if g == nil {
		return nil
	}
	meta := inspect.Table{Title: fmt.Sprintf("GGUF metadata of %s (general.*, and what the engine read)", filepath.Base(m.Path)),
		Header: []string{"key", "value"}, RowHeader: true, MaxCell: 120}
	for _, kv := range g.KV {
		if strings.HasPrefix(kv.Key, "general.") {
			meta.Rows = append(meta.Rows, []string{kv.Key, engine.FormatGGUFValue(kv.Value, 4)})
		}
	}
	meta.Rows = append(meta.Rows,
		[]string{"rms_norm_eps", fmt.Sprint(m.Eps())},
		[]string{"rope_freq_base", fmt.Sprint(m.RopeTheta())},
		[]string{"alignment / data offset", fmt.Sprintf("%d / %d", g.Alignment, g.DataOffset)},
		[]string{"weight types", m.WeightTypes()},
	)
	if len(m.Load.Warnings) > 0 {
		meta.Note = "warning: " + strings.Join(m.Load.Warnings, "; ")
	}
	types := inspect.Table{Title: "Tensors and their types", Header: []string{"tensor", "type", "shape (rows×cols)", "bytes"}, MaxCell: 60}
	for _, t := range m.Tensors {
		types.Rows = append(types.Rows, []string{t.Name, strings.ToUpper(string(t.DType)), shapeString(t.Shape), fmt.Sprint(t.Bytes)})
	}
	return []inspect.Bundle{meta.Bundle(), types.Bundle()}
}

// ggufJSON is the GGUF part of the model card's JSON.
func (s *Interpreter) ggufJSON() map[string]any {
	m := s.model
	g := m.GGUF
	if g == nil {
		return nil
	}
	general := map[string]any{}
	for _, kv := range g.KV {
		if strings.HasPrefix(kv.Key, "general.") {
			general[kv.Key] = engine.FormatGGUFValue(kv.Value, 16)
		}
	}
	var tensors []map[string]any
	for _, t := range m.Tensors {
		tensors = append(tensors, map[string]any{"name": t.Name, "type": string(t.DType), "shape": t.Shape, "bytes": t.Bytes})
	}
	return map[string]any{"version": g.Version, "alignment": g.Alignment, "data_offset": g.DataOffset, "general": general,
		"tensors": tensors, "rms_norm_eps": m.Eps(), "rope_freq_base": m.RopeTheta(), "warnings": m.Load.Warnings}
}
