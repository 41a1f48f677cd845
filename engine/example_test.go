package engine_test

import (
	"context"
	"fmt"
	"log"

	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/internal/testdata"
)

// Load stories260K, then greedily continue a prompt, streaming the pieces.
func Example() {
	m, err := engine.Open(testdata.Model("stories260K.bin"), engine.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	tok, err := engine.LoadTokenizer(testdata.Model("tok512.bin"), m.Vocab)
	if err != nil {
		log.Fatal(err)
	}
	s, err := engine.NewState(m, nil) // nil: the fastest kernels this CPU has
	if err != nil {
		log.Fatal(err)
	}
	_, err = s.Generate(context.Background(), tok, "Once upon a time", engine.GenerateOptions{Steps: 24},
		func(t engine.Token) error {
			fmt.Print(t.Piece)
			return nil
		})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println()
	// Output: Once upon a time, there was a little girl named Lily. She loved to play outsid
}
