package imageio

import "image"

// ycbcrToNRGBA converts decoded JPEG samples the way libjpeg (and so PIL) does: chroma
// subsampled 2:1 horizontally (4:2:2) or in both directions (4:2:0) is upsampled with
// libjpeg's "fancy" triangle filter rather than repeated, and colours use libjpeg's
// fixed-point YCbCr→RGB tables. Classifiers trained on PIL-decoded images see the same
// pixels this way. Other subsampling ratios upsample by repetition.
func ycbcrToNRGBA(src *image.YCbCr) *image.NRGBA {
	b := src.Rect
	w, h := b.Dx(), b.Dy()
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	cb := make([]uint8, w)
	cr := make([]uint8, w)
	for y := 0; y < h; y++ {
		switch src.SubsampleRatio {
		case image.YCbCrSubsampleRatio422:
			fancyRow(cb, src.Cb[src.COffset(b.Min.X, b.Min.Y+y):], nil, w)
			fancyRow(cr, src.Cr[src.COffset(b.Min.X, b.Min.Y+y):], nil, w)
		case image.YCbCrSubsampleRatio420:
			// Output row y sits between chroma rows cy and its nearer neighbour.
			cy := (b.Min.Y+y)/2 - b.Min.Y/2
			near := cy - 1
			if (b.Min.Y+y)%2 == 1 {
				near = cy + 1
			}
			ch := (b.Min.Y+h+1)/2 - b.Min.Y/2
			near = min(max(near, 0), ch-1)
			row := func(p []uint8, r int) []uint8 {
				return p[src.COffset(b.Min.X, b.Min.Y)+r*src.CStride:]
			}
			fancyRow(cb, row(src.Cb, cy), row(src.Cb, near), w)
			fancyRow(cr, row(src.Cr, cy), row(src.Cr, near), w)
		default:
			for x := 0; x < w; x++ {
				i := src.COffset(b.Min.X+x, b.Min.Y+y)
				cb[x], cr[x] = src.Cb[i], src.Cr[i]
			}
		}
		yrow := src.Y[src.YOffset(b.Min.X, b.Min.Y+y):]
		d := dst.Pix[y*dst.Stride:]
		for x := 0; x < w; x++ {
			r, g, bb := jpegRGB(yrow[x], cb[x], cr[x])
			d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = r, g, bb, 0xff
		}
	}
	return dst
}

// fancyRow upsamples one row of chroma 2:1 horizontally into out (w samples) with
// libjpeg's h2v1 filter, or, when other is non-nil, with its h2v2 filter that first
// mixes the row 3:1 with the vertically nearer row other.
func fancyRow(out, in, other []uint8, w int) {
	n := (w + 1) / 2 // chroma samples covering the row
	if other == nil {
		if n == 1 {
			out[0] = in[0]
			if w > 1 {
				out[1] = in[0]
			}
			return
		}
		put := func(i int, v int) {
			if i < w {
				out[i] = uint8(v)
			}
		}
		put(0, int(in[0]))
		put(1, (int(in[0])*3+int(in[1])+2)>>2)
		for c := 1; c < n-1; c++ {
			v := int(in[c]) * 3
			put(2*c, (v+int(in[c-1])+1)>>2)
			put(2*c+1, (v+int(in[c+1])+2)>>2)
		}
		last := int(in[n-1])
		put(2*n-2, (last*3+int(in[n-2])+1)>>2)
		put(2*n-1, last)
		return
	}
	col := func(c int) int { return int(in[c])*3 + int(other[c]) }
	put := func(i int, v int) {
		if i < w {
			out[i] = uint8(v)
		}
	}
	if n == 1 {
		put(0, (col(0)*4+8)>>4)
		put(1, (col(0)*4+7)>>4)
		return
	}
	this, next := col(0), col(1)
	put(0, (this*4+8)>>4)
	put(1, (this*3+next+7)>>4)
	last := this
	this = next
	for c := 1; c < n-1; c++ {
		next = col(c + 1)
		put(2*c, (this*3+last+8)>>4)
		put(2*c+1, (this*3+next+7)>>4)
		last, this = this, next
	}
	put(2*n-2, (this*3+last+8)>>4)
	put(2*n-1, (this*4+7)>>4)
}

// jpegRGB is libjpeg's ycc_rgb_convert: 16-bit fixed-point coefficients, rounded.
func jpegRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	const (
		half = 1 << 15
		crR  = 91881  // FIX(1.40200)
		cbB  = 116130 // FIX(1.77200)
		crG  = 46802  // FIX(0.71414)
		cbG  = 22554  // FIX(0.34414)
	)
	yy := int32(y)
	b := int32(cb) - 128
	r := int32(cr) - 128
	return clamp8(yy + (crR*r+half)>>16), clamp8(yy + (-cbG*b-crG*r+half)>>16), clamp8(yy + (cbB*b+half)>>16)
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
