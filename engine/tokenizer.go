package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
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
// The file must be a regular file (a FIFO or a directory is refused before
// it is opened) of at most MaxTokenizerBytes.
//
// A GGUF file (a model) gives the vocabulary stored in its metadata.
func LoadTokenizer(path string, vocab int) (*Tokenizer, error) {
	if isGGUFFile(path) {
		return loadGGUFTokenizer(path, vocab)
	}
	data, err := ReadRegular(context.Background(), path, MaxTokenizerBytes)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return ParseTokenizer(data, path, vocab)
}

// MaxTokenizerBytes bounds a tokenizer file (llama2.c's 32000-token
// tokenizer.bin is 424 KiB).
const MaxTokenizerBytes = 64 << 20

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
	out := t.encodeWith(text, bos, t.merge)
	if eos {
		out = append(out, EOS)
	}
	return out
}

// encodeWith is Encode without EOS, with the given merge loop. A
// character kept as text (deferBytes) gets the id len(Pieces)+k, where
// extra[k] is its text; the merge loops read texts through pieceText.
func (t *Tokenizer) encodeWith(text string, bos bool, merge func([]int, []string) []int) []int {
	tokens := make([]int, 0, len(text)+3)
	var extra []string
	keep := func(s string) {
		tokens = append(tokens, len(t.Pieces)+len(extra))
		extra = append(extra, s)
	}
	if bos && !t.noBOS {
		tokens = append(tokens, BOS)
	}
	if text != "" && !t.noSpacePrefix {
		if id := t.Lookup(" "); id >= 0 {
			tokens = append(tokens, id)
		} else if t.deferBytes {
			keep(" ")
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
			tokens = append(tokens, id)
		case t.deferBytes:
			keep(ch)
		default:
			for k := 0; k < len(ch); k++ {
				tokens = append(tokens, t.byteID(ch[k]))
			}
		}
		i = j
	}
	tokens = merge(tokens, extra)
	if len(extra) == 0 {
		return tokens
	}
	// The characters still kept as text become their bytes' tokens.
	out := make([]int, 0, len(tokens))
	for _, id := range tokens {
		if id < len(t.Pieces) {
			out = append(out, id)
			continue
		}
		for _, b := range []byte(extra[id-len(t.Pieces)]) {
			out = append(out, t.byteID(b))
		}
	}
	return out
}

// pieceText is the text of a token id during merging: its piece, or a
// character kept as text (see encodeWith).
func (t *Tokenizer) pieceText(id int, extra []string) string {
	if id < len(t.Pieces) {
		return t.Pieces[id]
	}
	return extra[id-len(t.Pieces)]
}

// merge applies llama2.c's merges to tokens: while some adjacent pair's
// concatenation is a piece, replace the pair whose merged piece scores
// highest (the leftmost of equal scores) by that piece. llama2.c rescans
// the whole sequence for every merge, which is quadratic (a 1 MB cell took
// 17 s); this keeps the candidate pairs in a heap ordered by (score, then
// position) and the tokens in a linked list, so each merge costs a few heap
// operations, and gives the same result: the heap's top is exactly the
// pair llama2.c's scan would pick. Entries made stale by a merge are
// recognised by their nodes' versions and skipped.
func (t *Tokenizer) merge(tokens []int, extra []string) []int {
	n := len(tokens)
	if n < 2 {
		return tokens
	}
	// Node i is the token that started at position i; positions keep the
	// left-to-right order, so the smallest is the leftmost.
	type node struct {
		id, prev, next int32 // prev, next: -1 at the ends; id -1: merged away
		ver            uint32
	}
	nodes := make([]node, n)
	for i, id := range tokens {
		nodes[i] = node{id: int32(id), prev: int32(i - 1), next: int32(i + 1)}
	}
	nodes[n-1].next = -1
	h := &pairHeap{}
	var buf []byte
	push := func(l int32) {
		r := nodes[l].next
		if r < 0 {
			return
		}
		buf = append(append(buf[:0], t.pieceText(int(nodes[l].id), extra)...), t.pieceText(int(nodes[r].id), extra)...)
		id, ok := t.ids[string(buf)]
		if !ok {
			return
		}
		h.push(pair{score: t.Scores[id], left: l, right: r, id: int32(id), lver: nodes[l].ver, rver: nodes[r].ver})
	}
	for i := 0; i+1 < n; i++ {
		push(int32(i))
	}
	h.init()
	for h.len() > 0 {
		p := h.pop()
		l, r := &nodes[p.left], &nodes[p.right]
		if l.id < 0 || r.id < 0 || l.ver != p.lver || r.ver != p.rver {
			continue // a neighbour changed since this pair was queued
		}
		l.id, l.ver = p.id, l.ver+1
		r.id, r.ver = -1, r.ver+1
		l.next = r.next
		if r.next >= 0 {
			nodes[r.next].prev = p.left
		}
		if l.prev >= 0 {
			push(l.prev)
		}
		push(p.left)
	}
	out := tokens[:0]
	for i := int32(0); i >= 0; i = nodes[i].next {
		out = append(out, int(nodes[i].id))
	}
	return out
}

// pair is a candidate merge of the adjacent nodes left and right into id.
type pair struct {
	score       float32
	left, right int32
	id          int32
	lver, rver  uint32
}

// pairHeap is a max-heap of pairs by score, then by leftmost position.
type pairHeap struct {
	a     []pair
	ready bool
}

func (h *pairHeap) len() int { return len(h.a) }

func (h *pairHeap) less(i, j int) bool {
	if h.a[i].score != h.a[j].score {
		return h.a[i].score > h.a[j].score
	}
	return h.a[i].left < h.a[j].left
}

// push appends x; before init it only appends (init heapifies once).
func (h *pairHeap) push(x pair) {
	h.a = append(h.a, x)
	if h.ready {
		h.up(len(h.a) - 1)
	}
}

func (h *pairHeap) init() {
	h.ready = true
	for i := len(h.a)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *pairHeap) pop() pair {
	top := h.a[0]
	last := len(h.a) - 1
	h.a[0] = h.a[last]
	h.a = h.a[:last]
	if last > 0 {
		h.down(0)
	}
	return top
}

func (h *pairHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.a[i], h.a[p] = h.a[p], h.a[i]
		i = p
	}
}

func (h *pairHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h.a) {
			return
		}
		m := l
		if r := l + 1; r < len(h.a) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.a[i], h.a[m] = h.a[m], h.a[i]
		i = m
	}
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
