package ops

import (
	"fmt"
	"math"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Softmax computes y = exp(x - max) / sum(exp(x - max)) along one axis (ONNX opset 13;
// a negative axis counts from the end). Subtracting the maximum keeps exp from
// overflowing. y may alias x.
func Softmax(y, x *tensor.Tensor, axis int) {
	sameLen("Softmax", y, x)
	r := len(x.Shape)
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		panic(fmt.Sprintf("ops.Softmax: axis out of range for %v", x.Shape))
	}
	d := x.Shape[axis]
	inner := tensor.Numel(x.Shape[axis+1:])
	outer := tensor.Numel(x.Shape[:axis])
	if len(x.Data) == 0 {
		return
	}
	parallelFor(outer*inner, 20*d, func(lo, hi int) {
		for l := lo; l < hi; l++ {
			o, in := l/inner, l%inner
			base := o*d*inner + in
			m := float32(math.Inf(-1))
			for i := range d {
				m = max(m, x.Data[base+i*inner])
			}
			var sum float64
			for i := range d {
				e := math.Exp(float64(x.Data[base+i*inner] - m))
				y.Data[base+i*inner] = float32(e)
				sum += e
			}
			s := float32(1 / sum)
			for i := range d {
				y.Data[base+i*inner] *= s
			}
		}
	})
}
