package ops

import (
	"math"
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

func TestBatchNormBackwardFiniteDifferences(t *testing.T) {
	for i, shape := range [][]int{{2, 3, 4, 5}, {3, 7}, {1, 4, 2, 3, 2}} {
		c := shape[1]
		rng := testutil.Rand(uint64(500 + i))
		scale, bias, mean := testutil.RandSlice(rng, c), testutil.RandSlice(rng, c), testutil.RandSlice(rng, c)
		variance := testutil.RandSlice(rng, c)
		for j := range variance {
			variance[j] = float32(math.Abs(float64(variance[j])))
		}
		x := randTensor(uint64(510+i), shape...)
		r := randTensor(uint64(520+i), shape...)
		y := tensor.New(shape...)
		dx := tensor.New(shape...)
		BatchNormBackward(dx, r, scale, variance, 1e-3)
		assertGrad(t, "dx", dx.Data, numGrad(x.Data, 0.5, func() float64 {
			BatchNorm(y, x, scale, bias, mean, variance, 1e-3)
			return dot(r.Data, y.Data)
		}))
	}
}
