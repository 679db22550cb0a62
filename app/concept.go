package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/rulebrush/rulebrush/canvas"
	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/rewrite"
)

// HasStats reports whether the key statistics of the current layer are at hand, so the
// preview can show where the painted concept fires before any rewrite.
func (s *Session) HasStats() bool { return s.stats[s.Layer] != nil }

// StatsJob computes (or reads from the disk cache) the key statistics of one layer. It
// is prepared on the UI goroutine and runs on another.
type StatsJob struct {
	m        *engine.Model
	layer    string
	covData  string
	cacheDir string
}

// StatsOutcome is a finished StatsJob, for Session.SetStats.
type StatsOutcome struct {
	Layer, CovData string
	Stats          *rewrite.Stats // nil when only the cache was asked and it had nothing
}

// PrepareStats prepares the statistics job of the current layer.
func (s *Session) PrepareStats() (*StatsJob, error) {
	if s.CovData == "" {
		return nil, fmt.Errorf("key statistics need a folder of ordinary photos: choose one under Edit › Statistics folder")
	}
	return &StatsJob{m: s.Base, layer: s.Layer, covData: s.CovData, cacheDir: s.opt.StatsCache}, nil
}

// Run computes the statistics, or reads them from the cache.
func (j *StatsJob) Run(ctx context.Context, progress Progress) (*StatsOutcome, error) {
	st, err := computeStats(ctx, j.m, j.layer, j.covData, j.cacheDir, progress)
	if err != nil {
		return nil, err
	}
	return &StatsOutcome{Layer: j.layer, CovData: j.covData, Stats: st}, nil
}

// Cached reads the statistics from the disk cache only: a cancelled context makes
// ComputeStats return what the cache holds without decoding a single image.
func (j *StatsJob) Cached() *StatsOutcome {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st, _ := computeStats(ctx, j.m, j.layer, j.covData, j.cacheDir, nil)
	return &StatsOutcome{Layer: j.layer, CovData: j.covData, Stats: st}
}

// SetStats keeps statistics for the preview's concept heatmap, unless the folder changed
// meanwhile. It is not an edit: no history step, and the session stays clean.
func (s *Session) SetStats(o *StatsOutcome) {
	if o == nil || o.Stats == nil || o.CovData != s.CovData || s.stats[o.Layer] == o.Stats {
		return
	}
	s.stats[o.Layer] = o.Stats
	s.notify()
}

func computeStats(ctx context.Context, m *engine.Model, layer, covData, cacheDir string, progress Progress) (*rewrite.Stats, error) {
	if progress == nil {
		progress = func(string, int, int) {}
	}
	files, err := rewrite.ImageFiles(covData)
	if err != nil {
		return nil, fmt.Errorf("key statistics: %w", err)
	}
	progress("Key statistics", 0, len(files))
	all, _, err := rewrite.ComputeStats(ctx, m, []string{layer}, files, rewrite.StatsOptions{
		CacheDir: cacheDir,
		Progress: func(done, total int) { progress("Key statistics", done, total) },
	})
	if err != nil {
		return nil, fmt.Errorf("key statistics of %s: %w", layer, err)
	}
	return all[layer], nil
}

// ConceptInput is one exemplar's share of the live concept direction: its modified image
// and concept mask, both private copies that never change.
type ConceptInput struct {
	Version  uint64 // the exemplar's composite version (it changes with the mask too)
	Modified *image.NRGBA
	Mask     *image.Alpha
}

// snapshot is an exemplar's composite and mask copied at one version, shared by the
// previews until the exemplar changes again.
type snapshot struct {
	version  uint64
	modified *image.NRGBA
	mask     *image.Alpha
	painted  bool
}

func (e *Exemplar) snapshot() *snapshot {
	if e.snap != nil && e.snap.version == e.version {
		return e.snap
	}
	m := e.Mask()
	sn := &snapshot{version: e.version, modified: image.NewNRGBA(e.composite.Rect), mask: image.NewAlpha(m.Rect)}
	copy(sn.modified.Pix, e.composite.Pix)
	copy(sn.mask.Pix, m.Pix)
	sn.painted = canvas.Coverage(m) > 0
	e.snap = sn
	return sn
}

// maskedKeys are the keys of one exemplar's modified image at the positions its mask
// covers: [I, n] row-major, with the mask value of each position.
type maskedKeys struct {
	keys   []float32
	weight []float32
}

// poolMask averages mask m over the cells of a w×h grid laid over the model's centre
// crop, weighting pixels by how much of them a cell covers: the mask on the key grid.
func poolMask(pre engine.Preprocess, m *image.Alpha, w, h int) []float32 {
	x0, y0, x1, y1 := CropRect(pre, m.Rect)
	cw, ch := (x1-x0)/float64(w), (y1-y0)/float64(h)
	b := m.Rect
	out := make([]float32, w*h)
	for gy := range h {
		cy0, cy1 := float64(b.Min.Y)+y0+float64(gy)*ch, float64(b.Min.Y)+y0+float64(gy+1)*ch
		for gx := range w {
			cx0, cx1 := float64(b.Min.X)+x0+float64(gx)*cw, float64(b.Min.X)+x0+float64(gx+1)*cw
			var sum, area float64
			for y := max(int(cy0), b.Min.Y); y < min(int(math.Ceil(cy1)), b.Max.Y); y++ {
				fy := math.Min(cy1, float64(y+1)) - math.Max(cy0, float64(y))
				for x := max(int(cx0), b.Min.X); x < min(int(math.Ceil(cx1)), b.Max.X); x++ {
					f := fy * (math.Min(cx1, float64(x+1)) - math.Max(cx0, float64(x)))
					sum += f * float64(m.Pix[m.PixOffset(x, y)])
					area += f
				}
			}
			if area > 0 {
				out[gy*w+gx] = float32(sum / area / 255)
			}
		}
	}
	return out
}

// pickMasked gathers the keys [I, hw] at the positions where mask [hw] > 0.
func pickMasked(keys []float32, in int, mask []float32) maskedKeys {
	hw := len(mask)
	var mk maskedKeys
	var pos []int
	for p, v := range mask {
		if v > 0 {
			pos = append(pos, p)
			mk.weight = append(mk.weight, v)
		}
	}
	mk.keys = make([]float32, in*len(pos))
	for i := range in {
		row := keys[i*hw : (i+1)*hw]
		for j, p := range pos {
			mk.keys[i*len(pos)+j] = row[p]
		}
	}
	return mk
}

// whitening is Z = C^(-1/2) of one set of statistics, computed once.
type whitening struct {
	once sync.Once
	z    *mat.Dense
	err  error
}

// eigFloor is the relative eigenvalue floor of the whitening, as rewrites use.
const eigFloor = 1e-6

func (p *Previewer) whiten(st *rewrite.Stats) (*mat.Dense, error) {
	p.mu.Lock()
	w := p.cache.whiten[st]
	if w == nil {
		w = &whitening{}
		p.cache.whiten[st] = w
	}
	p.mu.Unlock()
	w.once.Do(func() { w.z, _, w.err = st.Whitening(eigFloor) })
	return w.z, w.err
}

// errNoConcept means no exemplar has a painted concept inside the model's view.
var errNoConcept = errors.New("no painted concept")

// liveDirection is the rank-one concept direction of the painted exemplars, as a rewrite
// would compute it from them now: their masked keys (cut holds the keys of the request's
// modified image), whitened, top singular vector, mapped back.
func (p *Previewer) liveDirection(ctx context.Context, req PreviewRequest, cut *engine.Cut) ([]float32, error) {
	in := 0
	var all []maskedKeys
	for _, ci := range req.Concept {
		mk, err := p.maskedKeysOf(ctx, ci, req, cut)
		if err != nil {
			return nil, err
		}
		if in == 0 && len(mk.weight) > 0 {
			in = len(mk.keys) / len(mk.weight)
		}
		all = append(all, mk)
	}
	n := 0
	for _, mk := range all {
		n += len(mk.weight)
	}
	if n == 0 {
		return nil, errNoConcept
	}
	z, err := p.whiten(req.Stats)
	if err != nil {
		return nil, err
	}
	if r, _ := z.Dims(); r != in {
		return nil, fmt.Errorf("layer %q: statistics for %d channels, keys have %d", req.Layer, r, in)
	}
	// All masked positions side by side, as one exemplar with n positions.
	keys := make([]float32, in*n)
	weight := make([]float32, 0, n)
	off := 0
	for _, mk := range all {
		m := len(mk.weight)
		for i := range in {
			copy(keys[i*n+off:i*n+off+m], mk.keys[i*m:(i+1)*m])
		}
		weight = append(weight, mk.weight...)
		off += m
	}
	return rewrite.Direction(keys, weight, 1, in, n, z, 1)
}

// maskedKeysOf returns the masked keys of one exemplar, cached per version and layer.
func (p *Previewer) maskedKeysOf(ctx context.Context, ci ConceptInput, req PreviewRequest, cut *engine.Cut) (maskedKeys, error) {
	ck := cutKey{ci.Version, req.Layer}
	p.mu.Lock()
	mk, ok := p.cache.masked[ck]
	p.mu.Unlock()
	if ok {
		return mk, nil
	}
	if ci.Version != req.Version {
		// Another exemplar: run it to the layer once; its keys stay cached until it changes.
		c, err := p.base.RunTo(ctx, p.base.Pre.Tensor(ci.Modified), req.Layer)
		if err != nil {
			return maskedKeys{}, err
		}
		cut = c
	}
	keys := cut.Input(p.base)
	if keys == nil || len(keys.Shape) != 4 {
		return maskedKeys{}, fmt.Errorf("layer %q: no keys", req.Layer)
	}
	in, h, w := keys.Shape[1], keys.Shape[2], keys.Shape[3]
	mk = pickMasked(keys.Data, in, poolMask(p.base.Pre, ci.Mask, w, h))
	p.mu.Lock()
	if len(p.cache.masked) >= maxMasked {
		clear(p.cache.masked)
	}
	p.cache.masked[ck] = mk
	p.mu.Unlock()
	return mk, nil
}

// maxMasked bounds the masked-key cache: a few versions of each of a few exemplars.
const maxMasked = 64
