package app

import (
	"image"
	"slices"
	"testing"

	"github.com/rulebrush/rulebrush/engine"
)

func TestPoolMask(t *testing.T) {
	// A 6x6 image the model sees whole, on a 4x4 grid: cells 1.5 px wide. The two left
	// columns are painted: the first cell column fully, the second a third (0.5 of 1.5 px).
	pre := engine.Preprocess{Size: 6, Resize: 6}
	m := image.NewAlpha(image.Rect(0, 0, 6, 6))
	for y := range 6 {
		m.Pix[m.PixOffset(0, y)], m.Pix[m.PixOffset(1, y)] = 255, 255
	}
	got := poolMask(pre, m, 4, 4)
	for gy := range 4 {
		row := got[gy*4 : gy*4+4]
		if want := []float32{1, float32(1.0 / 3), 0, 0}; !slices.EqualFunc(row, want, func(a, b float32) bool { return a-b < 1e-6 && b-a < 1e-6 }) {
			t.Fatalf("row %d = %v, want %v", gy, row, want)
		}
	}
	mk := pickMasked([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, []float32{0, 0.5, 0, 1})
	if !slices.Equal(mk.keys, []float32{2, 4, 6, 8}) || !slices.Equal(mk.weight, []float32{0.5, 1}) {
		t.Fatalf("pickMasked = %v, %v", mk.keys, mk.weight)
	}
}
