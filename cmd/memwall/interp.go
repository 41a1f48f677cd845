package main

import (
	"github.com/memwall/memwall/kernel"
	"github.com/memwall/memwall/magic"
)

// newInterpreter is the cell language the kernel hosts. Models are looked
// up as package locate describes, wherever Jupyter starts the kernel; the
// built-in stories260K is always there.
func newInterpreter() (kernel.Interpreter, error) {
	return magic.New(magic.Options{Version: Version}), nil
}
