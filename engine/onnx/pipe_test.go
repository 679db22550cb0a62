//go:build linux || darwin

package onnx

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A pipe has no size to bound the streaming parse; ReadFile reads it whole instead.
func TestReadFileFromPipe(t *testing.T) {
	data, err := os.ReadFile(mobilenetPath(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip(err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err == nil {
			_, err = f.Write(data)
			f.Close()
		}
		done <- err
	}()
	m, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(m.Graph.Nodes) != 100 || m.Path != path {
		t.Errorf("%d nodes, path %q; want 100 and %q", len(m.Graph.Nodes), m.Path, path)
	}
}
