package magic

import (
	"fmt"

	"github.com/memwall/memwall/course"
)

// ---- %numerics ----

func (s *Interpreter) doNumerics(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	k := c.args.int("k", 5)
	dotN := c.args.int("length", 1<<16)
	if k < 1 || dotN < 1 {
		return usagef(c.spec.usage(), "-k and --length must be positive")
	}
	prog := s.progress(c, "%numerics")
	f32 := s.model
	var err error
	if f32.Quantized() {
		if f32, err = s.companion(c.ctx, false); err != nil {
			return err
		}
		defer f32.Close()
	}
	prog("converting the model to int8 (Q8_0)…")
	q8, err := s.companion(c.ctx, true)
	if err != nil {
		return err
	}
	if q8 != s.model {
		defer q8.Close()
	}
	res, err := course.Numerics(c.ctx, f32, q8, s.tok, course.NumericsOptions{Text: c.args.str("text", course.HeldOut), K: k, DotLength: dotN,
		Model: s.modelName(), Progress: prog})
	if err != nil {
		return err
	}
	prog("done")
	s.display(c, res.Bundle())
	return nil
}

// ---- %sink ----

func (s *Interpreter) doSink(c *call) error {
	ids, err := s.contextIDs(c)
	if err != nil {
		return err
	}
	if len(ids) < 3 {
		return fmt.Errorf("the context has %d token(s): the first-token sink needs a few more (generate first)", len(ids))
	}
	pat, err := s.capturePatterns(c, ids)
	if err != nil {
		return err
	}
	r, err := course.Sink(pat, len(ids))
	if err != nil {
		return err
	}
	s.display(c, r.Bundle())
	return nil
}
