package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
)

func TestRoundTripUnchanged(t *testing.T) {
	data := testutil.DataDir(t)
	paths, _ := filepath.Glob(filepath.Join(data, "models", "tiny", "*", "model.onnx"))
	paths = append(paths, filepath.Join(data, "models", "mobilenetv2", "model.onnx"))
	for _, path := range paths {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Read(bytes.NewReader(orig))
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			again, err := Read(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(again.Proto, m.Proto) {
				t.Error("re-read model differs from the original (proto.Equal)")
			}
			if !bytes.Equal(out, orig) {
				t.Errorf("Marshal gives %d bytes that differ from the %d-byte file", len(out), len(orig))
			}
		})
	}
}

func TestSetFloatInitializerWriteRead(t *testing.T) {
	m, err := ReadFile(mobilenetPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for _, n := range m.Graph.Nodes {
		if n.Name == "expanded_conv_16/project" {
			name = n.Inputs[1]
		}
	}
	w := m.Graph.Initializers[name]
	if w == nil {
		t.Fatalf("no weights for expanded_conv_16/project")
	}
	edited := slices.Clone(w.Float)
	for i := range edited {
		edited[i] = edited[i]*0.5 + float32(i%7)
	}
	if err := m.SetFloatInitializer(name, edited); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w.Float, edited) {
		t.Error("Graph tensor not updated")
	}
	m.SetMetadata("edited", "yes")
	m.SetMetadata("mean", "0.5,0.5,0.5")

	path := filepath.Join(t.TempDir(), "edited.onnx")
	if err := WriteFile(path, m); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Graph.Initializers[name].Float; !slices.Equal(got, edited) {
		t.Error("saved model does not carry the edited weights")
	}
	if back.Metadata["edited"] != "yes" || back.Metadata["mean"] != "0.5,0.5,0.5" {
		t.Errorf("metadata %v not saved", back.Metadata)
	}
	if n := len(back.Proto.GetMetadataProps()); n != len(m.Metadata) {
		t.Errorf("%d metadata entries written, want %d (an existing key must be replaced)", n, len(m.Metadata))
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("saved file mode %v, %v; want 0644", st.Mode(), err)
	}
}

func TestSetFloatInitializerErrors(t *testing.T) {
	m, err := ReadFile(filepath.Join(testutil.DataDir(t), "models", "tiny", "tiny_vgg", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for n, t := range m.Graph.Initializers {
		if t.DataType == Float {
			name = n
			break
		}
	}
	for _, tc := range []struct {
		name string
		data []float32
		want string
	}{
		{"no-such-tensor", []float32{1}, "no such initializer"},
		{name, make([]float32, len(m.Graph.Initializers[name].Float)+1), "values given"},
	} {
		err := m.SetFloatInitializer(tc.name, tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("SetFloatInitializer(%q, %d values) = %v, want an error naming it and saying %q", tc.name, len(tc.data), err, tc.want)
		}
	}
}

func TestWriteFileFailureKeepsExistingFile(t *testing.T) {
	m, err := ReadFile(filepath.Join(testutil.DataDir(t), "models", "tiny", "tiny_vgg", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	existing := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(existing, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Tests may run as root, so permissions cannot make a write fail; a target whose
	// parent is a regular file, a missing folder, or a folder in the way can.
	for _, target := range []string{
		filepath.Join(existing, "sub.onnx"),
		filepath.Join(dir, "missing", "model.onnx"),
		dir,
	} {
		if err := WriteFile(target, m); err == nil {
			t.Errorf("WriteFile(%s) succeeded, want an error", target)
		} else if !strings.Contains(err.Error(), target) {
			t.Errorf("error %q does not name %s", err, target)
		}
	}
	if b, err := os.ReadFile(existing); err != nil || string(b) != "previous" {
		t.Errorf("existing file now %q, %v", b, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries after failed writes, want only the existing file", len(entries))
	}
	// A successful write replaces the file in place.
	if err := WriteFile(existing, m); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(existing); err != nil {
		t.Fatal(err)
	}
}
