package ops

import (
	"fmt"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

// ConcatBackward slices dy along axis back into the inputs' gradients dxs, which are
// allocated with the inputs' shapes; a nil entry is skipped, but then its size along
// axis is taken from sizes.
func ConcatBackward(dxs []*tensor.Tensor, sizes []int, dy *tensor.Tensor, axis int) {
	r := len(dy.Shape)
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r || len(sizes) != len(dxs) {
		panic(fmt.Sprintf("ops.ConcatBackward: axis %d for %v, %d sizes for %d inputs", axis, dy.Shape, len(sizes), len(dxs)))
	}
	outer := tensor.Numel(dy.Shape[:axis])
	inner := tensor.Numel(dy.Shape[axis+1:])
	total := 0
	for i, dx := range dxs {
		if dx != nil && (len(dx.Shape) != r || dx.Shape[axis] != sizes[i]) {
			panic(fmt.Sprintf("ops.ConcatBackward: dx %v with size %d on axis %d", dx.Shape, sizes[i], axis))
		}
		total += sizes[i]
	}
	if total != dy.Shape[axis] {
		panic(fmt.Sprintf("ops.ConcatBackward: sizes %v do not add up to %v", sizes, dy.Shape))
	}
	rowY := total * inner
	parallelFor(outer, rowY, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			off := o * rowY
			for i, dx := range dxs {
				n := sizes[i] * inner
				if dx != nil {
					copy(dx.Data[o*n:(o+1)*n], dy.Data[off:off+n])
				}
				off += n
			}
		}
	})
}

// PadBackward crops dy back to the input's shape: the gradient of Pad in constant mode.
// pads is Pad's; where Pad cropped (negative pads) dx is 0.
func PadBackward(dx, dy *tensor.Tensor, pads []int) {
	neg := make([]int, len(pads))
	for i, p := range pads {
		neg[i] = -p
	}
	Pad(dx, dy, neg, 0)
}
