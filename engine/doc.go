// Package engine is memwall's Llama 2 inference engine for llama2.c
// checkpoints.
//
// It reads all three of llama2.c's checkpoint formats (legacy v0, version 1
// fp32 and version 2 Q8_0), mapping the file read-only and viewing the
// tensors in place without copying them; it tokenizes with llama2.c's
// tokenizer.bin vocabularies, samples with llama2.c's generator (so a seed
// gives llama2.c's tokens), and runs the transformer one token at a time
// (Forward) or a whole prompt at once (Prefill) on the kernels of package
// asm. Named hook points (TransformerLens names) let a caller read or
// overwrite the activations as they are computed, and a Profile times
// every op. Generate streams tokens as they are produced and stops
// promptly when its context is cancelled.
//
// Errors say which file, field or section is wrong and by how many bytes;
// a fault on a mapped file truncated underneath is returned as a
// FaultError, never a crash.
package engine
