package ops

import (
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

func TestPoolBackwardFiniteDifferences(t *testing.T) {
	for i, tc := range poolCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seed := uint64(200 + 10*i)
			oh, ow := tc.p.OutSize(tc.h, tc.w)
			r := randTensor(seed, tc.n, tc.c, oh, ow)
			y := tensor.New(tc.n, tc.c, oh, ow)

			// Distinct values 0.01 apart: a step of 1e-3 never changes a window's winner.
			x := tensor.New(tc.n, tc.c, tc.h, tc.w)
			for j, k := range testutil.Rand(seed + 1).Perm(len(x.Data)) {
				x.Data[j] = 0.01 * float32(k-len(x.Data)/2)
			}
			dx := tensor.New(x.Shape...)
			fill(dx.Data, 7)
			MaxPoolBackward(dx, r, x, tc.p)
			assertGrad(t, "MaxPool dx", dx.Data, numGrad(x.Data, 1e-3, func() float64 {
				MaxPool(y, x, tc.p)
				return dot(r.Data, y.Data)
			}))

			x = randTensor(seed+2, tc.n, tc.c, tc.h, tc.w)
			fill(dx.Data, 7)
			AveragePoolBackward(dx, r, tc.p)
			assertGrad(t, "AveragePool dx", dx.Data, numGrad(x.Data, 0.5, func() float64 {
				AveragePool(y, x, tc.p)
				return dot(r.Data, y.Data)
			}))
		})
	}
}

func TestGlobalAveragePoolBackwardFiniteDifferences(t *testing.T) {
	for i, shape := range [][]int{{2, 3, 4, 5}, {1, 6, 1, 1}, {3, 4, 5}} {
		x := randTensor(uint64(300+i), shape...)
		r := randTensor(uint64(310+i), shape[0], shape[1])
		y := tensor.New(shape[0], shape[1])
		dx := tensor.New(shape...)
		GlobalAveragePoolBackward(dx, r)
		assertGrad(t, "dx", dx.Data, numGrad(x.Data, 0.5, func() float64 {
			GlobalAveragePool(y, x)
			return dot(r.Data, y.Data)
		}))
	}
}
