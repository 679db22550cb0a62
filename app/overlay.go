package app

import (
	"image"
	"image/color"
)

// MaskTint is the colour the concept mask is shown in over the photo.
var MaskTint = color.NRGBA{R: 255, G: 64, B: 160, A: 90}

// TintMask writes the overlay that shows mask m in colour c into dst (same bounds as m),
// for the pixels of r only: a painting tool calls it with the rectangle it touched, so
// redrawing costs the stroke, not the image.
func TintMask(dst *image.NRGBA, m *image.Alpha, r image.Rectangle, c color.NRGBA) {
	r = r.Intersect(m.Rect).Intersect(dst.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		src := m.Pix[m.PixOffset(r.Min.X, y):][:r.Dx()]
		out := dst.Pix[dst.PixOffset(r.Min.X, y):][:4*r.Dx()]
		for i, a := range src {
			o := out[4*i : 4*i+4 : 4*i+4]
			o[0], o[1], o[2] = c.R, c.G, c.B
			o[3] = uint8((uint32(a)*uint32(c.A) + 127) / 255)
		}
	}
}

// HeatImage renders a heatmap grid (w x h, row-major) as a translucent colour image of
// the same size: the positive part in warm colours scaled to the maximum, the rest clear.
func HeatImage(heat []float32, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	var mx float32
	for _, v := range heat {
		mx = max(mx, v)
	}
	if mx <= 0 {
		return img
	}
	for i, v := range heat {
		t := max(v/mx, 0)
		o := img.Pix[4*i : 4*i+4 : 4*i+4]
		o[0] = 255
		o[1] = uint8(40 + 200*t)
		o[2] = uint8(40 * (1 - t))
		o[3] = uint8(200 * t)
	}
	return img
}
