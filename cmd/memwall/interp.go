package main

import (
	"os"
	"path/filepath"

	"github.com/memwall/memwall/kernel"
	"github.com/memwall/memwall/magic"
)

// newInterpreter is the cell language the kernel hosts. Besides the
// places magic searches itself, models are looked up beside the project
// this binary was built in (bin/memwall -> ../../shared/models), so the
// kernel finds the shared models whatever directory Jupyter starts it in.
func newInterpreter() (kernel.Interpreter, error) {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		root := filepath.Dir(filepath.Dir(exe))
		dirs = append(dirs, filepath.Join(root, "models"), filepath.Join(filepath.Dir(root), "shared", "models"))
	}
	return magic.New(magic.Options{ModelDirs: dirs, Version: Version}), nil
}
