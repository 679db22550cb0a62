package imageio

import (
	"encoding/binary"
	"errors"
	"image"
)

// tagOrientation is the EXIF/TIFF Orientation tag; its value says how the stored pixels
// must be transformed for display (1 = as stored, 6 = rotate 90° clockwise, ...).
const tagOrientation = 0x0112

// JPEGOrientation scans the markers of a JPEG file up to its first scan for an APP1 Exif
// segment and returns the orientation it records, or 1 when there is none or it is
// unreadable. A damaged Exif block must never make a readable photo fail to load.
func JPEGOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return 1
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return 1
		}
		marker := data[i+1]
		switch {
		case marker == 0xff: // fill byte
			i++
			continue
		case marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7): // no length
			i += 2
			continue
		case marker == 0xda || marker == 0xd9: // start of scan or end of image
			return 1
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 1
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xe1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o, err := Orientation(seg[6:]); err == nil {
				return o
			}
			return 1
		}
		i += 2 + n
	}
	return 1
}

var (
	errTIFFHeader = errors.New("exif: bad TIFF header")
	errTruncated  = errors.New("exif: truncated")
	errNoTag      = errors.New("exif: no orientation tag")
	errBadValue   = errors.New("exif: orientation out of range 1..8")
)

// Orientation reads the Orientation tag from IFD0 of a TIFF-structured Exif block (the
// bytes after "Exif\0\0"), little- or big-endian. It returns a value in 1..8 or an error.
func Orientation(tiff []byte) (int, error) {
	if len(tiff) < 8 {
		return 0, errTIFFHeader
	}
	var bo binary.ByteOrder
	switch string(tiff[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0, errTIFFHeader
	}
	off := uint64(bo.Uint32(tiff[4:]))
	if off+2 > uint64(len(tiff)) {
		return 0, errTruncated
	}
	n := uint64(bo.Uint16(tiff[off:]))
	for k := uint64(0); k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > uint64(len(tiff)) {
			return 0, errTruncated
		}
		if bo.Uint16(tiff[e:]) != tagOrientation {
			continue
		}
		var v int
		switch typ := bo.Uint16(tiff[e+2:]); typ {
		case 3: // SHORT, stored left-justified in the value field
			v = int(bo.Uint16(tiff[e+8:]))
		case 4: // LONG, written by a few nonconforming tools
			v = int(bo.Uint32(tiff[e+8:]))
		default:
			return 0, errBadValue
		}
		if v < 1 || v > 8 {
			return 0, errBadValue
		}
		return v, nil
	}
	return 0, errNoTag
}

// Orient returns img transformed for display according to an EXIF orientation value.
// Values 5 to 8 swap width and height. Orientation 1 and unknown values return img
// itself; any other value returns a new image.
func Orient(img *image.NRGBA, orientation int) *image.NRGBA {
	if orientation < 2 || orientation > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if orientation >= 5 {
		dw, dh = h, w
	}
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch orientation {
			case 2: // mirror horizontally
				dx, dy = w-1-x, y
			case 3: // rotate 180°
				dx, dy = w-1-x, h-1-y
			case 4: // mirror vertically
				dx, dy = x, h-1-y
			case 5: // transpose: mirror across the main diagonal
				dx, dy = y, x
			case 6: // rotate 90° clockwise
				dx, dy = h-1-y, x
			case 7: // transverse: mirror across the anti-diagonal
				dx, dy = h-1-y, w-1-x
			case 8: // rotate 90° counter-clockwise
				dx, dy = y, w-1-x
			}
			s := img.PixOffset(b.Min.X+x, b.Min.Y+y)
			d := dst.PixOffset(dx, dy)
			copy(dst.Pix[d:d+4], img.Pix[s:s+4])
		}
	}
	return dst
}
