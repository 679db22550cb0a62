package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/ops"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// BenchmarkModel runs whole models at batch 1 on one and two threads: the MobileNetV2 in
// the test data and, when RULEBRUSH_BIG_MODELS is set, the full-size torchvision exports.
func BenchmarkModel(b *testing.B) {
	models := map[string]string{
		"mobilenetv2": filepath.Join(testutil.DataDir(b), "models", "mobilenetv2", "model.onnx"),
	}
	if dir := os.Getenv("RULEBRUSH_BIG_MODELS"); dir != "" {
		for _, name := range []string{"resnet18", "resnet50", "vgg16"} {
			models[name] = filepath.Join(dir, name, "model.onnx")
		}
	}
	defer ops.SetThreads(ops.Threads())
	for _, name := range []string{"mobilenetv2", "resnet18", "resnet50", "vgg16"} {
		path, ok := models[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			m, err := engine.Load(path)
			if err != nil {
				b.Skipf("%s: %v", name, err)
			}
			x := tensor.New(1, m.InputShape[0], m.InputShape[1], m.InputShape[2])
			for i := range x.Data {
				x.Data[i] = float32(i%255)/255 - 0.5
			}
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
					ops.SetThreads(threads)
					if _, err := m.Run(context.Background(), x); err != nil { // plan and caches
						b.Fatal(err)
					}
					b.ReportAllocs()
					for b.Loop() {
						if _, err := m.Run(context.Background(), x); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
