package onnx

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/rulebrush/rulebrush/engine/onnx/pb"
)

// smallModel returns a model computing y = MatMul(x, w) with w the given initializer.
func smallModel(w *pb.TensorProto) *pb.ModelProto {
	dims := func(d ...int64) *pb.TypeProto {
		s := &pb.TensorShapeProto{}
		for _, v := range d {
			s.Dim = append(s.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: v}})
		}
		return &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(Float)), Shape: s}}}
	}
	return &pb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &pb.GraphProto{
			Name:        proto.String("small"),
			Node:        []*pb.NodeProto{{Name: proto.String("mm"), OpType: proto.String("MatMul"), Input: []string{"x", w.GetName()}, Output: []string{"y"}}},
			Initializer: []*pb.TensorProto{w},
			Input:       []*pb.ValueInfoProto{{Name: proto.String("x"), Type: dims(1, 2)}},
			Output:      []*pb.ValueInfoProto{{Name: proto.String("y"), Type: dims(1, 2)}},
		},
	}
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
