package tensor

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRawRoundTrip(t *testing.T) {
	x := From([]float32{1, -2.5, 3e-8, 0}, 2, 2)
	var buf bytes.Buffer
	if err := x.WriteRaw(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 16 {
		t.Fatalf("%d bytes, want 16", buf.Len())
	}
	y, err := ReadRaw(bytes.NewReader(buf.Bytes()), 2, 2)
	if err != nil || !slices.Equal(y.Data, x.Data) {
		t.Fatalf("ReadRaw = %v, %v", y, err)
	}
	path := filepath.Join(t.TempDir(), "x.bin")
	os.WriteFile(path, buf.Bytes(), 0o644)
	if _, err := ReadRawFile(path, 3, 2); err == nil || !strings.Contains(err.Error(), "x.bin") {
		t.Errorf("size mismatch: %v", err)
	}
	if _, err := ReadRaw(bytes.NewReader(buf.Bytes()[:10]), 2, 2); err == nil {
		t.Error("short data read without error")
	}
}

func TestReshapeAndSample(t *testing.T) {
	x := New(2, 3)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	if _, err := x.Reshape(4, 2); err == nil {
		t.Error("reshape to a different size succeeded")
	}
	r, err := x.Reshape(3, 2)
	if err != nil || &r.Data[0] != &x.Data[0] {
		t.Errorf("reshape copied or failed: %v", err)
	}
	s := x.Sample(1)
	if !slices.Equal(s.Shape, []int{1, 3}) || s.Data[0] != 3 {
		t.Errorf("Sample(1) = %v %v", s.Shape, s.Data)
	}
	c := x.Clone()
	c.Data[0] = 9
	if x.Data[0] == 9 {
		t.Error("Clone shares data")
	}
}
