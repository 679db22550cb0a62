package ops

import (
	"fmt"
	"math"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

// BatchNormBackward computes the input gradient of the inference form of BatchNorm,
// dx = dy * scale/sqrt(variance+eps) per channel of axis 1; dx may alias dy.
func BatchNormBackward(dx, dy *tensor.Tensor, scale, variance []float32, eps float32) {
	sameLen("BatchNormBackward", dx, dy)
	if len(dy.Shape) < 2 {
		panic(fmt.Sprintf("ops.BatchNormBackward: dy %v has no channel axis", dy.Shape))
	}
	c := dy.Shape[1]
	if len(scale) != c || len(variance) != c {
		panic(fmt.Sprintf("ops.BatchNormBackward: parameters of length %d %d for %d channels", len(scale), len(variance), c))
	}
	planes := dy.Shape[0] * c
	if planes == 0 {
		return
	}
	inner := len(dy.Data) / planes
	parallelFor(planes, inner, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ch := i % c
			a := scale[ch] / float32(math.Sqrt(float64(variance[ch])+float64(eps)))
			d, g := dx.Data[i*inner:(i+1)*inner], dy.Data[i*inner:(i+1)*inner]
			for j, v := range g {
				d[j] = v * a
			}
		}
	})
}
