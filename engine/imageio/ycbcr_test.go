package imageio

import (
	"bytes"
	"image"
	"image/color"
	"testing"
)

func TestFancyUpsampling(t *testing.T) {
	out := make([]uint8, 4)
	fancyRow(out, []uint8{100, 200}, nil, 4)
	if want := []uint8{100, 125, 175, 200}; !bytes.Equal(out, want) {
		t.Errorf("h2v1: %v, want %v", out, want)
	}
	fancyRow(out, []uint8{100, 200}, []uint8{0, 0}, 4)
	if want := []uint8{75, 94, 131, 150}; !bytes.Equal(out, want) {
		t.Errorf("h2v2: %v, want %v", out, want)
	}
	odd := make([]uint8, 3)
	fancyRow(odd, []uint8{100, 200}, nil, 3)
	if want := []uint8{100, 125, 175}; !bytes.Equal(odd, want) {
		t.Errorf("h2v1, odd width: %v, want %v", odd, want)
	}
}

func TestJPEGColourConversion(t *testing.T) {
	// libjpeg's tables agree with Go's conversion to within one step.
	for y := 0; y < 256; y += 5 {
		for cb := 0; cb < 256; cb += 5 {
			for cr := 0; cr < 256; cr += 5 {
				r, g, b := jpegRGB(uint8(y), uint8(cb), uint8(cr))
				gr, gg, gb := color.YCbCrToRGB(uint8(y), uint8(cb), uint8(cr))
				for _, d := range []int{int(r) - int(gr), int(g) - int(gg), int(b) - int(gb)} {
					if d < -1 || d > 1 {
						t.Fatalf("YCbCr(%d,%d,%d): libjpeg (%d,%d,%d), Go (%d,%d,%d)", y, cb, cr, r, g, b, gr, gg, gb)
					}
				}
			}
		}
	}
}

// TestYCbCrRatios converts images with flat chroma in every subsampling ratio, odd
// sizes and offset bounds: upsampling flat chroma must not change it.
func TestYCbCrRatios(t *testing.T) {
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410}
	for _, ratio := range ratios {
		for _, r := range []image.Rectangle{image.Rect(0, 0, 1, 1), image.Rect(0, 0, 3, 5), image.Rect(1, 3, 18, 12)} {
			img := image.NewYCbCr(r, ratio)
			for i := range img.Y {
				img.Y[i] = uint8(i * 7)
			}
			for i := range img.Cb {
				img.Cb[i], img.Cr[i] = 90, 170
			}
			got := ToNRGBA(img.SubImage(r.Inset(0)))
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					cr, cg, cb := jpegRGB(img.Y[img.YOffset(x, y)], 90, 170)
					if g := got.NRGBAAt(x-r.Min.X, y-r.Min.Y); g != (color.NRGBA{cr, cg, cb, 255}) {
						t.Fatalf("%v %v at (%d,%d): %v, want (%d,%d,%d)", ratio, r, x, y, g, cr, cg, cb)
					}
				}
			}
		}
	}
}
