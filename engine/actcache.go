package engine

import (
	"context"
	"fmt"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
)

// The activation cache: run a context with every hook point whose name
// passes a filter copied as it fires, as TransformerLens's run_with_cache
// does, into a cache that knows each tensor's shape.

// hookKind finds the layer and kind of a hook point name: layer -1 and a
// negative kind for the model-level points (HookEmbed, HookLnFinal,
// HookUnembed), ok false for an unknown name.
func hookKind(name string) (layer, kind int, ok bool) {
	switch name {
	case HookEmbed, HookLnFinal:
		return -1, -1, true
	case HookUnembed:
		return -1, -2, true
	}
	rest, found := strings.CutPrefix(name, "blocks.")
	if !found {
		return 0, 0, false
	}
	num, suffix, _ := strings.Cut(rest, ".")
	l, err := strconv.Atoi(num)
	if err != nil || l < 0 || strconv.Itoa(l) != num {
		return 0, 0, false
	}
	for k, s := range layerHookSuffix {
		if s == suffix {
			return l, k, true
		}
	}
	return 0, 0, false
}

// HookShape is the shape of a hook point's tensor at one position of a
// context of n positions: [dim] for the residual stream, [heads,
// head_size] for q and z, [kv_heads, head_size] for k and v, [heads, n]
// for the attention scores and pattern (a position p fills its first p+1
// keys; a cache pads the rest with zeros), [hidden] for the MLP, [vocab]
// for unembed. These are the shapes the forward pass fires with.
func HookShape(c Config, name string, n int) ([]int, error) {
	l, k, ok := hookKind(name)
	if !ok || l >= c.Layers {
		return nil, fmt.Errorf("no hook point %q in a %d-layer model", name, c.Layers)
	}
	hs := c.HeadSize()
	switch k {
	case -1:
		return []int{c.Dim}, nil
	case -2:
		return []int{c.Vocab}, nil
	case hQ, hRotQ, hZ:
		return []int{c.Heads, hs}, nil
	case hK, hV, hRotK:
		return []int{c.KVHeads, hs}, nil
	case hScores, hPattern:
		return []int{c.Heads, n}, nil
	case hMLPPre, hMLPPreLinear, hMLPPost:
		return []int{c.HiddenDim}, nil
	}
	return []int{c.Dim}, nil
}

// HookHeads is the number of heads along a hook point's first axis (0 for
// the points without one).
func HookHeads(c Config, name string) int {
	_, k, ok := hookKind(name)
	if !ok {
		return 0
	}
	switch k {
	case hQ, hRotQ, hZ, hScores, hPattern:
		return c.Heads
	case hK, hV, hRotK:
		return c.KVHeads
	}
	return 0
}

// MatchHooks expands name patterns (path.Match syntax, as AddHook takes)
// into the hook point names of c, in firing order, without repeats.
func MatchHooks(c Config, patterns []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	all := HookNames(c.Layers)
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("bad hook pattern %q: %w", p, err)
		}
		n := 0
		for _, name := range all {
			if ok, _ := path.Match(p, name); ok {
				n++
				if !seen[name] {
					seen[name] = true
					out = append(out, name)
				}
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("no hook point matches %q", p)
		}
	}
	return out, nil
}

// EstimateCaptureBytes is what capturing the named hook points over n
// positions keeps in memory (float32 values, scores and patterns padded
// to n): the one place a capture's size is known before it starts.
func EstimateCaptureBytes(c Config, names []string, n int) (int64, error) {
	var b int64
	for _, name := range names {
		sh, err := HookShape(c, name, n)
		if err != nil {
			return 0, err
		}
		v := int64(1)
		for _, d := range sh {
			v *= int64(d)
		}
		b += 4 * v * int64(n)
	}
	return b, nil
}

// Activation is one hook point's tensor over the positions of a context.
type Activation struct {
	Name  string
	Shape []int       // per position (HookShape)
	Rows  [][]float32 // [position][product of Shape]
}

// FullShape is [positions, Shape...].
func (a *Activation) FullShape() []int { return append([]int{len(a.Rows)}, a.Shape...) }

// Flat is every position's values one after the other.
func (a *Activation) Flat() []float32 {
	var out []float32
	for _, r := range a.Rows {
		out = append(out, r...)
	}
	return out
}

// ActivationCache holds the captured tensors of one run, by hook name.
type ActivationCache struct {
	IDs    []int
	Names  []string // in firing order
	Tensor map[string]*Activation
	Logits []float32 // after the last position
}

// Get returns a captured tensor by exact name.
func (c *ActivationCache) Get(name string) (*Activation, bool) {
	a, ok := c.Tensor[name]
	return a, ok
}

// RunWithCache feeds ids from position 0 token by token, copying every
// hook point in names (exact names; MatchHooks expands patterns) as it
// fires; hooks already registered on s (ablations) run too. limit, when
// positive, refuses a capture EstimateCaptureBytes puts above it.
func (s *State) RunWithCache(ctx context.Context, ids []int, names []string, limit int64) (*ActivationCache, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("nothing to run: no tokens")
	}
	n := len(ids)
	bytes, err := EstimateCaptureBytes(s.M.Config, names, n)
	if err != nil {
		return nil, err
	}
	if limit > 0 && bytes > limit {
		return nil, fmt.Errorf("capturing %d hook points over %d positions would keep %d bytes (limit %d): name fewer hooks (e.g. blocks.*.hook_resid_post)", len(names), n, bytes, limit)
	}
	cache := &ActivationCache{IDs: append([]int(nil), ids...), Names: append([]string(nil), names...), Tensor: map[string]*Activation{}}
	want := map[string]bool{}
	for _, name := range names {
		want[name] = true
		sh, _ := HookShape(s.M.Config, name, n)
		cache.Tensor[name] = &Activation{Name: name, Shape: sh, Rows: make([][]float32, n)}
	}
	remove, err := s.AddHook("*", func(ev *HookEvent) {
		if !want[ev.Name] {
			return
		}
		a := cache.Tensor[ev.Name]
		if len(ev.Shape) == 2 && (ev.Shape[1] != a.Shape[1]) {
			// [heads, pos+1] → [heads, n], zero-padded.
			row := make([]float32, a.Shape[0]*a.Shape[1])
			for h := 0; h < ev.Shape[0]; h++ {
				copy(row[h*a.Shape[1]:], ev.Data[h*ev.Shape[1]:(h+1)*ev.Shape[1]])
			}
			a.Rows[ev.Pos] = row
			return
		}
		a.Rows[ev.Pos] = append([]float32(nil), ev.Data...)
	})
	if err != nil {
		return nil, err
	}
	defer remove()
	var logits []float32
	for pos, t := range ids {
		if logits, err = s.Forward(ctx, t, pos); err != nil {
			return nil, err
		}
	}
	cache.Logits = append([]float32(nil), logits...)
	return cache, nil
}

// LogitLens applies the model's own final norm and classifier to a
// residual-stream vector, as the forward pass does after its last layer,
// writing vocabulary logits to out (len Vocab). It reads the mapped
// weights, so a file truncated underneath is a FaultError, as in Forward.
func (s *State) LogitLens(resid, out []float32) (err error) {
	c := s.M.Config
	if len(resid) != c.Dim || len(out) != c.Vocab {
		return fmt.Errorf("logit lens: residual of %d values and %d logits, want %d and %d", len(resid), len(out), c.Dim, c.Vocab)
	}
	x := make([]float32, c.Dim)
	s.ops.RMSNorm(x, resid, s.W.FinalNorm, c.Eps())
	return s.Unembed(x, out)
}

// Unembed applies the classifier (whatever its weight type) to a vector
// already through the final norm, reading the mapped weights under the
// same fault guard as Forward: a file truncated underneath gives an error,
// not a SIGBUS.
func (s *State) Unembed(normed, out []float32) (err error) {
	c := s.M.Config
	if len(normed) != c.Dim || len(out) != c.Vocab {
		return fmt.Errorf("unembed: vector of %d values and %d logits, want %d and %d", len(normed), len(out), c.Dim, c.Vocab)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.M.catchFault(&err)
	s.W.Cls.MulVec(s.ops, out, normed)
	return nil
}
