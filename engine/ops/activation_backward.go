package ops

import (
	"fmt"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

// ActivationBackward computes dx = dy · act'(x). y may be the activation's output or
// its input: only its sign and whether it lies strictly inside the clip range are read,
// and these agree for Relu, Clip and LeakyRelu with a positive slope. At the kinks the
// derivative is taken as 0 (Relu, Clip) or Alpha (LeakyRelu). dx may alias dy.
func ActivationBackward(dx, dy, y *tensor.Tensor, a Activation) {
	sameLen("ActivationBackward", dx, dy)
	sameLen("ActivationBackward", dx, y)
	if a.Kind == ActLeakyRelu && a.Alpha <= 0 {
		panic(fmt.Sprintf("ops.ActivationBackward: LeakyRelu slope %g is not positive", a.Alpha))
	}
	parallelFor(len(dy.Data), 1, func(lo, hi int) {
		d, g, v := dx.Data[lo:hi], dy.Data[lo:hi], y.Data[lo:hi]
		switch a.Kind {
		case ActNone:
			copy(d, g)
		case ActRelu:
			for i, yv := range v {
				if yv > 0 {
					d[i] = g[i]
				} else {
					d[i] = 0
				}
			}
		case ActClip:
			for i, yv := range v {
				if yv > a.Min && yv < a.Max {
					d[i] = g[i]
				} else {
					d[i] = 0
				}
			}
		case ActLeakyRelu:
			for i, yv := range v {
				if yv > 0 {
					d[i] = g[i]
				} else {
					d[i] = a.Alpha * g[i]
				}
			}
		default:
			panic(fmt.Sprintf("ops: unknown activation kind %d", a.Kind))
		}
	})
}

// SigmoidBackward computes dx = dy · y(1-y) from the sigmoid's output y. dx may alias dy.
func SigmoidBackward(dx, dy, y *tensor.Tensor) {
	sameLen("SigmoidBackward", dx, dy)
	sameLen("SigmoidBackward", dx, y)
	parallelFor(len(dy.Data), 1, func(lo, hi int) {
		d, g, v := dx.Data[lo:hi], dy.Data[lo:hi], y.Data[lo:hi]
		for i, yv := range v {
			d[i] = g[i] * yv * (1 - yv)
		}
	})
}
