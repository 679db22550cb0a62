package app

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/rewrite"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Pred is one class with its probability.
type Pred struct {
	Index int     `json:"index"`
	Label string  `json:"label"`
	Prob  float32 `json:"prob"`
}

// Which image and which model a prediction is for.
const (
	Original = 0 // the photo as it is
	Modified = 1 // the photo with its pastes
	Before   = 0 // the model as loaded
	After    = 1 // the model with the session's rewrites
)

// Result is a preview: the top classes of the original and modified image under the
// model before and after the edits, and the concept heatmap of the modified image.
type Result struct {
	Version uint64 // the composite version it was computed for
	Layer   string
	// Probs[image][model] are the class probabilities.
	Probs [2][2][]float32
	// Top[image][model] are the K most probable classes.
	Top [2][2][]Pred
	// Heat is dᵀk on the key grid (HeatW x HeatH) of the modified image at Layer, over the
	// model's centre crop (CropRect), or nil when there is no concept direction yet.
	Heat         []float32
	HeatW, HeatH int
	// HeatLive says d comes from the masks as painted now, not from the last rewrite.
	HeatLive bool
	Image    uint64 // identifies the exemplar's photo (PreviewRequest.OriginalKey)
	Weights  uint64 // the edited model's weights it was computed with
	Elapsed  time.Duration
}

// PreviewRequest is everything a preview needs, copied off the session so the
// computation can run on another goroutine.
type PreviewRequest struct {
	Original         *image.NRGBA // unchanged while the exemplar exists
	Modified         *image.NRGBA // a private copy of the composite
	OriginalKey      uint64       // identifies Original
	Version          uint64       // identifies Modified
	Weights          uint64       // identifies the edited model's weights
	Layer            string
	EditsBeforeLayer bool      // an applied edit sits before Layer, so the cut cannot be shared
	D                []float32 // the last rewrite's concept direction, or nil
	Rank             int
	K                int
	// Stats, when set, lets the preview compute the concept direction live from the
	// painted exemplars in Concept (the current one included, with Version).
	Stats   *rewrite.Stats
	Concept []ConceptInput
}

// Previewer computes previews on a goroutine, cancelling the one in flight when a new
// request arrives. The activations of the modified image up to the edit layer are cached
// per image version, so a change of weights only re-runs the network after the layer.
type Previewer struct {
	base, edited *engine.Model

	mu     sync.Mutex
	cancel context.CancelFunc
	seq    uint64
	cache  previewCache
}

type previewCache struct {
	cuts   map[cutKey]*engine.Cut
	probs  map[[3]uint64][]float32 // (image key, model 0/1, weights) -> probs
	masked map[cutKey]maskedKeys   // (exemplar version, layer) -> keys under the mask
	whiten map[*rewrite.Stats]*whitening
}

type cutKey struct {
	image uint64
	layer string
}

// maxCuts bounds the cut cache: the original and a few versions of the composite.
const maxCuts = 4

// NewPreviewer previews with the pristine and the edited model.
func NewPreviewer(base, edited *engine.Model) *Previewer {
	return &Previewer{base: base, edited: edited, cache: previewCache{
		cuts: map[cutKey]*engine.Cut{}, probs: map[[3]uint64][]float32{},
		masked: map[cutKey]maskedKeys{}, whiten: map[*rewrite.Stats]*whitening{}}}
}

// Request starts a preview and cancels the previous one. deliver is called on another
// goroutine with the result, unless a newer request superseded it.
func (p *Previewer) Request(req PreviewRequest, deliver func(*Result, error)) {
	p.mu.Lock()
	if p.cancel != nil {
		p.cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.seq++
	seq := p.seq
	p.mu.Unlock()
	go func() {
		defer cancel()
		r, err := p.Compute(ctx, req)
		p.mu.Lock()
		current := seq == p.seq
		p.mu.Unlock()
		if !current || errors.Is(err, context.Canceled) {
			return
		}
		deliver(r, err)
	}()
}

// Compute runs a preview synchronously.
func (p *Previewer) Compute(ctx context.Context, req PreviewRequest) (*Result, error) {
	start := time.Now()
	k := req.K
	if k <= 0 {
		k = 5
	}
	r := &Result{Version: req.Version, Layer: req.Layer, Image: req.OriginalKey, Weights: req.Weights}
	// Each image is split at the layer (cached per image version); the model before the
	// edits and, unless an edit sits before the layer, the model after them run on from
	// the same cut, so a change of weights re-runs only the rest of the network.
	var cut *engine.Cut
	for ii, img := range []struct {
		key uint64
		px  *image.NRGBA
	}{{req.OriginalKey, req.Original}, {req.Version, req.Modified}} {
		c, err := p.cutOf(ctx, img.key, img.px, req.Layer)
		if err != nil {
			return nil, err
		}
		if r.Probs[ii][Before], err = p.from(ctx, p.base, c, [3]uint64{img.key, 0, 0}); err != nil {
			return nil, err
		}
		key := [3]uint64{img.key, 1, req.Weights}
		if req.EditsBeforeLayer {
			r.Probs[ii][After], err = p.probs(ctx, p.edited, key, img.px)
		} else {
			r.Probs[ii][After], err = p.from(ctx, p.edited, c, key)
		}
		if err != nil {
			return nil, err
		}
		cut = c
	}
	for i := range 2 {
		for j := range 2 {
			r.Top[i][j] = topK(p.base, r.Probs[i][j], k)
		}
	}
	d, rank := req.D, max(req.Rank, 1)
	if req.Stats != nil {
		switch live, err := p.liveDirection(ctx, req, cut); {
		case err == nil:
			d, rank, r.HeatLive = live, 1, true
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case !errors.Is(err, errNoConcept):
			// Too few painted positions, say: the last rewrite's direction still shows.
			slog.Debug("live concept direction", "layer", req.Layer, "err", err)
		}
	}
	if d != nil {
		keys := cut.Input(p.base)
		if keys != nil && len(keys.Shape) == 4 && len(d) == keys.Shape[1]*rank {
			r.HeatH, r.HeatW = keys.Shape[2], keys.Shape[3]
			r.Heat = rewrite.Heatmap(keys.Data, keys.Shape[1], r.HeatH*r.HeatW, d, rank)
		}
	}
	r.Elapsed = time.Since(start)
	return r, nil
}

// cutOf returns the activations of an image before the layer, from the cache when the
// image and layer are unchanged.
func (p *Previewer) cutOf(ctx context.Context, key uint64, img *image.NRGBA, layer string) (*engine.Cut, error) {
	ck := cutKey{key, layer}
	p.mu.Lock()
	c := p.cache.cuts[ck]
	p.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := p.base.RunTo(ctx, p.base.Pre.Tensor(img), layer)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if len(p.cache.cuts) >= maxCuts {
		clear(p.cache.cuts)
	}
	p.cache.cuts[ck] = c
	p.mu.Unlock()
	return c, nil
}

// from finishes a run from a cut, cached by key.
func (p *Previewer) from(ctx context.Context, m *engine.Model, cut *engine.Cut, key [3]uint64) ([]float32, error) {
	if pr := p.cached(key); pr != nil {
		return pr, nil
	}
	out, err := m.RunFrom(ctx, cut)
	if err != nil {
		return nil, err
	}
	return p.store(key, softmax(out)), nil
}

// probs runs a whole image, cached by key.
func (p *Previewer) probs(ctx context.Context, m *engine.Model, key [3]uint64, img *image.NRGBA) ([]float32, error) {
	if pr := p.cached(key); pr != nil {
		return pr, nil
	}
	out, err := m.Run(ctx, m.Pre.Tensor(img))
	if err != nil {
		return nil, err
	}
	return p.store(key, softmax(out)), nil
}

func (p *Previewer) cached(key [3]uint64) []float32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cache.probs[key]
}

// maxCached bounds the probability cache; when full it starts again.
const maxCached = 256

func (p *Previewer) store(key [3]uint64, pr []float32) []float32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.cache.probs) >= maxCached {
		clear(p.cache.probs)
	}
	p.cache.probs[key] = pr
	return pr
}

// softmax turns logits into probabilities; an output that already sums to one (a model
// ending in Softmax) is returned as it is.
func softmax(t *tensor.Tensor) []float32 {
	x := t.Data
	var sum float64
	allPos := true
	for _, v := range x {
		sum += float64(v)
		allPos = allPos && v >= 0
	}
	if allPos && math.Abs(sum-1) < 1e-3 {
		return x
	}
	mx := float32(math.Inf(-1))
	for _, v := range x {
		mx = max(mx, v)
	}
	out := make([]float32, len(x))
	sum = 0
	for i, v := range x {
		e := math.Exp(float64(v - mx))
		out[i] = float32(e)
		sum += e
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / sum)
	}
	return out
}

func topK(m *engine.Model, probs []float32, k int) []Pred {
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	k = min(k, len(idx))
	out := make([]Pred, k)
	for i, j := range idx[:k] {
		out[i] = Pred{Index: j, Label: m.ShortLabel(j), Prob: probs[j]}
	}
	return out
}

// CropRect returns the part of an image of size b that the model sees (its centre crop),
// in image coordinates: heatmaps cover this rectangle.
func CropRect(pre engine.Preprocess, b image.Rectangle) (x0, y0, x1, y1 float64) {
	w, h := b.Dx(), b.Dy()
	nw, nh := pre.Resize, pre.Resize
	if w < h {
		nh = h * pre.Resize / w
	} else {
		nw = w * pre.Resize / h
	}
	cx := math.RoundToEven(float64(nw-pre.Size) / 2)
	cy := math.RoundToEven(float64(nh-pre.Size) / 2)
	sx, sy := float64(w)/float64(nw), float64(h)/float64(nh)
	return cx * sx, cy * sy, (cx + float64(pre.Size)) * sx, (cy + float64(pre.Size)) * sy
}

// PreviewRequest builds a preview request for the current exemplar, or reports false when
// there is none. It copies the composite (and, once statistics are at hand, the mask) of
// each changed exemplar, which takes about a millisecond per megapixel.
func (s *Session) PreviewRequest() (PreviewRequest, bool) {
	ex := s.Exemplar()
	if ex == nil {
		return PreviewRequest{}, false
	}
	req := PreviewRequest{
		Original: ex.Doc.Image(), Modified: ex.snapshot().modified, OriginalKey: ex.origKey(), Version: ex.version,
		Weights: s.weights, Layer: s.Layer, K: 5,
	}
	order := s.Model.EditableNames()
	li := indexOf(order, s.Layer)
	for _, e := range s.Edits() {
		if indexOf(order, e.Layer) < li {
			req.EditsBeforeLayer = true
		}
	}
	if d, ok := s.direction[s.Layer]; ok {
		req.D, req.Rank = d.d, d.rank
	}
	if st := s.stats[s.Layer]; st != nil {
		req.Stats = st
		for _, e := range s.Exemplars {
			if sn := e.snapshot(); sn.painted {
				req.Concept = append(req.Concept, ConceptInput{Version: sn.version, Modified: sn.modified, Mask: sn.mask})
			}
		}
	}
	return req, true
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
