package onnx

import (
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
)

func mobilenetPath(t *testing.T) string {
	return filepath.Join(testutil.DataDir(t), "models", "mobilenetv2", "model.onnx")
}

func TestReadMobileNetV2(t *testing.T) {
	m, err := ReadFile(mobilenetPath(t))
	if err != nil {
		t.Fatal(err)
	}
	if m.Opset != 13 {
		t.Errorf("opset %d, want 13", m.Opset)
	}
	for _, k := range []string{"mean", "std", "input_size", "labels"} {
		if m.Metadata[k] == "" {
			t.Errorf("metadata %q missing (have %v)", k, slices.Sorted(maps.Keys(m.Metadata)))
		}
	}
	if len(m.Graph.Nodes) != 100 {
		t.Errorf("%d nodes, want 100", len(m.Graph.Nodes))
	}
	ops := map[string]bool{}
	for _, n := range m.Graph.Nodes {
		ops[n.OpType] = true
	}
	wantOps := []string{"Add", "Clip", "Conv", "Flatten", "Gemm", "GlobalAveragePool"}
	if got := slices.Sorted(maps.Keys(ops)); !slices.Equal(got, wantOps) {
		t.Errorf("op types %v, want %v", got, wantOps)
	}
	var conv *Node
	for i, n := range m.Graph.Nodes {
		if n.Name == "expanded_conv_16/project" {
			conv = &m.Graph.Nodes[i]
		}
	}
	if conv == nil {
		t.Fatal("no node expanded_conv_16/project")
	}
	if conv.OpType != "Conv" {
		t.Fatalf("expanded_conv_16/project is %s, want Conv", conv.OpType)
	}
	w := m.Graph.Initializers[conv.Inputs[1]]
	if w == nil {
		t.Fatalf("weights %q of expanded_conv_16/project are not an initializer", conv.Inputs[1])
	}
	if !slices.Equal(w.Dims, []int64{320, 960, 1, 1}) || len(w.Float) != 320*960 {
		t.Errorf("weights dims %v with %d values, want [320 960 1 1]", w.Dims, len(w.Float))
	}
	if len(m.Graph.Inputs) != 1 || m.Graph.Inputs[0].ElemType != Float ||
		!slices.Equal(m.Graph.Inputs[0].Dims, []int64{-1, 3, 224, 224}) {
		t.Errorf("inputs %+v, want one FLOAT [-1 3 224 224]", m.Graph.Inputs)
	}
	if m.Path == "" {
		t.Error("Path not set by ReadFile")
	}
}

func TestReadTinyModels(t *testing.T) {
	dir := filepath.Join(testutil.DataDir(t), "models", "tiny")
	cases := []struct {
		name  string
		opset int64
		ops   []string // op types that must be present
	}{
		{"tiny_vgg", 13, []string{"Conv", "Relu", "MaxPool", "Pad", "Constant", "AveragePool", "Flatten", "Gemm", "Dropout"}},
		{"tiny_resnet", 13, []string{"Conv", "BatchNormalization", "Relu", "MaxPool", "Add", "GlobalAveragePool", "Flatten", "Gemm"}},
		{"tiny_mobilenet", 13, []string{"Conv", "Clip", "Constant", "Identity", "Add", "GlobalAveragePool", "Flatten", "Gemm"}},
		{"tiny_inception", 17, []string{"Conv", "Relu", "MaxPool", "Concat", "AveragePool", "Constant", "Reshape", "MatMul", "Add", "Softmax"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := ReadFile(filepath.Join(dir, tc.name, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if m.Opset != tc.opset {
				t.Errorf("opset %d, want %d", m.Opset, tc.opset)
			}
			seen, identityOnInit := map[string]bool{}, 0
			for _, n := range m.Graph.Nodes {
				seen[n.OpType] = true
				switch n.OpType {
				case "Constant":
					c := n.Tensor("value")
					if c == nil || len(c.Float)+len(c.Int) != c.Size() {
						t.Errorf("Constant %q: value tensor %+v not decoded", n.Name, c)
					}
				case "Identity":
					if m.Graph.Initializers[n.Inputs[0]] != nil {
						identityOnInit++
					}
				case "BatchNormalization":
					for _, in := range n.Inputs[1:] {
						if p := m.Graph.Initializers[in]; p == nil || len(p.Float) == 0 {
							t.Errorf("BatchNormalization %q: parameter %q not a float initializer", n.Name, in)
						}
					}
					if eps := n.Float("epsilon", -1); eps <= 0 || eps > 1e-3 {
						t.Errorf("BatchNormalization %q: epsilon %g", n.Name, eps)
					}
				}
			}
			for _, op := range tc.ops {
				if !seen[op] {
					t.Errorf("no %s node", op)
				}
			}
			if tc.name == "tiny_mobilenet" && identityOnInit == 0 {
				t.Error("no Identity node reads an initializer")
			}
			if len(m.Graph.Inputs) != 1 || m.Graph.Inputs[0].Name != "input" {
				t.Errorf("inputs %+v, want just \"input\"", m.Graph.Inputs)
			}
		})
	}
}

func BenchmarkReadFileMobileNetV2(b *testing.B) {
	path := filepath.Join(testutil.DataDir(b), "models", "mobilenetv2", "model.onnx")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}
