package magic

// The course magics: measurements the notebooks in notebooks/ draw their
// conclusions from. Each prints its numbers as a table (and JSON), a chart
// where one helps, and a conclusion written from the measured values, so a
// notebook never states a number it did not measure on the machine it ran
// on. Under quick mode (Options.Quick, $MEMWALL_QUICK) the expensive ones
// shrink and say so.

import (
	"context"
	"fmt"

	"github.com/memwall/memwall/course"
	"github.com/memwall/memwall/engine"
)

// quickShape maps the largest shape to stories15M in quick mode.
func (s *Interpreter) quickShape(shape string, changes *[]string) string {
	if s.opts.Quick && shape == "stories110M" {
		*changes = append(*changes, "stories15M shape instead of stories110M")
		return "stories15M"
	}
	return shape
}

// quickInt returns def, or q in quick mode when the flag was not given.
func (s *Interpreter) quickInt(c *call, flag string, def, q int, what string, changes *[]string) int {
	if c.args.has(flag) {
		return c.args.int(flag, def)
	}
	if s.opts.Quick && q != def {
		*changes = append(*changes, fmt.Sprintf("%s %d instead of %d", what, q, def))
		return q
	}
	return def
}

// openShape opens (writing it first if needed) a synthetic model of a named
// shape and format (v0, v1, v2) from the cache directory.
func (s *Interpreter) openShape(ctx context.Context, shape, format string) (*engine.Model, error) {
	p, err := s.syntheticModel(ctx, shape, 1, format)
	if err != nil {
		return nil, err
	}
	return engine.Open(p, engine.LoadOptions{})
}

// ---- %shapes ----

func (s *Interpreter) doShapes(c *call) error {
	names := c.args.strList("shapes")
	if len(names) == 0 {
		names = engine.ShapeNames()
	}
	r, err := course.Shapes(names, course.LLCBytes())
	if err != nil {
		return err
	}
	s.display(c, r.Bundle())
	return nil
}

// ---- %paper ----

func (s *Interpreter) doPaper(c *call) error {
	p, err := course.Paper()
	if err != nil {
		return err
	}
	s.display(c, p.Bundle())
	return nil
}

// ---- %tying ----

func (s *Interpreter) doTying(c *call) error {
	r, err := course.Tying(c.ctx, s.opts.CacheDir, c.args.str("shape", "stories260K"))
	if err != nil {
		return err
	}
	s.display(c, r.Bundle())
	return nil
}

// ---- %firsttoken ----

func (s *Interpreter) doFirstToken(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	r, err := course.FirstToken(c.ctx, s.model, s.ops, s.modelName(), c.args.bool("drop-cache"))
	if err != nil {
		return err
	}
	s.display(c, r.Bundle())
	return nil
}

// ---- %intensity ----

func (s *Interpreter) doIntensity(c *call) error {
	var cfg engine.Config
	name := c.args.str("shape", "")
	if name != "" {
		var err error
		if cfg, err = engine.Shape(name); err != nil {
			return err
		}
	} else {
		if err := s.ensureModel(c); err != nil {
			return err
		}
		cfg, name = s.model.Config, s.modelName()
	}
	pos := c.args.int("position", 0)
	if pos < 0 || pos >= cfg.SeqLen {
		return usagef(c.spec.usage(), "--position must be in [0, %d)", cfg.SeqLen)
	}
	r, err := course.Intensity(name, cfg, pos)
	if err != nil {
		return err
	}
	s.display(c, r.Bundle())
	return nil
}

// ---- %wall ----

func (s *Interpreter) doWall(c *call) error {
	var changes []string
	shapes := c.args.strList("shapes")
	if len(shapes) == 0 {
		shapes = engine.ShapeNames()
	}
	if s.opts.Quick {
		var keep []string
		for _, sh := range shapes {
			if sh == "stories110M" {
				cfg, err := engine.Shape(sh)
				if err != nil {
					return err
				}
				_, wb := engine.TokenCost(cfg, engine.Encoding{}, 0)
				changes = append(changes, fmt.Sprintf("%s left out (%s of fp32 weights per token, counted)", sh, human(float64(wb), "B")))
				continue
			}
			keep = append(keep, sh)
		}
		shapes = keep
	}
	for _, sh := range shapes {
		if _, err := engine.Shape(sh); err != nil {
			return err
		}
	}
	n := s.quickInt(c, "n", 32, 12, "tokens per shape", &changes)
	mib := s.quickInt(c, "size", 256, 64, "MiB bandwidth probe", &changes)
	if n <= 0 || mib <= 0 {
		return usagef(c.spec.usage(), "-n and --size must be positive")
	}
	prog := s.progress(c, "%wall")
	r, err := course.Wall(c.ctx, course.WallOptions{Shapes: shapes, Open: func(sh string) (*engine.Model, error) { return s.openShape(c.ctx, sh, "v1") },
		Tokens: n, ProbeBytes: int64(mib) << 20, Variant: s.variant, Threads: s.threads, LLC: course.LLCBytes(), Progress: prog, Quick: changes})
	if err != nil {
		return err
	}
	prog("done")
	s.display(c, r.Bundle())
	return nil
}
