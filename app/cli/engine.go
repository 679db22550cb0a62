package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/eval"
	"github.com/rulebrush/rulebrush/engine/ops"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

func init() {
	register("predict", "classify images: top classes with probabilities", runPredict)
	register("layers", "list a model's conv layers and which a rewrite can edit", runLayers)
	register("eval", "top-1/top-5 accuracy on a labelled folder; with two models, images fixed and broken", runEval)
	register("bench", "median latency of a model on random input", runBench)
}

// applyPreprocess applies --mean and --std overrides to a model's preprocessing.
func applyPreprocess(m *engine.Model, mean, std string) error {
	for _, f := range []struct {
		name, val string
		dst       *[3]float32
	}{{"mean", mean, &m.Pre.Mean}, {"std", std, &m.Pre.Std}} {
		if f.val == "" {
			continue
		}
		var v []float32
		for s := range strings.SplitSeq(f.val, ",") {
			var x float32
			if _, err := fmt.Sscan(strings.TrimSpace(s), &x); err != nil {
				return usagef("--%s %q: want three comma-separated numbers", f.name, f.val)
			}
			v = append(v, x)
		}
		if len(v) != 3 {
			return usagef("--%s %q: want three comma-separated numbers", f.name, f.val)
		}
		copy(f.dst[:], v)
	}
	return nil
}

type topEntry struct {
	Index int     `json:"index"`
	Label string  `json:"label"`
	Prob  float64 `json:"prob"`
}

func runPredict(ctx context.Context, args []string, out io.Writer) error {
	fs, asJSON := newFlags("predict")
	model := fs.String("model", "", "ONNX classifier")
	top := fs.Int("top", 5, "how many classes to show")
	mean := fs.String("mean", "", "override the per-channel mean, e.g. 0.485,0.456,0.406")
	std := fs.String("std", "", "override the per-channel std")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || fs.NArg() == 0 {
		return usagef("need --model M.onnx and at least one image")
	}
	m, err := engine.Load(*model)
	if err != nil {
		return err
	}
	if err := applyPreprocess(m, *mean, *std); err != nil {
		return err
	}
	type result struct {
		Image string     `json:"image"`
		Top   []topEntry `json:"top"`
	}
	var results []result
	for _, path := range fs.Args() {
		x, err := m.LoadImage(path)
		if err != nil {
			return err
		}
		logits, err := m.Run(ctx, x)
		if err != nil {
			return err
		}
		probs := softmax(logits.Data)
		r := result{Image: path}
		for _, i := range eval.TopK(probs, *top) {
			r.Top = append(r.Top, topEntry{i, m.ShortLabel(i), float64(probs[i])})
		}
		results = append(results, r)
	}
	if *asJSON {
		return writeJSON(out, map[string]any{"results": results})
	}
	for _, r := range results {
		fmt.Fprintln(out, r.Image)
		for _, t := range r.Top {
			fmt.Fprintf(out, "  %6.2f%%  %4d  %s\n", 100*t.Prob, t.Index, t.Label)
		}
	}
	return nil
}

func softmax(x []float32) []float32 {
	p := make([]float32, len(x))
	ops.Softmax(tensor.From(p, 1, len(x)), tensor.From(slices.Clone(x), 1, len(x)), 1)
	return p
}

func runLayers(ctx context.Context, args []string, out io.Writer) error {
	fs, asJSON := newFlags("layers")
	model := fs.String("model", "", "ONNX classifier")
	all := fs.Bool("all", false, "also list layers a rewrite cannot edit (grouped convs)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" {
		return usagef("need --model M.onnx")
	}
	m, err := engine.Load(*model)
	if err != nil {
		return err
	}
	layers, err := m.Layers()
	if err != nil {
		return err
	}
	if !*all {
		layers = slices.DeleteFunc(layers, func(l engine.LayerInfo) bool { return !l.Editable })
	}
	if *asJSON {
		return writeJSON(out, map[string]any{"model": *model, "layers": layers})
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "layer\tinput\toutput\tkernel\tstride\tgroup")
	for _, l := range layers {
		fmt.Fprintf(tw, "%s\t%v\t%v\t%dx%d\t%d\t%d\n", l.Name, l.InShape, l.OutShape, l.Kernel[0], l.Kernel[1], l.Stride[0], l.Group)
	}
	return tw.Flush()
}

func runEval(ctx context.Context, args []string, out io.Writer) error {
	fs, asJSON := newFlags("eval")
	var models multiFlag
	fs.Var(&models, "model", "ONNX classifier (repeat to compare: the first is the baseline)")
	data := fs.String("data", "", "folder of class subfolders, or a flat folder with classes.tsv")
	classes := fs.String("classes", "", "classes.json (folder -> {\"index\": i}) or classes.tsv (file<TAB>index)")
	batch := fs.Int("batch", 16, "images per forward pass")
	mean := fs.String("mean", "", "override the per-channel mean of every model")
	std := fs.String("std", "", "override the per-channel std of every model")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(models) == 0 || *data == "" {
		return usagef("need --model M.onnx and --data DIR")
	}
	ds, err := eval.Open(*data, *classes)
	if err != nil {
		return err
	}
	start := time.Now()
	imgs, err := eval.Images(ctx, ds)
	if err != nil {
		return err
	}
	var reports []*eval.Report
	for _, path := range models {
		m, err := engine.Load(path)
		if err != nil {
			return err
		}
		if err := applyPreprocess(m, *mean, *std); err != nil {
			return err
		}
		r, err := eval.Run(ctx, m, ds, imgs, eval.Options{Batch: *batch})
		if err != nil {
			return err
		}
		reports = append(reports, r)
	}
	flips := map[string]eval.Flips{}
	for _, r := range reports[1:] {
		flips[r.Model] = eval.Compare(ds, reports[0], r)
	}
	if *asJSON {
		return writeJSON(out, map[string]any{"models": reports, "flips": flips, "seconds": time.Since(start).Seconds()})
	}
	for _, r := range reports {
		fmt.Fprintf(out, "%s: %d images, top-1 %.1f%%, top-5 %.1f%%\n", r.Model, r.N, 100*r.Top1, 100*r.Top5)
		groups := make([]string, 0, len(r.PerClass))
		for g := range r.PerClass {
			groups = append(groups, g)
		}
		slices.Sort(groups)
		if len(groups) <= 50 {
			for _, g := range groups {
				c := r.PerClass[g]
				fmt.Fprintf(out, "  %-20s n=%-4d top-1 %5.1f%%  top-5 %5.1f%%\n", g, c.N, 100*c.Top1, 100*c.Top5)
			}
		}
	}
	for model, f := range flips {
		fmt.Fprintf(out, "%s vs %s: %d fixed, %d broken\n", filepath.Base(model), filepath.Base(reports[0].Model), len(f.Fixed), len(f.Broken))
	}
	return nil
}

func runBench(ctx context.Context, args []string, out io.Writer) error {
	fs, asJSON := newFlags("bench")
	model := fs.String("model", "", "ONNX classifier")
	batch := fs.Int("batch", 1, "batch size")
	runs := fs.Int("runs", 20, "timed runs")
	warmup := fs.Int("warmup", 3, "untimed runs first")
	threads := fs.Int("threads", runtime.NumCPU(), "worker threads (ops and OpenBLAS)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *batch < 1 || *runs < 1 || *threads < 1 {
		return usagef("need --model M.onnx, --batch >= 1, --runs >= 1, --threads >= 1")
	}
	engine.SetThreads(*threads)
	m, err := engine.Load(*model)
	if err != nil {
		return err
	}
	x := tensor.New(*batch, m.InputShape[0], m.InputShape[1], m.InputShape[2])
	for i := range x.Data {
		x.Data[i] = float32(i%255)/127.5 - 1
	}
	var times []float64
	for i := range *warmup + *runs {
		t := time.Now()
		if _, err := m.Run(ctx, x); err != nil {
			return err
		}
		if i >= *warmup {
			times = append(times, float64(time.Since(t).Microseconds())/1000)
		}
	}
	slices.Sort(times)
	res := map[string]any{
		"model": *model, "median_ms": times[len(times)/2], "min_ms": times[0], "max_ms": times[len(times)-1],
		"batch": *batch, "threads": *threads, "runs": *runs, "blas": engine.BLAS(),
	}
	if *asJSON {
		return writeJSON(out, res)
	}
	b, _ := json.Marshal(res)
	fmt.Fprintln(out, string(b))
	return nil
}
