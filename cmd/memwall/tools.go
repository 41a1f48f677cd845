package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/internal/locate"
)

// cmdRun is llama2.c's run: same flags, same defaults, same output.
func cmdRun(e *env, args []string) error {
	fs := newFlags(e, "run")
	tokPath := fs.String("z", "", "tokenizer file or name (default: the GGUF file's own, else beside the model, else built in)")
	temp := fs.Float64("t", 1.0, "temperature in [0,inf); 0 is greedy")
	topp := fs.Float64("p", 0.9, "top-p (nucleus) sampling in [0,1]; 0 or 1 is off")
	topk := fs.Int("k", 0, "top-k sampling; 0 is off")
	seed := fs.Int64("s", 0, "random seed; 0 or less uses the time")
	steps := fs.Int("n", 256, "number of steps to run (prompt included); 0 is seq_len")
	prompt := fs.String("i", "", "input prompt")
	mode := fs.String("m", "generate", "mode: generate (chat is not supported)")
	variant := fs.String("variant", "auto", "kernel variant")
	threads := fs.Int("threads", 1, "threads for the matrix products")
	ctxLen := fs.Int("context-length", 0, "override a GGUF file's context length (llama.context_length), with a warning")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	path, err := oneArg(pos, "MODEL")
	if err != nil {
		return err
	}
	if path, err = findModel(path); err != nil {
		return err
	}
	if *mode != "generate" {
		return fmt.Errorf("%w: mode %q is not supported (only generate)", errUsage, *mode)
	}
	if *steps < 0 {
		return fmt.Errorf("%w: -n %d: steps must be >= 0", errUsage, *steps)
	}
	if *seed <= 0 {
		*seed = time.Now().Unix()
	}
	m, err := engine.Open(path, engine.LoadOptions{ContextLength: *ctxLen})
	if err != nil {
		return err
	}
	defer m.Close()
	for _, w := range m.Load.Warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	tok, err := modelTokenizer(m, path, *tokPath)
	if err != nil {
		return err
	}
	ops, err := newOps(*variant, *threads)
	if err != nil {
		return err
	}
	s, err := engine.NewState(m, ops)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	out := bufferedStdout(e)
	g, err := s.Generate(ctx, tok, *prompt, engine.GenerateOptions{
		Steps: *steps, Temperature: float32(*temp), TopP: float32(*topp), TopK: *topk, Seed: uint64(*seed),
	}, func(t engine.Token) error {
		// llama2.c prints each piece as it comes (skipping lone
		// unprintable bytes) and flushes.
		if engine.Printable(t.Piece) {
			out.WriteString(t.Piece)
			out.Flush()
		}
		return nil
	})
	out.WriteString("\n")
	out.Flush()
	// Like llama2.c, leave the first (slower) token out of the rate.
	if g != nil && len(g.Times) > 1 {
		fmt.Fprintf(e.stderr, "achieved tok/s: %f\n", g.TokPerSec())
	}
	return err
}

func cmdTokenize(e *env, args []string) error {
	fs := newFlags(e, "tokenize")
	tokPath := fs.String("z", "", "tokenizer file or name, or a GGUF model whose vocabulary to use (required)")
	idsOnly := fs.Bool("ids", false, "print only the ids")
	bos := fs.Bool("bos", true, "start with BOS (1)")
	eos := fs.Bool("eos", false, "end with EOS (2)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *tokPath == "" {
		return fmt.Errorf("%w: -z TOKENIZER is required", errUsage)
	}
	r, err := locate.Search{}.Find("tokenizer", *tokPath, ".bin")
	if err != nil {
		return err
	}
	tok, err := engine.LoadTokenizer(r.Path, 0)
	if err != nil {
		return err
	}
	ids := tok.Encode(strings.Join(pos, " "), *bos, *eos)
	if *idsOnly {
		strs := make([]string, len(ids))
		for i, id := range ids {
			strs[i] = strconv.Itoa(id)
		}
		fmt.Fprintln(e.stdout, strings.Join(strs, " "))
		return nil
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "pos\tid\tpiece")
	for i, id := range ids {
		fmt.Fprintf(w, "%d\t%d\t%q\n", i, id, tok.Pieces[id])
	}
	return w.Flush()
}

func cmdGen(e *env, args []string) error {
	fs := newFlags(e, "gen")
	shape := fs.String("shape", "", "named shape: "+strings.Join(engine.ShapeNames(), ", "))
	seed := fs.Uint64("seed", 1, "random seed (the same seed gives the same weights in every format)")
	untied := fs.Bool("untied", false, "write a separate classifier instead of sharing the embedding")
	format := fs.String("format", "v0", "v0 (legacy), v1 (fp32) or v2 (Q8_0)")
	gs := fs.Int("group-size", 0, "Q8_0 group size for v2 (default: llama2.c's, 64 halved until it divides every row)")
	out := fs.String("o", "", "output file (required)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, strings.Join(pos, " "))
	}
	if *out == "" || *shape == "" {
		return fmt.Errorf("%w: --shape and -o are required", errUsage)
	}
	c, err := engine.Shape(*shape)
	if err != nil {
		return err
	}
	c.Shared = !*untied
	if c.Version, err = parseFormat(*format); err != nil {
		return err
	}
	if c.Version == engine.V2 {
		c.GroupSize = *gs
		if c.GroupSize == 0 {
			c.GroupSize = engine.DefaultGroupSize(c)
		}
	}
	start := time.Now()
	if err := engine.WriteCheckpoint(*out, c, engine.Synthetic(*seed)); err != nil {
		return err
	}
	n, _ := c.FileSize()
	fmt.Fprintf(e.stderr, "wrote %s: %s, %s, %d parameters, %d bytes, random weights (seed %d) in %v\n",
		*out, *shape, c.FormatName(), c.Params(), n, *seed, time.Since(start).Round(time.Millisecond))
	return nil
}

func parseFormat(s string) (int, error) {
	switch s {
	case "v0", "0", "legacy":
		return engine.V0, nil
	case "v1", "1":
		return engine.V1, nil
	case "v2", "2", "q8", "q8_0":
		return engine.V2, nil
	}
	return 0, fmt.Errorf("%w: --format %q: want v0, v1 or v2", errUsage, s)
}

func cmdQuantize(e *env, args []string) error {
	fs := newFlags(e, "quantize")
	out := fs.String("o", "", "output file (required)")
	gs := fs.Int("group-size", 0, "Q8_0 group size (default: llama2.c's, 64 halved until it divides every row)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	in, err := oneArg(pos, "input MODEL")
	if err != nil {
		return err
	}
	if in, err = findModel(in); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: -o OUT is required", errUsage)
	}
	m, err := engine.Open(in, engine.LoadOptions{})
	if err != nil {
		return err
	}
	defer m.Close()
	c := m.Config
	c.Version = engine.V2
	c.GroupSize = *gs
	if c.GroupSize == 0 {
		c.GroupSize = engine.DefaultGroupSize(c)
	}
	if err := engine.WriteCheckpoint(*out, c, engine.FromModel(m)); err != nil {
		return err
	}
	n, _ := c.FileSize()
	fmt.Fprintf(e.stderr, "wrote %s: %s, %d bytes (%.2fx smaller than %s)\n", *out, c.FormatName(), n,
		float64(m.Load.FileBytes)/float64(n), in)
	return nil
}

func cmdInfo(e *env, args []string) error {
	fs := newFlags(e, "info")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	path, err := oneArg(pos, "MODEL")
	if err != nil {
		return err
	}
	if path, err = findModel(path); err != nil {
		return err
	}
	m, err := engine.Open(path, engine.LoadOptions{})
	if err != nil {
		return err
	}
	defer m.Close()
	c := m.Config
	w := e.stdout
	fmt.Fprintf(w, "file:        %s (%d bytes)\n", path, m.Load.FileBytes)
	if note := builtinNote(path, m.Load.CopiedBytes); note != "" {
		fmt.Fprintf(w, "source:      %s\n", note)
	}
	fmt.Fprintf(w, "format:      %s\n", c.FormatName())
	fmt.Fprintf(w, "dim %d, hidden_dim %d, n_layers %d, n_heads %d, n_kv_heads %d, vocab_size %d, seq_len %d\n",
		c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, c.Vocab, c.SeqLen)
	fmt.Fprintf(w, "head_size %d, kv_dim %d", c.HeadSize(), c.KVDim())
	if c.KVHeads < c.Heads {
		fmt.Fprintf(w, ", grouped-query attention (%d query heads per kv head)", c.Heads/c.KVHeads)
	}
	fmt.Fprintln(w)
	tie := "shared with the token embedding (tied)"
	if !c.Shared {
		tie = "separate output matrix (untied)"
	}
	fmt.Fprintf(w, "classifier:  %s\n", tie)
	fmt.Fprintf(w, "parameters:  %d\n", c.Params())
	fmt.Fprintf(w, "weights read per token: %d bytes\n", m.WeightBytes())
	if g := m.GGUF; g != nil {
		fmt.Fprintf(w, "rms_norm_eps %g, rope_freq_base %g, alignment %d, tensor data from offset %d\n", c.Eps(), c.RopeTheta(), g.Alignment, g.DataOffset)
		fmt.Fprintf(w, "\nmetadata (%d keys):\n", len(g.KV))
		for _, kv := range g.KV {
			fmt.Fprintf(w, "  %s = %s\n", kv.Key, engine.FormatGGUFValue(kv.Value, 6))
		}
	}
	for _, warn := range m.Load.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tensor\tshape\tdtype\toffset\tbytes\talign\t")
	for _, t := range m.Tensors {
		shape := make([]string, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = strconv.Itoa(d)
		}
		name := t.Name
		if t.Skipped {
			name += " (unused)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t\n", name, strings.Join(shape, "x"), t.DType, t.Offset, t.Bytes+t.ScaleBytes, t.Alignment())
	}
	return tw.Flush()
}
