package ops

import (
	"fmt"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Concat joins xs along axis (negative counts from the end) into y; all inputs agree on
// the other axes.
func Concat(y *tensor.Tensor, xs []*tensor.Tensor, axis int) {
	r := len(y.Shape)
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		panic(fmt.Sprintf("ops.Concat: axis out of range for %v", y.Shape))
	}
	outer := tensor.Numel(y.Shape[:axis])
	inner := tensor.Numel(y.Shape[axis+1:])
	total := 0
	for _, x := range xs {
		if len(x.Shape) != r {
			panic(fmt.Sprintf("ops.Concat: input %v into %v", x.Shape, y.Shape))
		}
		total += x.Shape[axis]
	}
	if total != y.Shape[axis] || outer*total*inner != len(y.Data) {
		panic(fmt.Sprintf("ops.Concat: inputs do not add up to %v", y.Shape))
	}
	rowY := total * inner
	parallelFor(outer, rowY, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			off := o * rowY
			for _, x := range xs {
				n := x.Shape[axis] * inner
				copy(y.Data[off:off+n], x.Data[o*n:(o+1)*n])
				off += n
			}
		}
	})
}

// Pad copies x into y surrounded by value (ONNX Pad, constant mode). pads holds
// [x1_begin, ..., xn_begin, x1_end, ..., xn_end]; negative pads crop.
func Pad(y, x *tensor.Tensor, pads []int, value float32) {
	r := len(x.Shape)
	if len(pads) != 2*r || len(y.Shape) != r {
		panic(fmt.Sprintf("ops.Pad: %d pads for input %v and output %v", len(pads), x.Shape, y.Shape))
	}
	for i := range r {
		if y.Shape[i] != x.Shape[i]+pads[i]+pads[r+i] {
			panic(fmt.Sprintf("ops.Pad: output %v, want input %v padded by %v", y.Shape, x.Shape, pads))
		}
	}
	if len(y.Data) == 0 {
		return
	}
	if r == 0 {
		y.Data[0] = x.Data[0]
		return
	}
	last := y.Shape[r-1]
	rows := len(y.Data) / last
	parallelFor(rows, last, func(lo, hi int) {
		for row := lo; row < hi; row++ {
			dst := y.Data[row*last : (row+1)*last]
			// Map the output row to an input row, or find that it lies in the padding.
			rem, src, inside := row, 0, true
			stride := 1
			for d := r - 2; d >= 0; d-- {
				i := rem%y.Shape[d] - pads[d]
				rem /= y.Shape[d]
				if i < 0 || i >= x.Shape[d] {
					inside = false
					break
				}
				src += i * stride * x.Shape[r-1]
				stride *= x.Shape[d]
			}
			if !inside {
				fill(dst, value)
				continue
			}
			b := pads[r-1]
			j0 := min(max(b, 0), last)               // first output column read from x
			j1 := max(min(b+x.Shape[r-1], last), j0) // end of them
			fill(dst[:j0], value)
			if j1 > j0 {
				copy(dst[j0:j1], x.Data[src+j0-b:])
			}
			fill(dst[j1:], value)
		}
	})
}
