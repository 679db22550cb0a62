package onnx

import (
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/rulebrush/rulebrush/engine/onnx/pb"
)

// Field numbers the streaming reader and writer handle themselves.
const (
	modelGraph       protowire.Number = 7 // ModelProto.graph
	graphInitializer protowire.Number = 5 // GraphProto.initializer
	tensorRawData    protowire.Number = 9 // TensorProto.raw_data
)

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// rawBuffer allocates n bytes for raw_data. When n is a multiple of 4 the memory is that
// of a []float32, so a FLOAT tensor's values can share it (see decodeTensor).
func rawBuffer(n int) []byte {
	if n == 0 || n%4 != 0 {
		return make([]byte, n)
	}
	f := make([]float32, n/4)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), n)
}

// sharesMemory reports whether raw is the memory of f.
func sharesMemory(raw []byte, f []float32) bool {
	return len(f) > 0 && len(raw) == 4*len(f) && unsafe.SliceData(raw) == (*byte)(unsafe.Pointer(unsafe.SliceData(f)))
}

type byteReader interface {
	io.Reader
	io.ByteReader
}

// wireReader parses a serialized ModelProto from a stream without holding it whole:
// initializers' raw_data is read straight into its final buffer, and every other field's
// bytes are collected and handed to proto.Unmarshal, so the result is the message
// proto.Unmarshal would give for the whole input.
type wireReader struct {
	r   byteReader
	pos int64 // bytes consumed
}

// parseModel reads a ModelProto of size bytes from r.
func parseModel(r byteReader, size int64) (*pb.ModelProto, error) {
	d := &wireReader{r: r}
	mp := new(pb.ModelProto)
	rest, err := d.message(size, modelGraph, func(n int64) error {
		if mp.Graph == nil {
			mp.Graph = new(pb.GraphProto)
		}
		return d.graph(mp.Graph, d.pos+n)
	})
	if err != nil {
		return nil, err
	}
	return mp, unmarshalAt(rest, mp, 0)
}

func (d *wireReader) graph(g *pb.GraphProto, end int64) error {
	rest, err := d.message(end, graphInitializer, func(n int64) error {
		tp := new(pb.TensorProto)
		if err := d.tensor(tp, d.pos+n); err != nil {
			return err
		}
		g.Initializer = append(g.Initializer, tp)
		return nil
	})
	if err != nil {
		return err
	}
	return unmarshalAt(rest, g, 1)
}

func (d *wireReader) tensor(tp *pb.TensorProto, end int64) error {
	var raw []byte
	rest, err := d.message(end, tensorRawData, func(n int64) error {
		raw = rawBuffer(int(n))
		return d.read(raw)
	})
	if err != nil {
		return err
	}
	if err := unmarshalAt(rest, tp, 2); err != nil {
		return err
	}
	if raw != nil { // the last raw_data wins, as in proto.Unmarshal
		tp.RawData = raw
	}
	return nil
}

// unmarshalAt merges fields into m, a message nested depth levels deep in the model, with
// the recursion limit proto.Unmarshal would have left at that depth.
func unmarshalAt(fields []byte, m proto.Message, depth int) error {
	opts := proto.UnmarshalOptions{Merge: true, RecursionLimit: protowire.DefaultRecursionLimit - depth}
	return opts.Unmarshal(fields, m)
}

// message reads the fields of a message that ends at offset end. Length-delimited fields
// numbered num go to handle, which must consume exactly their n bytes; every other field
// is returned, tag and value, in input order.
func (d *wireReader) message(end int64, num protowire.Number, handle func(n int64) error) ([]byte, error) {
	var rest []byte
	for d.pos < end {
		mark := len(rest)
		var f protowire.Number
		var typ protowire.Type
		var err error
		if f, typ, rest, err = d.tag(end, rest); err != nil {
			return nil, err
		}
		if f == num && typ == protowire.BytesType {
			var n uint64
			if n, rest, err = d.varint(end, rest); err != nil {
				return nil, err
			}
			rest = rest[:mark]
			if n > uint64(end-d.pos) {
				return nil, io.ErrUnexpectedEOF
			}
			if err := handle(int64(n)); err != nil {
				return nil, err
			}
			continue
		}
		if rest, err = d.value(end, typ, rest); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// value appends to buf the value of a field of type typ; a group is copied through its
// end tag, whose match proto.Unmarshal then checks.
func (d *wireReader) value(end int64, typ protowire.Type, buf []byte) ([]byte, error) {
	depth := 0
	for {
		var err error
		switch typ {
		case protowire.VarintType:
			_, buf, err = d.varint(end, buf)
		case protowire.Fixed32Type:
			buf, err = d.appendN(end, buf, 4)
		case protowire.Fixed64Type:
			buf, err = d.appendN(end, buf, 8)
		case protowire.BytesType:
			var n uint64
			if n, buf, err = d.varint(end, buf); err == nil {
				buf, err = d.appendN(end, buf, n)
			}
		case protowire.StartGroupType:
			depth++
		case protowire.EndGroupType:
			depth--
		default:
			return nil, errors.New("invalid wire type")
		}
		if err != nil {
			return nil, err
		}
		if depth < 0 {
			return nil, errors.New("unexpected end group")
		}
		if depth == 0 {
			return buf, nil
		}
		if _, typ, buf, err = d.tag(end, buf); err != nil {
			return nil, err
		}
	}
}

// tag reads a field tag, appending its bytes to buf.
func (d *wireReader) tag(end int64, buf []byte) (protowire.Number, protowire.Type, []byte, error) {
	v, buf, err := d.varint(end, buf)
	if err != nil {
		return 0, 0, nil, err
	}
	num, typ := protowire.DecodeTag(v)
	if !num.IsValid() {
		return 0, 0, nil, errors.New("invalid field number")
	}
	return num, typ, buf, nil
}

// varint reads a varint, appending its bytes to buf.
func (d *wireReader) varint(end int64, buf []byte) (uint64, []byte, error) {
	start := len(buf)
	for d.pos < end && len(buf)-start < binary.MaxVarintLen64 {
		c, err := d.r.ReadByte()
		if err != nil {
			return 0, nil, noEOF(err)
		}
		d.pos++
		buf = append(buf, c)
		if c < 0x80 {
			v, n := protowire.ConsumeVarint(buf[start:])
			if n < 0 {
				return 0, nil, protowire.ParseError(n)
			}
			return v, buf, nil
		}
	}
	if d.pos >= end {
		return 0, nil, io.ErrUnexpectedEOF
	}
	return 0, nil, errors.New("variable length integer overflow")
}

// appendN appends the next n bytes to buf.
func (d *wireReader) appendN(end int64, buf []byte, n uint64) ([]byte, error) {
	if n > uint64(end-d.pos) {
		return nil, io.ErrUnexpectedEOF
	}
	buf = slices.Grow(buf, int(n))
	if err := d.read(buf[len(buf) : len(buf)+int(n)]); err != nil {
		return nil, err
	}
	return buf[:len(buf)+int(n)], nil
}

// read fills p; callers have checked it fits before the end of the message.
func (d *wireReader) read(p []byte) error {
	if _, err := io.ReadFull(d.r, p); err != nil {
		return noEOF(err)
	}
	d.pos += int64(len(p))
	return nil
}

// noEOF reports a stream that ends early (a file that shrank while read) as truncated.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
