// Command testkernel serves the toy interpreter as a Jupyter kernel, for the
// integration tests and benchmarks of package kernel:
//
//	testkernel kernel CONNECTION_FILE
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/memwall/memwall/kernel"
	"github.com/memwall/memwall/kernel/internal/toy"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != "kernel" {
		fmt.Fprintln(os.Stderr, "usage: testkernel kernel CONNECTION_FILE")
		os.Exit(2)
	}
	err := kernel.Serve(context.Background(), os.Args[2], toy.Interp{}, kernel.Options{HandleSignals: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "testkernel:", err)
		os.Exit(1)
	}
}
