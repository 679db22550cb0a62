package rewrite

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rulebrush/rulebrush/engine"
)

// Edit is one rewrite as a value: W' = W + Λ ⊗ d for one layer.
type Edit struct {
	Layer        string    `json:"layer"`
	Rank         int       `json:"rank"`
	WShape       [4]int    `json:"w_shape"` // [O, I, kh, kw]
	D            []float32 `json:"d"`       // [I, r]
	Lambda       []float32 `json:"lambda"`  // [O, r, kh, kw]
	EigFloor     float64   `json:"eig_floor"`
	LossBefore   float64   `json:"loss_before"`
	LossAfter    float64   `json:"loss_after"`
	SolveSeconds float64   `json:"solve_seconds"`
	Request      *Request  `json:"request,omitempty"`
}

// AddTo adds Λ ⊗ d to the weights w [O, I, kh, kw].
func (e *Edit) AddTo(w []float32) {
	o, in, khw, r := e.WShape[0], e.WShape[1], e.WShape[2]*e.WShape[3], e.Rank
	for oi := range o {
		for i := range in {
			row := w[(oi*in+i)*khw : (oi*in+i+1)*khw]
			for c := range r {
				dc := e.D[i*r+c]
				lam := e.Lambda[(oi*r+c)*khw : (oi*r+c+1)*khw]
				for ab, l := range lam {
					row[ab] += l * dc
				}
			}
		}
	}
}

// Options configure Rewrite.
type Options struct {
	Rank     int     // rank r of the update; 0 means 1
	EigFloor float64 // eigenvalues of C below EigFloor*λmax are raised to it; 0 means 1e-6
	SolveOptions
}

// Rewrite computes the edit of layer that makes the modified exemplars' keys produce the
// original images' values, using the key statistics of the layer. The model is not changed.
func Rewrite(ctx context.Context, m *engine.Model, layer string, st *Stats, ex []Exemplar, opt Options) (*Edit, error) {
	kd, err := collect(ctx, m, layer, ex)
	if err != nil {
		return nil, fmt.Errorf("layer %q: %w", layer, err)
	}
	if st == nil || st.I != kd.in {
		return nil, fmt.Errorf("layer %q: key statistics are missing or for another layer", layer)
	}
	rank := max(opt.Rank, 1)
	floor := opt.EigFloor
	if floor <= 0 {
		floor = 1e-6
	}
	z, abs, err := st.Whitening(floor)
	if err != nil {
		return nil, err
	}
	d, err := Direction(kd.keys, kd.maskKey, kd.n, kd.in, kd.h*kd.w, z, rank)
	if err != nil {
		return nil, fmt.Errorf("layer %q: %w", layer, err)
	}
	return solveEdit(ctx, layer, kd, d, rank, abs, opt.SolveOptions)
}

// solveEdit finds Λ for keys and direction d and packages the result as an Edit.
func solveEdit(ctx context.Context, layer string, kd *keyData, d []float32, rank int, eigFloor float64, opt SolveOptions) (*Edit, error) {
	start := time.Now()
	pr := newProblem(kd, d, rank)
	lam, err := pr.solve(ctx, opt)
	if err != nil {
		return nil, fmt.Errorf("layer %q: %w", layer, err)
	}
	e := &Edit{
		Layer: layer, Rank: rank, D: d, EigFloor: eigFloor,
		WShape:       [4]int{kd.o, kd.in, kd.kh, kd.kw},
		Lambda:       make([]float32, len(lam)),
		LossBefore:   pr.loss(make([]float64, len(lam))),
		SolveSeconds: time.Since(start).Seconds(),
	}
	for i, v := range lam {
		e.Lambda[i] = float32(v)
	}
	e.LossAfter = pr.loss(lam)
	return e, nil
}

// History is an ordered list of edits of one model with an undo position: the first
// Index() edits are applied. Each touched layer keeps its pristine weights W0 and is
// recomputed as W0 + Σ applied deltas, in order, so undo is exact.
type History struct {
	m        *engine.Model
	pristine map[string][]float32
	edits    []*Edit
	index    int
}

// NewHistory starts an empty history for m.
func NewHistory(m *engine.Model) *History {
	return &History{m: m, pristine: map[string][]float32{}}
}

// Push applies e after the current position, dropping any undone edits.
func (h *History) Push(e *Edit) error {
	c, err := h.m.Conv(e.Layer)
	if err != nil {
		return err
	}
	if [4]int(c.W.Shape) != e.WShape || len(e.D) != e.WShape[1]*e.Rank ||
		len(e.Lambda) != e.WShape[0]*e.Rank*e.WShape[2]*e.WShape[3] {
		return fmt.Errorf("layer %q: the edit's shapes do not fit weights %v", e.Layer, c.W.Shape)
	}
	if _, ok := h.pristine[e.Layer]; !ok {
		h.pristine[e.Layer] = slices.Clone(c.W.Data)
	}
	h.edits = append(h.edits[:h.index], e)
	h.index++
	return h.recompute(e.Layer)
}

// Undo reverts the last applied edit; it reports false when there is none.
func (h *History) Undo() (bool, error) {
	if h.index == 0 {
		return false, nil
	}
	h.index--
	return true, h.recompute(h.edits[h.index].Layer)
}

// Redo re-applies the next undone edit; it reports false when there is none.
func (h *History) Redo() (bool, error) {
	if h.index == len(h.edits) {
		return false, nil
	}
	h.index++
	return true, h.recompute(h.edits[h.index-1].Layer)
}

// Applied returns the applied edits, oldest first.
func (h *History) Applied() []*Edit { return h.edits[:h.index] }

// Len is the number of edits, applied or undone.
func (h *History) Len() int { return len(h.edits) }

// Index is the number of applied edits.
func (h *History) Index() int { return h.index }

func (h *History) recompute(layer string) error {
	w := slices.Clone(h.pristine[layer])
	for _, e := range h.edits[:h.index] {
		if e.Layer == layer {
			e.AddTo(w)
		}
	}
	if err := h.m.SetWeights(layer, w); err != nil {
		return fmt.Errorf("layer %q: %w", layer, err)
	}
	return nil
}
