package magic

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/memwall/memwall/inspect"
	"github.com/memwall/memwall/internal/site"
)

// A kernel shared by a class must not let one cell take the machine down.
// These are the bounds a cell runs under; each has a default, a site
// setting (an environment variable in the kernelspec's env, or a line of
// the site file; see internal/site) and a %config key (for one session).
//
//	max_cell        MEMWALL_MAX_CELL        bytes of one cell (default 1 MiB)
//	capture_budget  MEMWALL_CAPTURE_BUDGET  bytes captures may keep (default: memory / 32, 64 MiB..2 GiB)
//	memory_limit    MEMWALL_MEMORY_LIMIT    Go memory limit of the kernel (default: memory / 4)
//	table_rows      MEMWALL_TABLE_ROWS      rows a long table shows (default 200)
type limits struct {
	maxCell       int64
	captureBudget int64
	memoryLimit   int64
	tableRows     int64
	source        map[string]string // key → "default", "$ENV" or "%config"
}

type limitKey struct {
	name, env, help string
	bytes           bool
	field           func(*limits) *int64
	min             int64
}

var limitKeys = []limitKey{
	{name: "max_cell", env: "MEMWALL_MAX_CELL", bytes: true, min: 1 << 10, field: func(l *limits) *int64 { return &l.maxCell },
		help: "largest cell the kernel runs; a larger one is refused before it is parsed"},
	{name: "capture_budget", env: "MEMWALL_CAPTURE_BUDGET", bytes: true, min: 16 << 10, field: func(l *limits) *int64 { return &l.captureBudget },
		help: "bytes that captured activations (%cache, %activations) may keep; a capture estimated beyond it is refused before it runs"},
	{name: "memory_limit", env: "MEMWALL_MEMORY_LIMIT", bytes: true, min: 16 << 20, field: func(l *limits) *int64 { return &l.memoryLimit },
		help: "the kernel's Go memory limit (runtime/debug.SetMemoryLimit); a cell whose allocations cross it is stopped with an error"},
	{name: "table_rows", env: "MEMWALL_TABLE_ROWS", min: 1, field: func(l *limits) *int64 { return &l.tableRows },
		help: "rows a long table shows before it says how many more there are"},
}

// defaultLimits derives the defaults from the machine's memory and applies
// the environment. A malformed variable is reported in the returned
// warnings and ignored.
func defaultLimits() (limits, []string) {
	mem := machineMemory()
	l := limits{
		maxCell:       1 << 20,
		captureBudget: clamp(mem/32, 64<<20, 2<<30),
		memoryLimit:   max(mem/4, 256<<20),
		tableRows:     200,
		source:        map[string]string{},
	}
	var warn []string
	if err := site.Err(); err != nil {
		warn = append(warn, err.Error())
	}
	for _, k := range limitKeys {
		l.source[k.name] = "default"
		v, src, ok := site.Lookup(k.name)
		if !ok {
			continue
		}
		n, err := parseLimit(k, v)
		if err != nil {
			warn = append(warn, fmt.Sprintf("%s: %s: %v (using the default)", src, k.name, err))
			continue
		}
		*k.field(&l) = n
		l.source[k.name] = src
	}
	return l, warn
}

func clamp(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

// machineMemory is MemTotal from /proc/meminfo, or 4 GiB when unknown; a
// cgroup memory limit below it (a container, a systemd slice per user)
// wins.
func machineMemory() int64 {
	mem := int64(4 << 30)
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					mem = kb << 10
				}
			}
		}
	}
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(p); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < mem {
				mem = n
			}
		}
	}
	return mem
}

// parseLimit reads a value of key k: bytes with an optional unit (512MiB,
// 2G, 1048576) or a plain count.
func parseLimit(k limitKey, v string) (int64, error) {
	var n int64
	var err error
	if k.bytes {
		n, err = parseBytes(v)
	} else {
		n, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			err = fmt.Errorf("%q is not a whole number", v)
		}
	}
	if err != nil {
		return 0, err
	}
	if n < k.min {
		return 0, fmt.Errorf("%s must be at least %s, got %s", k.name, fmtLimit(k, k.min), fmtLimit(k, n))
	}
	return n, nil
}

// parseBytes parses "512MiB", "1.5 GiB", "100MB", "64k", "1048576".
func parseBytes(v string) (int64, error) {
	s := strings.TrimSpace(v)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 512MiB, 2GiB, 1048576)", v)
	}
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1e3, "m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9, "t": 1 << 40, "tib": 1 << 40, "tb": 1e12}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (use B, KiB, MiB, GiB, kB, MB, GB)", v, unit)
	}
	if f*mult > 1<<62 {
		return 0, fmt.Errorf("%q is too large", v)
	}
	return int64(f * mult), nil
}

// ibytes formats n in binary units ("256 MiB").
func ibytes(n int64) string {
	for _, u := range []struct {
		v int64
		s string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.v {
			return fmt.Sprintf("%.4g %s", float64(n)/float64(u.v), u.s)
		}
	}
	return fmt.Sprintf("%d B", n)
}

func fmtLimit(k limitKey, n int64) string {
	if k.bytes {
		return ibytes(n)
	}
	return fmt.Sprint(n)
}

// applyMemoryLimit sets the Go runtime's memory limit to the configured
// one (only ever lowering one set by GOMEMLIMIT).
func (l *limits) applyMemoryLimit() {
	cur := debug.SetMemoryLimit(-1)
	if l.source["memory_limit"] == "default" && os.Getenv("GOMEMLIMIT") != "" && cur < l.memoryLimit {
		l.memoryLimit, l.source["memory_limit"] = cur, "$GOMEMLIMIT"
	}
	debug.SetMemoryLimit(l.memoryLimit)
}

// ---- %config ----

func (s *Interpreter) doConfig(c *call) error {
	if len(c.args.pos) == 2 {
		name, v := c.args.pos[0].text, c.args.pos[1].text
		k, ok := findLimit(name)
		if !ok {
			return fmt.Errorf("no setting %q%s (%%config lists them)", name, didYouMean(nearest(name, limitNames(), 2), ""))
		}
		n, err := parseLimit(k, v)
		if err != nil {
			return err
		}
		*k.field(&s.limits) = n
		s.limits.source[k.name] = "%config"
		if k.name == "memory_limit" {
			s.limits.applyMemoryLimit()
		}
		s.display(c, textBundle(fmt.Sprintf("%s = %s", k.name, fmtLimit(k, n)), map[string]any{k.name: n}))
		return nil
	}
	if len(c.args.pos) == 1 {
		if _, ok := findLimit(c.args.pos[0].text); !ok {
			return fmt.Errorf("no setting %q%s (%%config lists them)", c.args.pos[0].text, didYouMean(nearest(c.args.pos[0].text, limitNames(), 2), ""))
		}
	}
	t := inspect.Table{Title: "Limits of this kernel", Header: []string{"setting", "value", "set by", "environment variable (or site file key)", "what it bounds"}, MaxCell: 140}
	js := map[string]any{}
	for _, k := range limitKeys {
		if len(c.args.pos) == 1 && k.name != c.args.pos[0].text {
			continue
		}
		n := *k.field(&s.limits)
		t.Rows = append(t.Rows, []string{k.name, fmtLimit(k, n), s.limits.source[k.name], k.env, k.help})
		js[k.name] = n
	}
	ms := memNow()
	t.Note = fmt.Sprintf("now: Go heap %s, process RSS %s, captured activations %s; %%config NAME VALUE changes one for this session",
		ibytes(ms.heap), ibytes(ms.rss), ibytes(s.cacheBytes()))
	js["heap_bytes"], js["rss_bytes"], js["captured_bytes"] = ms.heap, ms.rss, s.cacheBytes()
	b := t.Bundle()
	b.JSON = js
	s.display(c, b)
	return nil
}

func findLimit(name string) (limitKey, bool) {
	for _, k := range limitKeys {
		if k.name == name {
			return k, true
		}
	}
	return limitKey{}, false
}

func limitNames() []string {
	var out []string
	for _, k := range limitKeys {
		out = append(out, k.name)
	}
	sort.Strings(out)
	return out
}

func limitMagics() []*magicSpec {
	return []*magicSpec{
		{name: "config", args: "[NAME [VALUE]]", maxPos: 2, run: (*Interpreter).doConfig,
			summary: "Show or set this kernel's limits: largest cell, capture budget, memory limit, table rows.",
			help: `Sizes take units (512MiB, 2GiB, 100MB). The defaults come from the machine's memory and can be
set for every kernel in the kernelspec's env (MEMWALL_MAX_CELL, MEMWALL_CAPTURE_BUDGET,
MEMWALL_MEMORY_LIMIT, MEMWALL_TABLE_ROWS); %config changes them for this session only.`},
	}
}

// ---- memory ----

type memStats struct{ heap, rss int64 }

// memNow reads the live Go heap (runtime/metrics) and the process's RSS.
func memNow() memStats {
	var ms memStats
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		ms.heap = int64(sample[0].Value.Uint64())
	}
	ms.rss = processRSS()
	return ms
}

// processRSS is VmRSS of /proc/self/status (0 when unknown).
func processRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// goMemory is the memory the Go runtime has mapped for itself, less what it
// has returned to the system: what debug.SetMemoryLimit limits.
func goMemory() int64 {
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 || sample[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(sample[0].Value.Uint64()) - int64(sample[1].Value.Uint64())
}

// MemoryLimitError ends a cell whose allocations crossed the memory limit.
type MemoryLimitError struct {
	Used, Limit int64
}

func (e *MemoryLimitError) Error() string {
	return fmt.Sprintf("stopped: the kernel's memory reached %s, over its limit of %s (memory_limit; %%config memory_limit SIZE or $MEMWALL_MEMORY_LIMIT raises it); what the cell had allocated is freed",
		ibytes(e.Used), ibytes(e.Limit))
}

// watchMemory returns a context that is cancelled with a
// *MemoryLimitError as soon as the Go runtime's memory crosses the limit
// while the cell runs (sampled every 20 ms), and a stop function that
// reports whether it fired. Go's memory limit alone only makes the
// collector work harder; it never refuses an allocation, so without this a
// cell that really needs more memory goes on until the system's OOM killer
// ends the whole kernel.
func (s *Interpreter) watchMemory(ctx context.Context) (context.Context, func() *MemoryLimitError) {
	limit := s.limits.memoryLimit
	if limit <= 0 {
		return ctx, func() *MemoryLimitError { return nil }
	}
	cctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	fired := make(chan *MemoryLimitError, 1)
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if used := goMemory(); used > limit {
					e := &MemoryLimitError{Used: used, Limit: limit}
					fired <- e
					cancel(e)
					return
				}
			}
		}
	}()
	return cctx, func() *MemoryLimitError {
		close(done)
		cancel(nil)
		select {
		case e := <-fired:
			return e
		default:
			return nil
		}
	}
}

// freeMemory returns freed memory to the system now (the runtime would
// otherwise keep it for minutes), after a capture is dropped or a cell
// was stopped for its memory.
func freeMemory() { debug.FreeOSMemory() }

// cellTooLarge is the error for a cell over max_cell.
func (s *Interpreter) cellTooLarge(n int) error {
	return &Error{Err: fmt.Errorf("the cell is %s (%d bytes), more than this kernel runs in one cell (%s, max_cell; %%config max_cell SIZE or $MEMWALL_MAX_CELL changes it): it was not run",
		ibytes(int64(n)), n, ibytes(s.limits.maxCell))}
}

// cacheBytes is what the captured activations hold.
func (s *Interpreter) cacheBytes() int64 {
	var n int64
	for _, cp := range s.cache {
		for _, r := range cp.Rows {
			n += 4 * int64(len(r))
		}
	}
	return n
}

// CaptureBudgetError is a capture refused before it ran.
type CaptureBudgetError struct {
	Hooks, Positions int
	Estimate, Kept   int64 // bytes the capture would add; bytes already captured that stay
	Budget           int64
}

func (e *CaptureBudgetError) Error() string {
	kept := ""
	if e.Kept > 0 {
		kept = fmt.Sprintf(" on top of the %s already captured", ibytes(e.Kept))
	}
	return fmt.Sprintf("capturing %d hook point(s) over %d positions would keep an estimated %s%s, over the capture budget of %s (capture_budget): name fewer hooks (e.g. blocks.*.hook_resid_post), shorten the context, %%reset to drop what is captured, or raise the budget with %%config capture_budget SIZE",
		e.Hooks, e.Positions, ibytes(e.Estimate), kept, ibytes(e.Budget))
}
