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

type tinyIndex struct {
	Input struct {
		Shape []int `json:"shape"`
	} `json:"input"`
	Output struct {
		Torch struct {
			Shape []int `json:"shape"`
		} `json:"torch"`
	} `json:"output"`
	Intermediate struct {
		Tensor string `json:"tensor"`
		File   string `json:"file"`
		Shape  []int  `json:"shape"`
	} `json:"intermediate"`
}

// Every tiny op-coverage fixture matches PyTorch and onnxruntime, logits and one inner conv.
func TestTinyFixtures(t *testing.T) {
	root := filepath.Join(testutil.DataDir(t), "models", "tiny")
	for _, name := range []string{"tiny_vgg", "tiny_resnet", "tiny_mobilenet", "tiny_inception"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			var idx tinyIndex
			b, err := os.ReadFile(filepath.Join(dir, "index.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &idx); err != nil {
				t.Fatal(err)
			}
			x, err := tensor.ReadRawFile(filepath.Join(dir, "input.bin"), idx.Input.Shape...)
			if err != nil {
				t.Fatal(err)
			}
			inner, err := tensor.ReadRawFile(filepath.Join(dir, idx.Intermediate.File), idx.Intermediate.Shape...)
			if err != nil {
				t.Fatal(err)
			}
			// Folded BatchNormalization hides a conv's own output, so read it unfolded.
			for _, opt := range []engine.LoadOptions{{}, {KeepBatchNorm: true}} {
				m, err := engine.LoadWith(filepath.Join(dir, "model.onnx"), opt)
				if err != nil {
					t.Fatal(err)
				}
				keep := []string{idx.Intermediate.Tensor}
				if !opt.KeepBatchNorm && name == "tiny_resnet" {
					keep = nil
				}
				got, kept, err := m.RunKeep(context.Background(), x, keep)
				if err != nil {
					t.Fatal(err)
				}
				for _, ref := range []string{"logits_torch.bin", "logits_ort.bin"} {
					want, err := tensor.ReadRawFile(filepath.Join(dir, ref), idx.Output.Torch.Shape...)
					if err != nil {
						t.Fatal(err)
					}
					if msg := testutil.Compare(got.Data, want.Data, 1e-4, 0); msg != "" {
						t.Errorf("%+v %s: %s", opt, ref, msg)
					}
				}
				if keep != nil {
					if msg := testutil.Compare(kept[keep[0]].Data, inner.Data, 1e-4, 0); msg != "" {
						t.Errorf("%+v %s: %s", opt, keep[0], msg)
					}
				}
			}
		})
	}
}
