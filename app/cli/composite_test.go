package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulebrush/rulebrush/engine/imageio"
)

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func fillNRGBA(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		copy(img.Pix[i:], []uint8{c.R, c.G, c.B, c.A})
	}
	return img
}

// compositeInputs writes a 40×30 photo, a mask covering its left half and a texture.
func compositeInputs(t *testing.T) (dir string, photo, tex color.NRGBA) {
	dir = t.TempDir()
	photo, tex = color.NRGBA{10, 20, 30, 255}, color.NRGBA{240, 250, 255, 255}
	writePNG(t, filepath.Join(dir, "photo.png"), fillNRGBA(40, 30, photo))
	writePNG(t, filepath.Join(dir, "tex.png"), fillNRGBA(16, 16, tex))
	mask := image.NewGray(image.Rect(0, 0, 40, 30))
	for y := 0; y < 30; y++ {
		for x := 0; x < 20; x++ {
			mask.SetGray(x, y, color.Gray{255})
		}
	}
	writePNG(t, filepath.Join(dir, "mask.png"), mask)
	return dir, photo, tex
}

func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestCompositeJSON(t *testing.T) {
	dir, photo, tex := compositeInputs(t)
	out := filepath.Join(dir, "out.png")
	code, stdout, stderr := runCLI("composite", "--image", filepath.Join(dir, "photo.png"),
		"--mask", filepath.Join(dir, "mask.png"), "--texture", filepath.Join(dir, "tex.png"),
		"--mode", "tile", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var got map[string]any
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("more than one JSON document on stdout:\n%s", stdout)
	}
	want := map[string]any{"out": out, "width": 40.0, "height": 30.0, "mask_fraction": 0.5}
	if len(got) != len(want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	img, err := imageio.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if c := img.NRGBAAt(5, 5); c != tex {
		t.Errorf("inside the mask %v, want the texture %v", c, tex)
	}
	if c := img.NRGBAAt(35, 5); c != photo {
		t.Errorf("outside the mask %v, want the photo %v", c, photo)
	}
}

func TestCompositeText(t *testing.T) {
	dir, _, _ := compositeInputs(t)
	out := filepath.Join(dir, "out.png")
	code, stdout, stderr := runCLI("composite", "--image", filepath.Join(dir, "photo.png"),
		"--mask", filepath.Join(dir, "mask.png"), "--texture", "builtin:gravel", "--out", out,
		"--opacity", "0.5", "--feather", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "wrote "+out+" (40x30, mask covers 50.0% of the image)") {
		t.Errorf("stdout %q", stdout)
	}
}

func TestCompositeErrors(t *testing.T) {
	dir, _, _ := compositeInputs(t)
	in := func(name string) string { return filepath.Join(dir, name) }
	writePNG(t, in("small.png"), image.NewGray(image.Rect(0, 0, 20, 30)))
	os.WriteFile(in("photo.xyz"), []byte("not an image"), 0o644)
	base := []string{"composite", "--image", in("photo.png"), "--mask", in("mask.png"), "--texture", in("tex.png"), "--out", in("o.png")}
	with := func(flag, value string) []string {
		args := append([]string(nil), base...)
		for i := range args {
			if args[i] == flag {
				args[i+1] = value
				return args
			}
		}
		return append(args, flag, value)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no-flags", []string{"composite"}, 2, "need --image, --mask, --texture and --out"},
		{"mode", with("--mode", "stretch"), 2, `--mode "stretch": want cover or tile`},
		{"opacity", with("--opacity", "2"), 2, "--opacity 2"},
		{"mask-size", with("--mask", in("small.png")), 1, "mask is 20x30, image is 40x30"},
		{"image-format", with("--image", in("photo.xyz")), 1, "imageio: open photo.xyz: unknown image format"},
		{"missing-texture", with("--texture", in("none.png")), 1, "none.png"},
		{"builtin", with("--texture", "builtin:lava"), 2, `no builtin texture "lava"`},
		{"out-dir", with("--out", in("missing/o.png")), 1, "o.png"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

// TestCompositeExemplar reproduces police_van_snowy.png from the shared exemplar data.
func TestCompositeExemplar(t *testing.T) {
	data := os.Getenv("RULEBRUSH_DATA")
	if data == "" {
		data = filepath.Join("..", "..", "..", "shared", "data")
	}
	if _, err := os.Stat(data); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test data missing at %s (set RULEBRUSH_DATA): %v", data, err)
		}
		t.Skipf("test data missing at %s (set RULEBRUSH_DATA); skipped the exemplar composite", data)
	}
	ex := filepath.Join(data, "exemplars")
	out := filepath.Join(t.TempDir(), "snowy.png")
	code, _, stderr := runCLI("composite", "--image", filepath.Join(ex, "police_van.jpg"),
		"--mask", filepath.Join(ex, "police_van_mask.png"), "--texture", filepath.Join(data, "textures", "snow.jpg"),
		"--hard", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, err := imageio.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := imageio.Load(filepath.Join(ex, "police_van_snowy.png"))
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for i := range got.Pix {
		if i%4 != 3 { // colour channels only
			sum += math.Abs(float64(got.Pix[i]) - float64(want.Pix[i]))
		}
	}
	if mad := sum / float64(len(got.Pix)/4*3); mad >= 0.25 {
		t.Errorf("mean absolute difference %.3f/255, want < 0.25/255", mad)
	}
}
