package rewrite

import (
	"image"
	"image/color"

	"github.com/disintegration/imaging"
)

// GrowMask widens a mask: blur it (Gaussian, sigma pixels) and keep every pixel above
// thr. Grown past the road's edge (sigma 20, thr 35 for the snow exemplars: holes for
// wheels and poles filled, edges moved about 22 pixels), the snow also meets the
// vehicle, and the edit generalises better to photos of vehicles in snow.
func GrowMask(mask image.Image, sigma float64, thr uint8) *image.Gray {
	b := mask.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			g.Pix[y*g.Stride+x] = color.GrayModel.Convert(mask.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
		}
	}
	bl := imaging.Blur(g, sigma)
	out := image.NewGray(g.Rect)
	for i := range out.Pix {
		if bl.Pix[4*i] > thr {
			out.Pix[i] = 255
		}
	}
	return out
}
