package engine

import (
	"context"
	"fmt"
	"path"
	"sort"
	"sync"
	"time"

	"github.com/memwall/memwall/asm"
)

// Hook points, named as TransformerLens names them. Per-layer points are
// prefixed "blocks.{l}.".
const (
	hResidPre = iota
	hLn1
	hQ
	hK
	hV
	hRotQ
	hRotK
	hScores
	hPattern
	hZ
	hAttnOut
	hResidMid
	hLn2
	hMLPPre
	hMLPPreLinear
	hMLPPost
	hMLPOut
	hResidPost
	nLayerHooks
)

var layerHookSuffix = [nLayerHooks]string{
	hResidPre:     "hook_resid_pre",
	hLn1:          "ln1.hook_normalized",
	hQ:            "attn.hook_q",
	hK:            "attn.hook_k",
	hV:            "attn.hook_v",
	hRotQ:         "attn.hook_rot_q",
	hRotK:         "attn.hook_rot_k",
	hScores:       "attn.hook_attn_scores",
	hPattern:      "attn.hook_pattern",
	hZ:            "attn.hook_z",
	hAttnOut:      "hook_attn_out",
	hResidMid:     "hook_resid_mid",
	hLn2:          "ln2.hook_normalized",
	hMLPPre:       "mlp.hook_pre",
	hMLPPreLinear: "mlp.hook_pre_linear",
	hMLPPost:      "mlp.hook_post",
	hMLPOut:       "hook_mlp_out",
	hResidPost:    "hook_resid_post",
}

// Model-level hook points.
const (
	HookEmbed   = "hook_embed"
	HookLnFinal = "ln_final.hook_normalized"
	HookUnembed = "unembed"
)

// HookNames lists every hook point of a model with the given number of
// layers, in the order they fire.
func HookNames(layers int) []string {
	out := []string{HookEmbed}
	for l := 0; l < layers; l++ {
		for _, s := range layerHookSuffix {
			out = append(out, fmt.Sprintf("blocks.%d.%s", l, s))
		}
	}
	return append(out, HookLnFinal, HookUnembed)
}

// HookEvent is what a hook sees: the live buffer at a named point of the
// forward pass. Writing to Data changes the computation from there on
// (ablation, patching); a hook that only reads must copy what it keeps.
type HookEvent struct {
	Ctx   context.Context
	Name  string
	Layer int // -1 for model-level points
	Pos   int // the position being computed
	Token int // the token at that position
	Data  []float32
	// Shape of Data: [dim] for the residual stream, [heads, head_size] for
	// q and z, [kv_heads, head_size] for k and v, [heads, pos+1] for the
	// attention scores and pattern, [hidden] for the MLP, [vocab] for
	// unembed.
	Shape []int
}

// HookFunc is called at a hook point. It runs on the forward pass's
// goroutine; it may block (a debugger stepping through layers does).
type HookFunc func(ev *HookEvent)

type hook struct {
	id      int
	pattern string
	fn      HookFunc
}

// hookSet holds registered hooks; resolution of names to hooks is cached.
type hookSet struct {
	mu     sync.Mutex
	hooks  []hook
	nextID int
	cache  map[string][]HookFunc
}

func (h *hookSet) add(pattern string, fn HookFunc) (func(), error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("hook pattern %q: %w", pattern, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	id := h.nextID
	h.hooks = append(h.hooks, hook{id: id, pattern: pattern, fn: fn})
	h.cache = nil
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for i, hk := range h.hooks {
			if hk.id == id {
				// A fresh slice: the removed hook's closure (a capture's
				// buffers) must not stay reachable through the old array,
				// which even an empty slice of it keeps alive.
				rest := make([]hook, 0, len(h.hooks)-1)
				h.hooks = append(append(rest, h.hooks[:i]...), h.hooks[i+1:]...)
				h.cache = nil
				return
			}
		}
	}, nil
}

func (h *hookSet) active() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.hooks) > 0
}

func (h *hookSet) lookup(name string) []HookFunc {
	h.mu.Lock()
	defer h.mu.Unlock()
	if fns, ok := h.cache[name]; ok {
		return fns
	}
	var fns []HookFunc
	for _, hk := range h.hooks {
		if ok, _ := path.Match(hk.pattern, name); ok {
			fns = append(fns, hk.fn)
		}
	}
	if h.cache == nil {
		h.cache = map[string][]HookFunc{}
	}
	h.cache[name] = fns
	return fns
}

// Profile accumulates time, bytes and floating-point operations per op of
// the forward pass (and sampling). Attach one with State.Profile.
type Profile struct {
	ops   map[string]*OpStat
	order []string
}

// OpStat is one op's totals.
type OpStat struct {
	Name  string
	Calls int
	Time  time.Duration
	Bytes int64 // weight and activation bytes read
	Flops int64
	// Split is what the op's matrix products and attention heads cost
	// where they were split across threads (zero with one thread): the
	// share of the op's time they took, how evenly the parts ran and what
	// handing them out cost.
	Split asm.SplitStats
}

// GBps is the op's achieved bandwidth in 1e9 bytes/s.
func (o OpStat) GBps() float64 {
	if o.Time <= 0 {
		return 0
	}
	return float64(o.Bytes) / o.Time.Seconds() / 1e9
}

// NewProfile returns an empty profile.
func NewProfile() *Profile { return &Profile{ops: map[string]*OpStat{}} }

// Add records one call of op.
func (p *Profile) Add(op string, d time.Duration, bytes, flops int64) {
	p.add(op, d, bytes, flops, asm.SplitStats{})
}

// add is Add with the split totals of the call.
func (p *Profile) add(op string, d time.Duration, bytes, flops int64, split asm.SplitStats) {
	s, ok := p.ops[op]
	if !ok {
		s = &OpStat{Name: op}
		p.ops[op] = s
		p.order = append(p.order, op)
	}
	s.Calls++
	s.Time += d
	s.Bytes += bytes
	s.Flops += flops
	s.Split.Add(split)
}

// Ops returns the totals in first-seen order.
func (p *Profile) Ops() []OpStat {
	out := make([]OpStat, 0, len(p.order))
	for _, n := range p.order {
		out = append(out, *p.ops[n])
	}
	return out
}

// Total is the summed time of every op.
func (p *Profile) Total() time.Duration {
	var t time.Duration
	for _, o := range p.ops {
		t += o.Time
	}
	return t
}

// Sorted returns the ops by falling time.
func (p *Profile) Sorted() []OpStat {
	out := p.Ops()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time > out[j].Time })
	return out
}

// Reset clears the totals.
func (p *Profile) Reset() { p.ops, p.order = map[string]*OpStat{}, nil }
