package rewrite

// Rewrite variants measured in engine/rewrite/beyond-paper.md. None beat grown masks (see
// GrowMask), so they live with the experiments rather than in the package.

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"slices"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// ManyOptions extend Options for rewrites from many exemplars.
type ManyOptions struct {
	Options
	// Keep weighs a second term: at positions outside each mask the block should keep
	// the original image's values. The loss weight there is Keep*sqrt(1-m); 0 is the
	// paper's objective.
	Keep float64
	// DirectionFrom, when positive, computes the concept direction from the first
	// DirectionFrom exemplars only (e.g. hand-drawn masks) while Λ is fitted to all of
	// them (e.g. plus masks found by the concept search).
	DirectionFrom int
	// Clean images whose values at the layer should not change, weighted by CleanWeight
	// per position: the rank-1 update cannot avoid firing where dᵀk is large on them, but
	// the fit can favour output channels that matter less there.
	Clean       []image.Image
	CleanWeight float64
	// Chunk is how many exemplars run through the model at once; 0 means 16. Forward
	// passes over hundreds of exemplars at once would hold all their activations.
	Chunk int
}

// RewriteMany is Rewrite for any number of exemplars: keys and values are gathered a
// chunk at a time, and the objective can also hold the unmasked positions fixed.
func RewriteMany(ctx context.Context, m *engine.Model, layer string, st *Stats, ex []Exemplar, opt ManyOptions) (*Edit, error) {
	kd, err := collectMany(ctx, m, layer, ex, opt.Chunk)
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
	nd := kd.n
	if opt.DirectionFrom > 0 {
		nd = min(nd, opt.DirectionFrom)
	}
	d, err := Direction(kd.keys, kd.maskKey, nd, kd.in, kd.h*kd.w, z, rank)
	if err != nil {
		return nil, fmt.Errorf("layer %q: %w", layer, err)
	}
	if opt.Keep > 0 {
		// newProblem weighs each output position by sqrt(mask): give the unmasked
		// positions weight Keep there.
		k2 := float32(opt.Keep * opt.Keep)
		mo := make([]float32, len(kd.maskOut))
		for i, v := range kd.maskOut {
			mo[i] = v + k2*(1-v)
		}
		kd.maskOut = mo
	}
	if len(opt.Clean) > 0 && opt.CleanWeight > 0 {
		if kd, err = withClean(ctx, m, layer, kd, opt.Clean, opt.CleanWeight, opt.Chunk); err != nil {
			return nil, fmt.Errorf("layer %q: clean images: %w", layer, err)
		}
	}
	return solveEdit(ctx, layer, kd, d, rank, abs, opt.SolveOptions)
}

// withClean appends the keys and values of clean images, unmodified, to kd, with loss
// weight w at every output position.
func withClean(ctx context.Context, m *engine.Model, layer string, kd *keyData, clean []image.Image, w float64, chunk int) (*keyData, error) {
	ex := make([]Exemplar, len(clean))
	for i, img := range clean {
		b := img.Bounds()
		full := image.NewUniform(color.Gray{Y: 255})
		ex[i] = Exemplar{Original: img, Modified: img, Mask: &sizedMask{full, image.Rect(0, 0, b.Dx(), b.Dy()).Add(b.Min)}}
	}
	kc, err := collectMany(ctx, m, layer, ex, chunk)
	if err != nil {
		return nil, err
	}
	for i := range kc.maskOut {
		kc.maskOut[i] = float32(w * w)
	}
	out := *kd
	out.n += kc.n
	out.keys = append(slices.Clone(kd.keys), kc.keys...)
	out.vals = append(slices.Clone(kd.vals), kc.vals...)
	if kd.resid != nil {
		out.resid = append(slices.Clone(kd.resid), kc.resid...)
	}
	out.maskKey = append(slices.Clone(kd.maskKey), make([]float32, len(kc.maskKey))...)
	out.maskOut = append(slices.Clone(kd.maskOut), kc.maskOut...)
	return &out, nil
}

// sizedMask is a uniform mask with the bounds of an image.
type sizedMask struct {
	*image.Uniform
	r image.Rectangle
}

func (s *sizedMask) Bounds() image.Rectangle { return s.r }

// collectMany is collect over chunks of the exemplars, concatenated.
func collectMany(ctx context.Context, m *engine.Model, layer string, ex []Exemplar, chunk int) (*keyData, error) {
	if chunk <= 0 {
		chunk = 16
	}
	var all *keyData
	for lo := 0; lo < len(ex); lo += chunk {
		kd, err := collect(ctx, m, layer, ex[lo:min(lo+chunk, len(ex))])
		if err != nil {
			return nil, fmt.Errorf("exemplars %d..%d: %w", lo+1, min(lo+chunk, len(ex)), err)
		}
		if all == nil {
			all = kd
			continue
		}
		all.n += kd.n
		all.keys = append(all.keys, kd.keys...)
		all.vals = append(all.vals, kd.vals...)
		if all.resid != nil {
			all.resid = append(all.resid, kd.resid...)
		}
		all.maskKey = append(all.maskKey, kd.maskKey...)
		all.maskOut = append(all.maskOut, kd.maskOut...)
	}
	if all == nil {
		return nil, fmt.Errorf("no exemplars")
	}
	return all, nil
}

// scaled returns a copy of e with its update multiplied by s: s > 1 pushes the rule
// further than the exemplars ask for.
func scaled(e *Edit, s float64) *Edit {
	c := *e
	c.Lambda = make([]float32, len(e.Lambda))
	for i, v := range e.Lambda {
		c.Lambda[i] = float32(float64(v) * s)
	}
	return &c
}

// RefineLogits continues e, an edit of m not yet applied, on the classifier's own
// objective: Λ (with d fixed) takes Adam steps on the mean cross-entropy of imgs against
// labels, e.g. the modified exemplars with their true classes plus clean photos with the
// unedited model's answers to hold the rest in place. The layer is left as it was.
func RefineLogits(ctx context.Context, m *engine.Model, e *Edit, imgs []image.Image, labels []int, steps int, lr float64) error {
	c, err := m.Conv(e.Layer)
	if err != nil {
		return err
	}
	w0 := slices.Clone(c.W.Data)
	defer m.SetWeights(e.Layer, w0)
	x := tensor.New(len(imgs), 3, m.Pre.Size, m.Pre.Size)
	for i, img := range imgs {
		m.Pre.Into(x, i, img)
	}
	t, err := m.NewTrainer(x, labels, e.Layer, true)
	if err != nil {
		return err
	}
	o, in, khw, r := e.WShape[0], e.WShape[1], e.WShape[2]*e.WShape[3], e.Rank
	lam := make([]float64, len(e.Lambda))
	for i, v := range e.Lambda {
		lam[i] = float64(v)
	}
	g := make([]float64, len(lam))
	opt := newAdam(len(lam), lr)
	for range steps {
		for i, v := range lam {
			e.Lambda[i] = float32(v)
		}
		w := slices.Clone(w0)
		e.AddTo(w)
		if err := m.SetWeights(e.Layer, w); err != nil {
			return err
		}
		_, gr, err := t.LossGrad(ctx)
		if err != nil {
			return err
		}
		gw := gr[e.Layer].Data
		// dL/dΛ[o,c,ab] = Σ_i dL/dW[o,i,ab] d[i,c].
		clear(g)
		for oi := range o {
			for i := range in {
				row := gw[(oi*in+i)*khw : (oi*in+i+1)*khw]
				for cc := range r {
					dc := float64(e.D[i*r+cc])
					gl := g[(oi*r+cc)*khw : (oi*r+cc+1)*khw]
					for ab, v := range row {
						gl[ab] += float64(v) * dc
					}
				}
			}
		}
		opt.tick()
		opt.step(lam, g, 0, len(lam))
	}
	for i, v := range lam {
		e.Lambda[i] = float32(v)
	}
	return nil
}
