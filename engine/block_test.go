package engine_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/ops"
)

func TestBlockMobileNetV2(t *testing.T) {
	m, err := engine.Load(filepath.Join(testutil.DataDir(t), "models", "mobilenetv2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		layer, residual, output string
		pre                     ops.ActKind
	}{
		{"expanded_conv_16/project", "", "expanded_conv_16/project:0", ops.ActNone},
		{"expanded_conv_15/project", "expanded_conv_14/add:0", "expanded_conv_15/add:0", ops.ActNone},
		{"Conv_1", "", "Conv_1/relu6:0", ops.ActClip},
		{"expanded_conv_13/expand", "", "expanded_conv_13/expand/relu6:0", ops.ActClip},
	}
	for _, tc := range cases {
		b, err := m.Block(tc.layer)
		if err != nil {
			t.Fatalf("%s: %v", tc.layer, err)
		}
		if b.Pre.Kind != tc.pre || b.Residual != tc.residual || b.Output != tc.output || b.Post.Kind != ops.ActNone {
			t.Errorf("%s: got pre %v residual %q post %v output %q; want pre %v residual %q output %q",
				tc.layer, b.Pre.Kind, b.Residual, b.Post.Kind, b.Output, tc.pre, tc.residual, tc.output)
		}
		if tc.pre == ops.ActClip && (b.Pre.Min != 0 || b.Pre.Max != 6) {
			t.Errorf("%s: clip bounds %v..%v, want 0..6", tc.layer, b.Pre.Min, b.Pre.Max)
		}
	}
	if _, err := m.Block("expanded_conv_13/depthwise"); err == nil || !strings.Contains(err.Error(), "Conv_1") {
		t.Errorf("depthwise conv: got %v, want an error listing the editable layers", err)
	}
}
