package rewrite

import (
	"context"
	"fmt"
	"image"
	"math"
	"slices"

	"github.com/rulebrush/rulebrush/engine"
)

// ConceptDirection returns the concept direction d [I, r] of layer from exemplars.
func ConceptDirection(ctx context.Context, m *engine.Model, layer string, st *Stats, ex []Exemplar, rank int, eigFloor float64) ([]float32, error) {
	kd, err := collect(ctx, m, layer, ex)
	if err != nil {
		return nil, fmt.Errorf("layer %q: %w", layer, err)
	}
	if st == nil || st.I != kd.in {
		return nil, fmt.Errorf("layer %q: key statistics are missing or for another layer", layer)
	}
	if eigFloor <= 0 {
		eigFloor = 1e-6
	}
	z, _, err := st.Whitening(eigFloor)
	if err != nil {
		return nil, err
	}
	return Direction(kd.keys, kd.maskKey, kd.n, kd.in, kd.h*kd.w, z, max(rank, 1))
}

// Search finds where the concept d fires in imgs: the heatmap dᵀk at layer, thresholded
// at the given quantile of all heatmap values over all images, mapped back to each
// image's own pixels (0 outside the model's centre crop). It returns one mask per image
// and the threshold.
func Search(ctx context.Context, m *engine.Model, layer string, d []float32, rank int, imgs []image.Image, quantile float64) ([]*image.Gray, float32, error) {
	c, err := m.Conv(layer)
	if err != nil {
		return nil, 0, err
	}
	if quantile <= 0 || quantile >= 1 {
		return nil, 0, fmt.Errorf("quantile %g: want a value in (0, 1)", quantile)
	}
	in := c.W.Shape[1]
	if len(d) != in*rank {
		return nil, 0, fmt.Errorf("layer %q: direction has %d values, want %d", layer, len(d), in*rank)
	}
	var heats [][]float32
	var h, w int
	for _, img := range imgs {
		_, kept, err := m.RunKeep(ctx, m.Pre.Tensor(img), []string{c.Input})
		if err != nil {
			return nil, 0, fmt.Errorf("layer %q: %w", layer, err)
		}
		k := kept[c.Input]
		h, w = k.Shape[2], k.Shape[3]
		heats = append(heats, Heatmap(k.Data, in, h*w, d, rank))
	}
	var all []float32
	for _, hm := range heats {
		all = append(all, hm...)
	}
	if len(all) == 0 {
		return nil, 0, fmt.Errorf("no images to search")
	}
	slices.Sort(all)
	thr := all[min(len(all)-1, int(math.Floor(quantile*float64(len(all)))))]
	masks := make([]*image.Gray, len(imgs))
	for i, img := range imgs {
		masks[i] = gridToImage(m.Pre, img.Bounds(), heats[i], h, w, thr)
	}
	return masks, thr, nil
}

// gridToImage maps cells of an h×w grid over the model's centre crop back onto the
// original image: a pixel is 255 where its cell's value exceeds thr.
func gridToImage(pre engine.Preprocess, b image.Rectangle, grid []float32, h, w int, thr float32) *image.Gray {
	iw, ih := b.Dx(), b.Dy()
	nw, nh := pre.Resize, pre.Resize
	if iw < ih {
		nh = ih * pre.Resize / iw
	} else {
		nw = iw * pre.Resize / ih
	}
	x0 := math.RoundToEven(float64(nw-pre.Size) / 2)
	y0 := math.RoundToEven(float64(nh-pre.Size) / 2)
	out := image.NewGray(image.Rect(0, 0, iw, ih))
	for y := range ih {
		cy := (float64(y)+0.5)*float64(nh)/float64(ih) - y0
		if cy < 0 || cy >= float64(pre.Size) {
			continue
		}
		gy := int(cy * float64(h) / float64(pre.Size))
		for x := range iw {
			cx := (float64(x)+0.5)*float64(nw)/float64(iw) - x0
			if cx < 0 || cx >= float64(pre.Size) {
				continue
			}
			gx := int(cx * float64(w) / float64(pre.Size))
			if grid[gy*w+gx] > thr {
				out.Pix[y*out.Stride+x] = 255
			}
		}
	}
	return out
}
