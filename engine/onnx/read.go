package onnx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/rulebrush/rulebrush/engine/onnx/pb"
)

// Read decodes a model from r. A model whose tensors refer to external data files
// cannot be read this way; use ReadFile.
func Read(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("onnx: read: %w", err)
	}
	return Decode(data, "")
}

// ReadFile reads the model at path. Tensors stored as external data are loaded from
// files named relative to the model's folder, and inlined into Model.Proto.
//
// The file is parsed as it is read, never held whole: each initializer's raw_data goes
// straight into the buffer that backs both Model.Proto and the Graph's values.
func ReadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	var m *Model
	if st.Mode().IsRegular() {
		r := bufio.NewReaderSize(f, 64<<10)
		head, perr := r.Peek(512)
		if perr != nil && perr != io.EOF {
			return nil, fmt.Errorf("onnx: read %s: %w", path, perr)
		}
		m, err = decode(r, st.Size(), head, filepath.Dir(path), path)
	} else {
		// A pipe or device has no size to bound the parse by; read it whole.
		data, rerr := io.ReadAll(f)
		if rerr != nil {
			return nil, fmt.Errorf("onnx: %w", rerr)
		}
		m, err = decode(bytes.NewReader(data), int64(len(data)), data, filepath.Dir(path), path)
	}
	if err != nil {
		return nil, err
	}
	m.Path = path
	return m, nil
}

// Decode decodes a serialized model. External data files are resolved relative to dir;
// with dir == "" a model that uses external data is an error.
func Decode(data []byte, dir string) (*Model, error) {
	return decode(bytes.NewReader(data), int64(len(data)), data, dir, "")
}

// decode is the shared core: it parses size bytes from r, whose first bytes are head.
// name is the file name used in errors ("" for none).
func decode(r byteReader, size int64, head []byte, dir, name string) (*Model, error) {
	what, readWhat := "input", "onnx: read"
	if name != "" {
		what, readWhat = name, "onnx: read "+name
	}
	if reason := notModel(head); reason != "" {
		return nil, fmt.Errorf("onnx: %s is not an ONNX model (%s)", what, reason)
	}
	mp, err := parseModel(r, size)
	if err != nil {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: %w", readWhat, err)
		}
		return nil, fmt.Errorf("%s: truncated or corrupt protobuf: %w", readWhat, err)
	}
	if reason := missingParts(mp); reason != "" {
		return nil, fmt.Errorf("onnx: %s is not an ONNX model (%s)", what, reason)
	}
	if err := inlineExternal(mp.Graph, dir); err != nil {
		return nil, fmt.Errorf("%s: %w", readWhat, err)
	}
	m, err := newModel(mp)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", readWhat, err)
	}
	return m, nil
}

// notModel recognises, from its first bytes, data that cannot be an ONNX model, so such
// files get a "not an ONNX model" error rather than a protobuf parse error. It returns
// "" when the data could be a model.
func notModel(head []byte) string {
	if len(head) == 0 {
		return "empty file"
	}
	head = head[:min(len(head), 512)]
	for _, k := range []struct{ magic, kind string }{
		{"\xff\xd8\xff", "a JPEG image"},
		{"\x89PNG\r\n\x1a\n", "a PNG image"},
		{"GIF8", "a GIF image"},
		{"PK\x03\x04", "a zip archive"},
		{"\x1f\x8b", "gzip data"},
	} {
		if bytes.HasPrefix(head, []byte(k.magic)) {
			return "the data is " + k.kind
		}
	}
	// Serializers write fields in number order, so a model starts with a ModelProto field.
	num, typ, n := protowire.ConsumeTag(head)
	if n < 0 {
		return "the data does not start with a protobuf field"
	}
	fd := (*pb.ModelProto)(nil).ProtoReflect().Descriptor().Fields().ByNumber(num)
	if fd == nil || typ != wireType(fd) {
		if isText(head) {
			return "the data is text"
		}
		return fmt.Sprintf("the data does not start with a ModelProto field (field %d, wire type %d)", num, typ)
	}
	return ""
}

func wireType(fd protoreflect.FieldDescriptor) protowire.Type {
	switch fd.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	}
	return protowire.VarintType // every scalar field of ModelProto is an int64
}

// isText reports whether head looks like UTF-8 text (allowing a rune cut at the end).
func isText(head []byte) bool {
	for len(head) > 0 {
		r, size := utf8.DecodeRune(head)
		if r == utf8.RuneError && size <= 1 {
			return len(head) < utf8.UTFMax && !utf8.FullRune(head)
		}
		if r < ' ' && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
		head = head[size:]
	}
	return true
}

// missingParts reports what a parsed message lacks to be a usable model; protobuf parses
// many non-model byte strings without error, so these checks catch the rest.
func missingParts(mp *pb.ModelProto) string {
	switch {
	case mp.GetIrVersion() <= 0:
		return "no ir_version"
	case len(mp.GetOpsetImport()) == 0:
		return "no opset_import"
	case mp.GetGraph() == nil:
		return "no graph"
	case len(mp.GetGraph().GetNode()) == 0:
		return "the graph has no nodes"
	}
	return ""
}

// newModel builds the plain-Go view of a parsed model whose tensors are all inline.
func newModel(mp *pb.ModelProto) (*Model, error) {
	m := &Model{Proto: mp, Metadata: map[string]string{}}
	for _, p := range mp.GetMetadataProps() {
		m.Metadata[p.GetKey()] = p.GetValue()
	}
	for _, o := range mp.GetOpsetImport() {
		if isDefaultDomain(o.GetDomain()) {
			m.Opset = o.GetVersion()
		}
	}
	g, err := newGraph(mp.GetGraph())
	if err != nil {
		return nil, err
	}
	m.Graph = g
	return m, nil
}

func isDefaultDomain(d string) bool { return d == "" || d == "ai.onnx" }

func newGraph(gp *pb.GraphProto) (*Graph, error) {
	g := &Graph{Name: gp.GetName(), Initializers: make(map[string]*Tensor, len(gp.GetInitializer()))}
	// defined holds every value a node may read: inputs, initializers, earlier outputs.
	defined := map[string]bool{}
	for _, tp := range gp.GetInitializer() {
		t, err := decodeTensor(tp)
		if err != nil {
			return nil, fmt.Errorf("initializer: %w", err)
		}
		if _, dup := g.Initializers[t.Name]; dup {
			return nil, fmt.Errorf("initializer %q appears twice", t.Name)
		}
		g.Initializers[t.Name] = t
		defined[t.Name] = true
	}
	for _, sp := range gp.GetSparseInitializer() {
		// Not decoded; an op that reads one finds no initializer and says so.
		defined[sp.GetValues().GetName()] = true
	}
	for _, vi := range gp.GetInput() {
		defined[vi.GetName()] = true
		if g.Initializers[vi.GetName()] == nil {
			g.Inputs = append(g.Inputs, valueInfo(vi))
		}
	}
	g.Nodes = make([]Node, len(gp.GetNode()))
	for i, np := range gp.GetNode() {
		n, err := newNode(np)
		if err != nil {
			return nil, fmt.Errorf("node %d %q (%s): %w", i, np.GetName(), np.GetOpType(), err)
		}
		for _, in := range n.Inputs {
			if in != "" && !defined[in] {
				return nil, fmt.Errorf("node %d %q (%s): input %q is not a graph input, an initializer or an output of an earlier node (graph not topologically sorted?)",
					i, n.Name, n.OpType, in)
			}
		}
		for _, out := range n.Outputs {
			if out == "" {
				continue
			}
			if defined[out] {
				return nil, fmt.Errorf("node %d %q (%s): output %q is already defined", i, n.Name, n.OpType, out)
			}
			defined[out] = true
		}
		g.Nodes[i] = n
	}
	for _, vi := range gp.GetOutput() {
		if !defined[vi.GetName()] {
			return nil, fmt.Errorf("graph output %q is not produced by any node", vi.GetName())
		}
		g.Outputs = append(g.Outputs, valueInfo(vi))
	}
	return g, nil
}

func valueInfo(vi *pb.ValueInfoProto) ValueInfo {
	v := ValueInfo{Name: vi.GetName()}
	tt := vi.GetType().GetTensorType()
	v.ElemType = DataType(tt.GetElemType())
	if shape := tt.GetShape(); shape != nil {
		v.Dims = make([]int64, len(shape.GetDim()))
		v.DimParams = make([]string, len(shape.GetDim()))
		for i, d := range shape.GetDim() {
			v.Dims[i] = -1
			if _, ok := d.GetValue().(*pb.TensorShapeProto_Dimension_DimValue); ok && d.GetDimValue() >= 0 {
				v.Dims[i] = d.GetDimValue()
			}
			v.DimParams[i] = d.GetDimParam()
		}
	}
	return v
}

func newNode(np *pb.NodeProto) (Node, error) {
	n := Node{
		Name:    np.GetName(),
		OpType:  np.GetOpType(),
		Domain:  np.GetDomain(),
		Inputs:  slices.Clone(np.GetInput()),
		Outputs: slices.Clone(np.GetOutput()),
		Attrs:   make(map[string]Attr, len(np.GetAttribute())),
	}
	if n.OpType == "" {
		return Node{}, errors.New("no op_type")
	}
	if isDefaultDomain(n.Domain) {
		n.Domain = ""
	}
	for _, ap := range np.GetAttribute() {
		a := Attr{
			Name:   ap.GetName(),
			Type:   AttrType(ap.GetType()),
			F:      ap.GetF(),
			I:      ap.GetI(),
			S:      string(ap.GetS()),
			Floats: slices.Clone(ap.GetFloats()),
			Ints:   slices.Clone(ap.GetInts()),
		}
		if ap.GetT() != nil {
			if ap.GetT().GetDataLocation() == pb.TensorProto_EXTERNAL {
				return Node{}, fmt.Errorf("attribute %q: tensor with external data is not supported", a.Name)
			}
			t, err := decodeTensor(ap.GetT())
			if err != nil {
				return Node{}, fmt.Errorf("attribute %q: %w", a.Name, err)
			}
			a.T = t
		}
		if _, dup := n.Attrs[a.Name]; dup {
			return Node{}, fmt.Errorf("attribute %q appears twice", a.Name)
		}
		n.Attrs[a.Name] = a
	}
	return n, nil
}
