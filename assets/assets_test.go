package assets

import (
	"bytes"
	"image"
	"image/png"
	"testing"
)

// step is the mean absolute difference between column (or row) a and b.
func step(img *image.NRGBA, a, b int, vertical bool) float64 {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	n := h
	if vertical {
		n = w
	}
	var s float64
	for i := 0; i < n; i++ {
		var p, q []uint8
		if vertical {
			p, q = img.Pix[img.PixOffset(i, a):], img.Pix[img.PixOffset(i, b):]
		} else {
			p, q = img.Pix[img.PixOffset(a, i):], img.Pix[img.PixOffset(b, i):]
		}
		for k := 0; k < 3; k++ {
			d := int(p[k]) - int(q[k])
			s += float64(max(d, -d))
		}
	}
	return s / float64(3*n)
}

func TestTexturesTile(t *testing.T) {
	for _, tx := range Textures {
		t.Run(tx.Name, func(t *testing.T) {
			const w, h = 120, 90
			img := tx.Make(w, h, 7)
			if img.Rect != image.Rect(0, 0, w, h) {
				t.Fatalf("bounds %v", img.Rect)
			}
			for _, vertical := range []bool{false, true} {
				n := w
				if vertical {
					n = h
				}
				var inside float64
				for i := 1; i < n; i++ {
					inside = max(inside, step(img, i-1, i, vertical))
				}
				if seam := step(img, n-1, 0, vertical); seam > inside+1 {
					t.Errorf("vertical=%v: step across the wrap %.1f, largest step inside %.1f", vertical, seam, inside)
				}
			}
		})
	}
}

func TestTexturesDeterministic(t *testing.T) {
	for _, tx := range Textures {
		a, b, c := tx.Make(33, 21, 1), tx.Make(33, 21, 1), tx.Make(33, 21, 2)
		if !bytes.Equal(a.Pix, b.Pix) {
			t.Errorf("%s: same seed, different pixels", tx.Name)
		}
		if bytes.Equal(a.Pix, c.Pix) {
			t.Errorf("%s: different seeds, same pixels", tx.Name)
		}
		for i := 3; i < len(a.Pix); i += 4 {
			if a.Pix[i] != 255 {
				t.Fatalf("%s: not opaque", tx.Name)
			}
		}
		if tiny := tx.Make(1, 1, 3); tiny.Rect.Dx() != 1 {
			t.Errorf("%s: 1x1 texture has bounds %v", tx.Name, tiny.Rect)
		}
		if empty := tx.Make(0, -4, 3); empty.Rect.Empty() {
			t.Errorf("%s: a zero size gave an empty texture", tx.Name)
		}
	}
}

// TestIconPNGUpToDate checks that the embedded icon.png is what Icon draws; run
// `go generate ./assets` after changing the drawing.
func TestIconPNGUpToDate(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(IconPNG))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != image.Rect(0, 0, IconSize, IconSize) {
		t.Fatalf("icon.png is %v", img.Bounds())
	}
	want := Icon()
	got, ok := img.(*image.NRGBA)
	if !ok {
		t.Fatalf("icon.png decodes as %T", img)
	}
	if !bytes.Equal(got.Pix, want.Pix) {
		t.Error("icon.png differs from Icon(); run go generate ./assets")
	}
}

func BenchmarkTexture512(b *testing.B) {
	for _, tx := range Textures {
		b.Run(tx.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tx.Make(512, 512, 1)
			}
		})
	}
}
