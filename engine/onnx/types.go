package onnx

import (
	"fmt"

	"github.com/rulebrush/rulebrush/engine/onnx/pb"
)

// DataType is an ONNX tensor element type (TensorProto.DataType).
type DataType int32

// The element types; the numbers are those of the ONNX schema.
const (
	Undefined  DataType = 0
	Float      DataType = 1
	Uint8      DataType = 2
	Int8       DataType = 3
	Uint16     DataType = 4
	Int16      DataType = 5
	Int32      DataType = 6
	Int64      DataType = 7
	String     DataType = 8
	Bool       DataType = 9
	Float16    DataType = 10
	Double     DataType = 11
	Uint32     DataType = 12
	Uint64     DataType = 13
	Complex64  DataType = 14
	Complex128 DataType = 15
	BFloat16   DataType = 16
)

func (d DataType) String() string {
	if s, ok := pb.TensorProto_DataType_name[int32(d)]; ok {
		return s
	}
	return fmt.Sprintf("DataType(%d)", int32(d))
}

// IsFloat reports whether tensors of type d decode into Tensor.Float.
func (d DataType) IsFloat() bool { return d == Float || d == Float16 || d == Double || d == BFloat16 }

// IsInt reports whether tensors of type d decode into Tensor.Int.
func (d DataType) IsInt() bool {
	switch d {
	case Uint8, Int8, Uint16, Int16, Int32, Int64, Bool, Uint32, Uint64:
		return true
	}
	return false
}

// AttrType is the type of a node attribute (AttributeProto.AttributeType).
type AttrType int32

// The attribute types; the numbers are those of the ONNX schema. Graph, sparse-tensor
// and list-of-string/tensor attributes keep only their type: no op we run uses them.
const (
	AttrUndefined AttrType = 0
	AttrFloat     AttrType = 1
	AttrInt       AttrType = 2
	AttrString    AttrType = 3
	AttrTensor    AttrType = 4
	AttrGraph     AttrType = 5
	AttrFloats    AttrType = 6
	AttrInts      AttrType = 7
	AttrStrings   AttrType = 8
	AttrTensors   AttrType = 9
	AttrGraphs    AttrType = 10
)

func (a AttrType) String() string {
	if s, ok := pb.AttributeProto_AttributeType_name[int32(a)]; ok {
		return s
	}
	return fmt.Sprintf("AttrType(%d)", int32(a))
}

// Model is a decoded ONNX model.
type Model struct {
	Proto    *pb.ModelProto    // the decoded file (external data inlined), kept so writing is lossless
	Graph    *Graph            // the main graph in plain Go values
	Metadata map[string]string // metadata_props
	Opset    int64             // opset version of the default domain ("" or "ai.onnx")
	Path     string            // the file it came from; "" for Read and Decode
}

// Graph is the main graph of a model.
type Graph struct {
	Name         string
	Inputs       []ValueInfo // the inputs a caller feeds: graph inputs that are not initializers
	Outputs      []ValueInfo
	Initializers map[string]*Tensor
	Nodes        []Node // in file order, which Decode has checked to be topological
}

// ValueInfo describes a graph input or output.
type ValueInfo struct {
	Name     string
	ElemType DataType // Undefined when the value is not a tensor or has no type
	// Dims is nil when the shape is unknown; a dimension that is unknown or symbolic
	// is -1, and its symbol (if any) is in DimParams at the same index.
	Dims      []int64
	DimParams []string
}

// Node is one operator application.
type Node struct {
	Name   string
	OpType string
	Domain string // "" for the default ONNX domain, also when the file says "ai.onnx"
	// Inputs and Outputs are value names; "" marks an omitted optional input or output.
	Inputs, Outputs []string
	Attrs           map[string]Attr
}

// Attr is a node attribute. Only the field matching Type is set.
type Attr struct {
	Name   string
	Type   AttrType
	F      float32
	I      int64
	S      string
	Floats []float32
	Ints   []int64
	T      *Tensor
}

// Tensor is a constant tensor (an initializer or a tensor attribute).
//
// Float holds the values of FLOAT, FLOAT16, BFLOAT16 and DOUBLE tensors as float32. Int
// holds the values of the integer types and BOOL as int64 (UINT64 values above the int64
// range wrap). Tensors of other types (STRING, complex, 8-, 4- and 2-bit types) keep their
// Name, DataType and Dims but no values; callers check DataType.IsFloat or IsInt first.
//
// On little-endian hosts the Float values of a FLOAT tensor stored as raw_data are the
// raw_data bytes in Model.Proto, not a copy, so writes to Float show in both.
type Tensor struct {
	Name     string
	DataType DataType
	Dims     []int64
	Float    []float32
	Int      []int64
}

// Size is the number of elements: the product of Dims (1 for a scalar).
func (t *Tensor) Size() int {
	n := 1
	for _, d := range t.Dims {
		n *= int(d)
	}
	return n
}

// Int returns the INT attribute name, or def when the node has no such INT attribute.
func (n Node) Int(name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrInt {
		return a.I
	}
	return def
}

// Ints returns the INTS attribute name, or def when the node has no such INTS attribute.
func (n Node) Ints(name string, def []int64) []int64 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrInts {
		return a.Ints
	}
	return def
}

// Float returns the FLOAT attribute name, or def when the node has no such FLOAT attribute.
func (n Node) Float(name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrFloat {
		return a.F
	}
	return def
}

// Floats returns the FLOATS attribute name, or def when the node has no such attribute.
func (n Node) Floats(name string, def []float32) []float32 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrFloats {
		return a.Floats
	}
	return def
}

// String returns the STRING attribute name, or def when the node has no such attribute.
func (n Node) String(name string, def string) string {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrString {
		return a.S
	}
	return def
}

// Tensor returns the TENSOR attribute name, or nil when the node has no such attribute.
func (n Node) Tensor(name string) *Tensor {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrTensor {
		return a.T
	}
	return nil
}
