package course

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/memwall/memwall/asm"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/inspect"
)

// TyingFile is one of the two v0 files of the tying experiment.
type TyingFile struct {
	Label      string
	Path       string
	Bytes      int64
	HeaderVoc  int32 // the int32 vocab_size in the header: negative means untied
	Shared     bool  // as the engine read it
	Vocab      int
	Params     int64
	Classifier string
}

// TyingResult is an untied model and a tied one with twice the
// vocabulary, written as v0 files of one shape.
type TyingResult struct {
	Shape string
	Files [2]TyingFile
}

// Tying writes (once, into dir) an untied v0 file of a shape and a tied one
// with twice the vocabulary, and reads both back: same size, different
// models; only the sign of vocab_size in the header tells them apart.
func Tying(ctx context.Context, dir, shape string) (*TyingResult, error) {
	cfg, err := engine.Shape(shape)
	if err != nil {
		return nil, err
	}
	cfg.Version = engine.V0
	untied, tied := cfg, cfg
	untied.Shared = false
	tied.Shared, tied.Vocab = true, 2*cfg.Vocab
	r := &TyingResult{Shape: shape}
	for i, f := range []struct {
		label string
		cfg   engine.Config
		name  string
	}{
		{fmt.Sprintf("untied, vocab %d", untied.Vocab), untied, fmt.Sprintf("%s-untied-v0.bin", shape)},
		{fmt.Sprintf("tied, vocab %d", tied.Vocab), tied, fmt.Sprintf("%s-tied-vocab%d-v0.bin", shape, tied.Vocab)},
	} {
		p := filepath.Join(dir, f.name)
		if err := engine.EnsureCheckpoint(ctx, p, f.cfg, engine.Synthetic(1)); err != nil { // safe in a shared cache
			return nil, err
		}
		size, voc, err := v0HeaderVocab(p)
		if err != nil {
			return nil, err
		}
		m, err := engine.Open(p, engine.LoadOptions{})
		if err != nil {
			return nil, err
		}
		tf := TyingFile{Label: f.label, Path: p, Bytes: size, HeaderVoc: voc,
			Shared: m.Shared, Vocab: m.Vocab, Params: m.Params(), Classifier: "the token embedding (tok_embeddings)"}
		if !m.Shared {
			tf.Classifier = fmt.Sprintf("its own %d×%d matrix", m.Vocab, m.Dim)
		}
		m.Close()
		r.Files[i] = tf
	}
	return r, nil
}

// v0HeaderVocab reads a v0 file's size and the int32 vocab_size of its
// header (the sixth of seven int32s), as the bytes say it, sign and all.
func v0HeaderVocab(path string) (size int64, vocab int32, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var head [28]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return 0, 0, fmt.Errorf("%s: shorter than a v0 header", path)
	}
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	return st.Size(), int32(binary.LittleEndian.Uint32(head[20:24])), nil
}

// Conclusions: can the file size tell tied from untied? Does the header?
func (r *TyingResult) Conclusions() Conclusions {
	a, b := r.Files[0], r.Files[1]
	c1 := Conclusion{ID: "size", Claim: "the file size tells a tied model from an untied one", Source: Measured,
		Evidence: ev("untied_bytes", a.Bytes, "tied_bytes", b.Bytes, "untied_vocab", a.Vocab, "tied_vocab", b.Vocab)}
	if a.Bytes == b.Bytes {
		c1.Verdict = DoesNotHold
		c1.Text = fmt.Sprintf("both files are exactly %d bytes, yet one has vocab %d and its own classifier, the other vocab %d and a shared one: the file size cannot tell them apart", a.Bytes, a.Vocab, b.Vocab)
	} else {
		c1.Verdict = Holds
		c1.Text = fmt.Sprintf("the files differ in size (%d and %d bytes)", a.Bytes, b.Bytes)
	}
	signOK := (a.HeaderVoc < 0) == !a.Shared && (b.HeaderVoc < 0) == !b.Shared
	c2 := Conclusion{ID: "sign", Claim: "the sign of vocab_size in the v0 header says whether the classifier is shared", Source: Measured,
		Evidence: ev("untied_header_vocab", int(a.HeaderVoc), "tied_header_vocab", int(b.HeaderVoc))}
	c2.Verdict = map[bool]string{true: Holds, false: DoesNotHold}[signOK]
	if signOK {
		c2.Text = fmt.Sprintf("vocab_size is %d in the untied file's header and %d in the tied one's: negative means untied; a loader that ignores the sign and guesses from the size mistakes half of the tied file's embedding rows for a classifier",
			a.HeaderVoc, b.HeaderVoc)
	} else {
		c2.Text = fmt.Sprintf("vocab_size is %d in the untied file's header and %d in the tied one's, which the engine read as shared=%v and shared=%v: the sign does not match the sharing",
			a.HeaderVoc, b.HeaderVoc, a.Shared, b.Shared)
	}
	return Conclusions{c1, c2}
}

// Bundle renders the table and conclusions.
func (r *TyingResult) Bundle() inspect.Bundle {
	t := inspect.Table{Title: fmt.Sprintf("Two %s-shape v0 files: one untied, one tied with twice the vocabulary", r.Shape),
		Header: []string{"file", "size on disk", "header vocab_size (int32)", "tied (engine)", "vocab (engine)", "parameters", "classifier"}}
	var js []map[string]any
	for _, f := range r.Files {
		t.Rows = append(t.Rows, []string{f.Label, fmt.Sprintf("%s (%d bytes)", inspect.Human(float64(f.Bytes), "B"), f.Bytes), fmt.Sprint(f.HeaderVoc),
			map[bool]string{true: "yes", false: "no"}[f.Shared], fmt.Sprint(f.Vocab), fmt.Sprint(f.Params), f.Classifier})
		js = append(js, map[string]any{"label": f.Label, "path": f.Path, "bytes": f.Bytes, "header_vocab_size": f.HeaderVoc, "shared": f.Shared, "vocab": f.Vocab, "params": f.Params})
	}
	cs := r.Conclusions()
	return inspect.Join([]inspect.Bundle{t.Bundle(), cs.Bundle()}, map[string]any{"shape": r.Shape, "files": js, "same_size": r.Files[0].Bytes == r.Files[1].Bytes,
		"conclusions": cs.JSON()})
}

// FirstTokenRun is one timed first forward pass.
type FirstTokenRun struct {
	Label            string
	Ms               float64
	Minor, Major     int64
	ResidentBefore   int64
	ResidentAfter    int64
	PageCacheDropped bool
	DropError        string
}

// FirstTokenResult is a model's first token cold and warm.
type FirstTokenResult struct {
	Model       string
	Variant     string
	Threads     int
	FileBytes   int64
	MappedBytes int64
	PageSize    int
	DropCache   bool
	Cold, Warm  FirstTokenRun
}

// FirstToken times m's first forward pass with this process's mapping of
// the weights evicted (and, with dropCache, the file dropped from the
// kernel's page cache), then again warm, counting page faults.
func FirstToken(ctx context.Context, m *engine.Model, ops *asm.Ops, label string, dropCache bool) (*FirstTokenResult, error) {
	if !m.Mapped() {
		return nil, fmt.Errorf("%s was read into the heap (--no-mmap): there is no mapping to evict; load it without --no-mmap", filepath.Base(m.Path))
	}
	one := func(label string, cold bool) (FirstTokenRun, error) {
		st, err := engine.NewState(m, ops)
		if err != nil {
			return FirstTokenRun{}, err
		}
		r := FirstTokenRun{Label: label}
		if cold {
			if err := m.Evict(); err != nil {
				return r, err
			}
			if dropCache {
				r.PageCacheDropped, r.DropError = dropPageCache(m.Path)
			}
		}
		r.ResidentBefore, _ = m.Resident()
		f0 := pageFaults()
		t0 := time.Now()
		if _, err := st.Forward(ctx, engine.BOS, 0); err != nil {
			return r, err
		}
		r.Ms = ms(time.Since(t0))
		f1 := pageFaults()
		r.Minor, r.Major = f1.minor-f0.minor, f1.major-f0.major
		r.ResidentAfter, _ = m.Resident()
		return r, nil
	}
	res := &FirstTokenResult{Model: label, Variant: ops.Name, Threads: ops.Threads(), FileBytes: m.Load.FileBytes, MappedBytes: m.Load.MappedBytes,
		PageSize: os.Getpagesize(), DropCache: dropCache}
	coldLabel := "cold: mapping evicted"
	if dropCache {
		coldLabel += ", page cache dropped"
	}
	var err error
	if res.Cold, err = one(coldLabel, true); err != nil {
		return nil, err
	}
	if res.Warm, err = one("warm: pages already mapped", false); err != nil {
		return nil, err
	}
	return res, nil
}

// Conclusions: how much slower cold is, and where the cold pages came from.
func (r *FirstTokenResult) Conclusions() Conclusions {
	c, w := r.Cold, r.Warm
	ratio := c.Ms / math.Max(w.Ms, 1e-9)
	c1 := Conclusion{ID: "cold_slower", Claim: "the cold first token is slower than the warm one", Source: Measured,
		Evidence: ev("cold_ms", c.Ms, "warm_ms", w.Ms, "ratio", ratio, "cold_minor_faults", c.Minor, "cold_major_faults", c.Major, "warm_faults", w.Minor+w.Major)}
	c1.Verdict = map[bool]string{true: Holds, false: DoesNotHold}[c.Ms > w.Ms]
	c1.Text = fmt.Sprintf("the cold first token took %.2f ms with %d minor + %d major page faults (the file is %.0f pages of %d bytes); warm %.2f ms with %d faults: %.1f×",
		c.Ms, c.Minor, c.Major, float64(r.FileBytes)/float64(r.PageSize), r.PageSize, w.Ms, w.Minor+w.Major, ratio)
	c2 := Conclusion{ID: "storage", Claim: "the cold token read the weights from storage (major faults)", Source: Measured,
		Evidence: ev("major_faults", c.Major, "resident_before", c.ResidentBefore, "resident_after", c.ResidentAfter)}
	switch {
	case c.Major > 0:
		c2.Verdict = Holds
		c2.Text = fmt.Sprintf("%d major faults: the file was read from storage", c.Major)
	case !r.DropCache:
		c2.Verdict = DoesNotHold
		c2.Text = "no major faults: evicting drops only this process's mapping; the kernel's page cache still held the file, so 'cold' cost page-table fills (minor faults), not disk reads — --drop-cache also drops the page cache"
	case c.PageCacheDropped:
		c2.Verdict = DoesNotHold
		c2.Text = "the page cache was asked to drop the file but no major faults happened: the kernel kept the pages (or read them ahead in bulk)"
	default:
		c2.Verdict = DoesNotHold
		c2.Text = "dropping the page cache failed (" + c.DropError + "): the cold token read from memory"
	}
	return Conclusions{c1, c2}
}

// Bundle renders the table and conclusions.
func (r *FirstTokenResult) Bundle() inspect.Bundle {
	t := inspect.Table{Title: fmt.Sprintf("First token of %s (%s, %d thread(s))", r.Model, r.Variant, r.Threads),
		Header: []string{"run", "first token ms", "minor faults", "major faults", "resident before", "resident after"}}
	var js []map[string]any
	for _, x := range []FirstTokenRun{r.Cold, r.Warm} {
		t.Rows = append(t.Rows, []string{x.Label, fmt.Sprintf("%.2f", x.Ms), fmt.Sprint(x.Minor), fmt.Sprint(x.Major), inspect.Human(float64(x.ResidentBefore), "B"), inspect.Human(float64(x.ResidentAfter), "B")})
		js = append(js, map[string]any{"label": x.Label, "ms": x.Ms, "minor_faults": x.Minor, "major_faults": x.Major,
			"resident_before": x.ResidentBefore, "resident_after": x.ResidentAfter, "page_cache_dropped": x.PageCacheDropped})
	}
	t.Note = fmt.Sprintf("faults: getrusage over the whole process during the first forward pass; resident: bytes of the file in memory (mincore); %s mapped", inspect.Human(float64(r.MappedBytes), "B"))
	cs := r.Conclusions()
	return inspect.Join([]inspect.Bundle{t.Bundle(), cs.Bundle()}, map[string]any{"runs": js, "file_bytes": r.FileBytes, "mapped_bytes": r.MappedBytes,
		"cold_ms": r.Cold.Ms, "warm_ms": r.Warm.Ms, "conclusions": cs.JSON()})
}
