package imageio

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// exifTIFF builds a TIFF-structured Exif block whose IFD0 holds a dummy tag followed by
// the orientation tag (type SHORT) in the given byte order.
func exifTIFF(bo binary.ByteOrder, orientation uint16) []byte {
	var b bytes.Buffer
	if bo == binary.ByteOrder(binary.LittleEndian) {
		b.WriteString("II*\x00")
	} else {
		b.WriteString("MM\x00*")
	}
	binary.Write(&b, bo, uint32(8)) // IFD0 offset
	binary.Write(&b, bo, uint16(2)) // two entries
	// ImageDescription-like ASCII entry pointing past the IFD; it must be skipped.
	binary.Write(&b, bo, []uint16{0x010e, 2})
	binary.Write(&b, bo, []uint32{4, 38})
	binary.Write(&b, bo, []uint16{tagOrientation, 3})
	binary.Write(&b, bo, uint32(1))
	binary.Write(&b, bo, []uint16{orientation, 0})
	binary.Write(&b, bo, uint32(0)) // no next IFD
	b.WriteString("abc\x00")
	return b.Bytes()
}

// withExif splices an APP1 Exif segment into a JPEG right after its SOI marker.
func withExif(jpg, tiff []byte) []byte {
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

func TestOrientationTransforms(t *testing.T) {
	// A 32x16 picture of 8x8 blocks: red at the top left, green at the top right, the
	// rest grey. JPEG keeps flat 8x8 blocks nearly exact.
	const w, h = 32, 16
	src := image.NewNRGBA(image.Rect(0, 0, w, h))
	red, green, grey := color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 255, 0, 255}, color.NRGBA{128, 128, 128, 255}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := grey
			if y < 8 && x < 8 {
				c = red
			} else if y < 8 && x >= w-8 {
				c = green
			}
			src.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	plain := buf.Bytes()

	// Where the red and green corner blocks must appear when displayed.
	const tl, tr, bl, br = 0, 1, 2, 3
	cases := []struct {
		orientation uint16
		red, green  int
		swapped     bool
	}{
		{1, tl, tr, false},
		{2, tr, tl, false},
		{3, br, bl, false},
		{4, bl, br, false},
		{5, tl, bl, true},
		{6, tr, br, true},
		{7, br, tr, true},
		{8, bl, tl, true},
	}
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, tc := range cases {
			data := withExif(plain, exifTIFF(bo, tc.orientation))
			if got := JPEGOrientation(data); got != int(tc.orientation) {
				t.Fatalf("%v: JPEGOrientation = %d, want %d", bo, got, tc.orientation)
			}
			img, _, err := DecodeBytes(data)
			if err != nil {
				t.Fatalf("%v orientation %d: %v", bo, tc.orientation, err)
			}
			dw, dh := w, h
			if tc.swapped {
				dw, dh = h, w
			}
			if img.Bounds() != image.Rect(0, 0, dw, dh) {
				t.Fatalf("%v orientation %d: bounds %v, want %dx%d", bo, tc.orientation, img.Bounds(), dw, dh)
			}
			corner := func(k int) color.NRGBA {
				x, y := 3, 3
				if k == tr || k == br {
					x = dw - 4
				}
				if k == bl || k == br {
					y = dh - 4
				}
				return img.NRGBAAt(x, y)
			}
			near := func(a, b color.NRGBA) bool {
				d := func(p, q uint8) int { return max(int(p)-int(q), int(q)-int(p)) }
				return d(a.R, b.R) < 20 && d(a.G, b.G) < 20 && d(a.B, b.B) < 20
			}
			if c := corner(tc.red); !near(c, red) {
				t.Errorf("%v orientation %d: red corner holds %v", bo, tc.orientation, c)
			}
			if c := corner(tc.green); !near(c, green) {
				t.Errorf("%v orientation %d: green corner holds %v", bo, tc.orientation, c)
			}
		}
	}
}

func TestOrientationParse(t *testing.T) {
	le := exifTIFF(binary.LittleEndian, 6)
	long := exifTIFF(binary.BigEndian, 0)
	binary.BigEndian.PutUint16(long[8+2+12+2:], 4) // type LONG
	binary.BigEndian.PutUint32(long[8+2+12+8:], 3)
	noTag := exifTIFF(binary.LittleEndian, 6)
	binary.LittleEndian.PutUint16(noTag[8+2+12:], 0x0110)
	cases := []struct {
		name string
		data []byte
		want int // 0: error
	}{
		{"little-endian", le, 6},
		{"long-type", long, 3},
		{"zero", exifTIFF(binary.LittleEndian, 0), 0},
		{"nine", exifTIFF(binary.BigEndian, 9), 0},
		{"no-tag", noTag, 0},
		{"bad-magic", append([]byte("XX*\x00"), le[4:]...), 0},
		{"short", le[:6], 0},
		{"truncated-ifd", le[:20], 0},
		{"offset-past-end", append(le[:4:4], 0xff, 0xff, 0xff, 0x7f), 0},
	}
	for _, tc := range cases {
		got, err := Orientation(tc.data)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("%s: got %d, want an error", tc.name, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}

func TestJPEGOrientationWithoutExif(t *testing.T) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, pattern(8, 8), nil); err != nil {
		t.Fatal(err)
	}
	jpg := buf.Bytes()
	for name, data := range map[string][]byte{
		"plain":        jpg,
		"not-jpeg":     []byte("\x89PNG\r\n\x1a\n"),
		"bad-exif":     withExif(jpg, []byte("garbage!")),
		"short-length": {0xff, 0xd8, 0xff, 0xe1, 0x00, 0x01},
		"overlong":     {0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 'E'},
	} {
		if got := JPEGOrientation(data); got != 1 {
			t.Errorf("%s: orientation %d, want 1", name, got)
		}
	}
}

func FuzzOrientation(f *testing.F) {
	f.Add(exifTIFF(binary.LittleEndian, 6))
	f.Add(exifTIFF(binary.BigEndian, 8))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := Orientation(data)
		if err == nil && (o < 1 || o > 8) {
			t.Fatalf("orientation %d accepted", o)
		}
		jpg := withExif([]byte{0xff, 0xd8, 0xff, 0xd9}, data)
		if got := JPEGOrientation(jpg); len(data) < 0xfff0 && err == nil && got != o {
			t.Fatalf("JPEGOrientation %d, Orientation %d", got, o)
		}
		if got := JPEGOrientation(data); got < 1 || got > 8 {
			t.Fatalf("JPEGOrientation of raw data = %d", got)
		}
	})
}
