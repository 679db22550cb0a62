package rewrite

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// Local fine-tuning lowers the exemplars' cross-entropy and changes only the edit layer;
// global fine-tuning trains every layer from it to the output.
func TestFinetuneMobileNetV2(t *testing.T) {
	m, dir := mobilenet(t)
	ex := exemplars(t, dir, "police_van", "minivan")
	ctx := context.Background()
	labels, err := ExemplarLabels(ctx, m, ex)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(labels, []int{734, 656}) {
		t.Fatalf("labels %v, want police van 734 and minivan 656", labels)
	}
	before := map[string][]float32{}
	for _, l := range m.EditableNames() {
		c, _ := m.Conv(l)
		before[l] = slices.Clone(c.W.Data)
	}
	f, err := Finetune(ctx, m, "Conv_1", ex, labels, FinetuneOptions{Steps: 20, LR: 1e-2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Layers, []string{"Conv_1"}) || len(f.Losses) != 20 {
		t.Errorf("trained %v for %d steps, want Conv_1 for 20", f.Layers, len(f.Losses))
	}
	if !(f.LossAfter < f.LossBefore) {
		t.Errorf("cross-entropy %g -> %g, want a decrease", f.LossBefore, f.LossAfter)
	}
	for l, w := range before {
		c, _ := m.Conv(l)
		if changed := !slices.Equal(c.W.Data, w); changed != (l == "Conv_1") {
			t.Errorf("layer %s changed: %v", l, changed)
		}
	}
	g, err := Finetune(ctx, m, "expanded_conv_16/project", ex, labels, FinetuneOptions{Global: true, Steps: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Layers) < 3 || g.Layers[0] != "expanded_conv_16/project" || !slices.Contains(g.Layers, "Conv_1") {
		t.Errorf("global fine-tuning trained %v", g.Layers)
	}
}

// A cancelled run leaves the conv weights as they were.
func TestFinetuneCancelRestores(t *testing.T) {
	m, dir := mobilenet(t)
	ex := exemplars(t, dir, "police_van")
	c, _ := m.Conv("Conv_1")
	w0 := slices.Clone(c.W.Data)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Finetune(ctx, m, "Conv_1", ex, []int{734}, FinetuneOptions{Steps: 100, LR: 1e-2,
		Progress: func(done, _ int) {
			if done == 30 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want cancellation", err)
	}
	if !slices.Equal(c.W.Data, w0) {
		t.Error("Conv_1 weights were not restored")
	}
}
