// Package magic is memwall's cell language: it parses a notebook cell into
// magics, runs them against the engine (generate, look inside, step
// through a forward pass, switch kernels, time) and returns what they
// produce as MIME bundles for package kernel.
//
// A cell is one of:
//
//   - line magics, one per line: "%name args"; lines starting with "#" are
//     comments;
//   - one cell magic on the first line, "%%name args", whose body is the
//     rest of the cell (%%generate, %%time, %%tokens);
//   - plain text, which is a prompt the model continues, exactly as if it
//     were the body of %%generate.
//
// Arguments are shell-like words: "--flag value", "--flag=value", short
// flags such as "-n 20", and single- or double-quoted strings (double
// quotes understand \" \\ \n \t). Magics that take text (%generate,
// %tokens) read flags up to the first word that is not a flag and take the
// rest of the line verbatim as the text ("--" ends the flags).
//
// The Interpreter keeps a session: the loaded model and tokenizer, the
// context (token ids of the conversation so far and the key/value cache
// that holds them), the kernel variant, thread count and weight layout,
// captured activations, active ablations, a forward pass being stepped
// through, and the last profile. Analyses (%topk, %attention, %lens,
// %cache, %ablate, %patch) recompute the context on a scratch state with
// hooks, so they never disturb the cache generation continues from.
//
// Every result carries text/plain; charts add image/svg+xml, tables
// text/html, and numbers that tests and notebooks check are in
// inspect.JSONMIME (not application/json, which JupyterLab would show as
// a tree instead of the picture). Errors are *Error values named "MagicError" that say
// which line of the cell is wrong and what was expected.
package magic
