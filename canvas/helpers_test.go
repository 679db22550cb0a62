package canvas

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata")

// dataDir returns the shared read-only test data: $RULEBRUSH_DATA, else ../shared/data
// beside the module root. Missing data skips the test, or fails it when CI is set.
func dataDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("RULEBRUSH_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test data missing at %s (set RULEBRUSH_DATA): %v", dir, err)
		}
		t.Skipf("test data missing at %s (set RULEBRUSH_DATA); skipped %s", dir, t.Name())
	}
	return dir
}

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

func readImage(t testing.TB, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var img image.Image
	if bytes.HasPrefix(data, []byte("\x89PNG")) {
		img, err = png.Decode(bytes.NewReader(data))
	} else {
		img, err = jpeg.Decode(bytes.NewReader(data))
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// golden compares img with testdata/<name>.png exactly, or rewrites it with -update.
func golden(t *testing.T, name string, img image.Image) {
	t.Helper()
	path := filepath.Join("testdata", name+".png")
	if *update {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := toNRGBA(readImage(t, path))
	got := toNRGBA(img)
	if got.Rect != want.Rect {
		t.Fatalf("%s: bounds %v, golden %v", name, got.Rect, want.Rect)
	}
	if !bytes.Equal(got.Pix, want.Pix) {
		n, first := 0, image.Point{-1, -1}
		for y := 0; y < got.Rect.Dy(); y++ {
			for x := 0; x < got.Rect.Dx(); x++ {
				if got.NRGBAAt(x, y) != want.NRGBAAt(x, y) {
					if n == 0 {
						first = image.Pt(x, y)
					}
					n++
				}
			}
		}
		t.Errorf("%s: %d pixels differ from %s, first at %v: %v, golden %v (run with -update after checking)",
			name, n, path, first, got.NRGBAAt(first.X, first.Y), want.NRGBAAt(first.X, first.Y))
	}
}

// alphaImage renders a mask as an opaque grey image for golden files.
func alphaImage(m *image.Alpha) *image.Gray {
	return &image.Gray{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
}

// checker is a w×h test photo: a colour gradient with a checkerboard of 8 px squares.
func checker(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(60)
			if (x/8+y/8)%2 == 0 {
				v = 160
			}
			img.SetNRGBA(x, y, color.NRGBA{v, uint8(x * 255 / w), uint8(y * 255 / h), 255})
		}
	}
	return img
}

// stripes is a tileable test texture: diagonal colour stripes with period w.
func stripes(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			k := (x + y) % w
			img.SetNRGBA(x, y, color.NRGBA{uint8(255 * k / w), 200, uint8(255 - 255*k/w), 255})
		}
	}
	return img
}

func cloneAlpha(m *image.Alpha) *image.Alpha {
	c := image.NewAlpha(m.Rect)
	copy(c.Pix, m.Pix)
	return c
}

func describeDiff(a, b *image.Alpha) string {
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			if a.AlphaAt(x, y) != b.AlphaAt(x, y) {
				return fmt.Sprintf("first difference at (%d,%d): %d vs %d", x, y, a.AlphaAt(x, y).A, b.AlphaAt(x, y).A)
			}
		}
	}
	return "identical"
}
