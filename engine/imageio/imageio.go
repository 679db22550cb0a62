// Package imageio reads image files of any common format into 8-bit non-premultiplied
// RGBA and writes PNG files atomically.
//
// Load understands JPEG, PNG, GIF, BMP, TIFF and WebP (the format is found from the file's
// first bytes, not its name). JPEG files are turned upright from their EXIF orientation
// tag, so callers always see the picture as a camera app shows it. Every decoded colour
// model (grey, CMYK, YCbCr, paletted, 16-bit, with or without alpha) comes back as an
// *image.NRGBA whose bounds start at (0, 0); Flatten composites alpha over a background
// for callers that need opaque pixels.
package imageio

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// ErrUnknownFormat is returned (wrapped) for files that are none of the supported formats.
var ErrUnknownFormat = errors.New("unknown image format (not JPEG, PNG, GIF, BMP, TIFF or WebP)")

// format is one decoder with the magic bytes that identify it; '?' matches any byte.
type format struct {
	name   string
	magic  string
	decode func(io.Reader) (image.Image, error)
}

// formats is consulted in order; it is local rather than image.RegisterFormat so the set
// of formats does not depend on which packages the program happens to link.
var formats = []format{
	{"JPEG", "\xff\xd8", jpeg.Decode},
	{"PNG", "\x89PNG\r\n\x1a\n", png.Decode},
	{"GIF", "GIF8?a", gif.Decode},
	{"BMP", "BM????\x00\x00\x00\x00", bmp.Decode},
	{"TIFF", "II*\x00", tiff.Decode},
	{"TIFF", "MM\x00*", tiff.Decode},
	{"WebP", "RIFF????WEBPVP8", webp.Decode},
}

func sniff(data []byte) (format, bool) {
	for _, f := range formats {
		if len(data) < len(f.magic) {
			continue
		}
		ok := true
		for i := 0; i < len(f.magic); i++ {
			if f.magic[i] != '?' && f.magic[i] != data[i] {
				ok = false
				break
			}
		}
		if ok {
			return f, true
		}
	}
	return format{}, false
}

// Load reads and decodes the image file at path. The result keeps the file's alpha
// channel; JPEG files are rotated or flipped upright according to their EXIF orientation.
// Errors start with "imageio: " and name the file.
func Load(path string) (*image.NRGBA, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("imageio: %w", err)
	}
	img, _, err := DecodeBytes(data)
	if err != nil {
		return nil, fmt.Errorf("imageio: open %s: %w", filepath.Base(path), err)
	}
	return img, nil
}

// Decode reads all of r and decodes it as DecodeBytes does.
func Decode(r io.Reader) (*image.NRGBA, string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, "", err
	}
	return DecodeBytes(data)
}

// DecodeBytes decodes an encoded image and returns it as NRGBA with its format name
// ("JPEG", "PNG", "GIF", "BMP", "TIFF" or "WebP"). EXIF orientation is applied to JPEGs.
func DecodeBytes(data []byte) (*image.NRGBA, string, error) {
	f, ok := sniff(data)
	if !ok {
		return nil, "", ErrUnknownFormat
	}
	img, err := f.decode(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || truncated(f.name, data) {
			return nil, f.name, fmt.Errorf("truncated %s file: %w", f.name, err)
		}
		return nil, f.name, fmt.Errorf("corrupt %s file: %w", f.name, err)
	}
	out := ToNRGBA(img)
	if f.name == "JPEG" {
		out = Orient(out, JPEGOrientation(data))
	}
	return out, f.name, nil
}

// truncated reports whether a file that failed to decode lacks its format's end marker,
// which tells a cut-off download from a damaged one; decoders report both alike.
func truncated(format string, data []byte) bool {
	switch format {
	case "JPEG":
		return !bytes.HasSuffix(bytes.TrimRight(data, "\x00"), []byte{0xff, 0xd9})
	case "PNG":
		return !bytes.HasSuffix(data, []byte("IEND\xaeB`\x82"))
	}
	return false
}

// ToNRGBA converts any image to 8-bit non-premultiplied RGBA with bounds starting at
// (0, 0). The result never shares memory with img. 16-bit samples are reduced by taking
// their high byte, as the image/color models do.
func ToNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	w := b.Dx()
	switch src := img.(type) {
	case *image.NRGBA:
		for y := 0; y < b.Dy(); y++ {
			i := src.PixOffset(b.Min.X, b.Min.Y+y)
			copy(dst.Pix[y*dst.Stride:y*dst.Stride+4*w], src.Pix[i:i+4*w])
		}
	case *image.NRGBA64:
		for y := 0; y < b.Dy(); y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < 4*w; x++ {
				d[x] = s[2*x] // high byte of each big-endian sample
			}
		}
	case *image.Gray16:
		for y := 0; y < b.Dy(); y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				v := s[2*x]
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = v, v, v, 0xff
			}
		}
	case *image.Gray:
		for y := 0; y < b.Dy(); y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				v := s[x]
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = v, v, v, 0xff
			}
		}
	case *image.YCbCr:
		return ycbcrToNRGBA(src)
	case *image.CMYK:
		for y := 0; y < b.Dy(); y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				r, g, bb := color.CMYKToRGB(s[4*x], s[4*x+1], s[4*x+2], s[4*x+3])
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = r, g, bb, 0xff
			}
		}
	case *image.Paletted:
		lut := make([]color.NRGBA, 256)
		for i, c := range src.Palette {
			lut[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
		}
		for y := 0; y < b.Dy(); y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				c := lut[s[x]]
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = c.R, c.G, c.B, c.A
			}
		}
	default:
		for y := 0; y < b.Dy(); y++ {
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = c.R, c.G, c.B, c.A
			}
		}
	}
	return dst
}

// Flatten composites img over the opaque colour bg and returns an opaque NRGBA image
// with bounds starting at (0, 0). bg's own alpha is ignored.
func Flatten(img image.Image, bg color.Color) *image.NRGBA {
	out := ToNRGBA(img)
	c := color.NRGBAModel.Convert(bg).(color.NRGBA)
	back := [3]uint32{uint32(c.R), uint32(c.G), uint32(c.B)}
	p := out.Pix
	for i := 0; i+3 < len(p); i += 4 {
		a := uint32(p[i+3])
		if a == 0xff {
			continue
		}
		for k := 0; k < 3; k++ {
			p[i+k] = uint8((uint32(p[i+k])*a + back[k]*(0xff-a) + 127) / 0xff)
		}
		p[i+3] = 0xff
	}
	return out
}
