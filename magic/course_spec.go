package magic

import "strings"

// courseMagics are the magics the course notebooks measure with (see
// course.go): each ends in a conclusion written from its own numbers.
func courseMagics() []*magicSpec {
	return []*magicSpec{
		{name: "shapes", run: (*Interpreter).doShapes,
			summary: "Parameters and bytes of every named shape: v0 file size tied and untied, v2 (Q8_0) size, weight bytes per token, whether it fits in cache.",
			flags:   []flagSpec{{name: "shapes", kind: stringFlag, arg: "a,b", help: "comma-separated shapes (default: all of " + strings.Join(shapeNames(), ", ") + ")"}}},
		{name: "tying", run: (*Interpreter).doTying,
			summary: "Write an untied model and a tied one with twice the vocabulary: same file size, different models; the sign of the v0 vocab_size tells them apart.",
			flags:   []flagSpec{{name: "shape", kind: stringFlag, arg: "NAME", help: "shape of the pair (default stories260K)", values: shapeValues}}},
		{name: "firsttoken", run: (*Interpreter).doFirstToken,
			summary: "The loaded model's first token cold (its mapping evicted) and warm: time, page faults, resident bytes.",
			help: `Cold means this process's mapping of the weights was dropped (madvise), so every page faults in
again — from the kernel's page cache, which still holds the file. --drop-cache also asks the kernel
to drop the file from its page cache (fadvise), so the cold token reads storage (major faults).`,
			flags: []flagSpec{{name: "drop-cache", kind: boolFlag, help: "also drop the file from the kernel's page cache"}}},
		{name: "intensity", run: (*Interpreter).doIntensity,
			summary: "Bytes and FLOPs of one decoded token, op by op, fp32 and int8: the arithmetic intensity that puts decoding under the memory wall.",
			flags: []flagSpec{
				{name: "shape", kind: stringFlag, arg: "NAME", help: "a named shape instead of the loaded model", values: shapeValues},
				{name: "position", kind: intFlag, arg: "P", help: "position of the token (attention reads P+1 cached keys and values; default 0)"},
			}},
		{name: "wall", run: (*Interpreter).doWall,
			summary: "Decoding speed predicted from measured bandwidth against measured, across model sizes in and out of cache, on this machine's roofline.",
			help: `Each shape is a synthetic fp32 model (random weights, written once to the cache directory).
Predicted tok/s = read bandwidth ÷ weight bytes per token. Quick mode leaves out stories110M.`,
			flags: []flagSpec{
				{name: "shapes", kind: stringFlag, arg: "a,b", help: "comma-separated shapes (default: all)"},
				{name: "n", short: "n", kind: intFlag, arg: "N", help: "tokens to time per shape (default 32; quick 12)"},
				{name: "size", kind: intFlag, arg: "MiB", help: "bandwidth probe size (default 256; quick 64)"},
			}},
		{name: "ladder", run: (*Interpreter).doLadder,
			summary: "The kernel ladder: naive loop, unrolled, SIMD, two threads, bf16, int8 and Q4_0 weights, aligned copy, int8 on two threads — each rung's tok/s and % of the read roof, rungs compared over interleaved rounds.",
			flags: []flagSpec{
				{name: "shape", kind: stringFlag, arg: "NAME", help: "shape of the synthetic weights (default stories110M; quick stories15M)", values: shapeValues},
				{name: "n", short: "n", kind: intFlag, arg: "N", help: "tokens per rung and round (default 32, an eighth for the scalar rungs; quick 12)"},
				{name: "repeats", kind: intFlag, arg: "R", help: "interleaved rounds over all rungs, from which each comparison's interval comes (default 5; quick 3)"},
				{name: "size", kind: intFlag, arg: "MiB", help: "bandwidth probe size (default: the model's size, at least 256; quick 64)"},
			}},
		{name: "latency", run: (*Interpreter).doLatency,
			summary: "Per-token latency: cold and warm first token, P50/P99/P99.9/CV, drift with position and attention's share, time to first token against 200 ms.",
			flags: []flagSpec{
				{name: "shape", kind: stringFlag, arg: "NAME", help: "a synthetic model of this shape instead of the loaded one (quick: stories110M becomes stories15M)", values: shapeValues},
				{name: "n", short: "n", kind: intFlag, arg: "N", help: "tokens decoded from position 0 (default 256; quick 64)"},
				{name: "warmup", kind: intFlag, arg: "W", help: "first tokens left out of the distribution (default 4)"},
				{name: "prompt", kind: intFlag, arg: "P", help: "prompt length for time to first token (default 64; quick 32)"},
			}},
		{name: "decode", args: "PROMPT", text: true, run: (*Interpreter).doDecode,
			summary: "Decode with a strategy (greedy, sample, topk, topp, beam, contrastive) and report the text, log p, weight and KV-cache bytes, FLOPs and time per token.",
			help: `beam and contrastive run B hypotheses (--width): batched (default; every weight read once per
step for all of them) or --sequential (one pass per hypothesis). --compare 1,2,4,8 runs every width
both ways, in interleaved pairs, and compares their traffic (counted by the cost model) and time
(measured). The session's context is not changed.`,
			flags: []flagSpec{
				{name: "strategy", kind: stringFlag, arg: "S", help: "greedy (default), sample, topk, topp, beam or contrastive"},
				{name: "n", short: "n", kind: intFlag, arg: "N", help: "tokens to generate (default 32; quick 12 with --compare)"},
				{name: "width", kind: intFlag, arg: "B", help: "beam width, or contrastive search's k (default 4)"},
				{name: "alpha", kind: floatFlag, arg: "A", help: "contrastive search's degeneration penalty (default 0.6)"},
				{name: "temperature", short: "t", kind: floatFlag, arg: "T", help: "temperature of sample, topk, topp (default 1)"},
				{name: "top-k", short: "k", kind: intFlag, arg: "K", help: "k of topk (default 20)"},
				{name: "top-p", short: "p", kind: floatFlag, arg: "P", help: "p of topp (default 0.9)"},
				{name: "seed", short: "s", kind: intFlag, arg: "S", help: "random seed (default 42)"},
				{name: "sequential", kind: boolFlag, help: "run the hypotheses one after another instead of batched"},
				{name: "compare", kind: stringFlag, arg: "1,2,4,8", help: "run these widths batched and sequentially and compare"},
				{name: "repeats", kind: intFlag, arg: "R", help: "with --compare: batched/sequential pairs per width, interleaved (default 5; quick 3, too few to decide)"},
			}},
		{name: "numerics", run: (*Interpreter).doNumerics,
			summary: "Rounding: summation order of one long sum per kernel, then every fp32 kernel and int8 against a float64 forward pass: logit error, top-k agreement, perplexity.",
			flags: []flagSpec{
				{name: "text", kind: stringFlag, arg: "\"TEXT\"", help: "held-out text (default: a short story written for memwall)"},
				{name: "k", short: "k", kind: intFlag, arg: "K", help: "top-k agreement (default 5)"},
				{name: "length", kind: intFlag, arg: "N", help: "values in the summation-order demonstration (default 65536)"},
			}},
		{name: "paper", run: (*Interpreter).doPaper,
			summary: "The paper's own data (its CSVs, copied into memwall with their citation): throughput with and without the first token, P50/P99, drift, implied bandwidths, the energy and int4 figures, each recomputed and judged.",
			help: `Loads benchmark_results.csv (the paper's NEON engine, 256 tokens of stories110M on an M2 Pro) and
pytorch_results.csv (its PyTorch baseline) from course/paperdata and recomputes the numbers the paper
prints, quoting its sentences verbatim. Nothing here is measured on this machine.`},
		{name: "sink", run: (*Interpreter).doSink,
			summary: "How much attention every layer and head puts on the first token (the attention sink), against an even spread.",
			flags:   []flagSpec{flagPrompt}},
	}
}
