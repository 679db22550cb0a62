package engine_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Full-size torchvision models (made by shared/tools/export_torchvision.py, too large to
// keep) match PyTorch's logits to 1e-3 of the largest logit. Set RULEBRUSH_BIG_MODELS to
// the export folder to run this.
func TestBigModels(t *testing.T) {
	dir := os.Getenv("RULEBRUSH_BIG_MODELS")
	if dir == "" {
		t.Skip("RULEBRUSH_BIG_MODELS not set; full-size torchvision models not checked")
	}
	for _, name := range []string{"resnet18", "resnet50", "vgg16", "mobilenet_v2"} {
		t.Run(name, func(t *testing.T) {
			d := filepath.Join(dir, name)
			if _, err := os.Stat(filepath.Join(d, "model.onnx")); err != nil {
				t.Skipf("%s not exported: %v", name, err)
			}
			m, err := engine.Load(filepath.Join(d, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			x, err := tensor.ReadRawFile(filepath.Join(d, "input.bin"), 2, 3, 224, 224)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tensor.ReadRawFile(filepath.Join(d, "logits_torch.bin"), 2, 1000)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Run(context.Background(), x)
			if err != nil {
				t.Fatal(err)
			}
			var scale, worst float64
			for i, w := range want.Data {
				scale = math.Max(scale, math.Abs(float64(w)))
				worst = math.Max(worst, math.Abs(float64(got.Data[i]-w)))
			}
			t.Logf("%s: max |diff| %.3g, max |logit| %.3g, relative %.3g", name, worst, scale, worst/scale)
			if worst > 1e-3*scale {
				t.Errorf("%s: logits differ by %.3g, more than 1e-3 of %.3g", name, worst, scale)
			}
		})
	}
}

// Running VGG16 at batch 1 on two threads peaks under 1.5 times the size of its
// weights. A child process runs it and reports its own high-water mark (VmHWM: the
// rusage of a child would include this process's peak from before the exec).
func TestBigModelPeakMemory(t *testing.T) {
	dir := os.Getenv("RULEBRUSH_BIG_MODELS")
	if dir == "" {
		t.Skip("RULEBRUSH_BIG_MODELS not set; VGG16's memory not checked")
	}
	path := filepath.Join(dir, "vgg16", "model.onnx")
	if os.Getenv("RULEBRUSH_PEAK_CHILD") != "" {
		engine.SetThreads(2)
		m, err := engine.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := m.Run(context.Background(), tensor.New(1, 3, 224, 224)); err != nil {
				t.Fatal(err)
			}
		}
		status, err := os.ReadFile("/proc/self/status")
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(status)) {
			if strings.HasPrefix(line, "VmHWM:") {
				fmt.Print("peak " + strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")) + "\n")
			}
		}
		return
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Skipf("vgg16 not exported: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBigModelPeakMemory$")
	cmd.Env = append(os.Environ(), "RULEBRUSH_PEAK_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var kib int64
	for line := range strings.Lines(string(out)) {
		if _, err := fmt.Sscanf(line, "peak %d kB", &kib); err == nil {
			break
		}
	}
	if kib == 0 {
		t.Fatalf("child reported no peak:\n%s", out)
	}
	peak := kib << 10
	t.Logf("vgg16: peak resident %d MB, %.2f x the %d MB file", peak>>20, float64(peak)/float64(info.Size()), info.Size()>>20)
	if float64(peak) > 1.5*float64(info.Size()) {
		t.Errorf("peak resident memory %d MB is over 1.5 x the model's %d MB", peak>>20, info.Size()>>20)
	}
}
