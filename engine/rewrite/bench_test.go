package rewrite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/ops"
)

// BenchmarkSolve times the structured solver (rank 1, masked L1) after key statistics:
// MobileNetV2 Conv_1 with the four snow exemplars, and a problem with the shapes of
// torchvision VGG16's 13th conv (512->512, 3x3, 14x14, ReLU) with random weights and keys.
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
		for b.Loop() {
			pr := newProblem(kd, d, 1)
			if _, err := pr.solve(ctx, SolveOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
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
