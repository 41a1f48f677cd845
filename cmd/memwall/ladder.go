package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/memwall/memwall/course"
	"github.com/memwall/memwall/engine"
)

// runLadder runs the course's kernel ladder (the code %ladder runs) on
// synthetic models of a shape and prints its table and conclusions.
func runLadder(e *env, shape string, n, warmup, prompt, repeats int, asJSON bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	models := map[string]*engine.Model{}
	paths := map[string]string{}
	for _, f := range []string{"v0", "v2"} {
		p, err := shapeModel(e, shape, f)
		if err != nil {
			return err
		}
		paths[f] = p
		m, err := engine.Open(p, engine.LoadOptions{Prefault: true})
		if err != nil {
			return err
		}
		defer m.Close()
		models[f] = m
	}
	convert := func(weights string) (*engine.Model, error) { return openWeights(paths["v0"], weights) }
	res, err := course.Ladder(ctx, course.LadderOptions{Shape: shape, FP32: models["v0"], Int8: models["v2"], Convert: convert, Tokens: n, Warmup: warmup,
		Repeats: repeats, PromptTokens: prompt, Progress: func(msg string) { fmt.Fprintf(e.stderr, "ladder: %s\n", msg) }})
	if err != nil {
		return err
	}
	if asJSON {
		js := res.JSON()
		js["machine"] = machine()
		return writeJSON(e, js)
	}
	w := e.stdout
	fmt.Fprintf(w, "Kernel ladder on %s-shape synthetic weights\n\nmachine: %s\n", shape, machine())
	fmt.Fprintf(w, "command: memwall bench --shape %s --ladder -n %d --warmup %d --repeats %d --prompt-tokens %d\n\n", shape, n, warmup, repeats, prompt)
	fmt.Fprintln(w, "| rung | variant | threads | weights | tok/s (median) | runs | ms/token P50 | weight bytes/token | effective GB/s | % of roof |")
	fmt.Fprintln(w, "|---|---|---:|---|---:|---|---:|---:|---:|---:|")
	for _, r := range res.Table().Rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r[:len(r)-1], " | "))
	}
	fmt.Fprintf(w, "\n%s\n", res.Table().Note)
	if t := res.TTFT; t != nil {
		fmt.Fprintf(w, "\nTime to first token, %d-token prompt (%s, 1 thread): batched prefill %.1f ms, token by token %.1f ms (one run each)\n",
			t.PromptTokens, t.Variant, t.BatchedMs, t.TokenByToken)
	}
	fmt.Fprintf(w, "\n%s\n", res.Conclusions().Bundle().Text)
	return nil
}
