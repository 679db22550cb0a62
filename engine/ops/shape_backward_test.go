package ops

import (
	"fmt"
	"testing"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

func TestConcatBackwardFiniteDifferences(t *testing.T) {
	for _, axis := range []int{0, 1, 2, -1} {
		t.Run(fmt.Sprintf("axis%d", axis), func(t *testing.T) {
			base := []int{2, 3, 4}
			ax := (axis + 3) % 3
			var xs []*tensor.Tensor
			var sizes []int
			for i, sz := range []int{1, 3, 2} {
				s := append([]int{}, base...)
				s[ax] = sz
				xs = append(xs, randTensor(uint64(1000+10*ax+i), s...))
				sizes = append(sizes, sz)
			}
			ys := append([]int{}, base...)
			ys[ax] = 6
			r, y := randTensor(uint64(1050+ax), ys...), tensor.New(ys...)
			loss := func() float64 {
				Concat(y, xs, axis)
				return dot(r.Data, y.Data)
			}
			dxs := make([]*tensor.Tensor, len(xs))
			for i, x := range xs {
				dxs[i] = tensor.New(x.Shape...)
			}
			ConcatBackward(dxs, sizes, r, axis)
			for i, x := range xs {
				assertGrad(t, fmt.Sprintf("dx%d", i), dxs[i].Data, numGrad(x.Data, 0.5, loss))
			}
			// A skipped input leaves the others in place.
			part := []*tensor.Tensor{nil, tensor.New(xs[1].Shape...), nil}
			ConcatBackward(part, sizes, r, axis)
			assertGrad(t, "dx1 alone", part[1].Data, dxs[1].Data)
		})
	}
}

func TestPadBackwardFiniteDifferences(t *testing.T) {
	for i, tc := range []struct {
		shape []int
		pads  []int
	}{
		{[]int{1, 2, 4, 5}, []int{0, 0, 1, 2, 0, 0, 1, 0}},
		{[]int{2, 3, 4}, []int{1, 0, 0, 0, 2, 1}},
		{[]int{2, 5, 6}, []int{0, -1, 1, 0, 2, -2}}, // negative pads crop
	} {
		x := randTensor(uint64(1100+i), tc.shape...)
		ys := make([]int, len(tc.shape))
		for d := range ys {
			ys[d] = tc.shape[d] + tc.pads[d] + tc.pads[d+len(ys)]
		}
		r, y := randTensor(uint64(1110+i), ys...), tensor.New(ys...)
		dx := tensor.New(tc.shape...)
		fill(dx.Data, 7)
		PadBackward(dx, r, tc.pads)
		assertGrad(t, fmt.Sprintf("%v", tc.pads), dx.Data, numGrad(x.Data, 0.5, func() float64 {
			Pad(y, x, tc.pads, 0.25)
			return dot(r.Data, y.Data)
		}))
	}
}
