package onnx

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/rulebrush/rulebrush/engine/onnx/pb"
)

func TestDecodeTensorTypes(t *testing.T) {
	tensor := func(dt DataType, dims ...int64) *pb.TensorProto {
		return &pb.TensorProto{Name: proto.String("t"), DataType: proto.Int32(int32(dt)), Dims: dims}
	}
	with := func(tp *pb.TensorProto, f func(*pb.TensorProto)) *pb.TensorProto { f(tp); return tp }
	for _, tc := range []struct {
		name  string
		tp    *pb.TensorProto
		float []float32
		int   []int64
	}{
		{"float raw", with(tensor(Float, 2), func(p *pb.TensorProto) { p.RawData = []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0} }), []float32{1, -2}, nil},
		{"float data", with(tensor(Float, 2), func(p *pb.TensorProto) { p.FloatData = []float32{1, -2} }), []float32{1, -2}, nil},
		{"float scalar", with(tensor(Float), func(p *pb.TensorProto) { p.FloatData = []float32{7} }), []float32{7}, nil},
		{"double data", with(tensor(Double, 2), func(p *pb.TensorProto) { p.DoubleData = []float64{0.5, 3} }), []float32{0.5, 3}, nil},
		{"double raw", with(tensor(Double, 1), func(p *pb.TensorProto) { p.RawData = []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f} }), []float32{1}, nil},
		{"float16 raw", with(tensor(Float16, 4), func(p *pb.TensorProto) { p.RawData = []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c} }),
			[]float32{1, -2, 0x1p-24, float32(math.Inf(1))}, nil},
		{"float16 int32_data", with(tensor(Float16, 2), func(p *pb.TensorProto) { p.Int32Data = []int32{0x3800, 0x8000} }), []float32{0.5, float32(math.Copysign(0, -1))}, nil},
		{"bfloat16 raw", with(tensor(BFloat16, 1), func(p *pb.TensorProto) { p.RawData = []byte{0x80, 0x3f} }), []float32{1}, nil},
		{"int64 data", with(tensor(Int64, 3), func(p *pb.TensorProto) { p.Int64Data = []int64{-1, 0, 1 << 40} }), nil, []int64{-1, 0, 1 << 40}},
		{"int64 raw", with(tensor(Int64, 1), func(p *pb.TensorProto) { p.RawData = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff} }), nil, []int64{-1}},
		{"int32 raw", with(tensor(Int32, 1), func(p *pb.TensorProto) { p.RawData = []byte{0xfe, 0xff, 0xff, 0xff} }), nil, []int64{-2}},
		{"int8 raw", with(tensor(Int8, 2), func(p *pb.TensorProto) { p.RawData = []byte{0xff, 5} }), nil, []int64{-1, 5}},
		{"uint8 raw", with(tensor(Uint8, 2), func(p *pb.TensorProto) { p.RawData = []byte{0xff, 5} }), nil, []int64{255, 5}},
		{"bool raw", with(tensor(Bool, 2), func(p *pb.TensorProto) { p.RawData = []byte{1, 0} }), nil, []int64{1, 0}},
		{"int32 data", with(tensor(Int32, 2), func(p *pb.TensorProto) { p.Int32Data = []int32{-3, 4} }), nil, []int64{-3, 4}},
		{"uint64 data", with(tensor(Uint64, 1), func(p *pb.TensorProto) { p.Uint64Data = []uint64{9} }), nil, []int64{9}},
		{"empty", tensor(Float, 0), nil, nil},
		{"string kept without values", with(tensor(String, 1), func(p *pb.TensorProto) { p.StringData = [][]byte{[]byte("a")} }), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeTensor(tc.tp)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Int, tc.int) || len(got.Float) != len(tc.float) {
				t.Fatalf("got Float %v Int %v, want %v %v", got.Float, got.Int, tc.float, tc.int)
			}
			for i := range tc.float { // compare bits so -0 and Inf count
				if math.Float32bits(got.Float[i]) != math.Float32bits(tc.float[i]) {
					t.Errorf("Float[%d] = %g, want %g", i, got.Float[i], tc.float[i])
				}
			}
			if got.DataType != DataType(tc.tp.GetDataType()) || !slices.Equal(got.Dims, tc.tp.GetDims()) {
				t.Errorf("type %v dims %v, want %v %v", got.DataType, got.Dims, tc.tp.GetDataType(), tc.tp.GetDims())
			}
		})
	}
}

func TestDecodeTensorErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		tp   *pb.TensorProto
		want string
	}{
		{"raw too short", &pb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(1), Dims: []int64{3}, RawData: make([]byte, 8)}, "raw_data is 8 bytes"},
		{"too few values", &pb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(1), Dims: []int64{3}, FloatData: []float32{1}}, "has 1 values, want 3"},
		{"negative dim", &pb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(1), Dims: []int64{-3}}, "negative dimension"},
		{"huge dims", &pb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(1), Dims: []int64{1 << 40, 1 << 40}}, "too many elements"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeTensor(tc.tp)
			wantError(t, err, `"w"`, tc.want)
		})
	}
}

func TestDecodeGraphErrors(t *testing.T) {
	w := &pb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(1), Dims: []int64{2, 2}, FloatData: []float32{1, 2, 3, 4}}
	for _, tc := range []struct {
		name string
		edit func(*pb.ModelProto)
		want []string
	}{
		{"not sorted", func(m *pb.ModelProto) {
			g := m.Graph
			g.Node = append(g.Node, &pb.NodeProto{Name: proto.String("relu"), OpType: proto.String("Relu"), Input: []string{"y"}, Output: []string{"z"}})
			g.Node[0], g.Node[1] = g.Node[1], g.Node[0]
		}, []string{`node 0 "relu" (Relu)`, `input "y"`, "topologically sorted"}},
		{"output defined twice", func(m *pb.ModelProto) {
			m.Graph.Node = append(m.Graph.Node, &pb.NodeProto{OpType: proto.String("Relu"), Input: []string{"x"}, Output: []string{"y"}})
		}, []string{`node 1 "" (Relu)`, `output "y" is already defined`}},
		{"graph output not produced", func(m *pb.ModelProto) {
			m.Graph.Output[0].Name = proto.String("nowhere")
		}, []string{`graph output "nowhere"`}},
		{"no op type", func(m *pb.ModelProto) { m.Graph.Node[0].OpType = nil }, []string{`node 0 "mm"`, "no op_type"}},
		{"bad initializer", func(m *pb.ModelProto) { m.Graph.Initializer[0].FloatData = nil }, []string{`initializer`, `"w"`, "has 0 values"}},
		{"bad attribute tensor", func(m *pb.ModelProto) {
			m.Graph.Node[0].Attribute = []*pb.AttributeProto{{Name: proto.String("value"), Type: pb.AttributeProto_TENSOR.Enum(),
				T: &pb.TensorProto{DataType: proto.Int32(1), Dims: []int64{2}}}}
		}, []string{`node 0 "mm" (MatMul)`, `attribute "value"`, "has 0 values, want 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := smallModel(proto.Clone(w).(*pb.TensorProto))
			tc.edit(m)
			_, err := Decode(marshal(t, m), "")
			wantError(t, err, tc.want...)
		})
	}
}

func TestDecodeSmallModel(t *testing.T) {
	w := &pb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(String)), Dims: []int64{1}, StringData: [][]byte{[]byte("s")}}
	m := smallModel(w)
	m.Graph.Input = append(m.Graph.Input, &pb.ValueInfoProto{Name: proto.String("w")}) // initializers may also be listed as inputs
	m.OpsetImport = append(m.OpsetImport, &pb.OperatorSetIdProto{Domain: proto.String("com.example"), Version: proto.Int64(1)})
	m.Graph.Node[0].Domain = proto.String("ai.onnx")
	m.Graph.Node[0].Attribute = []*pb.AttributeProto{
		{Name: proto.String("alpha"), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(0.25)},
		{Name: proto.String("axes"), Type: pb.AttributeProto_INTS.Enum(), Ints: []int64{0, 2}},
		{Name: proto.String("mode"), Type: pb.AttributeProto_STRING.Enum(), S: []byte("constant")},
	}
	data := marshal(t, m)
	got, err := Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Opset != 13 || got.Path != "" || got.Graph.Name != "small" {
		t.Errorf("opset %d path %q name %q", got.Opset, got.Path, got.Graph.Name)
	}
	if len(got.Graph.Inputs) != 1 || got.Graph.Inputs[0].Name != "x" || !slices.Equal(got.Graph.Inputs[0].Dims, []int64{1, 2}) {
		t.Errorf("inputs %+v, want only x [1 2]", got.Graph.Inputs)
	}
	n := got.Graph.Nodes[0]
	if n.Domain != "" || n.Float("alpha", 0) != 0.25 || !slices.Equal(n.Ints("axes", nil), []int64{0, 2}) ||
		n.String("mode", "") != "constant" || n.Int("alpha", -1) != -1 || n.Tensor("alpha") != nil {
		t.Errorf("node %+v", n)
	}
	s := got.Graph.Initializers["w"]
	if s == nil || s.DataType != String || s.Float != nil || s.Int != nil {
		t.Errorf("string initializer %+v, want kept without values", s)
	}
	if err := got.SetFloatInitializer("w", []float32{1}); err == nil {
		t.Error("SetFloatInitializer on a STRING tensor succeeded")
	}
	out, err := got.Marshal()
	if err != nil || !bytes.Equal(out, data) {
		t.Errorf("Marshal changed the model (err %v)", err)
	}
}
