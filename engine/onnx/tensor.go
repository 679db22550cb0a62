package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/rulebrush/rulebrush/engine/onnx/pb"
)

// elemSize is the byte size in raw_data of each element type whose values we decode.
var elemSize = map[DataType]int{
	Float: 4, Uint8: 1, Int8: 1, Uint16: 2, Int16: 2, Int32: 4, Int64: 8, Bool: 1,
	Float16: 2, Double: 8, Uint32: 4, Uint64: 8, BFloat16: 2,
}

// decodeTensor converts a TensorProto whose data is inline (external data already
// resolved) into a Tensor. Types we do not decode give a Tensor without values.
func decodeTensor(tp *pb.TensorProto) (*Tensor, error) {
	t := &Tensor{Name: tp.GetName(), DataType: DataType(tp.GetDataType()), Dims: slices.Clone(tp.GetDims())}
	if tp.GetSegment() != nil {
		return nil, fmt.Errorf("tensor %q: segmented tensors are not supported", t.Name)
	}
	n, err := numElements(t.Dims)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	size, ok := elemSize[t.DataType]
	if !ok {
		return t, nil
	}
	raw := tp.GetRawData()
	if len(raw) > 0 {
		// Compare counts, not n*size, so a huge shape cannot overflow the check.
		if len(raw)%size != 0 || len(raw)/size != n {
			return nil, fmt.Errorf("tensor %q (%v, dims %v): raw_data is %d bytes, want %d values of %d bytes",
				t.Name, t.DataType, t.Dims, len(raw), n, size)
		}
		if t.DataType == Float && littleEndian && uintptr(unsafe.Pointer(unsafe.SliceData(raw)))%4 == 0 {
			// Share raw_data's memory: one copy of the weights serves Proto and Graph.
			t.Float = unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(raw))), n)
			return t, nil
		}
		decodeRaw(t, raw, n)
		return t, nil
	}
	var got int
	switch t.DataType {
	case Float:
		got = len(tp.GetFloatData())
	case Double:
		got = len(tp.GetDoubleData())
	case Int64:
		got = len(tp.GetInt64Data())
	case Uint32, Uint64:
		got = len(tp.GetUint64Data())
	default: // the narrow types and FLOAT16/BFLOAT16 bits live in int32_data
		got = len(tp.GetInt32Data())
	}
	if got != n {
		return nil, fmt.Errorf("tensor %q (%v, dims %v): has %d values, want %d", t.Name, t.DataType, t.Dims, got, n)
	}
	decodeTyped(t, tp, n)
	return t, nil
}

// numElements is the product of dims, rejecting negative dimensions and overflow.
func numElements(dims []int64) (int, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in %v", dims)
		}
		if d != 0 && n > math.MaxInt32/d {
			return 0, fmt.Errorf("dims %v: too many elements", dims)
		}
		n *= d
	}
	return int(n), nil
}

func decodeRaw(t *Tensor, raw []byte, n int) {
	le := binary.LittleEndian
	if t.DataType.IsFloat() {
		t.Float = make([]float32, n)
		for i := range t.Float {
			switch t.DataType {
			case Float:
				t.Float[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
			case Double:
				t.Float[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
			case Float16:
				t.Float[i] = halfToFloat(le.Uint16(raw[2*i:]))
			case BFloat16:
				t.Float[i] = math.Float32frombits(uint32(le.Uint16(raw[2*i:])) << 16)
			}
		}
		return
	}
	t.Int = make([]int64, n)
	for i := range t.Int {
		switch t.DataType {
		case Uint8:
			t.Int[i] = int64(raw[i])
		case Bool:
			t.Int[i] = int64(min(raw[i], 1))
		case Int8:
			t.Int[i] = int64(int8(raw[i]))
		case Uint16:
			t.Int[i] = int64(le.Uint16(raw[2*i:]))
		case Int16:
			t.Int[i] = int64(int16(le.Uint16(raw[2*i:])))
		case Int32:
			t.Int[i] = int64(int32(le.Uint32(raw[4*i:])))
		case Uint32:
			t.Int[i] = int64(le.Uint32(raw[4*i:]))
		case Int64, Uint64:
			t.Int[i] = int64(le.Uint64(raw[8*i:]))
		}
	}
}

func decodeTyped(t *Tensor, tp *pb.TensorProto, n int) {
	switch t.DataType {
	case Float:
		t.Float = append([]float32(nil), tp.GetFloatData()...)
	case Double:
		t.Float = make([]float32, n)
		for i, v := range tp.GetDoubleData() {
			t.Float[i] = float32(v)
		}
	case Float16, BFloat16:
		t.Float = make([]float32, n)
		for i, v := range tp.GetInt32Data() {
			if t.DataType == Float16 {
				t.Float[i] = halfToFloat(uint16(v))
			} else {
				t.Float[i] = math.Float32frombits(uint32(uint16(v)) << 16)
			}
		}
	case Int64:
		t.Int = append([]int64(nil), tp.GetInt64Data()...)
	case Uint32, Uint64:
		t.Int = make([]int64, n)
		for i, v := range tp.GetUint64Data() {
			t.Int[i] = int64(v)
		}
	default:
		t.Int = make([]int64, n)
		for i, v := range tp.GetInt32Data() {
			t.Int[i] = int64(v)
		}
	}
}

// halfToFloat converts IEEE 754 binary16 bits to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
	case frac == 0: // ±0
		return math.Float32frombits(sign)
	}
	// subnormal: value = frac * 2^-24
	f := float32(frac) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}
