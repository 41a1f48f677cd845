// Package engine is memwall's Llama inference engine.
//
// It reads llama2.c's three checkpoint formats (legacy v0, version 1 fp32
// and version 2 Q8_0) and GGUF files whose tensors are F32, F16, BF16, Q8_0
// or Q4_0, mapping the file read-only and viewing the tensors in place
// without copying them (Model.Convert stores them in another type at load,
// on the heap). It tokenizes with llama2.c's tokenizer.bin vocabularies or
// a GGUF file's sentencepiece vocabulary, samples with llama2.c's generator
// (so a seed gives llama2.c's tokens), and runs the transformer one token
// at a time (Forward), a whole prompt at once (Prefill), several sequences
// in lockstep (Batch) on the kernels of package asm, with an fp32, f16 or
// bf16 key/value cache. Generate, Speculate and DecodeGreedy decode through
// one loop (greedy or sampling, with or without a draft model), stream
// tokens as they are produced and stop promptly when their context is
// cancelled. Named hook points (TransformerLens names) let a caller read or
// overwrite the activations as they are computed, and a Profile times
// every op with the bytes and FLOPs the cost model (cost.go) counts for it.
//
// Errors say which file, field or section is wrong and by how many bytes;
// a fault on a mapped file truncated underneath is returned as a
// FaultError, never a crash.
package engine
