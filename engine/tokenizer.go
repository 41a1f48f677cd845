package engine

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"
)

// Special token ids of the Llama 2 sentencepiece vocabularies.
const (
	UNK = 0
	BOS = 1
	EOS = 2
)

// Tokenizer is a llama2.c tokenizer.bin vocabulary: pieces with merge
// scores. It encodes text exactly as llama2.c's encode() does.
type Tokenizer struct {
	Pieces    []string
	Scores    []float32
	MaxLength int // max_token_length from the file header

	ids map[string]int // piece to id (lowest id for duplicates)

	// Set for vocabularies read from GGUF metadata (gguf_tokenizer.go);
	// the zero values are llama2.c's behaviour.
	types         []int32 // sentencepiece token types (nil: all normal)
	byteIDs       []int32 // the token of each byte value (nil: byte+3)
	noBOS         bool    // the vocabulary does not start text with BOS
	noSpacePrefix bool    // no dummy-prefix space before the text
	deferBytes    bool    // byte fallback after the merges, as llama.cpp does
}

// TokenizerError is a malformed tokenizer file.
type TokenizerError struct {
	Path   string
	Offset int64
	What   string
}

func (e *TokenizerError) Error() string {
	return fmt.Sprintf("tokenizer %s: at byte offset %d: %s", e.Path, e.Offset, e.What)
}

// LoadTokenizer reads a llama2.c tokenizer file with vocab entries.
// vocab is the model's vocabulary size: the file must hold at least that
// many tokens (llama2.c reads exactly vocab_size of them and ignores the
// rest). Pass 0 to read every token in the file.
//
// A GGUF file (a model) gives the vocabulary stored in its metadata.
func LoadTokenizer(path string, vocab int) (*Tokenizer, error) {
	if isGGUFFile(path) {
		return loadGGUFTokenizer(path, vocab)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return ParseTokenizer(data, path, vocab)
}

// ParseTokenizer parses tokenizer bytes; name is used in errors.
func ParseTokenizer(data []byte, name string, vocab int) (*Tokenizer, error) {
	le := binary.LittleEndian
	fail := func(off int, format string, args ...any) error {
		return &TokenizerError{Path: name, Offset: int64(off), What: fmt.Sprintf(format, args...)}
	}
	if len(data) < 4 {
		return nil, fail(0, "file of %d bytes is too short for the 4-byte max_token_length header", len(data))
	}
	t := &Tokenizer{MaxLength: int(int32(le.Uint32(data)))}
	if t.MaxLength <= 0 || t.MaxLength > 1<<16 {
		return nil, fail(0, "max_token_length %d is not a plausible piece length", t.MaxLength)
	}
	off := 4
	for i := 0; vocab == 0 || i < vocab; i++ {
		if vocab == 0 && off == len(data) {
			break
		}
		if off+8 > len(data) {
			if off == len(data) {
				return nil, fail(off, "file ends after %d tokens but the model's vocabulary has %d", i, vocab)
			}
			return nil, fail(off, "token %d: file cut short in its score and length (need 8 bytes, have %d)", i, len(data)-off)
		}
		score := math.Float32frombits(le.Uint32(data[off:]))
		n := int(int32(le.Uint32(data[off+4:])))
		if n < 0 || n > t.MaxLength*4+16 {
			return nil, fail(off+4, "token %d: piece length %d is out of range (max_token_length %d)", i, n, t.MaxLength)
		}
		off += 8
		if off+n > len(data) {
			return nil, fail(off, "token %d: piece of %d bytes is cut short (have %d)", i, n, len(data)-off)
		}
		t.Pieces = append(t.Pieces, string(data[off:off+n]))
		t.Scores = append(t.Scores, score)
		off += n
	}
	if len(t.Pieces) < 3 {
		return nil, fail(off, "only %d tokens; a vocabulary needs at least <unk>, <s>, </s>", len(t.Pieces))
	}
	t.index()
	return t, nil
}

func (t *Tokenizer) index() {
	t.ids = make(map[string]int, len(t.Pieces))
	for i := len(t.Pieces) - 1; i >= 0; i-- {
		// Control, unknown and unused pieces never come from text (so a
		// literal "<s>" stays text, as in sentencepiece).
		if t.types != nil && !textType(t.types[i]) {
			continue
		}
		t.ids[t.Pieces[i]] = i
	}
}

// VocabSize is the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.Pieces) }

// Lookup returns the id of a piece, or -1.
func (t *Tokenizer) Lookup(piece string) int {
	if id, ok := t.ids[piece]; ok {
		return id
	}
	return -1
}

// Encode turns text into token ids the way llama2.c does: an optional BOS,
// a dummy-prefix space piece before non-empty text, one piece per UTF-8
// character (or its bytes as <0xXX> tokens when the character is not a
// piece), then repeated merges of the adjacent pair whose merged piece has
// the highest score (the leftmost of equals); an optional EOS.
//
// A vocabulary read from GGUF follows llama.cpp's sentencepiece tokenizer
// where it differs: the flags of the file decide BOS and the dummy prefix,
// and a character that is not a piece stays a piece of text while merging
// (it may still merge into a longer piece) and becomes byte tokens only
// after the merges.
func (t *Tokenizer) Encode(text string, bos, eos bool) []int {
	// tokens[i] is a token id, or -1 for a character kept as text;
	// texts[i] is its text (the piece, or the character).
	tokens := make([]int, 0, len(text)+3)
	texts := make([]string, 0, len(text)+3)
	add := func(id int, s string) {
		tokens = append(tokens, id)
		texts = append(texts, s)
	}
	if bos && !t.noBOS {
		add(BOS, t.Pieces[BOS])
	}
	if text != "" && !t.noSpacePrefix {
		if id := t.Lookup(" "); id >= 0 {
			add(id, " ")
		} else if t.deferBytes {
			add(-1, " ")
		}
	}
	// Split into UTF-8 characters as llama2.c does: a lead byte starts a
	// new character, continuation bytes join it, at most 4 bytes each.
	for i := 0; i < len(text); {
		j := i + 1
		for j < len(text) && text[j]&0xC0 == 0x80 && j-i < 4 {
			j++
		}
		ch := text[i:j]
		switch id := t.Lookup(ch); {
		case id >= 0:
			add(id, ch)
		case t.deferBytes:
			add(-1, ch)
		default:
			for k := 0; k < len(ch); k++ {
				b := t.byteID(ch[k])
				add(b, t.Pieces[b])
			}
		}
		i = j
	}
	// Merge the best-scoring adjacent pair until none merges. (Quadratic
	// in the text's length, like llama2.c; the map lookup of a converted
	// byte slice does not allocate.)
	var buf []byte
	for {
		best, bestID, bestIdx := float32(-1e10), -1, -1
		for i := 0; i+1 < len(tokens); i++ {
			buf = append(append(buf[:0], texts[i]...), texts[i+1]...)
			id, ok := t.ids[string(buf)]
			if ok && t.Scores[id] > best {
				best, bestID, bestIdx = t.Scores[id], id, i
			}
		}
		if bestIdx < 0 {
			break
		}
		tokens[bestIdx], texts[bestIdx] = bestID, t.Pieces[bestID]
		tokens = append(tokens[:bestIdx+1], tokens[bestIdx+2:]...)
		texts = append(texts[:bestIdx+1], texts[bestIdx+2:]...)
	}
	if t.deferBytes {
		out := tokens[:0:0]
		for i, id := range tokens {
			if id >= 0 {
				out = append(out, id)
				continue
			}
			for k := 0; k < len(texts[i]); k++ {
				out = append(out, t.byteID(texts[i][k]))
			}
		}
		tokens = out
	}
	if eos {
		tokens = append(tokens, EOS)
	}
	return tokens
}

// byteID is the token of a raw byte. llama2.c uses byte+3, where
// sentencepiece puts the <0xXX> pieces after <unk>, <s> and </s>.
func (t *Tokenizer) byteID(b byte) int {
	if t.byteIDs != nil {
		return int(t.byteIDs[b])
	}
	if int(b)+3 < len(t.Pieces) {
		return int(b) + 3
	}
	return UNK
}

// Decode returns the text of token id following prev, as llama2.c's
// decode(): the leading space of a piece after BOS is dropped, and <0xXX>
// pieces become the raw byte. Out-of-range ids decode to "".
func (t *Tokenizer) Decode(prev, id int) string {
	if id < 0 || id >= len(t.Pieces) {
		return ""
	}
	if t.types != nil && t.types[id] == tokenControl {
		return "" // as llama.cpp prints control tokens without special
	}
	p := t.Pieces[id]
	if prev == BOS && strings.HasPrefix(p, " ") {
		p = p[1:]
	}
	if b, ok := rawByte(p); ok {
		return string([]byte{b})
	}
	return p
}

// rawByte parses a "<0xXX>" piece.
func rawByte(p string) (byte, bool) {
	if len(p) != 6 || p[:3] != "<0x" || p[5] != '>' {
		return 0, false
	}
	var v byte
	for _, c := range []byte(p[3:5]) {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= c - '0'
		case c >= 'A' && c <= 'F':
			v |= c - 'A' + 10
		case c >= 'a' && c <= 'f':
			v |= c - 'a' + 10
		default:
			return 0, false
		}
	}
	return v, true
}

// DecodeAll decodes a token sequence into text (as it would be printed,
// starting after the first token's predecessor prev).
func (t *Tokenizer) DecodeAll(prev int, ids []int) string {
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteString(t.Decode(prev, id))
		prev = id
	}
	return sb.String()
}

// Printable reports whether llama2.c's safe_printf would print a decoded
// piece: it skips empty pieces and single bytes that are neither printable
// ASCII nor white space (raw bytes of a split UTF-8 character included).
func Printable(piece string) bool {
	if piece == "" {
		return false
	}
	if len(piece) == 1 {
		c := piece[0]
		return (c >= 0x20 && c < 0x7f) || c == ' ' || (c >= '\t' && c <= '\r')
	}
	return true
}
