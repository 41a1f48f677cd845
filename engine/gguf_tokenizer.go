package engine

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
)

// Sentencepiece token types, as GGUF stores them in tokenizer.ggml.token_type.
const (
	tokenNormal      = 1
	tokenUnknown     = 2
	tokenControl     = 3
	tokenUserDefined = 4
	tokenUnused      = 5
	tokenByte        = 6
)

// textType reports whether a token of type ty can be produced from text.
func textType(ty int32) bool {
	return ty == tokenNormal || ty == tokenUserDefined || ty == tokenByte
}

// spmSpace is sentencepiece's visible space (U+2581), which GGUF
// vocabularies hold where llama2.c's tokenizer.bin holds ' '.
const spmSpace = "\u2581"

// ggufTokenizer builds the tokenizer stored in a GGUF file's metadata. A
// file without one gives a nil tokenizer and a note; a vocabulary memwall
// cannot encode with is an error that says so.
//
// The encoding is llama2.c's (Tokenizer.Encode) with llama.cpp's rules
// where they differ (deferred byte fallback, the file's BOS and prefix
// flags); on the 18 strings of tokenizer.golden.json both give llama.cpp's
// ids. Not reproduced: llama.cpp splits text on USER_DEFINED tokens before
// merging, where memwall merges them like normal pieces.
func ggufTokenizer(f *GGUFFile, vocab int) (*Tokenizer, string, error) {
	model, ok, err := f.String("tokenizer.ggml.model")
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "the GGUF file has no tokenizer (no tokenizer.ggml.model): give one with -z / --tokenizer", nil
	}
	switch model {
	case "llama":
	case "gpt2":
		return nil, "", f.metaErr("tokenizer.ggml.model", `"llama" (a sentencepiece vocabulary; GPT-2-style byte-level BPE, as Llama 3, Qwen and SmolLM use, is not supported yet)`, strconv.Quote(model))
	default:
		return nil, "", f.metaErr("tokenizer.ggml.model", `"llama" (a sentencepiece vocabulary)`, strconv.Quote(model))
	}
	arr := func(key string, required bool) (*GGUFArrayValue, error) {
		kv := f.Lookup(key)
		if kv == nil {
			if required {
				return nil, f.metaErr(key, "an array of the vocabulary's tokens", "no such key")
			}
			return nil, nil
		}
		a, isArr := kv.Value.(GGUFArrayValue)
		if !isArr || a.Len != vocab {
			return nil, f.metaErr(key, fmt.Sprintf("an array of %d entries (the rows of token_embd.weight)", vocab), describeValue(kv))
		}
		return &a, nil
	}
	toks, err := arr("tokenizer.ggml.tokens", true)
	if err != nil {
		return nil, "", err
	}
	pieces, isStr := toks.Values.([]string)
	if !isStr {
		return nil, "", f.metaErr("tokenizer.ggml.tokens", "an array of strings", describeValue(f.Lookup("tokenizer.ggml.tokens")))
	}
	t := &Tokenizer{Pieces: make([]string, vocab), Scores: make([]float32, vocab), types: make([]int32, vocab)}
	for i, p := range pieces {
		t.Pieces[i] = strings.ReplaceAll(p, spmSpace, " ")
		t.MaxLength = max(t.MaxLength, len(t.Pieces[i]))
		t.types[i] = tokenNormal
	}
	if sc, err := arr("tokenizer.ggml.scores", false); err != nil {
		return nil, "", err
	} else if sc != nil {
		v, isF := sc.Values.([]float32)
		if !isF {
			return nil, "", f.metaErr("tokenizer.ggml.scores", "an array of float32", describeValue(f.Lookup("tokenizer.ggml.scores")))
		}
		copy(t.Scores, v)
	}
	if ty, err := arr("tokenizer.ggml.token_type", false); err != nil {
		return nil, "", err
	} else if ty != nil {
		v, isI := ty.Values.([]int32)
		if !isI {
			return nil, "", f.metaErr("tokenizer.ggml.token_type", "an array of int32", describeValue(f.Lookup("tokenizer.ggml.token_type")))
		}
		for i, x := range v {
			if x < tokenNormal || x > tokenByte {
				return nil, "", f.metaErr("tokenizer.ggml.token_type", "token types 1..6", fmt.Sprintf("%d for token %d", x, i))
			}
		}
		copy(t.types, v)
	}
	// The engine treats 1 as BOS and 2 as EOS (Llama 2's sentencepiece
	// vocabulary); a file that says otherwise is refused rather than
	// decoded with the wrong stop token.
	for _, sp := range []struct {
		key  string
		want int64
		what string
	}{{"tokenizer.ggml.bos_token_id", BOS, "BOS"}, {"tokenizer.ggml.eos_token_id", EOS, "EOS"}} {
		v, ok, err := f.Uint(sp.key)
		if err != nil {
			return nil, "", err
		}
		if ok && v != sp.want {
			return nil, "", f.metaErr(sp.key, fmt.Sprintf("%d (memwall's engine takes token %d as %s, as Llama 2's vocabulary does)", sp.want, sp.want, sp.what), strconv.FormatInt(v, 10))
		}
	}
	unk := int32(UNK)
	if v, ok, err := f.Uint("tokenizer.ggml.unknown_token_id"); err != nil {
		return nil, "", err
	} else if ok {
		if v >= int64(vocab) {
			return nil, "", f.metaErr("tokenizer.ggml.unknown_token_id", fmt.Sprintf("an id below %d", vocab), strconv.FormatInt(v, 10))
		}
		unk = int32(v)
	}
	if b, ok, err := f.Bool("tokenizer.ggml.add_bos_token"); err != nil {
		return nil, "", err
	} else if ok {
		t.noBOS = !b
	}
	if b, ok, err := f.Bool("tokenizer.ggml.add_space_prefix"); err != nil {
		return nil, "", err
	} else if ok {
		t.noSpacePrefix = !b
	}
	// Byte fallback: the <0xXX> pieces of type BYTE, wherever they are.
	t.byteIDs = make([]int32, 256)
	for i := range t.byteIDs {
		t.byteIDs[i] = unk
	}
	for i, p := range t.Pieces {
		if t.types[i] != tokenByte {
			continue
		}
		if b, ok := rawByte(p); ok {
			t.byteIDs[b] = int32(i)
		}
	}
	if vocab < 3 {
		return nil, "", f.metaErr("tokenizer.ggml.tokens", "at least <unk>, <s>, </s>", fmt.Sprintf("%d tokens", vocab))
	}
	t.deferBytes = true
	t.index()
	return t, "", nil
}

// isGGUFFile reports whether the file at path starts with GGUF's magic.
// Anything but a regular file is not (and is never opened here).
func isGGUFFile(path string) bool {
	f, _, err := OpenRegular(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return isGGUF(b[:])
}

// loadGGUFTokenizer reads the vocabulary of a GGUF file (mapping it, so
// that only the header is read from disk). vocab, when positive, must be
// its size.
func loadGGUFTokenizer(path string, vocab int) (tok *Tokenizer, err error) {
	mp, _, err := mapFile(context.Background(), path, false)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer mp.close()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer catchFault(&err)
	f, err := ParseGGUF(mp.data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	n := vocab
	if n <= 0 {
		if kv := f.Lookup("tokenizer.ggml.tokens"); kv != nil {
			if a, ok := kv.Value.(GGUFArrayValue); ok {
				n = a.Len
			}
		}
	}
	tok, note, err := ggufTokenizer(f, n)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	if tok == nil {
		return nil, fmt.Errorf("tokenizer %s: %s", path, note)
	}
	return tok, nil
}
