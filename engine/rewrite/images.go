package rewrite

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/disintegration/imaging"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/imageio"
)

// Composite pastes texture into the mask region of img: img*(1-M) + T*M, with the mask
// read as 0 or 1 (grey >= 128) and the texture scaled (bicubic) to cover the image, then
// centre-cropped to it.
func Composite(img, mask, texture image.Image) (*image.NRGBA, error) {
	b := img.Bounds()
	if mask.Bounds().Size() != b.Size() {
		return nil, fmt.Errorf("mask is %v, image is %v: they must be the same size", mask.Bounds().Size(), b.Size())
	}
	tb := texture.Bounds()
	if tb.Empty() {
		return nil, fmt.Errorf("texture is empty")
	}
	f := max(float64(b.Dx())/float64(tb.Dx()), float64(b.Dy())/float64(tb.Dy()))
	tw := max(b.Dx(), int(math.Round(float64(tb.Dx())*f)))
	th := max(b.Dy(), int(math.Round(float64(tb.Dy())*f)))
	t := imaging.Resize(texture, tw, th, imaging.CatmullRom)
	x0, y0 := (tw-b.Dx())/2, (th-b.Dy())/2
	out := imageio.ToNRGBA(img)
	mb := mask.Bounds()
	for y := range b.Dy() {
		for x := range b.Dx() {
			g := color.GrayModel.Convert(mask.At(mb.Min.X+x, mb.Min.Y+y)).(color.Gray)
			if g.Y < 128 {
				continue
			}
			i := out.PixOffset(x, y)
			j := t.PixOffset(x0+x, y0+y)
			copy(out.Pix[i:i+3], t.Pix[j:j+3])
			out.Pix[i+3] = 255
		}
	}
	return out, nil
}

// maskView returns the mask as the model sees it (resized and centre-cropped like the
// image), as Size*Size values in [0, 1].
func maskView(pre engine.Preprocess, mask image.Image) []float32 {
	b := mask.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			g.SetGray(x, y, color.GrayModel.Convert(mask.At(b.Min.X+x, b.Min.Y+y)).(color.Gray))
		}
	}
	c := pre.Crop(g)
	v := make([]float32, pre.Size*pre.Size)
	for y := range pre.Size {
		for x := range pre.Size {
			v[y*pre.Size+x] = float32(c.Pix[c.PixOffset(x, y)]) / 255
		}
	}
	return v
}

// areaPool averages an s×s map down to gh×gw cells (cell edges at fractional pixels).
func areaPool(v []float32, s, gh, gw int) []float32 {
	out := make([]float32, gh*gw)
	for i := range gh {
		y0, y1 := float64(i*s)/float64(gh), float64((i+1)*s)/float64(gh)
		for j := range gw {
			x0, x1 := float64(j*s)/float64(gw), float64((j+1)*s)/float64(gw)
			var sum, area float64
			for y := int(y0); y < int(math.Ceil(y1)); y++ {
				fy := math.Min(y1, float64(y+1)) - math.Max(y0, float64(y))
				for x := int(x0); x < int(math.Ceil(x1)); x++ {
					fx := math.Min(x1, float64(x+1)) - math.Max(x0, float64(x))
					sum += fy * fx * float64(v[y*s+x])
					area += fy * fx
				}
			}
			out[i*gw+j] = float32(sum / area)
		}
	}
	return out
}

func nonEmpty(mask image.Image) bool {
	b := mask.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.GrayModel.Convert(mask.At(x, y)).(color.Gray).Y > 0 {
				return true
			}
		}
	}
	return false
}
