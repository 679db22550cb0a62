package ops

import (
	"path/filepath"
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/onnx"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// TestConvMatchesGolden runs two real MobileNetV2 layers on their stored inputs (batch
// 8, from ONNX Runtime) and compares with the stored outputs.
func TestConvMatchesGolden(t *testing.T) {
	dir := testutil.DataDir(t)
	m, err := onnx.ReadFile(filepath.Join(dir, "models", "mobilenetv2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(dir, "golden", "mobilenetv2")
	for _, tc := range []struct {
		node          string
		in, out       string
		inShape, outC []int
		p             ConvParams
	}{
		{"expanded_conv_13/depthwise", "expanded_conv_13__expand__relu6.bin", "expanded_conv_13__depthwise.bin",
			[]int{8, 576, 14, 14}, []int{576, 7, 7}, ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{0, 0, 1, 1}, Group: 576}},
		{"expanded_conv_16/project", "expanded_conv_16__depthwise__relu6.bin", "expanded_conv_16__project.bin",
			[]int{8, 960, 7, 7}, []int{320, 7, 7}, ConvParams{}},
	} {
		t.Run(tc.node, func(t *testing.T) {
			wt, bt := m.Graph.Initializers[tc.node+"/weights"], m.Graph.Initializers[tc.node+"/biases"]
			if wt == nil || bt == nil {
				t.Fatalf("model has no initializers %s/weights and /biases", tc.node)
			}
			wshape := make([]int, len(wt.Dims))
			for i, d := range wt.Dims {
				wshape[i] = int(d)
			}
			x, err := tensor.ReadRawFile(filepath.Join(golden, tc.in), tc.inShape...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tensor.ReadRawFile(filepath.Join(golden, tc.out), append([]int{8}, tc.outC...)...)
			if err != nil {
				t.Fatal(err)
			}
			y := tensor.New(want.Shape...)
			Conv(y, x, tensor.From(wt.Float, wshape...), bt.Float, tc.p, nil)
			// Summation order differs between GEMM implementations (up to 960 terms).
			testutil.AssertClose(t, y.Data, want.Data, 5e-5, 1e-4)
		})
	}
}
