package rewrite

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/eval"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Method names: the rewrite and the paper's fine-tuning baselines.
const (
	MethodRewrite        = "rewrite"
	MethodFinetuneLocal  = "finetune-local"  // SGD on the edit layer's weights alone
	MethodFinetuneGlobal = "finetune-global" // SGD on every layer from the edit layer to the output
)

// FinetuneOptions configure Finetune.
type FinetuneOptions struct {
	Global   bool                  // train every layer from the edit layer on, not only it
	Steps    int                   // SGD steps; 0 means 400
	LR       float64               // learning rate; 0 means 1e-4 (the paper's code)
	Progress func(done, total int) // called every 10 steps; may be nil
}

// Finetuned reports a fine-tuning run.
type Finetuned struct {
	Layers     []string  // the trained layers, in graph order
	Labels     []int     // the class each modified exemplar was trained towards
	LossBefore float64   // mean cross-entropy of the modified exemplars before training
	LossAfter  float64   // and after
	Losses     []float64 // the loss before each step
	Seconds    float64
}

// ExemplarLabels returns the model's top-1 class on each exemplar's original image: the
// class the exemplar shows, when the model gets the unmodified photo right.
func ExemplarLabels(ctx context.Context, m *engine.Model, ex []Exemplar) ([]int, error) {
	x := tensor.New(len(ex), 3, m.Pre.Size, m.Pre.Size)
	for i, e := range ex {
		m.Pre.Into(x, i, e.Original)
	}
	y, err := m.Run(ctx, x)
	if err != nil {
		return nil, fmt.Errorf("exemplar labels: %w", err)
	}
	classes := len(y.Data) / len(ex)
	labels := make([]int, len(ex))
	for i := range ex {
		labels[i] = eval.TopK(y.Data[i*classes:(i+1)*classes], 1)[0]
	}
	return labels, nil
}

// Finetune is the paper's fine-tuning baseline: full-batch SGD on the cross-entropy of
// the modified exemplars labelled with their true classes, training layer alone (local)
// or every layer from it to the output (global). It changes m in place; on an error or
// cancellation the conv layers are restored exactly and the fully connected ones up to
// rounding.
func Finetune(ctx context.Context, m *engine.Model, layer string, ex []Exemplar, labels []int, opt FinetuneOptions) (*Finetuned, error) {
	if len(ex) == 0 {
		return nil, fmt.Errorf("fine-tune %q: no exemplars", layer)
	}
	if len(labels) != len(ex) {
		return nil, fmt.Errorf("fine-tune %q: %d labels for %d exemplars", layer, len(labels), len(ex))
	}
	steps, lr := opt.Steps, opt.LR
	if steps <= 0 {
		steps = 400
	}
	if lr <= 0 {
		lr = 1e-4
	}
	x := tensor.New(len(ex), 3, m.Pre.Size, m.Pre.Size)
	for i, e := range ex {
		if e.Modified == nil {
			return nil, fmt.Errorf("fine-tune %q: exemplar %d has no modified image", layer, i+1)
		}
		m.Pre.Into(x, i, e.Modified)
	}
	start := time.Now()
	tr, err := m.NewTrainer(x, labels, layer, !opt.Global)
	if err != nil {
		return nil, fmt.Errorf("fine-tune %q: %w", layer, err)
	}
	res := &Finetuned{Layers: tr.Params(), Labels: slices.Clone(labels)}
	// Keep what is needed to undo a failed run: conv weights as they are, and the sum of
	// the steps taken for the other layers.
	saved := map[string][]float32{}
	for _, l := range res.Layers {
		if c, err := m.Conv(l); err == nil {
			saved[l] = slices.Clone(c.W.Data)
		}
	}
	taken := engine.Grads{}
	restore := func(cause error) error {
		for l, w := range saved {
			if err := m.SetWeights(l, w); err != nil {
				return fmt.Errorf("fine-tune %q: %w (and restoring %q: %v)", layer, cause, l, err)
			}
			delete(taken, l)
		}
		if err := m.SGDStep(taken, -1); err != nil {
			return fmt.Errorf("fine-tune %q: %w (and restoring: %v)", layer, cause, err)
		}
		return fmt.Errorf("fine-tune %q: %w", layer, cause)
	}
	for it := range steps + 1 {
		loss, g, err := tr.LossGrad(ctx)
		if err != nil {
			return nil, restore(err)
		}
		res.Losses = append(res.Losses, loss)
		if it == steps {
			break
		}
		if err := m.SGDStep(g, float32(lr)); err != nil {
			return nil, restore(err)
		}
		for l, d := range g {
			if _, isConv := saved[l]; isConv {
				continue
			}
			acc, ok := taken[l]
			if !ok {
				acc = tensor.New(d.Shape...)
				taken[l] = acc
			}
			for i, v := range d.Data {
				acc.Data[i] += float32(lr) * v
			}
		}
		if opt.Progress != nil && (it+1)%10 == 0 {
			opt.Progress(it+1, steps)
		}
	}
	res.Losses, res.LossAfter = res.Losses[:steps], res.Losses[steps]
	res.LossBefore = res.Losses[0]
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}
