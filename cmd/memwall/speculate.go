package main

import (
	"context"
	"fmt"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/course"
	"github.com/memwall/memwall/engine"
)

// specBench is memwall bench --speculative's settings.
type specBench struct {
	path, weights, kv, draft string
	k, n, repeats            int
	ops                      *asm.Ops
	json                     bool
}

// benchSpeculative runs course.Speculative from BOS on the model at
// b.path (its weights converted first as --weights says).
func benchSpeculative(ctx context.Context, e *env, b specBench) error {
	if b.k < 1 {
		return fmt.Errorf("%w: --k %d: want at least 1", errUsage, b.k)
	}
	if b.repeats < 1 {
		return fmt.Errorf("%w: --repeats %d: want at least 1", errUsage, b.repeats)
	}
	kv, err := engine.ParseKVType(b.kv)
	if err != nil {
		return fmt.Errorf("%w: --kv: %v", errUsage, err)
	}
	m, err := openWeights(b.path, b.weights)
	if err != nil {
		return err
	}
	defer m.Close()
	if _, err := m.DraftModel(b.draft); err != nil {
		return fmt.Errorf("%w: --speculative: %v", errUsage, err)
	}
	r, err := course.Speculative(ctx, m, nil, []int{engine.BOS}, course.SpeculativeOptions{
		Draft: b.draft, K: b.k, Tokens: b.n, Repeats: b.repeats, KV: kv, Ops: b.ops, Through: true})
	if err != nil {
		return err
	}
	if b.json {
		js := r.JSON()
		js["machine"], js["format"], js["weights"] = machine(), m.FormatName(), m.WeightTypes()
		return writeJSON(e, js)
	}
	fmt.Fprintf(e.stdout, "machine:  %s\nmodel:    %s (%s), weights %s\n%s\n", machine(), b.path, m.FormatName(), m.WeightTypes(), r.Bundle().Text)
	return nil
}
