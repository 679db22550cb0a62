package engine

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// crossEntropy is the mean cross-entropy of the model's output on x in float64, computed
// from Run alone: from logits, or from probabilities when probs is set.
func crossEntropy(t testing.TB, m *Model, x *tensor.Tensor, labels []int, probs bool) float64 {
	t.Helper()
	y, err := m.Run(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	if !probs {
		return crossEntropyOf(y, labels)
	}
	var sum float64
	for i, l := range labels {
		sum -= math.Log(float64(y.Data[i*y.Shape[1]+l]))
	}
	return sum / float64(len(labels))
}

// layerWeights returns a copy of a trainable layer's weights and a function that sets them.
func layerWeights(t testing.TB, m *Model, layer string) ([]float32, func([]float32)) {
	t.Helper()
	if c, ok := m.convs[layer]; ok {
		return slices.Clone(c.W.Data), func(w []float32) {
			if err := m.SetWeights(layer, w); err != nil {
				t.Fatal(err)
			}
		}
	}
	w := m.linearWeight(layer)
	if w == nil {
		t.Fatalf("no layer %q", layer)
	}
	return slices.Clone(w.Data), func(w []float32) {
		if err := m.SetLinearWeights(layer, w); err != nil {
			t.Fatal(err)
		}
	}
}

// checkEntries compares g with central differences of loss at the two largest entries
// of g and three random ones, each step being rel times the weight's size (or the
// layer's RMS weight, if larger). An entry passes within 5% of its own size plus 3% of
// the layer's largest gradient: the floor set by float32 rounding and by activation
// kinks that a whole-network difference crosses.
func checkEntries(t *testing.T, m *Model, layer string, g *tensor.Tensor, rel float64, seed uint64, loss func() float64) {
	t.Helper()
	w0, set := layerWeights(t, m, layer)
	defer set(w0)
	var rms float64
	for _, v := range w0 {
		rms += float64(v) * float64(v)
	}
	rms = math.Sqrt(rms / float64(len(w0)))
	byMag := make([]int, len(w0))
	for i := range byMag {
		byMag[i] = i
	}
	slices.SortFunc(byMag, func(a, b int) int {
		return cmp.Compare(math.Abs(float64(g.Data[b])), math.Abs(float64(g.Data[a])))
	})
	gmax := math.Abs(float64(g.Data[byMag[0]]))
	if gmax == 0 {
		t.Errorf("%s: gradient is zero", layer)
		return
	}
	r := testutil.Rand(seed)
	entries := []int{byMag[0], byMag[1], r.IntN(len(w0)), r.IntN(len(w0)), r.IntN(len(w0))}
	w := slices.Clone(w0)
	for _, i := range entries {
		// Float32 rounding of the loss dominates small steps and kinks dominate large
		// ones, so the gradient must match the central difference at one of two steps.
		got := float64(g.Data[i])
		var nums []float64
		for _, step := range []float64{rel, 10 * rel} {
			h := step * math.Max(math.Abs(float64(w0[i])), rms)
			w[i] = float32(float64(w0[i]) + h)
			set(w)
			lp := loss()
			w[i] = float32(float64(w0[i]) - h)
			set(w)
			lm := loss()
			w[i] = w0[i]
			nums = append(nums, (lp-lm)/(float64(w0[i]+float32(h))-float64(w0[i]-float32(h))))
		}
		if !slices.ContainsFunc(nums, func(num float64) bool { return math.Abs(num-got) <= 0.05*math.Abs(num)+0.03*gmax }) {
			t.Errorf("%s[%d]: gradient %.6g, central differences %.6g (largest |g| %.3g)", layer, i, got, nums, gmax)
		}
	}
}

var gradFixtures = []struct {
	model, from string
	keepBN      bool
	probs       bool
}{
	{"tiny_vgg", "/features/features.2/Conv", false, false},
	{"tiny_resnet", "/layer1/conv2/Conv", false, false},
	{"tiny_resnet", "/layer2/conv1/Conv", true, false}, // BatchNormalization kept as its own node
	{"tiny_mobilenet", "/features/features.1/conv/conv.0/conv.0.0/Conv", false, false},
	{"tiny_inception", "/b2/b2.0/Conv", false, true}, // probabilities out: the loss reads the Softmax input
}

func loadTiny(t testing.TB, model string, keepBN bool) (*Model, *tensor.Tensor) {
	t.Helper()
	dir := filepath.Join(testutil.DataDir(t), "models", "tiny", model)
	m, err := LoadWith(filepath.Join(dir, "model.onnx"), LoadOptions{KeepBatchNorm: keepBN})
	if err != nil {
		t.Fatal(err)
	}
	x, err := tensor.ReadRawFile(filepath.Join(dir, "input.bin"), 2, m.InputShape[0], m.InputShape[1], m.InputShape[2])
	if err != nil {
		t.Fatal(err)
	}
	return m, x
}

// Global fine-tuning gradients of every trained layer match central differences of the
// loss computed from Run; the local gradient is the global one of its layer.
func TestLossGradFiniteDifferences(t *testing.T) {
	for i, fx := range gradFixtures {
		t.Run(fmt.Sprintf("%s/keepBN=%v", fx.model, fx.keepBN), func(t *testing.T) {
			m, x := loadTiny(t, fx.model, fx.keepBN)
			labels := []int{3, 7}
			loss, g, err := m.LossGrad(context.Background(), x, labels, fx.from, false)
			if err != nil {
				t.Fatal(err)
			}
			ce := func() float64 { return crossEntropy(t, m, x, labels, fx.probs) }
			if want := ce(); math.Abs(loss-want) > 1e-5*math.Abs(want) {
				t.Fatalf("loss %g, cross-entropy of Run %g", loss, want)
			}
			var convs, linear int
			for _, n := range m.nodes[slices.IndexFunc(m.nodes, func(n *node) bool { return n.name == fx.from }):] {
				if n.conv != nil {
					convs++
				} else if m.linearWeight(n.name) != nil {
					linear++
				}
			}
			if len(g) != convs+linear || linear == 0 {
				t.Fatalf("%d gradients, want %d convs and %d linear layers from %q on", len(g), convs, linear, fx.from)
			}
			for j, layer := range slices.Sorted(maps.Keys(g)) {
				if w, _ := layerWeights(t, m, layer); len(w) != len(g[layer].Data) {
					t.Fatalf("%s: gradient %v for %d weights", layer, g[layer].Shape, len(w))
				}
				checkEntries(t, m, layer, g[layer], 1e-3, uint64(10*i+j), ce)
			}

			_, local, err := m.LossGrad(context.Background(), x, labels, fx.from, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(local) != 1 || local[fx.from] == nil {
				t.Fatalf("local gradients for %v, want only %q", slices.Sorted(maps.Keys(local)), fx.from)
			}
			testutil.AssertClose(t, local[fx.from].Data, g[fx.from].Data, 0, 0)
		})
	}
}

// MobileNetV2's Conv_1 (1×1, 320→1280, then ReLU6, the pool and the classifier).
func TestLossGradMobileNetV2(t *testing.T) {
	m, err := Load(filepath.Join(testutil.DataDir(t), "models", "mobilenetv2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	const layer = "Conv_1"
	x := tensor.From(testutil.RandSlice(testutil.Rand(7), 2*3*224*224), 2, 3, 224, 224)
	labels := []int{1, 500}
	ctx := context.Background()
	loss, g, err := m.LossGrad(ctx, x, labels, layer, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != 2 || g[layer] == nil || g["Logits"] == nil {
		t.Fatalf("gradients for %d layers, want Conv_1 and Logits", len(g))
	}
	if want := crossEntropy(t, m, x, labels, false); math.Abs(loss-want) > 1e-5*want {
		t.Fatalf("loss %g, cross-entropy of Run %g", loss, want)
	}
	cut, err := m.RunTo(ctx, x, layer)
	if err != nil {
		t.Fatal(err)
	}
	ce := func() float64 {
		y, err := m.RunFrom(ctx, cut)
		if err != nil {
			t.Fatal(err)
		}
		return crossEntropyOf(y, labels)
	}
	checkEntries(t, m, layer, g[layer], 1e-2, 1, ce)
	checkEntries(t, m, "Logits", g["Logits"], 1e-2, 2, ce)

	// From the last residual block on: depthwise convs, the residual Add and six more
	// layers, each checked along its own gradient.
	const block = "expanded_conv_15/expand"
	if _, g, err = m.LossGrad(ctx, x, labels, block, false); err != nil {
		t.Fatal(err)
	}
	if len(g) != 8 {
		t.Fatalf("gradients for %d layers from %s, want 8", len(g), block)
	}
	if cut, err = m.RunTo(ctx, x, block); err != nil {
		t.Fatal(err)
	}
	for _, l := range slices.Sorted(maps.Keys(g)) {
		checkDirection(t, m, l, g[l], 1e-3, ce)
	}
}

// checkDirection compares the derivative of loss along a layer's gradient g, |g|², with
// a central difference along g whose step moves the weights by rel of their norm, within
// 5%.
func checkDirection(t *testing.T, m *Model, layer string, g *tensor.Tensor, rel float64, loss func() float64) {
	t.Helper()
	w0, set := layerWeights(t, m, layer)
	defer set(w0)
	var wn, gn float64
	for i, v := range w0 {
		wn += float64(v) * float64(v)
		gn += float64(g.Data[i]) * float64(g.Data[i])
	}
	eps := rel * math.Sqrt(wn/gn)
	w := make([]float32, len(w0))
	move := func(sign float64) float64 {
		for i := range w {
			w[i] = float32(float64(w0[i]) + sign*eps*float64(g.Data[i]))
		}
		set(w)
		return loss()
	}
	num := (move(1) - move(-1)) / (2 * eps)
	if math.Abs(num-gn) > 0.05*gn {
		t.Errorf("%s: derivative along the gradient %.6g, central difference %.6g", layer, gn, num)
	}
}

// crossEntropyOf is the mean cross-entropy of logits y [N,K] in float64.
func crossEntropyOf(y *tensor.Tensor, labels []int) float64 {
	k := y.Shape[1]
	var sum float64
	for i, l := range labels {
		row := y.Data[i*k : (i+1)*k]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var z float64
		for _, v := range row {
			z += math.Exp(float64(v) - mx)
		}
		sum += mx + math.Log(z) - float64(row[l])
	}
	return sum / float64(len(labels))
}

// A few SGD steps of global fine-tuning lower the loss, and Save writes every trained
// layer, the Gemm weights included.
func TestSGDStepLowersLossAndSaves(t *testing.T) {
	m, x := loadTiny(t, "tiny_vgg", false)
	ctx := context.Background()
	tr, err := m.NewTrainer(x, []int{3, 7}, "/features/features.5/Conv", false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/features/features.5/Conv", "/features/features.8/Conv", "/classifier/classifier.0/Gemm", "/classifier/classifier.3/Gemm"}
	if got := tr.Params(); !slices.Equal(got, want) {
		t.Fatalf("trained layers %v, want %v", got, want)
	}
	var losses []float64
	for range 5 {
		loss, g, err := tr.LossGrad(ctx)
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, loss)
		if err := m.SGDStep(g, 2e-3); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < len(losses); i++ {
		if losses[i] >= losses[i-1] {
			t.Fatalf("losses %v do not decrease", losses)
		}
	}
	// Later calls resume after the cached prefix and reuse gradient buffers: loss and
	// gradients still match a fresh computation.
	loss, g, err := tr.LossGrad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := crossEntropy(t, m, x, []int{3, 7}, false); math.Abs(loss-want) > 1e-5*want || loss >= losses[len(losses)-1] {
		t.Fatalf("loss after the steps %g (cross-entropy of Run %g), before the last %g", loss, want, losses[len(losses)-1])
	}
	_, fresh, err := m.LossGrad(ctx, x, []int{3, 7}, "/features/features.5/Conv", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, layer := range want {
		testutil.AssertClose(t, g[layer].Data, fresh[layer].Data, 1e-7, 1e-5)
	}
	path := filepath.Join(t.TempDir(), "tuned.onnx")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	y, err := m.Run(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	y2, err := m2.Run(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	testutil.AssertClose(t, y2.Data, y.Data, 0, 0)
}

func TestLossGradErrors(t *testing.T) {
	m, x := loadTiny(t, "tiny_vgg", false)
	ctx := context.Background()
	for _, tc := range []struct {
		labels []int
		from   string
		want   string
	}{
		{[]int{3}, "/features/features.5/Conv", "1 labels for a batch of 2"},
		{[]int{3, 10}, "/features/features.5/Conv", "label 10 of image 1"},
		{[]int{3, 7}, "/classifier/classifier.0/Gemm", "no conv layer"},
	} {
		if _, _, err := m.LossGrad(ctx, x, tc.labels, tc.from, true); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("labels %v from %q: error %v, want %q", tc.labels, tc.from, err, tc.want)
		}
	}
	tr, err := m.NewTrainer(x, []int{3, 7}, "/features/features.5/Conv", true)
	if err != nil {
		t.Fatal(err)
	}
	err = tr.supported(&node{name: "/erf", op: "Erf"})
	if err == nil || err.Error() != `backward: op "Erf" at node "/erf" is not supported` {
		t.Errorf("unsupported op: %v", err)
	}
}

// Gradients for fine-tuning MobileNetV2 from Conv_1 to the output on a batch of 4: a
// one-off LossGrad (prefix, plan and all), and a Trainer step that resumes at Conv_1.
func BenchmarkLossGrad(b *testing.B) {
	m, err := Load(filepath.Join(testutil.DataDir(b), "models", "mobilenetv2", "model.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	x := tensor.From(testutil.RandSlice(testutil.Rand(1), 4*3*224*224), 4, 3, 224, 224)
	labels := []int{1, 2, 3, 4}
	ctx := context.Background()
	b.Run("mobilenetv2-Conv_1-global-batch4/once", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := m.LossGrad(ctx, x, labels, "Conv_1", false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mobilenetv2-Conv_1-global-batch4/trainer", func(b *testing.B) {
		tr, err := m.NewTrainer(x, labels, "Conv_1", false)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := tr.LossGrad(ctx); err != nil { // runs the prefix once
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := tr.LossGrad(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
