package engine

import (
	"fmt"
	"github.com/memwall/memwall/asm"
	"math"
	"sort"
)

// RNG is llama2.c's xorshift* generator, so that a seed gives the same
// samples as llama2.c's run.
type RNG struct{ state uint64 }

// NewRNG seeds the generator as llama2.c does (the state is the seed).
func NewRNG(seed uint64) *RNG { return &RNG{state: seed} }

// Uint32 is llama2.c's random_u32.
func (r *RNG) Uint32() uint32 {
	r.state ^= r.state >> 12
	r.state ^= r.state << 25
	r.state ^= r.state >> 27
	return uint32((r.state * 0x2545F4914F6CDD1D) >> 32)
}

// Float32 is llama2.c's random_f32: a float32 in [0,1) with 24 random bits.
func (r *RNG) Float32() float32 { return float32(r.Uint32()>>8) / 16777216.0 }

// Sampler picks the next token from logits.
//
// Temperature 0 is argmax. Otherwise the logits are divided by the
// temperature and turned into probabilities by softmax; TopK > 0 keeps only
// the K most probable tokens; TopP in (0,1) samples from the smallest set
// whose probability exceeds TopP (nucleus sampling, as llama2.c); else the
// whole distribution is sampled. The order of operations and the float32
// arithmetic follow llama2.c's sampler, so that without TopK a seed gives
// llama2.c's tokens.
type Sampler struct {
	Temperature float32
	TopP        float32
	TopK        int
	RNG         *RNG

	idx []probIndex
}

type probIndex struct {
	p  float32
	id int
}

// NewSampler returns a sampler; it validates its parameters.
func NewSampler(temperature, topP float32, topK int, seed uint64) (*Sampler, error) {
	if temperature < 0 || math.IsNaN(float64(temperature)) || math.IsInf(float64(temperature), 0) {
		return nil, fmt.Errorf("temperature %v: want a finite number >= 0", temperature)
	}
	if topP < 0 || topP > 1 || math.IsNaN(float64(topP)) {
		return nil, fmt.Errorf("top-p %v: want a number in [0, 1]", topP)
	}
	if topK < 0 {
		return nil, fmt.Errorf("top-k %d: want 0 (off) or a positive number", topK)
	}
	return &Sampler{Temperature: temperature, TopP: topP, TopK: topK, RNG: NewRNG(seed)}, nil
}

// Sample picks a token. It overwrites logits with the probabilities it
// sampled from (unless the temperature is 0).
func (s *Sampler) Sample(logits []float32) int {
	if s.Temperature == 0 {
		return Argmax(logits)
	}
	for i := range logits {
		logits[i] /= s.Temperature
	}
	Softmax(logits)
	coin := s.RNG.Float32()
	if s.TopK > 0 && s.TopK < len(logits) {
		return s.sampleTopK(logits, coin)
	}
	if s.TopP <= 0 || s.TopP >= 1 {
		return sampleMult(logits, coin)
	}
	return s.sampleTopP(logits, coin)
}

// Argmax returns the index of the first largest value.
func Argmax(x []float32) int {
	best, bi := x[0], 0
	for i, v := range x[1:] {
		if v > best {
			best, bi = v, i+1
		}
	}
	return bi
}

// Softmax replaces x by softmax(x) in llama2.c's float32 arithmetic (the
// portable scalar kernel).
func Softmax(x []float32) { scalarKernels.Softmax(x) }

var scalarKernels, _ = asm.Lookup("scalar")

func sampleMult(p []float32, coin float32) int {
	var cdf float32
	for i, v := range p {
		cdf += v
		if coin < cdf {
			return i
		}
	}
	return len(p) - 1
}

// sortDesc orders candidates by falling probability, ties by id (a stable
// merge sort over ids in order, as glibc's qsort does for these sizes).
func sortDesc(c []probIndex) {
	sort.SliceStable(c, func(i, j int) bool { return c[i].p > c[j].p })
}

func (s *Sampler) sampleTopP(p []float32, coin float32) int {
	n := len(p)
	// Tokens below this cannot be in the nucleus; dropping them first
	// keeps the sort short.
	cutoff := (1 - s.TopP) / float32(n-1)
	c := s.idx[:0]
	for i, v := range p {
		if v >= cutoff {
			c = append(c, probIndex{v, i})
		}
	}
	s.idx = c
	sortDesc(c)
	var cum float32
	last := len(c) - 1
	for i := range c {
		cum += c[i].p
		if cum > s.TopP {
			last = i
			break
		}
	}
	r := coin * cum
	var cdf float32
	for i := 0; i <= last; i++ {
		cdf += c[i].p
		if r < cdf {
			return c[i].id
		}
	}
	return c[last].id
}

func (s *Sampler) sampleTopK(p []float32, coin float32) int {
	c := s.idx[:0]
	for i, v := range p {
		c = append(c, probIndex{v, i})
	}
	s.idx = c
	sortDesc(c)
	c = c[:s.TopK]
	var sum float32
	for _, v := range c {
		sum += v.p
	}
	// Within the top K, apply top-p too when set.
	last := len(c) - 1
	if s.TopP > 0 && s.TopP < 1 {
		var cum float32
		for i := range c {
			cum += c[i].p / sum
			if cum > s.TopP {
				last = i
				break
			}
		}
		sum = 0
		for _, v := range c[:last+1] {
			sum += v.p
		}
	}
	r := coin * sum
	var cdf float32
	for i := 0; i <= last; i++ {
		cdf += c[i].p
		if r < cdf {
			return c[i].id
		}
	}
	return c[last].id
}
