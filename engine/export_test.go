package engine_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// ortLogits runs ONNX Runtime (shared/tools/ort_bench.js on onnxruntime-node) on a model
// and a raw input batch. Without node and onnxruntime-node the test is skipped, or fails
// under CI, which installs them.
func ortLogits(t *testing.T, model string, x *tensor.Tensor, outShape ...int) *tensor.Tensor {
	t.Helper()
	script := filepath.Join(testutil.DataDir(t), "..", "tools", "ort_bench.js")
	node, err := exec.LookPath("node")
	if err == nil {
		err = exec.Command(node, "-e", "require('onnxruntime-node')").Run()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ONNX Runtime is not available (node with onnxruntime-node on NODE_PATH): %v", err)
		}
		t.Skipf("ONNX Runtime is not available (node with onnxruntime-node on NODE_PATH): %v", err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "input.bin"), filepath.Join(dir, "out.bin")
	var buf bytes.Buffer
	if err := x.WriteRaw(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script, "--logits", model, in, strconv.Itoa(x.Shape[0]), "--out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("onnxruntime on %s: %v\n%s", model, err, msg)
	}
	y, err := tensor.ReadRawFile(out, outShape...)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// An edited model saved as ONNX runs in ONNX Runtime with the engine's logits, also when
// the edited conv had BatchNormalization folded into it; unchanged models save to the
// bytes they were read from.
func TestExportRoundTrip(t *testing.T) {
	data := testutil.DataDir(t)
	cases := []struct {
		model, layer string
		input        string
		shape        []int
	}{
		{"models/mobilenetv2/model.onnx", "Conv_1", "golden/mobilenetv2/inputs.bin", []int{8, 3, 224, 224}},
		{"models/tiny/tiny_resnet/model.onnx", "/layer2/conv2/Conv", "models/tiny/tiny_resnet/input.bin", []int{2, 3, 32, 32}},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(filepath.Dir(tc.model)), func(t *testing.T) {
			path := filepath.Join(data, tc.model)
			m, err := engine.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			same := filepath.Join(t.TempDir(), "same.onnx")
			if err := m.Save(same); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(path)
			b, _ := os.ReadFile(same)
			if !bytes.Equal(a, b) {
				t.Errorf("unchanged model saved to different bytes (%d vs %d)", len(b), len(a))
			}

			c, err := m.Conv(tc.layer)
			if err != nil {
				t.Fatal(err)
			}
			w := append([]float32(nil), c.W.Data...)
			r := testutil.Rand(7)
			for i := range w {
				w[i] *= 1 + 0.5*(r.Float32()-0.5)
			}
			if err := m.SetWeights(tc.layer, w); err != nil {
				t.Fatal(err)
			}
			x, err := tensor.ReadRawFile(filepath.Join(data, tc.input), tc.shape...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := m.Run(context.Background(), x)
			if err != nil {
				t.Fatal(err)
			}
			edited := filepath.Join(t.TempDir(), "edited.onnx")
			if err := m.Save(edited); err != nil {
				t.Fatal(err)
			}
			got := ortLogits(t, edited, x, want.Shape...)
			testutil.AssertClose(t, got.Data, want.Data, 1e-4, 0)
			orig := ortLogits(t, path, x, want.Shape...)
			if testutil.Compare(orig.Data, want.Data, 1e-3, 0) == "" {
				t.Error("the edit did not change the logits")
			}
		})
	}
}
