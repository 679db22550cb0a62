package ops

import (
	"fmt"
	"testing"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

func TestActivationBackwardFiniteDifferences(t *testing.T) {
	for i, a := range []Activation{
		{Kind: ActNone},
		{Kind: ActRelu},
		{Kind: ActClip, Min: 0, Max: 6},
		{Kind: ActClip, Min: -0.5, Max: 0.25},
		{Kind: ActLeakyRelu, Alpha: 0.1},
	} {
		t.Run(fmt.Sprintf("%+v", a), func(t *testing.T) {
			x := randTensor(uint64(400+i), 3, 50)
			for j := range x.Data {
				x.Data[j] *= 8
			}
			awayFrom(x.Data, 0.01, 0, a.Min, a.Max)
			r := randTensor(uint64(410+i), x.Shape...)
			y := tensor.New(x.Shape...)
			Apply(y, x, a)
			num := numGrad(x.Data, 1e-3, func() float64 {
				Apply(y, x, a)
				return dot(r.Data, y.Data)
			})
			// The output and the input both locate the linear piece.
			for _, from := range []*tensor.Tensor{y, x} {
				dx := tensor.New(x.Shape...)
				ActivationBackward(dx, r, from, a)
				assertGrad(t, "dx", dx.Data, num)
			}
			d := r.Clone()
			ActivationBackward(d, d, y, a) // in place
			assertGrad(t, "dx in place", d.Data, num)
		})
	}
}

func TestSigmoidBackwardFiniteDifferences(t *testing.T) {
	x := randTensor(420, 2, 40)
	for j := range x.Data {
		x.Data[j] *= 6
	}
	r := randTensor(421, x.Shape...)
	y := tensor.New(x.Shape...)
	Sigmoid(y, x)
	dx := tensor.New(x.Shape...)
	SigmoidBackward(dx, r, y)
	assertGrad(t, "dx", dx.Data, numGrad(x.Data, 1e-3, func() float64 {
		Sigmoid(y, x)
		return dot(r.Data, y.Data)
	}))
}
