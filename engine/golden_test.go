package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

func loadMobileNet(t testing.TB) (*engine.Model, string) {
	t.Helper()
	data := testutil.DataDir(t)
	m, err := engine.Load(filepath.Join(data, "models", "mobilenetv2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return m, data
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// The real MobileNetV2 reproduces onnxruntime's logits, two inner layers and top-1 classes.
func TestMobileNetV2Golden(t *testing.T) {
	m, data := loadMobileNet(t)
	dir := filepath.Join(data, "golden", "mobilenetv2")
	x, err := tensor.ReadRawFile(filepath.Join(dir, "inputs.bin"), 8, 3, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensor.ReadRawFile(filepath.Join(dir, "logits.bin"), 8, 1000)
	if err != nil {
		t.Fatal(err)
	}
	inner := map[string]struct {
		file  string
		shape []int
	}{
		"expanded_conv_13/expand/relu6:0":    {"expanded_conv_13__expand__relu6.bin", []int{8, 576, 14, 14}},
		"expanded_conv_13/depthwise:0":       {"expanded_conv_13__depthwise.bin", []int{8, 576, 7, 7}},
		"expanded_conv_16/depthwise/relu6:0": {"expanded_conv_16__depthwise__relu6.bin", []int{8, 960, 7, 7}},
		"expanded_conv_16/project:0":         {"expanded_conv_16__project.bin", []int{8, 320, 7, 7}},
	}
	var keep []string
	for k := range inner {
		keep = append(keep, k)
	}
	got, kept, err := m.RunKeep(context.Background(), x, keep)
	if err != nil {
		t.Fatal(err)
	}
	testutil.AssertClose(t, got.Data, want.Data, 1e-4, 0)
	for name, g := range inner {
		w, err := tensor.ReadRawFile(filepath.Join(dir, g.file), g.shape...)
		if err != nil {
			t.Fatal(err)
		}
		if msg := testutil.Compare(kept[name].Data, w.Data, 1e-4, 0); msg != "" {
			t.Errorf("%s: %s", name, msg)
		}
	}
	wantTop := []int{0, 285, 386, 656, 734, 817, 817, 950}
	for i := range 8 {
		if a := argmax(got.Data[i*1000 : (i+1)*1000]); a != wantTop[i] {
			t.Errorf("image %d: top-1 %d, want %d", i, a, wantTop[i])
		}
	}
	// A batch of one gives the same logits as the batch of eight.
	one, err := m.Run(context.Background(), x.Sample(3))
	if err != nil {
		t.Fatal(err)
	}
	testutil.AssertClose(t, one.Data, want.Data[3000:4000], 1e-4, 0)
}

// Preprocessing a photo matches the stored input within JPEG-decoder and resize noise.
func TestMobileNetV2Preprocess(t *testing.T) {
	m, data := loadMobileNet(t)
	dir := filepath.Join(data, "golden", "mobilenetv2")
	x, err := tensor.ReadRawFile(filepath.Join(dir, "inputs.bin"), 8, 3, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Images []struct {
			File string `json:"file"`
		} `json:"images"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	for i, im := range idx.Images {
		got, err := m.LoadImage(filepath.Join(data, "imagenet-samples", im.File))
		if err != nil {
			t.Fatal(err)
		}
		want := x.Sample(i).Data
		var sum float64
		for j := range want {
			d := float64(got.Data[j] - want[j])
			if d < 0 {
				d = -d
			}
			sum += d
		}
		mad := sum / float64(len(want)) * 127.5 // in 8-bit pixel levels
		t.Logf("%s: mean |diff| %.2f levels", im.File, mad)
		if mad > 0.25 {
			t.Errorf("%s: preprocessing differs by %.2f levels on average", im.File, mad)
		}
	}
}
