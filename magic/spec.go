package magic

import (
	"fmt"
	"sort"
	"strings"
)

// magicSpec describes one magic: its name, arguments, help and handler.
type magicSpec struct {
	name    string
	args    string // argument synopsis after the flags, e.g. "PROMPT"
	summary string // one line
	help    string // paragraphs
	flags   []flagSpec
	// text: everything after the flags is one raw text argument.
	text bool
	// cell: the magic also has a %% form whose body is its text.
	cell bool
	// minPos, maxPos bound positional arguments (maxPos -1: any number).
	minPos, maxPos int
	posNames       string
	// pos says what the positional arguments are, for completion; posLast
	// applies from the second positional argument on (e.g. %save's file).
	pos, posLast valueSource
	run          func(s *Interpreter, c *call) error
}

func (m *magicSpec) flag(name string, long bool) *flagSpec {
	for i := range m.flags {
		f := &m.flags[i]
		if f.name == name || (!long && f.short != "" && f.short == name) {
			return f
		}
	}
	return nil
}

func (m *magicSpec) flagNames() []string {
	var out []string
	for _, f := range m.flags {
		out = append(out, f.name)
	}
	return out
}

// flagList is "--a, --b or --c" (or "no flags").
func (m *magicSpec) flagList() string {
	if len(m.flags) == 0 {
		return "no flags"
	}
	var out []string
	for _, f := range m.flags {
		out = append(out, "--"+f.name)
	}
	if len(out) == 1 {
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " or " + out[len(out)-1]
}

// usage is the synopsis line, e.g. "%topk [-k K]".
func (m *magicSpec) usage() string {
	var b strings.Builder
	b.WriteString("%" + m.name)
	for _, f := range m.flags {
		n := "--" + f.name
		if f.short != "" {
			n = "-" + f.short
		}
		if f.kind == boolFlag {
			fmt.Fprintf(&b, " [%s]", n)
		} else {
			fmt.Fprintf(&b, " [%s %s]", n, f.arg)
		}
	}
	if m.args != "" {
		b.WriteString(" " + m.args)
	}
	return b.String()
}

// helpText is the full help of the magic.
func (m *magicSpec) helpText() string {
	var b strings.Builder
	b.WriteString(m.usage() + "\n")
	if m.cell {
		fmt.Fprintf(&b, "%%%%%s ... (cell form: the body of the cell is the text)\n", m.name)
	}
	b.WriteString("\n" + m.summary + "\n")
	if m.help != "" {
		b.WriteString("\n" + strings.TrimSpace(m.help) + "\n")
	}
	if len(m.flags) > 0 {
		b.WriteString("\nFlags:\n")
		for _, f := range m.flags {
			n := "    --" + f.name
			if f.short != "" {
				n = "-" + f.short + ", --" + f.name
			}
			if f.kind != boolFlag {
				n += " " + f.arg
			}
			fmt.Fprintf(&b, "  %-26s %s\n", n, f.help)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

var registry map[string]*magicSpec

func init() {
	registry = map[string]*magicSpec{}
	groups := [][]*magicSpec{allMagics(), courseMagics(), pullMagics(), limitMagics(), uiMagics()}
	for _, g := range groups {
		for _, m := range g {
			registry[m.name] = m
		}
	}
}

// magicNames lists the magics in alphabetical order.
func magicNames() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Common flags.
var (
	flagLayer  = flagSpec{name: "layer", short: "l", kind: intFlag, arg: "L", help: "layer (0-based)"}
	flagHead   = flagSpec{name: "head", kind: intFlag, arg: "H", help: "attention head (0-based)"}
	flagTopK   = flagSpec{name: "k", short: "k", kind: intFlag, arg: "K", help: "how many of the most probable tokens to show (default 10)"}
	flagPrompt = flagSpec{name: "prompt", short: "p", kind: stringFlag, arg: "TEXT", help: "analyse this prompt instead of the current context (it becomes the context)"}
)

func allMagics() []*magicSpec {
	return []*magicSpec{
		{name: "help", args: "[MAGIC]", maxPos: 1, summary: "Show the list of magics, or one magic's help.", run: (*Interpreter).doHelp},
		{name: "lsmagic", summary: "List every magic with a one-line summary.", run: (*Interpreter).doLsmagic},
		{name: "load", args: "[MODEL]", maxPos: 1, pos: pathValues, run: (*Interpreter).doLoad,
			summary: "Load a llama2.c checkpoint, a GGUF file (or a synthetic model) and its tokenizer; print the model card.",
			help: `MODEL is a path or a bare name (stories260K, stories260K.bin) looked up in $MEMWALL_MODEL,
the directories in $MEMWALL_MODELS, ./models, $XDG_DATA_HOME/memwall/models (default
~/.local/share/memwall/models, where memwall pull and %pull put downloads), the kernel's configured
directories, and last among the files built into the binary (the real stories260K with tok512, and the
Llama 2 tokenizer.bin). With no MODEL the first of stories15M, stories260K, stories42M, stories110M
found is loaded, else the built-in stories260K. The built-in is written once to the cache directory and
mapped from there; the model card says so. The tokenizer is found beside the model (tok512.bin for a
512-token vocabulary, tokenizer.bin for 32000), else among the built-in ones, unless --tokenizer is
given; a GGUF file brings its own vocabulary, and its card lists the general.* metadata and every
tensor's type.
--shape writes a synthetic random-weight checkpoint of a named shape into the cache directory
(reused when it exists) and loads it.`,
			flags: []flagSpec{
				{name: "tokenizer", short: "z", kind: stringFlag, arg: "FILE", help: "tokenizer file", values: pathValues},
				{name: "shape", kind: stringFlag, arg: "NAME", help: "synthetic model of a named shape (" + strings.Join(shapeNames(), ", ") + ")", values: shapeValues},
				{name: "seed", kind: intFlag, arg: "N", help: "seed of the synthetic weights (default 1)"},
				{name: "format", kind: stringFlag, arg: "v0|v1|v2", help: "format of the synthetic checkpoint (default v1; v2 is Q8_0)"},
				{name: "prefault", kind: boolFlag, help: "read every page of the weights into memory now"},
				{name: "no-mmap", kind: boolFlag, help: "read the file into the heap instead of mapping it"},
				{name: "context-length", kind: intFlag, arg: "N", help: "override a GGUF file's context length (llama.context_length), with a warning"},
				{name: "weights", kind: stringFlag, arg: "TYPE", help: "convert the weight matrices at load to fp32, f16, bf16, q8_0 or q4_0 (ggml's blocks of 32; TYPE,f16 keeps rows that are not a multiple of 32 in f16); the copy counts as copied bytes"},
				{name: "kv", kind: stringFlag, arg: "TYPE", help: "key/value cache storage: fp32 (default), f16 or bf16 (as %kv)"},
			}},
		kvMagic, speculateMagic,
		{name: "model", summary: "Show the model card of the loaded model again.", run: (*Interpreter).doModel},
		{name: "weights", args: "[TENSOR]", maxPos: 1, pos: tensorValues, run: (*Interpreter).doWeights,
			summary: "List every tensor (shape, type, offset, alignment), or describe one: statistics, histogram, heatmap of a slice.",
			flags: []flagSpec{
				{name: "rows", kind: intFlag, arg: "R", help: "rows of the heatmap slice (default 64)"},
				{name: "cols", kind: intFlag, arg: "C", help: "columns of the heatmap slice (default 64)"},
			}},
		{name: "tokens", args: "TEXT", text: true, cell: true, run: (*Interpreter).doTokens,
			summary: "Show how TEXT is tokenized: pieces and ids.",
			flags:   []flagSpec{{name: "no-bos", kind: boolFlag, help: "do not prepend the BOS token"}}},
		{name: "generate", args: "PROMPT", text: true, cell: true, run: (*Interpreter).doGenerate,
			summary: "Generate a continuation of PROMPT, streaming tokens as they come.",
			help: `Decoding is greedy (temperature 0) unless --temperature is given, and produces 64 tokens unless
-n says otherwise (fewer if the model's context fills up or it emits BOS). -n 0 only feeds the prompt,
which is how to set the context for %topk, %attention, %lens and %step without generating.
The prompt and generated tokens become the context the analysis magics look at; --continue appends
PROMPT (which may be empty) to the current context instead of starting afresh. A plain-text cell is
%%generate with default flags.`,
			flags: []flagSpec{
				{name: "n", short: "n", kind: intFlag, arg: "N", help: "tokens to generate (default 64)"},
				{name: "temperature", short: "t", kind: floatFlag, arg: "T", help: "sampling temperature (default 0: greedy)"},
				{name: "top-p", short: "p", kind: floatFlag, arg: "P", help: "nucleus sampling threshold in (0,1)"},
				{name: "top-k", short: "k", kind: intFlag, arg: "K", help: "sample among the K most probable tokens"},
				{name: "seed", short: "s", kind: intFlag, arg: "S", help: "random seed (default 42)"},
				{name: "continue", short: "c", kind: boolFlag, help: "continue the current context instead of starting afresh"},
				flagUI,
			}},
		{name: "reset", summary: "Clear the context (token ids, key/value cache, captured activations, step-through, profile).", run: (*Interpreter).doReset},
		{name: "topk", args: "", run: (*Interpreter).doTopK,
			summary: "Next-token distribution after the current context: the K most probable tokens with their probabilities.",
			flags:   []flagSpec{flagTopK, flagPrompt}},
		{name: "attention", run: (*Interpreter).doAttention,
			summary: "Attention patterns over the current context as heatmaps (one head, one layer's heads, or every layer × head).",
			flags: []flagSpec{flagLayer, flagHead,
				{name: "log", kind: boolFlag, help: "colour by log10 of the weight"}, flagPrompt, flagUI}},
		{name: "cache", args: "[HOOK ...]", maxPos: -1, pos: hookValues, posLast: hookValues, run: (*Interpreter).doCache,
			summary: "Capture the named hook tensors (globs allowed; all of them by default) at every position of the current context.",
			flags:   []flagSpec{flagPrompt}},
		{name: "activations", args: "HOOK", minPos: 1, maxPos: 1, posNames: "a hook name", pos: hookValues, run: (*Interpreter).doActivations,
			summary: "Statistics, per-position norms and a histogram of one captured hook tensor (captured now if it is not cached)."},
		{name: "save", args: "HOOK FILE.npy", minPos: 2, maxPos: 2, posNames: "a hook name and a .npy file", pos: hookValues, posLast: pathValues, run: (*Interpreter).doSave,
			summary: "Write a captured hook tensor ([positions, ...shape]) to a NumPy .npy file."},
		{name: "lens", run: (*Interpreter).doLens,
			summary: "Logit lens: each layer's residual stream through the final RMSNorm and classifier; top token and probability per layer and position.",
			flags: []flagSpec{
				{name: "positions", kind: intFlag, arg: "N", help: "show the last N positions (default 16; 0 for all)"}, flagPrompt}},
		{name: "ablate", args: "[HOOK]", maxPos: 1, pos: hookValues, run: (*Interpreter).doAblate,
			summary: "Zero a hook's activations (one head, one position, or all) from now on; show how the next-token distribution changes.",
			help: `Ablations persist, and apply to generation too, until %ablate --clear. %ablate with no arguments
lists the active ones.`,
			flags: []flagSpec{flagHead,
				{name: "position", kind: intFlag, arg: "P", help: "only at this position"},
				{name: "clear", kind: boolFlag, help: "remove every ablation"}, flagTopK}},
		{name: "patch", args: "HOOK", minPos: 1, maxPos: 1, posNames: "a hook name", pos: hookValues, run: (*Interpreter).doPatch,
			summary: "Activation patching: run OTHER PROMPT, copy its activations at HOOK into a run of the current context, show the change in the next-token distribution.",
			help:    "Positions present in both runs are patched (or only --position). The patch applies to this comparison only.",
			flags: []flagSpec{
				{name: "from", kind: stringFlag, arg: "\"OTHER PROMPT\"", help: "the prompt whose activations are patched in (required)"},
				{name: "position", kind: intFlag, arg: "P", help: "only patch this position"}, flagTopK}},
		{name: "step", args: "[layer|op]", maxPos: 1, pos: stepValues, run: (*Interpreter).doStep,
			summary: "Step through the next token's forward pass, one layer (default) or one op (hook point) per call.",
			help: `Each step shows what changed: the residual stream's norm, this layer's attention row, the logit
lens at this depth and the time the step took. %continue runs to the end and appends the predicted
token to the context; %reset abandons the step-through. --ui shows Next layer, Next op and
Continue buttons that do the same.`, flags: []flagSpec{flagUI}},
		{name: "continue", run: (*Interpreter).doContinue,
			summary: "Finish the forward pass being stepped through and append its token to the context."},
		{name: "variant", args: "[NAME]", maxPos: 1, pos: variantValues, run: (*Interpreter).doVariant,
			summary: "Show the kernel variants (CPU features, availability, which is active), or switch to one."},
		{name: "threads", args: "[N]", maxPos: 1, run: (*Interpreter).doThreads,
			summary: "Show or set the number of threads the matrix products are split over."},
		{name: "layout", args: "[mapped|aligned]", maxPos: 1, pos: layoutValues, run: (*Interpreter).doLayout,
			summary: "Show or switch where weights are read from: the mapped file or a 64-byte-aligned copy."},
		{name: "time", args: "", cell: true, run: (*Interpreter).doTime,
			summary: "Per-op time breakdown of token generation: each matrix product, attention, norms, sampling; bytes moved and GB/s.",
			help: `%%time runs the body of the cell with profiling on and shows the breakdown of the tokens it
generated. %time alone shows the profile of the last profiled generation, or (with none, or with -n)
profiles generating N tokens after the current context on a scratch state. With more than one thread a
second table shows how the threads shared each op: the share of its time spent in products split across
them, and each split's wall time cut into the evenly shared work, the wait for the slower part and the
hand-off. --threads 1,2 profiles the same tokens with each count in interleaved rounds and says, op by op,
whether more threads made it faster, slower or no different beyond noise.`,
			flags: []flagSpec{{name: "n", short: "n", kind: intFlag, arg: "N", help: "profile N fresh tokens (default 32)"},
				{name: "threads", kind: stringFlag, arg: "1,2", help: "compare these thread counts op by op, in interleaved rounds"},
				{name: "repeats", kind: intFlag, arg: "R", help: "rounds per thread count with --threads (default 5; fewer than 5 cannot decide)"}}},
		{name: "bench", run: (*Interpreter).doBench,
			summary: "Decoding speed and latency distribution per kernel variant × thread count, in interleaved rounds, each compared with the first.",
			flags: []flagSpec{
				{name: "n", short: "n", kind: intFlag, arg: "N", help: "tokens to time per configuration (default 64)"},
				{name: "warmup", kind: intFlag, arg: "W", help: "untimed tokens first (default 4)"},
				{name: "variants", kind: stringFlag, arg: "a,b", help: "comma-separated variants (default: every available one)", values: variantValues},
				{name: "threads", kind: stringFlag, arg: "1,2", help: "comma-separated thread counts (default: the current one)"},
				{name: "repeats", kind: intFlag, arg: "R", help: "interleaved rounds over the configurations; each is compared with the first (default 5; fewer than 5 cannot decide)"},
			}},
		{name: "bandwidth", run: (*Interpreter).doBandwidth,
			summary: "Measure this machine's memory bandwidth (read, copy, triad) and what it implies for decoding.",
			flags: []flagSpec{
				{name: "size", kind: intFlag, arg: "MiB", help: "memory the probe streams (default 256)"},
				{name: "threads", kind: intFlag, arg: "N", help: "threads (default: the current thread count)"},
				{name: "repeats", kind: intFlag, arg: "R", help: "repeats per test (default 5)"},
			}},
		{name: "roofline", run: (*Interpreter).doRoofline,
			summary: "This machine's roofline (measured bandwidth and compute roofs) with the engine's ops plotted, fp32 and int8, decode and batched prefill.",
			flags: []flagSpec{
				{name: "size", kind: intFlag, arg: "MiB", help: "bandwidth probe size (default 128)"},
				{name: "n", short: "n", kind: intFlag, arg: "N", help: "decode tokens to profile (default 16)"},
				{name: "prefill", kind: intFlag, arg: "P", help: "prompt tokens of the profiled batched prefill (default 32)"},
			}},
	}
}
