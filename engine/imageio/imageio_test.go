package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// pattern is a small opaque test image with distinct, smoothly varying colours.
func pattern(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / max(w-1, 1)), uint8(y * 255 / max(h-1, 1)), uint8((x + y) * 7), 0xff})
		}
	}
	return img
}

// maxDiff is the largest per-channel difference between two NRGBA images of equal size.
func maxDiff(t *testing.T, got, want *image.NRGBA) int {
	t.Helper()
	if got.Bounds() != want.Bounds() {
		t.Fatalf("bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	worst := 0
	for y := 0; y < want.Bounds().Dy(); y++ {
		for x := 0; x < want.Bounds().Dx(); x++ {
			g, w := got.NRGBAAt(x, y), want.NRGBAAt(x, y)
			for _, d := range []int{int(g.R) - int(w.R), int(g.G) - int(w.G), int(g.B) - int(w.B), int(g.A) - int(w.A)} {
				worst = max(worst, d, -d)
			}
		}
	}
	return worst
}

func encode(t *testing.T, enc func(*bytes.Buffer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := enc(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeFormats(t *testing.T) {
	rgb := pattern(19, 13)
	gray := image.NewGray(rgb.Bounds())
	gray16 := image.NewGray16(rgb.Bounds())
	wide := image.NewNRGBA64(rgb.Bounds())
	translucent := image.NewNRGBA(rgb.Bounds())
	for y := 0; y < 13; y++ {
		for x := 0; x < 19; x++ {
			c := rgb.NRGBAAt(x, y)
			gray.SetGray(x, y, color.Gray{c.R})
			gray16.SetGray16(x, y, color.Gray16{uint16(c.R)<<8 | 0x7f})
			wide.SetNRGBA64(x, y, color.NRGBA64{uint16(c.R)<<8 | 0xc0, uint16(c.G) << 8, uint16(c.B)<<8 | 0xff, uint16(x*13) << 8})
			c.A = uint8(y * 20)
			translucent.SetNRGBA(x, y, c)
		}
	}
	grayWant := ToNRGBA(gray)
	wideWant := image.NewNRGBA(rgb.Bounds())
	for y := 0; y < 13; y++ {
		for x := 0; x < 19; x++ {
			c := rgb.NRGBAAt(x, y)
			wideWant.SetNRGBA(x, y, color.NRGBA{c.R, c.G, c.B, uint8(x * 13)})
		}
	}
	pal := color.Palette{color.NRGBA{0, 0, 0, 0}, color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 128}}
	paletted := image.NewPaletted(rgb.Bounds(), pal)
	palWant := image.NewNRGBA(rgb.Bounds())
	for y := 0; y < 13; y++ {
		for x := 0; x < 19; x++ {
			i := uint8((x + 2*y) % 3)
			paletted.SetColorIndex(x, y, i)
			palWant.SetNRGBA(x, y, pal[i].(color.NRGBA))
		}
	}
	gifPal := color.Palette{color.RGBA{0, 0, 0, 0}, color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}}
	gifImg := image.NewPaletted(rgb.Bounds(), gifPal)
	gifWant := image.NewNRGBA(rgb.Bounds())
	for y := 0; y < 13; y++ {
		for x := 0; x < 19; x++ {
			i := uint8((x + y) % 3)
			gifImg.SetColorIndex(x, y, i)
			gifWant.Set(x, y, gifPal[i])
		}
	}

	cases := []struct {
		name, format string
		data         []byte
		want         *image.NRGBA
		tol          int
	}{
		{"png-nrgba", "PNG", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, translucent) }), translucent, 0},
		{"png-gray", "PNG", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, gray) }), grayWant, 0},
		{"png-gray16", "PNG", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, gray16) }), grayWant, 0},
		{"png-nrgba64", "PNG", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, wide) }), wideWant, 1},
		{"png-paletted", "PNG", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, paletted) }), palWant, 0},
		{"gif", "GIF", encode(t, func(b *bytes.Buffer) error { return gif.Encode(b, gifImg, nil) }), gifWant, 0},
		{"bmp", "BMP", encode(t, func(b *bytes.Buffer) error { return bmp.Encode(b, rgb) }), rgb, 0},
		{"tiff", "TIFF", encode(t, func(b *bytes.Buffer) error { return tiff.Encode(b, translucent, nil) }), translucent, 0},
		{"tiff-gray16", "TIFF", encode(t, func(b *bytes.Buffer) error { return tiff.Encode(b, gray16, nil) }), grayWant, 0},
		{"jpeg", "JPEG", encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, rgb, &jpeg.Options{Quality: 100}) }), rgb, 12},
		{"jpeg-gray", "JPEG", encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, gray, &jpeg.Options{Quality: 100}) }), grayWant, 3},
		{"webp-lossless", "WebP", solidWebP(5, 3, color.NRGBA{10, 200, 30, 77}), solid(5, 3, color.NRGBA{10, 200, 30, 77}), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, format, err := DecodeBytes(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if format != tc.format {
				t.Errorf("format %q, want %q", format, tc.format)
			}
			if d := maxDiff(t, got, tc.want); d > tc.tol {
				t.Errorf("max channel difference %d, want <= %d", d, tc.tol)
			}
		})
	}
}

func solid(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// bitWriter writes the least-significant-bit-first bit stream of WebP lossless.
type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc uint
}

func (w *bitWriter) write(v uint64, n uint) {
	w.acc |= v << w.nacc
	w.nacc += n
	for w.nacc >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.nacc -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	if w.nacc > 0 {
		w.buf = append(w.buf, byte(w.acc))
	}
	return w.buf
}

// solidWebP builds a one-colour WebP lossless (VP8L) file: every prefix code is a
// "simple code" with one symbol, so pixels take zero bits.
func solidWebP(width, height int, c color.NRGBA) []byte {
	var bw bitWriter
	bw.write(0x2f, 8)
	bw.write(uint64(width-1), 14)
	bw.write(uint64(height-1), 14)
	bw.write(1, 1) // alpha used
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A, 0} {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // 8-bit symbol
		bw.write(uint64(sym), 8)
	}
	vp8l := bw.bytes()
	var out bytes.Buffer
	out.WriteString("RIFF")
	size := 4 + 8 + len(vp8l) + len(vp8l)%2
	binary.Write(&out, binary.LittleEndian, uint32(size))
	out.WriteString("WEBPVP8L")
	binary.Write(&out, binary.LittleEndian, uint32(len(vp8l)))
	out.Write(vp8l)
	if len(vp8l)%2 == 1 {
		out.WriteByte(0)
	}
	return out.Bytes()
}

func TestToNRGBA(t *testing.T) {
	r := image.Rect(3, 5, 11, 9) // bounds not at the origin
	cmyk := image.NewCMYK(r)
	rgba := image.NewRGBA(r)
	alpha := image.NewAlpha(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cmyk.SetCMYK(x, y, color.CMYK{uint8(x * 20), uint8(y * 25), 40, uint8(x * y)})
			a := uint8(x * 20)
			rgba.SetRGBA(x, y, color.RGBA{a / 2, a / 3, a, a})
			alpha.SetAlpha(x, y, color.Alpha{uint8(y * 30)})
		}
	}
	for _, img := range []image.Image{cmyk, rgba, alpha, cmyk.SubImage(image.Rect(4, 6, 7, 8))} {
		got := ToNRGBA(img)
		b := img.Bounds()
		if got.Bounds() != image.Rect(0, 0, b.Dx(), b.Dy()) {
			t.Fatalf("%T: bounds %v, want origin-based %v", img, got.Bounds(), b)
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				want := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				if g := got.NRGBAAt(x-b.Min.X, y-b.Min.Y); g != want {
					t.Fatalf("%T at (%d,%d): %v, want %v", img, x, y, g, want)
				}
			}
		}
	}
}

// cmykJPEG builds an 8x8 baseline JPEG with four components (Adobe inverted CMYK, no
// colour transform) holding one flat colour: each block is a DC term and end-of-block.
// The standard encoder cannot write CMYK.
func cmykJPEG(c color.CMYK) []byte {
	var b bytes.Buffer
	seg := func(marker byte, payload []byte) {
		b.Write([]byte{0xff, marker})
		binary.Write(&b, binary.BigEndian, uint16(len(payload)+2))
		b.Write(payload)
	}
	b.Write([]byte{0xff, 0xd8})
	seg(0xee, []byte{'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0}) // transform 0
	seg(0xdb, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...))      // all-ones quantiser
	seg(0xc0, []byte{8, 0, 8, 0, 8, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0})
	// DC table: categories 0..11, all four-bit codes; AC table: only EOB, code "0".
	dc := append([]byte{0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
	ac := []byte{0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	seg(0xc4, append(dc, ac...))
	seg(0xda, []byte{4, 1, 0, 2, 0, 3, 0, 4, 0, 0, 63, 0})
	var bits []byte
	var acc uint32
	var n uint
	put := func(v uint32, k uint) {
		acc = acc<<k | v&(1<<k-1)
		n += k
		for n >= 8 {
			bits = append(bits, byte(acc>>(n-8)))
			n -= 8
		}
	}
	for _, ink := range []uint8{c.C, c.M, c.Y, c.K} {
		v := 8 * (int(255-ink) - 128) // DC of a flat block with unit quantisation
		s, mag := uint(0), v
		if mag < 0 {
			mag = -mag
		}
		for mag>>s != 0 {
			s++
		}
		put(uint32(s), 4)
		if v < 0 {
			v += 1<<s - 1
		}
		put(uint32(v), s)
		put(0, 1) // EOB
	}
	if n > 0 {
		put(0xff, 8-n)
	}
	for _, x := range bits {
		b.WriteByte(x)
		if x == 0xff {
			b.WriteByte(0)
		}
	}
	b.Write([]byte{0xff, 0xd9})
	return b.Bytes()
}

func TestCMYKJPEG(t *testing.T) {
	ink := color.CMYK{C: 20, M: 200, Y: 90, K: 30}
	got, format, err := DecodeBytes(cmykJPEG(ink))
	if err != nil {
		t.Fatal(err)
	}
	if format != "JPEG" {
		t.Fatalf("format %q", format)
	}
	r, g, b := color.CMYKToRGB(ink.C, ink.M, ink.Y, ink.K)
	want := solid(8, 8, color.NRGBA{r, g, b, 255})
	if d := maxDiff(t, got, want); d > 2 {
		t.Errorf("CMYK JPEG decodes to %v, want %v (max diff %d)", got.NRGBAAt(0, 0), want.NRGBAAt(0, 0), d)
	}
}

func TestFlatten(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	img.SetNRGBA(0, 0, color.NRGBA{200, 100, 0, 255})
	img.SetNRGBA(1, 0, color.NRGBA{200, 100, 0, 0})
	img.SetNRGBA(2, 0, color.NRGBA{0, 0, 0, 128})
	got := Flatten(img, color.White)
	want := []color.NRGBA{{200, 100, 0, 255}, {255, 255, 255, 255}, {127, 127, 127, 255}}
	for x, w := range want {
		if g := got.NRGBAAt(x, 0); g != w {
			t.Errorf("pixel %d: %v, want %v", x, g, w)
		}
	}
	if img.NRGBAAt(1, 0).A != 0 {
		t.Error("Flatten modified its input")
	}
}

func TestUnknownFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "photo.xyz")
	if err := os.WriteFile(path, []byte("this is not an image at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := "imageio: open photo.xyz: unknown image format (not JPEG, PNG, GIF, BMP, TIFF or WebP)"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	if !errors.Is(err, ErrUnknownFormat) {
		t.Error("error does not wrap ErrUnknownFormat")
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "gone.png"))
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "gone.png") {
		t.Fatalf("error %v, want a not-exist error naming gone.png", err)
	}
}

func TestCorruptFiles(t *testing.T) {
	full := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, pattern(64, 64), nil) })
	pngData := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, pattern(64, 64)) })
	garbledPNG := bytes.Clone(pngData)
	for i := 40; i < len(garbledPNG)-20; i++ {
		garbledPNG[i] ^= 0x5a
	}
	cases := []struct {
		name, file string
		data       []byte
		want       string
	}{
		{"truncated-jpeg", "cut.jpg", full[:len(full)/2], "imageio: open cut.jpg: truncated JPEG file"},
		{"jpeg-header-only", "head.jpg", full[:2], "imageio: open head.jpg: truncated JPEG file"},
		{"truncated-png", "cut.png", pngData[:len(pngData)/2], "imageio: open cut.png: truncated PNG file"},
		{"garbled-png", "bad.png", garbledPNG, "imageio: open bad.png: corrupt PNG file"},
		{"empty", "empty.jpg", nil, "imageio: open empty.jpg: unknown image format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want prefix %q", err, tc.want)
			}
		})
	}
}

func TestSavePNG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.png")
	first := pattern(7, 5)
	if err := SavePNG(path, first); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(t, got, first); d != 0 {
		t.Fatalf("round trip differs by %d", d)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", info.Mode().Perm())
	}

	// A zero-size image cannot be encoded: the save fails and the old file stays.
	err = SavePNG(path, image.NewNRGBA(image.Rect(0, 0, 0, 0)))
	if err == nil || !strings.Contains(err.Error(), "out.png") {
		t.Fatalf("error %v, want a failure naming out.png", err)
	}
	if got, err = Load(path); err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(t, got, first); d != 0 {
		t.Fatal("failed save changed the previous file")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries after saves, want only out.png", len(entries))
	}

	if err := SavePNG(filepath.Join(dir, "missing", "x.png"), first); err == nil {
		t.Error("save into a missing folder succeeded")
	}
}

func TestLoadExemplar(t *testing.T) {
	dir := os.Getenv("RULEBRUSH_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	path := filepath.Join(dir, "exemplars", "police_van.jpg")
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test data missing at %s (set RULEBRUSH_DATA): %v", dir, err)
		}
		t.Skipf("test data missing at %s (set RULEBRUSH_DATA); skipped loading the exemplar", dir)
	}
	img, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != image.Rect(0, 0, 500, 375) {
		t.Errorf("bounds %v, want 500x375", img.Bounds())
	}
	mask, err := Load(filepath.Join(dir, "exemplars", "police_van_mask.png"))
	if err != nil {
		t.Fatal(err)
	}
	if mask.Bounds() != img.Bounds() {
		t.Errorf("mask bounds %v, want %v", mask.Bounds(), img.Bounds())
	}
}
