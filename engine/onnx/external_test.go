package onnx

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/rulebrush/rulebrush/engine/onnx/pb"
)

// externalModel writes, in a new folder, a model whose initializer "w" lives in an
// external file at location (offset 8, after some padding) and returns the model path.
func externalModel(t *testing.T, location string, writeData bool) (path string, want []float32) {
	t.Helper()
	dir := t.TempDir()
	want = []float32{1.5, -2, 3.25, 4}
	w := &pb.TensorProto{
		Name:         proto.String("w"),
		DataType:     proto.Int32(int32(Float)),
		Dims:         []int64{2, 2},
		DataLocation: pb.TensorProto_EXTERNAL.Enum(),
		ExternalData: []*pb.StringStringEntryProto{
			{Key: proto.String("location"), Value: proto.String(location)},
			{Key: proto.String("offset"), Value: proto.String("8")},
			{Key: proto.String("length"), Value: proto.String("16")},
		},
	}
	if writeData {
		raw := make([]byte, 8+16)
		for i, v := range want {
			binary.LittleEndian.PutUint32(raw[8+4*i:], math.Float32bits(v))
		}
		if err := os.WriteFile(filepath.Join(dir, location), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path = filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(path, marshal(t, smallModel(w)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, want
}

func TestExternalData(t *testing.T) {
	path, want := externalModel(t, "weights.bin", true)
	m, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Graph.Initializers["w"].Float; !slices.Equal(got, want) {
		t.Fatalf("w = %v, want %v", got, want)
	}
	// Saving inlines the data, so the copy stands alone in another folder.
	out := filepath.Join(t.TempDir(), "inlined.onnx")
	if err := WriteFile(out, m); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Graph.Initializers["w"].Float; !slices.Equal(got, want) {
		t.Errorf("inlined w = %v, want %v", got, want)
	}
	// Read has no folder to resolve against.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Read(f); err == nil || !strings.Contains(err.Error(), "weights.bin") {
		t.Errorf("Read of a model with external data: %v, want an error naming the file", err)
	}
}

func TestExternalDataErrors(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		path, _ := externalModel(t, "weights.bin", false)
		_, err := ReadFile(path)
		wantError(t, err, `"w"`, "weights.bin", "not found")
	})
	t.Run("short", func(t *testing.T) {
		path, _ := externalModel(t, "weights.bin", true)
		if err := os.Truncate(filepath.Join(filepath.Dir(path), "weights.bin"), 20); err != nil {
			t.Fatal(err)
		}
		_, err := ReadFile(path)
		wantError(t, err, `"w"`, "weights.bin", "short")
	})
	t.Run("escape", func(t *testing.T) {
		path, _ := externalModel(t, "../secret.bin", false)
		_, err := ReadFile(path)
		wantError(t, err, `"w"`, "../secret.bin", "leaves the model's folder")
	})
	t.Run("absolute", func(t *testing.T) {
		path, _ := externalModel(t, "/etc/passwd", false)
		_, err := ReadFile(path)
		wantError(t, err, `"w"`, "/etc/passwd", "leaves the model's folder")
	})
	t.Run("symlink", func(t *testing.T) {
		outside := filepath.Join(t.TempDir(), "outside.bin")
		if err := os.WriteFile(outside, make([]byte, 24), 0o644); err != nil {
			t.Fatal(err)
		}
		path, _ := externalModel(t, "link.bin", false)
		if err := os.Symlink(outside, filepath.Join(filepath.Dir(path), "link.bin")); err != nil {
			t.Skip(err)
		}
		_, err := ReadFile(path)
		wantError(t, err, `"w"`, "link.bin")
	})
}

// wantError fails unless err is non-nil and its message holds every part.
func wantError(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}
