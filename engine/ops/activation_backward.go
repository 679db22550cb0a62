package ops

import (
	"fmt"
	"math"

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
		d, g = d[:len(v)], g[:len(v)]
		// Masks instead of branches: the pattern of linear pieces is data-dependent, so
		// branches mispredict often.
		switch a.Kind {
		case ActNone:
			copy(d, g)
		case ActRelu:
			for i, yv := range v {
				d[i] = math.Float32frombits(math.Float32bits(g[i]) & above(yv, 0))
			}
		case ActClip:
			lo, hi := a.Min, a.Max
			for i, yv := range v {
				d[i] = math.Float32frombits(math.Float32bits(g[i]) & above(yv, lo) & above(hi, yv))
			}
		case ActLeakyRelu:
			one, al := math.Float32bits(1), math.Float32bits(a.Alpha)
			for i, yv := range v {
				d[i] = g[i] * math.Float32frombits(al^(one^al)&above(yv, 0))
			}
		default:
			panic(fmt.Sprintf("ops: unknown activation kind %d", a.Kind))
		}
	})
}

// above is all ones when a > b and zero otherwise (also when either is NaN).
func above(a, b float32) uint32 {
	var m uint32
	if a > b {
		m = math.MaxUint32
	}
	return m
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
