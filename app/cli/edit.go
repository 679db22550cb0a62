package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/rewrite"
)

func init() {
	register("edit", "rewrite a layer's prediction rule from exemplars; writes the edited ONNX", runEdit)
}

type editResult struct {
	Layer        string  `json:"layer"`
	LossBefore   float64 `json:"loss_before"`
	LossAfter    float64 `json:"loss_after"`
	EigFloor     float64 `json:"eig_floor"`
	StatsSeconds float64 `json:"stats_seconds"`
	SolveSeconds float64 `json:"solve_seconds"`
	Seconds      float64 `json:"seconds"`
}

func runEdit(ctx context.Context, args []string, out io.Writer) error {
	fs, asJSON := newFlags("edit", out)
	model := fs.String("model", "", "model `M.onnx`")
	recipe := fs.String("recipe", "", "edit request file (JSON); replaces the request flags")
	layer := fs.String("layer", "", "conv node to edit")
	var images, masks multiFlag
	fs.Var(&images, "exemplar", "exemplar image (repeat, one per --mask)")
	fs.Var(&masks, "mask", "exemplar mask, white = concept region (repeat)")
	texture := fs.String("texture", "", "texture pasted into the masks")
	cov := fs.String("cov-data", "", "folder of images for the key statistics")
	rank := fs.Int("rank", 1, "rank of the update")
	method := fs.String("method", "rewrite", "rewrite, finetune-local or finetune-global")
	loss := fs.String("loss", rewrite.LossL1, "l1 (the paper's) or l2")
	solver := fs.String("solver", rewrite.SolverStructured, "structured, adam or paper")
	steps := fs.Int("steps", 0, "iterations of the adam and paper solvers (default 20000)")
	lr := fs.Float64("lr", 0, "learning rate of the adam and paper solvers")
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
		if *layer == "" || *cov == "" || len(images) == 0 {
			return usagef("--layer, --cov-data and at least one --exemplar/--mask pair are required (or --recipe)")
		}
		if len(images) != len(masks) {
			return usagef("%d --exemplar but %d --mask: give one mask per exemplar", len(images), len(masks))
		}
		req := rewrite.Request{Layer: *layer, Texture: *texture, CovData: *cov, Rank: *rank, Method: *method,
			Loss: *loss, Solver: *solver, Steps: *steps, LR: *lr}
		for i := range images {
			req.Exemplars = append(req.Exemplars, rewrite.ExemplarFiles{Image: images[i], Mask: masks[i]})
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
		if req.Method != "" && req.Method != "rewrite" {
			return fmt.Errorf("edit %d: method %q is not available in this build (needs the graph backward pass); use rewrite", i+1, req.Method)
		}
		if _, err := m.Block(req.Layer); err != nil {
			return fmt.Errorf("edit %d: %w", i+1, err)
		}
		if req.CovData == "" {
			return fmt.Errorf("edit %d: no cov_data folder for the key statistics", i+1)
		}
		if exs[i], err = req.LoadExemplars(); err != nil {
			return fmt.Errorf("edit %d: %w", i+1, err)
		}
		if covs[i], err = rewrite.ImageFiles(req.CovData); err != nil {
			return fmt.Errorf("edit %d: %w", i+1, err)
		}
	}
	h := rewrite.NewHistory(m)
	var results []editResult
	for i, req := range rc.Edits {
		t0 := time.Now()
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
		results = append(results, editResult{Layer: e.Layer, LossBefore: e.LossBefore, LossAfter: e.LossAfter,
			EigFloor: e.EigFloor, StatsSeconds: statsSec, SolveSeconds: e.SolveSeconds})
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
