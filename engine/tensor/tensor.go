// Package tensor holds the engine's one data type: a dense float32 array in row-major
// (C) order with a shape. Image tensors are NCHW: batch, channels, height, width.
package tensor

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// Tensor is a shape and its row-major data; len(Data) == Numel(Shape).
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zeroed tensor of the given shape.
func New(shape ...int) *Tensor {
	return &Tensor{Shape: slices.Clone(shape), Data: make([]float32, Numel(shape))}
}

// From wraps data in a tensor of the given shape; it panics if the sizes disagree,
// which is always a programming error.
func From(data []float32, shape ...int) *Tensor {
	if len(data) != Numel(shape) {
		panic(fmt.Sprintf("tensor.From: %d values for shape %v", len(data), shape))
	}
	return &Tensor{Shape: slices.Clone(shape), Data: data}
}

// Numel is the number of elements of a shape (1 for a scalar).
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
}

// Reshape returns a tensor sharing t's data with a new shape of the same size.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	if Numel(shape) != len(t.Data) {
		return nil, fmt.Errorf("reshape %v to %v: size %d != %d", t.Shape, shape, len(t.Data), Numel(shape))
	}
	return &Tensor{Shape: slices.Clone(shape), Data: t.Data}, nil
}

// Sample returns item i of the batch (first) dimension, sharing data.
func (t *Tensor) Sample(i int) *Tensor {
	per := Numel(t.Shape[1:])
	return &Tensor{Shape: append([]int{1}, t.Shape[1:]...), Data: t.Data[i*per : (i+1)*per]}
}

// String describes the tensor briefly, for errors and logs.
func (t *Tensor) String() string { return fmt.Sprintf("tensor%v", t.Shape) }

// ReadRaw reads little-endian float32 values with no header, as the reference
// tensors in the test data are stored, and checks the size against shape.
func ReadRaw(r io.Reader, shape ...int) (*Tensor, error) {
	t := New(shape...)
	buf := make([]byte, 4*len(t.Data))
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("read %d float32 for shape %v: %w", len(t.Data), shape, err)
	}
	for i := range t.Data {
		t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
	}
	return t, nil
}

// ReadRawFile is ReadRaw on a file; the file size must match the shape exactly.
func ReadRawFile(path string, shape ...int) (*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if want := int64(4 * Numel(shape)); st.Size() != want {
		return nil, fmt.Errorf("%s: %d bytes, want %d for shape %v", path, st.Size(), want, shape)
	}
	t, err := ReadRaw(f, shape...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// WriteRaw writes the data as little-endian float32 with no header.
func (t *Tensor) WriteRaw(w io.Writer) error {
	buf := make([]byte, 4*len(t.Data))
	for i, v := range t.Data {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	_, err := w.Write(buf)
	return err
}
