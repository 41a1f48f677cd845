// Command memwall is the one binary of the memwall project: the Jupyter
// kernel, its installer, and command-line tools around the engine (run a
// model like llama2.c's run, tokenize, write synthetic or quantized
// checkpoints, convert a model to GGUF, describe a checkpoint, download the
// real TinyStories checkpoints, measure memory bandwidth and decoding
// speed).
package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/memwall/memwall/internal/suggest"
	"io"
	"os"
	"strings"
)

type command struct {
	name, args, summary string
	run                 func(env *env, args []string) error
}

// env is what a command runs against, so tests can drive commands
// in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

var commands []command

func init() {
	commands = []command{
		{"kernel", "CONNECTION_FILE", "run the Jupyter kernel (started by Jupyter through the kernelspec)", cmdKernel},
		{"install", "[--user | --sys-prefix | --prefix DIR] [--name NAME] [--env KEY=VALUE ...] [--uninstall]", "install (or remove) the Jupyter kernelspec", cmdInstall},
		{"run", "MODEL [-z TOKENIZER] [-t TEMP] [-p TOPP] [-k TOPK] [-s SEED] [-n STEPS] [-i PROMPT] [--context-length N]", "generate text, a drop-in for llama2.c's run", cmdRun},
		{"tokenize", "-z TOKENIZER|MODEL.gguf [--ids] [--bos] [--eos] TEXT", "print the token ids (and pieces) of a text", cmdTokenize},
		{"gen", "--shape NAME [--seed N] [--untied] [--format v0|v1|v2] [--group-size G] -o FILE", "write a synthetic random-weight checkpoint", cmdGen},
		{"quantize", "IN -o OUT [--group-size G]", "convert a checkpoint to Q8_0 (version 2)", cmdQuantize},
		{"convert", "IN -o OUT.gguf [--type f32|f16|bf16|q8_0|q4_0] [-z TOKENIZER] [--name NAME]", "write any model memwall reads as a GGUF file (for llama.cpp, or to test GGUF speed)", cmdConvert},
		{"info", "MODEL", "describe a checkpoint: header, parameters, every tensor's shape, offset and alignment (alias: inspect-file)", cmdInfo},
		{"inspect-file", "MODEL", "", cmdInfo},
		{"bandwidth", "[--threads N] [--size BYTES|--model MODEL] [--runs R] [--json]", "measure memory read/copy/triad bandwidth", cmdBandwidth},
		{"pull", "NAME... [--dir DIR] | --list", "download stories15M, stories42M, stories110M or tokenizer into the models directory (resumes, checks, prints SHA-256)", cmdPull},
		{"bench", "MODEL|--shape NAME [--format v0|v2] [--variant V] [--threads N] [-n TOKENS] [--warmup W] [--context N] [--prompt-tokens P] [--weights TYPE[,TYPE]] [--kv fp32|f16|bf16] [--aligned] [--probes C] [--speculative DRAFT [--k K]] [--ladder] [--repeats R] [--json]", "measure decoding speed against the bandwidth roof", cmdBench},
		{"version", "", "print the version", cmdVersion},
		{"help", "[COMMAND]", "list the commands, or describe one", cmdHelp},
	}
}

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(e.main(os.Args[1:]))
}

// errUsage marks an error caused by how the command was called.
var errUsage = errors.New("usage")

func (e *env) main(args []string) int {
	if len(args) == 0 {
		cmdHelp(e, nil)
		return 2
	}
	name := args[0]
	for _, c := range commands {
		if c.name == name {
			err := c.run(e, args[1:])
			if err == nil {
				return 0
			}
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintf(e.stderr, "memwall %s: %v\n", name, err)
			if errors.Is(err, errUsage) {
				fmt.Fprintf(e.stderr, "usage: memwall %s %s\n", c.name, c.args)
				return 2
			}
			return 1
		}
	}
	fmt.Fprintf(e.stderr, "memwall: unknown command %q%s\n", name, suggestCommand(name))
	cmdHelp(e, nil)
	return 2
}

func suggestCommand(name string) string {
	var names []string
	for _, c := range commands {
		if c.summary != "" {
			names = append(names, c.name)
		}
	}
	if near := suggest.Nearest(name, names, 1); len(near) > 0 {
		return fmt.Sprintf(" (did you mean %q?)", near[0])
	}
	return ""
}

func cmdHelp(e *env, args []string) error {
	if len(args) > 0 {
		for _, c := range commands {
			if c.name == args[0] {
				fmt.Fprintf(e.stdout, "memwall %s %s\n\n%s\n", c.name, c.args, c.summary)
				return nil
			}
		}
		return fmt.Errorf("%w: no command %q", errUsage, args[0])
	}
	fmt.Fprintf(e.stdout, "memwall %s: a Jupyter kernel with a Llama 2 engine inside, for looking at a model while it runs.\n\nCommands:\n", Version)
	for _, c := range commands {
		if c.summary == "" {
			continue
		}
		fmt.Fprintf(e.stdout, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(e.stdout, "\nRun 'memwall help COMMAND' for a command's arguments.")
	return nil
}

func cmdVersion(e *env, args []string) error {
	fmt.Fprintf(e.stdout, "memwall %s\n", Version)
	return nil
}

// newFlags makes a flag set whose errors come back as usage errors
// instead of exiting.
func newFlags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("memwall "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parseInterspersed parses flags that may come before or after positional
// arguments (llama2.c puts the model first), returning the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func oneArg(pos []string, what string) (string, error) {
	if len(pos) != 1 {
		if len(pos) == 0 {
			return "", fmt.Errorf("%w: missing %s", errUsage, what)
		}
		return "", fmt.Errorf("%w: want one %s, got %q", errUsage, what, strings.Join(pos, " "))
	}
	return pos[0], nil
}
