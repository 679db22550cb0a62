package ops

import (
	"fmt"
	"math"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

// BatchNorm computes the inference form y = scale*(x-mean)/sqrt(variance+eps) + bias
// along channel axis 1 of x [N,C,...] (rank >= 2); y may alias x. The executor
// normally folds BatchNorm into the preceding Conv instead.
func BatchNorm(y, x *tensor.Tensor, scale, bias, mean, variance []float32, eps float32) {
	sameLen("BatchNorm", y, x)
	if len(x.Shape) < 2 {
		panic(fmt.Sprintf("ops.BatchNorm: input %v has no channel axis", x.Shape))
	}
	c := x.Shape[1]
	if len(scale) != c || len(bias) != c || len(mean) != c || len(variance) != c {
		panic(fmt.Sprintf("ops.BatchNorm: parameters of length %d %d %d %d for %d channels",
			len(scale), len(bias), len(mean), len(variance), c))
	}
	planes := x.Shape[0] * c
	if planes == 0 {
		return
	}
	inner := len(x.Data) / planes
	parallelFor(planes, inner, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ch := i % c
			a := scale[ch] / float32(math.Sqrt(float64(variance[ch])+float64(eps)))
			sh := bias[ch] - mean[ch]*a
			ys, xs := y.Data[i*inner:(i+1)*inner], x.Data[i*inner:(i+1)*inner]
			for j, v := range xs {
				ys[j] = v*a + sh
			}
		}
	})
}
