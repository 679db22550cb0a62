package rewrite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/ops"
)

// BenchmarkSolve times the structured solver (rank 1, masked L1) after key statistics:
// MobileNetV2 Conv_1 with the four snow exemplars (the whole Rewrite), a problem with
// the shapes of torchvision VGG16's 13th conv (512->512, 3x3, 14x14, ReLU) with random
// weights and keys, and that conv of the random-weight VGG16 export in
// $RULEBRUSH_BIG_MODELS with the four snow exemplars (the solve alone; "loss" is the
// masked L1 loss reached).
func BenchmarkSolve(b *testing.B) {
	ctx := context.Background()
	b.Run("mobilenetv2-Conv_1", func(b *testing.B) {
		m, dir := mobilenet(b)
		files, err := ImageFiles(filepath.Join(dir, "imagenet-samples"))
		if err != nil {
			b.Fatal(err)
		}
		sts, _, err := ComputeStats(ctx, m, []string{"Conv_1"}, files[:32], StatsOptions{CacheDir: "-"})
		if err != nil {
			b.Fatal(err)
		}
		ex := exemplars(b, dir, "police_van", "minivan", "pickup", "limousine")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Rewrite(ctx, m, "Conv_1", sts["Conv_1"], ex, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("vgg16-layer12-random", func(b *testing.B) {
		r := testutil.Rand(13)
		kd := synthetic(r, 4, 512, 512, 3, 14, ops.Activation{Kind: ops.ActRelu}, nil)
		for i := range kd.maskOut {
			if i%3 != 0 {
				kd.maskOut[i] = 0
			}
		}
		d := unit(testutil.RandSlice(r, 512))
		b.ReportAllocs()
		var loss float64
		c0 := cpuSeconds()
		for b.Loop() {
			pr := newProblem(kd, d, 1)
			lam, err := pr.solve(ctx, SolveOptions{})
			if err != nil {
				b.Fatal(err)
			}
			loss = pr.loss(lam)
		}
		b.ReportMetric(loss, "loss")
		b.ReportMetric((cpuSeconds()-c0)/float64(b.N), "cpu-s/op")
	})
	b.Run("vgg16-layer12-real", func(b *testing.B) {
		pr := vgg16Problem(b)
		b.ReportAllocs()
		var loss float64
		c0 := cpuSeconds()
		for b.Loop() {
			lam, err := pr.solve(ctx, SolveOptions{})
			if err != nil {
				b.Fatal(err)
			}
			loss = pr.loss(lam)
		}
		b.ReportMetric(loss, "loss")
		b.ReportMetric((cpuSeconds()-c0)/float64(b.N), "cpu-s/op")
	})
}

// vgg16Problem builds the rewrite of the random-weight torchvision VGG16's 13th conv
// (layer 12 in the paper) from the four snow exemplars, with key statistics over 64
// imagenet-samples (cached). It skips without $RULEBRUSH_BIG_MODELS.
func vgg16Problem(b *testing.B) *problem {
	big := os.Getenv("RULEBRUSH_BIG_MODELS")
	if big == "" {
		b.Skip("RULEBRUSH_BIG_MODELS not set; VGG16 not benchmarked")
	}
	ctx := context.Background()
	m, err := engine.Load(filepath.Join(big, "vgg16", "model.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	dir := testutil.DataDir(b)
	const layer = "/features/features.28/Conv"
	files, err := ImageFiles(filepath.Join(dir, "imagenet-samples"))
	if err != nil {
		b.Fatal(err)
	}
	sts, _, err := ComputeStats(ctx, m, []string{layer}, files[:64], StatsOptions{})
	if err != nil {
		b.Fatal(err)
	}
	kd, err := collect(ctx, m, layer, exemplars(b, dir, "police_van", "minivan", "pickup", "limousine"))
	if err != nil {
		b.Fatal(err)
	}
	z, _, err := sts[layer].Whitening(1e-6)
	if err != nil {
		b.Fatal(err)
	}
	d, err := Direction(kd.keys, kd.maskKey, kd.n, kd.in, kd.h*kd.w, z, 1)
	if err != nil {
		b.Fatal(err)
	}
	return newProblem(kd, d, 1)
}

// BenchmarkStats times key statistics over the 1000 imagenet-samples at Conv_1 (no cache).
func BenchmarkStats(b *testing.B) {
	m, dir := mobilenet(b)
	files, err := ImageFiles(filepath.Join(dir, "imagenet-samples"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := ComputeStats(context.Background(), m, []string{"Conv_1"}, files, StatsOptions{CacheDir: "-"}); err != nil {
			b.Fatal(err)
		}
	}
}
