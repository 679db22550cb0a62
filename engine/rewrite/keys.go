package rewrite

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Exemplar is one example of an edit, already composited.
type Exemplar struct {
	Original image.Image // x: the photo as it is
	Modified image.Image // x~: the photo with the concept region transformed (e.g. road -> snow)
	Mask     image.Image // the concept region, the photo's size; grey 255 inside, 0 outside
}

// keyData holds what a rewrite needs from the model for a set of exemplars.
type keyData struct {
	blk              *engine.Block
	n                int
	in, o, kh, kw    int
	h, w, oh, ow     int
	keys             []float32 // [n, I, h, w] inputs of the conv on the modified images
	resid            []float32 // [n, O, oh, ow] residual on the modified images, or nil
	vals             []float32 // [n, O, oh, ow] block outputs on the original images
	maskKey, maskOut []float32 // masks area-pooled to the key grid [n, h, w] and output grid [n, oh, ow]
}

// collect runs the model on the exemplars and gathers keys, values and masks for layer.
func collect(ctx context.Context, m *engine.Model, layer string, ex []Exemplar) (*keyData, error) {
	blk, err := m.Block(layer)
	if err != nil {
		return nil, err
	}
	if len(ex) == 0 {
		return nil, errors.New("no exemplars")
	}
	c := blk.Conv
	n := len(ex)
	x := tensor.New(n, 3, m.Pre.Size, m.Pre.Size)
	xm := tensor.New(n, 3, m.Pre.Size, m.Pre.Size)
	views := make([][]float32, n)
	for i, e := range ex {
		if e.Original == nil || e.Modified == nil || e.Mask == nil {
			return nil, fmt.Errorf("exemplar %d: missing image, modified image or mask", i+1)
		}
		sz := e.Original.Bounds().Size()
		if e.Modified.Bounds().Size() != sz || e.Mask.Bounds().Size() != sz {
			return nil, fmt.Errorf("exemplar %d: image %v, modified %v and mask %v must be the same size",
				i+1, sz, e.Modified.Bounds().Size(), e.Mask.Bounds().Size())
		}
		if !nonEmpty(e.Mask) {
			return nil, fmt.Errorf("exemplar %d: the mask is empty", i+1)
		}
		views[i] = maskView(m.Pre, e.Mask)
		if !nonEmptySlice(views[i]) {
			return nil, fmt.Errorf("exemplar %d: the mask lies outside the model's centre crop", i+1)
		}
		m.Pre.Into(x, i, e.Original)
		m.Pre.Into(xm, i, e.Modified)
	}
	_, kv, err := m.RunKeep(ctx, x, []string{blk.Output})
	if err != nil {
		return nil, fmt.Errorf("layer %q: values: %w", layer, err)
	}
	keep := []string{c.Input}
	if blk.Residual != "" {
		keep = append(keep, blk.Residual)
	}
	_, kk, err := m.RunKeep(ctx, xm, keep)
	if err != nil {
		return nil, fmt.Errorf("layer %q: keys: %w", layer, err)
	}
	v, k := kv[blk.Output], kk[c.Input]
	d := &keyData{
		blk: blk, n: n, in: c.W.Shape[1], o: c.W.Shape[0], kh: c.W.Shape[2], kw: c.W.Shape[3],
		h: k.Shape[2], w: k.Shape[3], oh: v.Shape[2], ow: v.Shape[3], keys: k.Data, vals: v.Data,
	}
	if blk.Residual != "" {
		d.resid = kk[blk.Residual].Data
	}
	for _, mv := range views {
		d.maskKey = append(d.maskKey, areaPool(mv, m.Pre.Size, d.h, d.w)...)
		d.maskOut = append(d.maskOut, areaPool(mv, m.Pre.Size, d.oh, d.ow)...)
	}
	return d, nil
}

func nonEmptySlice(v []float32) bool {
	for _, x := range v {
		if x > 0 {
			return true
		}
	}
	return false
}
