package engine

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/memwall/memwall/asm"
)

// Shapes are the configurations of llama2.c's TinyStories models, for
// synthetic models of the same size.
var Shapes = map[string]Config{
	"stories260K": {Dim: 64, HiddenDim: 172, Layers: 5, Heads: 8, KVHeads: 4, Vocab: 512, SeqLen: 512, Shared: true},
	"stories15M":  {Dim: 288, HiddenDim: 768, Layers: 6, Heads: 6, KVHeads: 6, Vocab: 32000, SeqLen: 256, Shared: true},
	"stories42M":  {Dim: 512, HiddenDim: 1376, Layers: 8, Heads: 8, KVHeads: 8, Vocab: 32000, SeqLen: 1024, Shared: true},
	"stories110M": {Dim: 768, HiddenDim: 2048, Layers: 12, Heads: 12, KVHeads: 12, Vocab: 32000, SeqLen: 1024, Shared: true},
}

// ShapeNames lists the named shapes from smallest to largest.
func ShapeNames() []string {
	names := make([]string, 0, len(Shapes))
	for n := range Shapes {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return Shapes[names[i]].Params() < Shapes[names[j]].Params() })
	return names
}

// Shape returns a named shape.
func Shape(name string) (Config, error) {
	c, ok := Shapes[name]
	if !ok {
		return Config{}, fmt.Errorf("unknown shape %q (have %s)", name, strings.Join(ShapeNames(), ", "))
	}
	return c, nil
}

// DefaultGroupSize is llama2.c's choice (export.py): 64, halved until it
// divides dim, and here also hidden_dim (every matrix row must hold whole
// groups; llama2.c's export asserts that instead). stories15M gets 32, as
// llama2.c gives it, stories260K (hidden_dim 172) 4.
func DefaultGroupSize(c Config) int {
	gs := 64
	for gs > 1 && (c.Dim%gs != 0 || c.HiddenDim%gs != 0) {
		gs /= 2
	}
	return gs
}

// TensorSource yields a tensor's values as fp32 (the writer quantizes for
// version 2).
type TensorSource func(t TensorInfo) ([]float32, error)

// WriteCheckpoint writes a checkpoint of config c to path, asking src for
// each tensor's values in storage order. The file is written to a
// temporary name and renamed into place, so a failed write leaves nothing
// behind that looks complete. An existing file at path is replaced.
func WriteCheckpoint(path string, c Config, src TensorSource) error {
	return writeCheckpoint(context.Background(), path, c, src, false)
}

// WriteCheckpointContext is WriteCheckpoint that stops (leaving nothing
// behind) when ctx is done, checked before every tensor, and never
// replaces a file that appears at path meanwhile (EnsureCheckpoint's
// publish). A file system without room is a *DiskFullError.
func WriteCheckpointContext(ctx context.Context, path string, c Config, src TensorSource) error {
	return writeCheckpoint(ctx, path, c, src, true)
}

func writeCheckpoint(ctx context.Context, path string, c Config, src TensorSource, noReplace bool) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	ts, _ := c.layout()
	size, err := c.FileSize()
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return writeFile(path, size, noReplace, func(w io.Writer) error {
		if _, err := w.Write(c.encodeHeader()); err != nil {
			return err
		}
		var buf []byte
		for _, t := range ts {
			if ctx.Err() != nil {
				return fmt.Errorf("stopped before tensor %s: %w", t.Name, context.Cause(ctx))
			}
			var vals []float32
			var err error
			if t.Skipped {
				vals = legacyRopeTable(c, t.Name)
			} else if vals, err = src(t); err != nil {
				return fmt.Errorf("tensor %s: %w", t.Name, err)
			}
			if int64(len(vals)) != t.Elems() {
				return fmt.Errorf("tensor %s: source gave %d values, want %d", t.Name, len(vals), t.Elems())
			}
			if t.DType == F32 {
				// In slices of 256k values, so that an interrupt does not
				// wait for a whole embedding (98 MB for stories110M) to be
				// encoded and written.
				for off := 0; off < len(vals); off += 1 << 18 {
					if ctx.Err() != nil {
						return fmt.Errorf("stopped in tensor %s: %w", t.Name, context.Cause(ctx))
					}
					buf = appendF32(buf[:0], vals[off:min(len(vals), off+1<<18)])
					if _, err := w.Write(buf); err != nil {
						return fmt.Errorf("tensor %s: %w", t.Name, err)
					}
				}
				continue
			}
			q := make([]int8, len(vals))
			sc := make([]float32, len(vals)/c.GroupSize)
			asm.MustNew("scalar", 1).Quantize(q, sc, vals, c.GroupSize)
			buf = buf[:0]
			for _, v := range q {
				buf = append(buf, byte(v))
			}
			buf = appendF32(buf, sc)
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("tensor %s: %w", t.Name, err)
			}
		}
		return nil
	})
}

// writeFile writes the file at path through a temporary file beside it, so
// that a failed write leaves nothing behind that looks complete: write
// fills it (buffered), then it is synced, made readable by everyone (a
// model is meant to be shared: one copy in the page cache for every
// kernel on the machine) and moved into place, by publish when noReplace
// (never replacing a file that appeared meanwhile), else by rename. size,
// when positive, is checked against the free space first; a full file
// system is a *DiskFullError either way. Other errors say "writing path".
func writeFile(path string, size int64, noReplace bool, write func(w io.Writer) error) (err error) {
	if free := freeBytes(filepath.Dir(path)); size > 0 && free >= 0 && free < size {
		return &DiskFullError{Path: path, Need: size, Avail: free, Err: syscall.ENOSPC}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			if isNoSpace(err) {
				err = &DiskFullError{Path: path, Need: size, Avail: -1, Err: err}
			} else {
				err = fmt.Errorf("writing %s: %w", path, err)
			}
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if noReplace {
		return publish(tmp.Name(), path)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

func appendF32(b []byte, v []float32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// legacyRopeTable is the content of v0's legacy freq_cis tables: cos (real) or
// sin (imag) of pos*theta_i, as llama2.c's export wrote them.
func legacyRopeTable(c Config, name string) []float32 {
	hs := c.HeadSize()
	out := make([]float32, c.SeqLen*hs/2)
	for p := 0; p < c.SeqLen; p++ {
		for i := 0; i < hs/2; i++ {
			theta := 1 / math.Pow(10000, float64(2*i)/float64(hs))
			a := float64(p) * theta
			if name == "freq_cis_real" {
				out[p*hs/2+i] = float32(math.Cos(a))
			} else {
				out[p*hs/2+i] = float32(math.Sin(a))
			}
		}
	}
	return out
}

// Synthetic is a TensorSource of deterministic random weights: each
// tensor's values depend only on the seed and the tensor's name, so the
// v0, v1 and v2 files of one seed hold the same model. Norm weights are
// near 1, matrices have a standard deviation of 1/sqrt(cols) so that
// activations keep their scale through the layers.
func Synthetic(seed uint64) TensorSource { return SyntheticContext(context.Background(), seed) }

// SyntheticContext is Synthetic whose tensors stop being produced when ctx
// ends (checked every 256k values: stories110M's embedding alone is
// 24.6M), so that writing a large synthetic model is interruptible.
func SyntheticContext(ctx context.Context, seed uint64) TensorSource {
	return func(t TensorInfo) ([]float32, error) {
		h := fnv.New64a()
		h.Write([]byte(t.Name))
		r := rand.New(rand.NewPCG(seed, h.Sum64()))
		out := make([]float32, t.Elems())
		if len(t.Shape) == 1 {
			for i := range out {
				out[i] = 1 + 0.1*float32(r.NormFloat64())
			}
			return out, nil
		}
		std := 1 / math.Sqrt(float64(t.Shape[1]))
		if strings.HasSuffix(t.Name, "tok_embeddings") || t.Name == "output" {
			std = 1
		}
		for i := range out {
			if i%(1<<18) == 0 && ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			out[i] = float32(r.NormFloat64() * std)
		}
		return out, nil
	}
}

// FromModel is a TensorSource reading the tensors of a loaded model
// (dequantizing Q8_0), for converting between formats.
func FromModel(m *Model) TensorSource {
	return func(t TensorInfo) ([]float32, error) {
		vals, _, err := m.TensorValues(t.Name)
		return vals, err
	}
}
