package magic

import (
	"fmt"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/course"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// ---- %ladder ----

func (s *Interpreter) doLadder(c *call) error {
	var changes []string
	shape := s.quickShape(c.args.str("shape", "stories110M"), &changes)
	if _, err := engine.Shape(shape); err != nil {
		return err
	}
	n := s.quickInt(c, "n", 32, 12, "tokens per rung", &changes)
	repeats := s.quickInt(c, "repeats", 5, 3, "interleaved rounds", &changes)
	if n <= 0 || repeats <= 0 {
		return usagef(c.spec.usage(), "-n and --repeats must be positive")
	}
	prog := s.progress(c, "%ladder")
	prog("writing or opening the " + shape + "-shape models…")
	fp, err := s.openShape(c.ctx, shape, "v0")
	if err != nil {
		return err
	}
	defer fp.Close()
	q8, err := s.openShape(c.ctx, shape, "v2")
	if err != nil {
		return err
	}
	defer q8.Close()
	mib := int(max(fp.Load.FileBytes>>20, 256))
	if c.args.has("size") {
		mib = c.args.int("size", mib)
	} else if s.opts.Quick {
		changes = append(changes, fmt.Sprintf("bandwidth probe over 64 MiB instead of %d", mib))
		mib = 64
	}
	if mib <= 0 {
		return usagef(c.spec.usage(), "--size must be positive")
	}
	convert := func(weights string) (*engine.Model, error) {
		m, err := s.openShape(c.ctx, shape, "v0")
		if err != nil {
			return nil, err
		}
		if err := convertAtLoad(m, weights); err != nil {
			m.Close()
			return nil, err
		}
		return m, nil
	}
	res, err := course.Ladder(c.ctx, course.LadderOptions{Shape: shape, FP32: fp, Int8: q8, Convert: convert, Tokens: n, Repeats: repeats,
		ProbeBytes: int64(mib) << 20, Progress: prog, Quick: changes})
	if err != nil {
		return err
	}
	prog("done")
	s.display(c, res.Bundle())
	return nil
}

// progress returns a course.Progress that updates one display line.
func (s *Interpreter) progress(c *call, name string) course.Progress {
	id := s.newDisplayID()
	first := true
	return func(msg string) {
		b := toKernel(inspect.Bundle{Text: name + ": " + msg})
		if first {
			c.out.Display(b, id)
			first = false
			return
		}
		c.out.Update(b, id)
	}
}

// ---- %latency ----

func (s *Interpreter) doLatency(c *call) error {
	var changes []string
	var m *engine.Model
	label := ""
	if c.args.has("shape") {
		shape := s.quickShape(c.args.str("shape", ""), &changes)
		var err error
		if m, err = s.openShape(c.ctx, shape, "v1"); err != nil {
			return err
		}
		defer m.Close()
		label = shape + "-shape synthetic fp32"
	} else {
		if err := s.ensureModel(c); err != nil {
			return err
		}
		m = s.model
		label = s.modelName()
	}
	n := s.quickInt(c, "n", 256, 64, "decoded tokens", &changes)
	prompt := s.quickInt(c, "prompt", 64, 32, "prompt tokens", &changes)
	warm := c.args.int("warmup", 4)
	if n < 8 || prompt < 1 || warm < 0 || warm >= min(n, m.SeqLen)/2 {
		return usagef(c.spec.usage(), "-n must be at least 8, --prompt positive, --warmup in [0, n/2)")
	}
	ops, err := asm.New(s.variant, s.threads)
	if err != nil {
		return err
	}
	defer ops.Close()
	prog := s.progress(c, "%latency")
	res, err := course.Latency(c.ctx, m, ops, course.LatencyOptions{Tokens: n, Warmup: max(warm, 0), Prompt: prompt, Label: label, Progress: prog, Quick: changes})
	if err != nil {
		return err
	}
	prog("done")
	s.display(c, res.Bundle())
	return nil
}
