package magic

import (
	"fmt"
	"strings"

	"github.com/memwall/memwall/course"
	"github.com/memwall/memwall/engine"
)

// %kv and %speculate: the key/value cache's storage and speculative
// decoding (engine/kvcache.go, engine/speculative.go, course.Speculative).

var kvMagic = &magicSpec{name: "kv", args: "[fp32|f16|bf16]", maxPos: 1, run: (*Interpreter).doKV,
	summary: "Show or switch the key/value cache's storage: fp32, or f16/bf16 (half the bytes attention reads).",
	help: `Switching drops the cached context (%generate starts afresh); the setting stays for the next
%load. With a 16-bit cache every key and value is rounded once, when stored; the attention routine
that reads it is named, so a fallback to portable code is visible.`}

var speculateMagic = &magicSpec{name: "speculate", args: "PROMPT", text: true, cell: true, run: (*Interpreter).doSpeculate,
	summary: "Compare speculative decoding (a cheap draft proposes, the model verifies k tokens in one pass) with plain greedy decoding.",
	help: `The draft is made from the loaded model: --draft layers:N (its first N layers, shared weights)
or a weight type (q8_0, q4_0, q4_0,f16: its matrices converted, counted as copied bytes). Both
decodings run --repeats times, interleaved, on fresh caches of the %kv type; the output must be
identical, and the conclusions say how many tokens each pass over the model's weights yielded,
whether speculation was faster, and why, from the measured cost of each kind of pass.`,
	flags: []flagSpec{
		{name: "draft", kind: stringFlag, arg: "DRAFT", help: "layers:N or a weight type (default q8_0,f16)"},
		{name: "k", short: "k", kind: intFlag, arg: "K", help: "tokens drafted per full-model pass (default 4)"},
		{name: "n", short: "n", kind: intFlag, arg: "N", help: "tokens to generate (default 64)"},
		{name: "repeats", kind: intFlag, arg: "R", help: "interleaved repeats of each decoding (default 5)"},
	}}

func (s *Interpreter) doKV(c *call) error {
	if len(c.args.pos) == 1 {
		kv, err := engine.ParseKVType(c.args.pos[0].text)
		if err != nil {
			return usagef(c.spec.usage(), "%v", err)
		}
		if err := s.busyStepping("switch the cache"); err != nil {
			return err
		}
		s.kv = kv
		if s.st != nil {
			if err := s.st.SetKV(kv); err != nil {
				return err
			}
			s.resetContext()
		}
	}
	msg := fmt.Sprintf("key/value cache: %s (%d bytes a value)", s.kv, s.kv.Bytes())
	js := map[string]any{"kv_cache": s.kv.String(), "bytes_per_value": s.kv.Bytes()}
	if s.st != nil {
		msg += "; attention: " + s.st.KVKernel()
		js["kv_kernel"] = s.st.KVKernel()
		if len(c.args.pos) == 1 {
			msg += "; the context was cleared"
		}
	}
	s.display(c, textBundle(msg, js))
	return nil
}

func (s *Interpreter) doSpeculate(c *call) error {
	if err := s.ensureModel(c); err != nil {
		return err
	}
	a := c.args
	draft := a.str("draft", "q8_0,f16")
	dm, err := s.model.DraftModel(draft) // converts: made once, handed to course.Speculative
	if err != nil {
		return usagef(c.spec.usage(), "--draft: %v", err)
	}
	opt := course.SpeculativeOptions{Draft: draft, DraftModel: dm, K: a.int("k", 4), Tokens: a.int("n", 64), Repeats: a.int("repeats", 5), KV: s.kv, Ops: s.ops, Through: s.synthetic}
	if opt.K < 1 || opt.Tokens < 1 || opt.Repeats < 1 {
		return usagef(c.spec.usage(), "-k, -n and --repeats must be at least 1")
	}
	ids := s.tok.Encode(strings.TrimSpace(c.text()), true, false)
	if len(ids) >= s.model.SeqLen {
		return fmt.Errorf("%w: %d tokens, but the model's context (seq_len) is %d", engine.ErrPromptTooLong, len(ids), s.model.SeqLen)
	}
	r, err := course.Speculative(c.ctx, s.model, s.tok, ids, opt)
	if err != nil {
		return err
	}
	s.display(c, r.Bundle())
	return nil
}
