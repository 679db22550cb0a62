package onnx

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
)

func TestReadBadFiles(t *testing.T) {
	data := testutil.DataDir(t)
	model, err := os.ReadFile(mobilenetPath(t))
	if err != nil {
		t.Fatal(err)
	}
	jpeg, err := os.ReadFile(filepath.Join(data, "exemplars", "police_van.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	for _, tc := range []struct {
		file string
		data []byte
		want string
	}{
		{"first1000.onnx", model[:1000], "truncated or corrupt protobuf"},
		{"half.onnx", model[:len(model)/2], "truncated or corrupt protobuf"},
		{"empty.onnx", nil, "is not an ONNX model (empty file)"},
		{"random.onnx", random, "is not an ONNX model"},
		{"police_van.jpg", jpeg, "is not an ONNX model (the data is a JPEG image)"},
		{"notes.txt", []byte("labels: tench, goldfish\nmean: 0.485\n"), "is not an ONNX model (the data is text)"},
		{"ir_only.onnx", []byte{0x08, 0x07}, "is not an ONNX model (no opset_import)"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(path)
			wantError(t, err, "onnx: ", path, tc.want)
			t.Log(err)
		})
	}
}

func TestReadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.onnx")
	_, err := ReadFile(path)
	wantError(t, err, path)
	if !os.IsNotExist(err) && !strings.Contains(err.Error(), "no such file") {
		t.Errorf("error %v does not say the file is missing", err)
	}
}
