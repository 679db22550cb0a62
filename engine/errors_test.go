package engine_test

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/onnx"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

func wantErr(t *testing.T, err error, parts ...string) {
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

// Bad model files give errors that say what is wrong and where.
func TestLoadBadModels(t *testing.T) {
	data := testutil.DataDir(t)
	dir := t.TempDir()
	src := filepath.Join(data, "models", "tiny", "tiny_vgg", "model.onnx")
	whole, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.onnx")
	os.WriteFile(truncated, whole[:len(whole)/2], 0o644)
	_, err = engine.Load(truncated)
	wantErr(t, err, "truncated.onnx", "truncated")

	_, err = engine.Load(filepath.Join(data, "exemplars", "police_van.jpg"))
	wantErr(t, err, "police_van.jpg", "not an ONNX model")

	_, err = engine.Load(filepath.Join(dir, "missing.onnx"))
	wantErr(t, err, "missing.onnx")

	// An op the engine does not run is named with its node, at load time.
	om, err := onnx.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var node string
	for _, n := range om.Proto.Graph.Node {
		if n.GetOpType() == "Relu" {
			n.OpType = new("Erf")
			node = n.GetName()
			break
		}
	}
	unsupported := filepath.Join(dir, "erf.onnx")
	if err := onnx.WriteFile(unsupported, om); err != nil {
		t.Fatal(err)
	}
	_, err = engine.Load(unsupported)
	wantErr(t, err, "erf.onnx", `"Erf"`, node)
}

// Inputs of the wrong size are refused with the expected shape.
func TestRunWrongInput(t *testing.T) {
	m, _ := loadMobileNet(t)
	_, err := m.Run(context.Background(), tensor.New(1, 3, 100, 100))
	wantErr(t, err, "[1 3 100 100]", "224")
	_, err = m.RunTo(context.Background(), tensor.New(1, 3, 224, 224), "no_such_layer")
	wantErr(t, err, "no_such_layer", "Conv_1")
}

// Grayscale and transparent images become the RGB the model expects; unreadable files
// are named in the error.
func TestLoadImageKinds(t *testing.T) {
	m, _ := loadMobileNet(t)
	dir := t.TempDir()
	write := func(name string, img image.Image) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gray := image.NewGray(image.Rect(0, 0, 300, 250))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 7)
	}
	x, err := m.LoadImage(write("gray.png", gray))
	if err != nil {
		t.Fatal(err)
	}
	plane := 224 * 224
	for i := range plane {
		if x.Data[i] != x.Data[plane+i] || x.Data[i] != x.Data[2*plane+i] {
			t.Fatalf("grayscale pixel %d differs across channels", i)
		}
	}
	clear := image.NewNRGBA(image.Rect(0, 0, 256, 256)) // fully transparent black
	x, err = m.LoadImage(write("clear.png", clear))
	if err != nil {
		t.Fatal(err)
	}
	if x.Data[0] != 1 { // white under mean 0.5, std 0.5
		t.Errorf("transparent pixel became %v, want white (1)", x.Data[0])
	}
	half := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	for i := 0; i < len(half.Pix); i += 4 {
		half.Pix[i], half.Pix[i+3] = 255, 255
	}
	half.Set(0, 0, color.NRGBA{0, 0, 0, 255})
	if _, err := m.LoadImage(write("red.png", half)); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "notes.jpg")
	os.WriteFile(bad, []byte("not an image"), 0o644)
	_, err = m.LoadImage(bad)
	wantErr(t, err, "notes.jpg")
}
