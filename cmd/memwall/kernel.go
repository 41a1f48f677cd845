package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/memwall/memwall/kernel"
)

func cmdKernel(e *env, args []string) error {
	fs := newFlags(e, "kernel")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	conn, err := oneArg(pos, "CONNECTION_FILE")
	if err != nil {
		return err
	}
	interp, err := newInterpreter()
	if err != nil {
		return err
	}
	return kernel.Serve(context.Background(), conn, interp, kernel.Options{LogWriter: e.stderr, HandleSignals: true})
}

func cmdInstall(e *env, args []string) error {
	fs := newFlags(e, "install")
	user := fs.Bool("user", false, "install for this user (the default)")
	sysPrefix := fs.Bool("sys-prefix", false, "install into the prefix of the python3 that runs Jupyter")
	prefix := fs.String("prefix", "", "install into DIR/share/jupyter/kernels")
	name := fs.String("name", "memwall", "kernelspec name")
	display := fs.String("display-name", "memwall (Llama 2 inside)", "name shown in the launcher")
	python := fs.String("python", "python3", "python used to find --sys-prefix")
	uninstall := fs.Bool("uninstall", false, "remove the kernelspec instead")
	var envs envFlag
	fs.Var(&envs, "env", "KEY=VALUE for the kernel's environment (repeatable), e.g. MEMWALL_CACHE_DIR=/var/cache/memwall for a shared cache")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, strings.Join(pos, " "))
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this binary: %w", err)
	}
	opts := kernel.InstallOptions{
		Name: *name, DisplayName: *display, Language: "memwall", Executable: exe,
		User: *user, Prefix: *prefix, InterruptMode: "message",
		Metadata: map[string]any{"debugger": false}, Env: envs.m,
	}
	if *sysPrefix {
		out, err := exec.Command(*python, "-c", "import sys; print(sys.prefix)").Output()
		if err != nil {
			return fmt.Errorf("--sys-prefix: asking %s for sys.prefix: %w", *python, err)
		}
		opts.SysPrefix = strings.TrimSpace(string(out))
	}
	if !opts.User && opts.SysPrefix == "" && opts.Prefix == "" {
		opts.User = true
	}
	if *uninstall {
		dir, err := kernel.Uninstall(opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed kernelspec %s\n", dir)
		return nil
	}
	dir, err := kernel.Install(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "installed kernelspec %q in %s (kernel binary %s)\n", *name, dir, exe)
	return nil
}

// envFlag collects --env KEY=VALUE flags.
type envFlag struct{ m map[string]string }

func (e *envFlag) String() string { return fmt.Sprint(e.m) }

func (e *envFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	if e.m == nil {
		e.m = map[string]string{}
	}
	e.m[k] = val
	return nil
}
