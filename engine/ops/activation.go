package ops

import (
	"fmt"
	"math"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

// ActKind selects an activation that can be fused into a Conv or Gemm epilogue.
type ActKind int

const (
	ActNone      ActKind = iota
	ActRelu              // max(x, 0)
	ActClip              // min(max(x, Min), Max), e.g. ReLU6
	ActLeakyRelu         // x if x >= 0 else Alpha*x
)

// Activation is an element-wise function applied to a kernel's output.
type Activation struct {
	Kind     ActKind
	Min, Max float32 // ActClip bounds
	Alpha    float32 // ActLeakyRelu slope
}

// applyBias sets s[i] = act(s[i] + bias): the conv and gemm epilogue on one channel row.
func (a Activation) applyBias(s []float32, bias float32) {
	if a.Kind == ActNone && bias == 0 {
		return
	}
	if lo, hi, ok := a.bounds(); ok {
		addClamp(s, bias, lo, hi)
		return
	}
	if a.Kind != ActLeakyRelu {
		panic(fmt.Sprintf("ops: unknown activation kind %d", a.Kind))
	}
	al := a.Alpha
	for i, v := range s {
		v += bias
		if v < 0 {
			v *= al
		}
		s[i] = v
	}
}

// apply maps dst[i] = act(src[i]); dst and src have equal length and may be the same.
func (a Activation) apply(dst, src []float32) {
	if &dst[0] != &src[0] {
		copy(dst, src)
	}
	a.applyBias(dst, 0)
}

// Apply computes y = act(x) as a standalone pass; y may alias x.
func Apply(y, x *tensor.Tensor, a Activation) {
	sameLen("Apply", y, x)
	if len(x.Data) == 0 || (a.Kind == ActNone && &y.Data[0] == &x.Data[0]) {
		return
	}
	parallelFor(len(x.Data), 1, func(lo, hi int) { a.apply(y.Data[lo:hi], x.Data[lo:hi]) })
}

// Relu computes y = max(x, 0); y may alias x.
func Relu(y, x *tensor.Tensor) { Apply(y, x, Activation{Kind: ActRelu}) }

// Clip computes y = min(max(x, min), max); y may alias x.
func Clip(y, x *tensor.Tensor, min, max float32) {
	Apply(y, x, Activation{Kind: ActClip, Min: min, Max: max})
}

// LeakyRelu computes y = x for x >= 0 and alpha*x otherwise; y may alias x.
func LeakyRelu(y, x *tensor.Tensor, alpha float32) {
	Apply(y, x, Activation{Kind: ActLeakyRelu, Alpha: alpha})
}

// Sigmoid computes y = 1/(1+exp(-x)); y may alias x.
func Sigmoid(y, x *tensor.Tensor) {
	sameLen("Sigmoid", y, x)
	parallelFor(len(x.Data), 20, func(lo, hi int) {
		ys, xs := y.Data[lo:hi], x.Data[lo:hi]
		for i, v := range xs {
			ys[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	})
}

func sameLen(op string, y, x *tensor.Tensor) {
	if len(y.Data) != len(x.Data) {
		panic(fmt.Sprintf("ops.%s: output %v does not match input %v", op, y.Shape, x.Shape))
	}
}
