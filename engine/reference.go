package engine

import (
	"context"
	"errors"
	"math"
	"runtime/debug"
)

// Reference is a float64 forward pass over the model's weights (Q8_0
// weights dequantized), written as plainly as possible: the yardstick the
// fp32 and int8 kernels' rounding is measured against. It is slow and
// allocates; use it on small models.
type Reference struct {
	m      *Model
	kcache [][]float64 // per layer: positions × kvDim
	vcache [][]float64
	row    []float32
}

// NewReference prepares a float64 evaluation of m.
func NewReference(m *Model) *Reference {
	return &Reference{m: m, kcache: make([][]float64, m.Layers), vcache: make([][]float64, m.Layers), row: make([]float32, max(m.Dim, m.HiddenDim))}
}

func (r *Reference) matvec(mx *Matrix, x []float64) []float64 {
	out := make([]float64, mx.Rows)
	for i := range out {
		w := mx.Row(i, r.row)
		var s float64
		for j, v := range w {
			s += float64(v) * x[j]
		}
		out[i] = s
	}
	return out
}

func rmsnorm64(x []float64, w []float32, eps float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	inv := 1 / math.Sqrt(ss/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(w[i]) * v * inv
	}
	return out
}

// Forward returns the float64 logits of token at pos (positions must be
// fed in order from 0).
func (r *Reference) Forward(token, pos int) (logits []float64, err error) {
	m := r.m
	c := m.Config
	if pos != len(r.kcache[0])/c.KVDim() {
		return nil, errors.New("reference: positions must be fed in order from 0")
	}
	if pos >= c.SeqLen {
		return nil, &PositionError{Pos: pos, SeqLen: c.SeqLen}
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer m.catchFault(&err)
	dim, hs, kvDim := c.Dim, c.HeadSize(), c.KVDim()
	x := make([]float64, dim)
	for i, v := range m.W.Embed.Row(token, r.row[:dim]) {
		x[i] = float64(v)
	}
	for l := 0; l < c.Layers; l++ {
		L := &m.W.Layers[l]
		xb := rmsnorm64(x, L.AttNorm, float64(c.Eps()))
		q := r.matvec(&L.Wq, xb)
		k := r.matvec(&L.Wk, xb)
		v := r.matvec(&L.Wv, xb)
		for i := 0; i < dim; i += 2 {
			freq := 1 / math.Pow(float64(c.RopeTheta()), float64(i%hs)/float64(hs))
			a := float64(pos) * freq
			cr, ci := math.Cos(a), math.Sin(a)
			q[i], q[i+1] = q[i]*cr-q[i+1]*ci, q[i]*ci+q[i+1]*cr
			if i < kvDim {
				k[i], k[i+1] = k[i]*cr-k[i+1]*ci, k[i]*ci+k[i+1]*cr
			}
		}
		r.kcache[l] = append(r.kcache[l], k...)
		r.vcache[l] = append(r.vcache[l], v...)
		z := make([]float64, dim)
		kvMul := c.Heads / c.KVHeads
		for h := 0; h < c.Heads; h++ {
			off := (h / kvMul) * hs
			att := make([]float64, pos+1)
			mx := math.Inf(-1)
			for t := range att {
				var s float64
				for i := 0; i < hs; i++ {
					s += q[h*hs+i] * r.kcache[l][t*kvDim+off+i]
				}
				att[t] = s / math.Sqrt(float64(hs))
				mx = math.Max(mx, att[t])
			}
			var sum float64
			for t := range att {
				att[t] = math.Exp(att[t] - mx)
				sum += att[t]
			}
			for t := range att {
				for i := 0; i < hs; i++ {
					z[h*hs+i] += att[t] / sum * r.vcache[l][t*kvDim+off+i]
				}
			}
		}
		o := r.matvec(&L.Wo, z)
		for i := range x {
			x[i] += o[i]
		}
		xb = rmsnorm64(x, L.FFNNorm, float64(c.Eps()))
		h1 := r.matvec(&L.W1, xb)
		h3 := r.matvec(&L.W3, xb)
		for i := range h1 {
			h1[i] = h1[i] / (1 + math.Exp(-h1[i])) * h3[i]
		}
		f := r.matvec(&L.W2, h1)
		for i := range x {
			x[i] += f[i]
		}
	}
	return r.matvec(&m.W.Cls, rmsnorm64(x, m.W.FinalNorm, float64(c.Eps()))), nil
}

// Perplexity feeds ids (starting with BOS) through s and returns the
// perplexity of ids[1:] and each token's negative log-likelihood in nats.
func (s *State) Perplexity(ctx context.Context, ids []int) (ppl float64, nll []float64, err error) {
	if len(ids) < 2 {
		return 0, nil, errors.New("perplexity needs at least two tokens")
	}
	if len(ids) > s.M.SeqLen {
		return 0, nil, ErrPromptTooLong
	}
	var lp []float64
	var sum float64
	for pos := 0; pos+1 < len(ids); pos++ {
		logits, err := s.Forward(ctx, ids[pos], pos)
		if err != nil {
			return 0, nil, err
		}
		lp = logSoftmax(logits, lp)
		nll = append(nll, -lp[ids[pos+1]])
		sum += -lp[ids[pos+1]]
	}
	return math.Exp(sum / float64(len(nll))), nll, nil
}
