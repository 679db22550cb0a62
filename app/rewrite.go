package app

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/rulebrush/rulebrush/canvas"
	"github.com/rulebrush/rulebrush/engine/rewrite"
)

// concept is a concept direction d [I, rank] of one layer.
type concept struct {
	d    []float32
	rank int
}

// Progress reports how far a job is: a stage name and done out of total (total 0: unknown).
type Progress func(stage string, done, total int)

// RewriteJob is a rewrite prepared on the UI goroutine: snapshots of the exemplars and
// everything else it needs, so Run can go on another goroutine.
type RewriteJob struct {
	s        *Session
	layer    string
	covData  string
	inputs   []rewrite.Exemplar
	stats    *rewrite.Stats
	opt      rewrite.Options
	cacheDir string
}

// PrepareRewrite snapshots the exemplars that have a painted mask and a paste.
func (s *Session) PrepareRewrite() (*RewriteJob, error) {
	j := &RewriteJob{s: s, layer: s.Layer, covData: s.CovData, stats: s.stats[s.Layer],
		opt: rewrite.Options{Rank: 1}, cacheDir: s.opt.StatsCache}
	for _, ex := range s.Exemplars {
		if canvas.Coverage(ex.Mask()) == 0 || len(ex.Doc.Pastes()) == 0 {
			continue
		}
		// Grey, so the mask survives PNG files (an Alpha image saves as white).
		mask := image.NewGray(ex.Mask().Rect)
		copy(mask.Pix, ex.Mask().Pix)
		mod := image.NewNRGBA(ex.composite.Rect)
		copy(mod.Pix, ex.composite.Pix)
		j.inputs = append(j.inputs, rewrite.Exemplar{Original: ex.Doc.Image(), Modified: mod, Mask: mask})
	}
	if len(j.inputs) == 0 {
		return nil, fmt.Errorf("nothing to rewrite: paint the concept on an exemplar and paste a texture into it")
	}
	if j.stats == nil && j.covData == "" {
		return nil, fmt.Errorf("key statistics need a folder of ordinary photos: choose one under Edit › Statistics folder")
	}
	return j, nil
}

// NeedsStats reports whether Run will compute (or read from disk) key statistics first.
func (j *RewriteJob) NeedsStats() bool { return j.stats == nil }

// RewriteOutcome is what a finished rewrite job hands back to the UI goroutine.
type RewriteOutcome struct {
	Command *RewriteLayer
	Stats   *rewrite.Stats
	Layer   string
	CovData string
	Elapsed time.Duration
}

// Run computes the key statistics if needed and then the edit. It does not change the
// session: pass the outcome to Session.ApplyRewrite on the UI goroutine.
func (j *RewriteJob) Run(ctx context.Context, progress Progress) (*RewriteOutcome, error) {
	start := time.Now()
	if progress == nil {
		progress = func(string, int, int) {}
	}
	st := j.stats
	if st == nil {
		var err error
		if st, err = computeStats(ctx, j.s.Base, j.layer, j.covData, j.cacheDir, progress); err != nil {
			return nil, err
		}
	}
	progress("Solving", 0, 0)
	e, err := rewrite.Rewrite(ctx, j.s.Model, j.layer, st, j.inputs, j.opt)
	if err != nil {
		return nil, fmt.Errorf("rewrite: %w", err)
	}
	e.Request = &rewrite.Request{Layer: j.layer, CovData: j.covData, Rank: j.opt.Rank}
	out := &RewriteOutcome{Command: &RewriteLayer{Edit: e, Inputs: j.inputs}, Stats: st,
		Layer: j.layer, CovData: j.covData, Elapsed: time.Since(start)}
	slog.Info("rewrite computed", "layer", j.layer, "rank", e.Rank, "loss_before", e.LossBefore,
		"loss_after", e.LossAfter, "dur", out.Elapsed)
	return out, nil
}

// ApplyRewrite caches the statistics and applies the edit as one history step.
func (s *Session) ApplyRewrite(o *RewriteOutcome) error {
	if o.CovData == s.CovData {
		s.stats[o.Layer] = o.Stats
	}
	s.direction[o.Layer] = concept{d: o.Command.Edit.D, rank: o.Command.Edit.Rank}
	return s.Do(o.Command)
}

// DefaultCovData is the folder key statistics are computed over unless the user picks
// another: $RULEBRUSH_COV_DATA, or imagenet-samples under $RULEBRUSH_DATA or
// ../shared/data, when present.
func DefaultCovData() string {
	if d := os.Getenv("RULEBRUSH_COV_DATA"); d != "" {
		return d
	}
	for _, base := range []string{os.Getenv("RULEBRUSH_DATA"), filepath.Join("..", "shared", "data")} {
		if base == "" {
			continue
		}
		d := filepath.Join(base, "imagenet-samples")
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			abs, err := filepath.Abs(d)
			if err == nil {
				return abs
			}
		}
	}
	return ""
}
