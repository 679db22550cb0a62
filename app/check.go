package app

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"slices"
	"time"

	"github.com/disintegration/imaging"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/eval"
)

// CheckResult compares the model before and after the session's rewrites on a folder of
// labelled photos (one subfolder per class, as `rulebrush eval` reads).
type CheckResult struct {
	Dir           string
	N             int
	Before, After *eval.Report
	Classes       []string // the folder's classes, sorted
	Fixed, Broken []Flip
	Elapsed       time.Duration
}

// Flip is one photo the edit fixed or broke, with a thumbnail.
type Flip struct {
	Path          string
	Class         string
	Before, After string // top-1 labels
	Thumb         *image.NRGBA
}

// ThumbSize is the edge of check-folder thumbnails.
const ThumbSize = 96

// Check evaluates base and edited on dir. It reads the models only, so it may run on
// another goroutine while the session stays in use.
func Check(ctx context.Context, base, edited *engine.Model, dir string, progress Progress) (*CheckResult, error) {
	start := time.Now()
	if progress == nil {
		progress = func(string, int, int) {}
	}
	ds, err := eval.Open(dir, "")
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", dir, err)
	}
	progress("Reading photos", 0, len(ds.Items))
	imgs, err := eval.Images(ctx, ds)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", dir, err)
	}
	n := len(ds.Items)
	run := func(stage string, m *engine.Model) (*eval.Report, error) {
		return eval.Run(ctx, m, ds, imgs, eval.Options{Progress: func(done, total int) { progress(stage, done, total) }})
	}
	res := &CheckResult{Dir: dir, N: n}
	if res.Before, err = run("Model before the edit", base); err != nil {
		return nil, fmt.Errorf("check %s: %w", dir, err)
	}
	if res.After, err = run("Model after the edit", edited); err != nil {
		return nil, fmt.Errorf("check %s: %w", dir, err)
	}
	for c := range res.Before.PerClass {
		res.Classes = append(res.Classes, c)
	}
	slices.Sort(res.Classes)
	for i, it := range ds.Items {
		b, a := res.Before.Correct(ds, i), res.After.Correct(ds, i)
		if b == a {
			continue
		}
		f := Flip{Path: it.Path, Class: it.Group,
			Before: base.ShortLabel(res.Before.Preds[i].Top5[0]),
			After:  base.ShortLabel(res.After.Preds[i].Top5[0]),
			Thumb:  imaging.Fill(imgs[i], ThumbSize, ThumbSize, imaging.Center, imaging.Linear)}
		if a {
			res.Fixed = append(res.Fixed, f)
		} else {
			res.Broken = append(res.Broken, f)
		}
	}
	res.Elapsed = time.Since(start)
	slog.Info("check folder", "dir", dir, "n", n, "top1_before", res.Before.Top1, "top1_after", res.After.Top1,
		"fixed", len(res.Fixed), "broken", len(res.Broken), "dur", res.Elapsed)
	return res, nil
}
