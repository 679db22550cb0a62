package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/rewrite"
)

func init() {
	register("edit", "rewrite a layer's prediction rule from exemplars; writes the edited ONNX", runEdit)
}

// editResult reports one edit. For the fine-tuning methods the losses are the mean
// cross-entropy of the modified exemplars, and solve_seconds is the training time.
type editResult struct {
	Layer        string  `json:"layer"`
	Method       string  `json:"method"`
	LossBefore   float64 `json:"loss_before"`
	LossAfter    float64 `json:"loss_after"`
	EigFloor     float64 `json:"eig_floor"`
	StatsSeconds float64 `json:"stats_seconds"`
	SolveSeconds float64 `json:"solve_seconds"`
	Seconds      float64 `json:"seconds"` // this edit's wall time; at the top level, the whole command's
}

func runEdit(ctx context.Context, args []string, out io.Writer) error {
	fs, asJSON := newFlags("edit")
	model := fs.String("model", "", "model `M.onnx`")
	recipe := fs.String("recipe", "", "edit request file (JSON); replaces the request flags")
	layer := fs.String("layer", "", "conv node to edit")
	var images, masks multiFlag
	fs.Var(&images, "exemplar", "exemplar image (repeat, one per --mask)")
	fs.Var(&masks, "mask", "exemplar mask, white = concept region (repeat)")
	var labels multiFlag
	fs.Var(&labels, "label", "exemplar's true class index for fine-tuning (repeat, one per --exemplar; default: the model's top-1 on the photo)")
	texture := fs.String("texture", "", "texture pasted into the masks")
	cov := fs.String("cov-data", "", "folder of images for the key statistics")
	rank := fs.Int("rank", 1, "rank of the update")
	method := fs.String("method", rewrite.MethodRewrite, "rewrite, or the baselines finetune-local and finetune-global")
	loss := fs.String("loss", rewrite.LossL1, "l1 (the paper's) or l2")
	solver := fs.String("solver", rewrite.SolverStructured, "structured, adam or paper")
	steps := fs.Int("steps", 0, "iterations of the adam and paper solvers (default 20000), or SGD steps of fine-tuning (default 400)")
	lr := fs.Float64("lr", 0, "learning rate of the adam and paper solvers, or of fine-tuning (default 1e-4)")
	outPath := fs.String("out", "", "edited model `EDITED.onnx`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *outPath == "" {
		return usagef("--model and --out are required")
	}
	var rc *rewrite.Recipe
	if *recipe != "" {
		var err error
		if rc, err = rewrite.LoadRecipe(*recipe); err != nil {
			return err
		}
	} else {
		if *layer == "" || len(images) == 0 {
			return usagef("--layer and at least one --exemplar/--mask pair are required (or --recipe)")
		}
		if len(images) != len(masks) {
			return usagef("%d --exemplar but %d --mask: give one mask per exemplar", len(images), len(masks))
		}
		req := rewrite.Request{Layer: *layer, Texture: *texture, CovData: *cov, Rank: *rank, Method: *method,
			Loss: *loss, Solver: *solver, Steps: *steps, LR: *lr}
		if len(labels) > 0 && len(labels) != len(images) {
			return usagef("%d --exemplar but %d --label: give one label per exemplar, or none", len(images), len(labels))
		}
		for i := range images {
			f := rewrite.ExemplarFiles{Image: images[i], Mask: masks[i]}
			if len(labels) > 0 {
				l, err := strconv.Atoi(labels[i])
				if err != nil || l < 0 {
					return usagef("--label %q is not a class index", labels[i])
				}
				f.Label = &l
			}
			req.Exemplars = append(req.Exemplars, f)
		}
		if err := req.Resolve("."); err != nil {
			return err
		}
		rc = &rewrite.Recipe{Edits: []rewrite.Request{req}}
	}
	start := time.Now()
	m, err := engine.Load(*model)
	if err != nil {
		return err
	}
	// Check every request and load its exemplars before any slow work, so bad input fails
	// fast and nothing is written.
	exs := make([][]rewrite.Exemplar, len(rc.Edits))
	covs := make([][]string, len(rc.Edits))
	for i, req := range rc.Edits {
		if err := req.CheckMethod(); err != nil {
			return fmt.Errorf("edit %d: %w", i+1, err)
		}
		if _, err := m.Block(req.Layer); err != nil {
			return fmt.Errorf("edit %d: %w", i+1, err)
		}
		if exs[i], err = req.LoadExemplars(); err != nil {
			return fmt.Errorf("edit %d: %w", i+1, err)
		}
		if !isRewrite(req) {
			continue // fine-tuning needs no key statistics
		}
		if req.CovData == "" {
			return fmt.Errorf("edit %d: no --cov-data folder for the key statistics", i+1)
		}
		if covs[i], err = rewrite.ImageFiles(req.CovData); err != nil {
			return fmt.Errorf("edit %d: %w", i+1, err)
		}
	}
	h := rewrite.NewHistory(m)
	var results []editResult
	for i, req := range rc.Edits {
		t0 := time.Now()
		if !isRewrite(req) {
			r, err := finetune(ctx, m, req, exs[i])
			if err != nil {
				return fmt.Errorf("edit %d: %w", i+1, err)
			}
			r.Seconds = time.Since(t0).Seconds()
			results = append(results, r)
			continue
		}
		sts, computed, err := rewrite.ComputeStats(ctx, m, []string{req.Layer}, covs[i], rewrite.StatsOptions{})
		if err != nil {
			return fmt.Errorf("edit %d: %w", i+1, err)
		}
		var statsSec float64
		if computed {
			statsSec = time.Since(t0).Seconds()
		}
		e, err := rewrite.Rewrite(ctx, m, req.Layer, sts[req.Layer], exs[i], req.Options())
		if err != nil {
			return fmt.Errorf("edit %d: %w", i+1, err)
		}
		r := req
		e.Request = &r
		if err := h.Push(e); err != nil {
			return fmt.Errorf("edit %d: %w", i+1, err)
		}
		results = append(results, editResult{Layer: e.Layer, Method: rewrite.MethodRewrite, LossBefore: e.LossBefore, LossAfter: e.LossAfter,
			EigFloor: e.EigFloor, StatsSeconds: statsSec, SolveSeconds: e.SolveSeconds, Seconds: time.Since(t0).Seconds()})
	}
	if err := os.MkdirAll(filepath.Dir(*outPath), 0o755); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	if err := m.Save(*outPath); err != nil {
		return err
	}
	last := results[len(results)-1]
	last.Seconds = time.Since(start).Seconds()
	if *asJSON {
		return writeJSON(out, struct {
			editResult
			Out   string       `json:"out"`
			Edits []editResult `json:"edits"`
		}{last, *outPath, results})
	}
	for _, r := range results {
		fmt.Fprintf(out, "%s: loss %.5f -> %.5f (stats %.1fs, solve %.3fs)\n", r.Layer, r.LossBefore, r.LossAfter, r.StatsSeconds, r.SolveSeconds)
	}
	fmt.Fprintf(out, "wrote %s in %.1fs\n", *outPath, last.Seconds)
	return nil
}

func isRewrite(req rewrite.Request) bool {
	return req.Method == "" || req.Method == rewrite.MethodRewrite
}

// finetune runs a fine-tuning baseline on m in place.
func finetune(ctx context.Context, m *engine.Model, req rewrite.Request, ex []rewrite.Exemplar) (editResult, error) {
	labels, err := req.Labels(ctx, m, ex)
	if err != nil {
		return editResult{}, err
	}
	f, err := rewrite.Finetune(ctx, m, req.Layer, ex, labels, req.FinetuneOptions())
	if err != nil {
		return editResult{}, err
	}
	return editResult{Layer: req.Layer, Method: req.Method, LossBefore: f.LossBefore, LossAfter: f.LossAfter,
		SolveSeconds: f.Seconds}, nil
}
