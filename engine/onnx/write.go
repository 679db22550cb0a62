package onnx

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/rulebrush/rulebrush/engine/onnx/pb"
)

// SetFloatInitializer replaces the values of the FLOAT initializer name, both in the
// Graph (copied into the Tensor's Float slice in place) and in Proto (as raw_data), so a
// saved model carries the edit. data must have exactly as many values as the tensor.
func (m *Model) SetFloatInitializer(name string, data []float32) error {
	t := m.Graph.Initializers[name]
	if t == nil {
		return fmt.Errorf("onnx: set initializer %q: no such initializer", name)
	}
	if t.DataType != Float {
		return fmt.Errorf("onnx: set initializer %q: it is %v, not FLOAT", name, t.DataType)
	}
	if len(data) != len(t.Float) {
		return fmt.Errorf("onnx: set initializer %q: %d values given, the tensor (dims %v) has %d",
			name, len(data), t.Dims, len(t.Float))
	}
	var tp *pb.TensorProto
	for _, p := range m.Proto.GetGraph().GetInitializer() {
		if p.GetName() == name {
			tp = p
			break
		}
	}
	if tp == nil {
		return fmt.Errorf("onnx: set initializer %q: not in the model's protobuf", name)
	}
	copy(t.Float, data)
	// When raw_data is t.Float's memory (see decodeTensor), the copy updated both.
	if !sharesMemory(tp.GetRawData(), t.Float) {
		raw := make([]byte, 4*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		tp.RawData = raw
	}
	tp.FloatData = nil
	tp.ExternalData = nil
	tp.DataLocation = nil
	return nil
}

// SetMetadata sets metadata_props[key] = value, replacing an existing entry.
func (m *Model) SetMetadata(key, value string) {
	if m.Metadata == nil {
		m.Metadata = map[string]string{}
	}
	m.Metadata[key] = value
	for _, p := range m.Proto.GetMetadataProps() {
		if p.GetKey() == key {
			p.Value = proto.String(value)
			return
		}
	}
	m.Proto.MetadataProps = append(m.Proto.MetadataProps, &pb.StringStringEntryProto{Key: proto.String(key), Value: proto.String(value)})
}

// maxModelSize is the protobuf limit on a message's encoded size.
const maxModelSize = math.MaxInt32

// Marshal encodes the model deterministically. An unchanged model encodes to the bytes it
// was read from when the file was written by the reference ONNX tools (as all our test
// models are); otherwise the bytes may differ but decode to the same model.
func (m *Model) Marshal() ([]byte, error) {
	if n := proto.Size(m.Proto); n > maxModelSize {
		return nil, fmt.Errorf("onnx: marshal: model is %d bytes, over the 2 GiB protobuf limit", n)
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m.Proto)
	if err != nil {
		return nil, fmt.Errorf("onnx: marshal: %w", err)
	}
	return data, nil
}

// WriteFile saves m to path atomically: it writes a temporary file in the same folder,
// syncs it and renames it over path, so a failure leaves an existing file untouched.
// Tensors read from external data are written inline. The file holds the bytes Marshal
// gives, but the initializers' raw_data is written from the model's own buffers, so
// saving a large model needs no serialized copy of its weights.
func WriteFile(path string, m *Model) error {
	parts, err := encodeParts(m.Proto)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("onnx: write %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("onnx: write %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return fail(err)
		}
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	// CreateTemp makes the file 0600; a model is an ordinary document.
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("onnx: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("onnx: write %s: %w", path, err)
	}
	// Sync the folder so the rename itself survives a crash; best effort where
	// folders cannot be synced.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// encodeParts encodes mp as byte slices that concatenate to Marshal's output, with every
// initializer's raw_data a slice of its own rather than copied into one buffer. The
// protobuf marshaller writes known fields in field-number order (these messages have no
// oneofs, which it would put last) and unknown fields at the end, so a message's
// encoding splits around any one field.
func encodeParts(mp *pb.ModelProto) ([][]byte, error) {
	var graph [][]byte
	if g := mp.GetGraph(); g != nil {
		var inits [][]byte
		for _, tp := range g.GetInitializer() {
			var raw [][]byte
			if tp.RawData != nil { // raw_data has explicit presence: even empty, it is written
				raw = field(tensorRawData, [][]byte{tp.RawData})
			}
			t, err := around(tp, tensorRawData, raw)
			if err != nil {
				return nil, err
			}
			inits = append(inits, field(graphInitializer, t)...)
		}
		parts, err := around(g, graphInitializer, inits)
		if err != nil {
			return nil, err
		}
		graph = field(modelGraph, parts)
	}
	parts, err := around(mp, modelGraph, graph)
	if err != nil {
		return nil, err
	}
	if n := size(parts); n > maxModelSize {
		return nil, fmt.Errorf("onnx: marshal: model is %d bytes, over the 2 GiB protobuf limit", n)
	}
	return parts, nil
}

// around encodes m with mid, the encoding of its field num, in that field's place: the
// fields numbered below num, mid, then the fields above num and the unknown fields.
func around(m proto.Message, num protowire.Number, mid [][]byte) ([][]byte, error) {
	src := m.ProtoReflect()
	before, after := src.New(), src.New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Number() < num:
			before.Set(fd, v)
		case fd.Number() > num:
			after.Set(fd, v)
		}
		return true
	})
	after.SetUnknown(src.GetUnknown())
	opts := proto.MarshalOptions{Deterministic: true}
	b, err := opts.Marshal(before.Interface())
	if err != nil {
		return nil, fmt.Errorf("onnx: marshal: %w", err)
	}
	a, err := opts.Marshal(after.Interface())
	if err != nil {
		return nil, fmt.Errorf("onnx: marshal: %w", err)
	}
	return slices.Concat([][]byte{b}, mid, [][]byte{a}), nil
}

// field makes encoded parts the value of length-delimited field num.
func field(num protowire.Number, parts [][]byte) [][]byte {
	head := protowire.AppendTag(nil, num, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(size(parts)))
	return slices.Concat([][]byte{head}, parts)
}

func size(parts [][]byte) int {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	return n
}
