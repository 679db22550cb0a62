package rewrite

import (
	"math"

	"github.com/rulebrush/rulebrush/engine/ops"
)

// act applies an element-wise activation to one value.
func act(a ops.Activation, z float64) float64 {
	switch a.Kind {
	case ops.ActRelu:
		return max(z, 0)
	case ops.ActClip:
		return min(max(z, float64(a.Min)), float64(a.Max))
	case ops.ActLeakyRelu:
		if z < 0 {
			return float64(a.Alpha) * z
		}
	}
	return z
}

// actDeriv is the activation's slope at z (right-continuous at kinks is not needed:
// callers evaluate it strictly inside linear pieces).
func actDeriv(a ops.Activation, z float64) float64 {
	switch a.Kind {
	case ops.ActRelu:
		if z > 0 {
			return 1
		}
		return 0
	case ops.ActClip:
		if z > float64(a.Min) && z < float64(a.Max) {
			return 1
		}
		return 0
	case ops.ActLeakyRelu:
		if z < 0 {
			return float64(a.Alpha)
		}
	}
	return 1
}

// actKinks lists where the activation's slope changes.
func actKinks(a ops.Activation) []float64 {
	switch a.Kind {
	case ops.ActRelu, ops.ActLeakyRelu:
		return []float64{0}
	case ops.ActClip:
		var k []float64
		for _, v := range []float32{a.Min, a.Max} {
			if !math.IsInf(float64(v), 0) {
				k = append(k, float64(v))
			}
		}
		return k
	}
	return nil
}

// actInv returns z with act(z) = y where the activation is strictly increasing.
func actInv(a ops.Activation, y float64) (float64, bool) {
	switch a.Kind {
	case ops.ActRelu:
		return y, y > 0
	case ops.ActClip:
		return y, y > float64(a.Min) && y < float64(a.Max)
	case ops.ActLeakyRelu:
		if y >= 0 {
			return y, true
		}
		if a.Alpha > 0 {
			return y / float64(a.Alpha), true
		}
		return 0, false
	}
	return y, true
}

// tail is a block's element-wise tail: out = post(pre(z) + r).
type tail struct{ pre, post ops.Activation }

func (t tail) linear() bool { return t.pre.Kind == ops.ActNone && t.post.Kind == ops.ActNone }

func (t tail) f(z, r float64) float64 { return act(t.post, act(t.pre, z)+r) }

func (t tail) deriv(z, r float64) float64 {
	return actDeriv(t.post, act(t.pre, z)+r) * actDeriv(t.pre, z)
}

// kinks appends the values of z where |f(z, r) - v| changes slope.
func (t tail) kinks(dst []float64, r, v float64) []float64 {
	dst = append(dst, actKinks(t.pre)...)
	for _, u := range actKinks(t.post) {
		if z, ok := actInv(t.pre, u-r); ok {
			dst = append(dst, z)
		}
	}
	if y, ok := actInv(t.post, v); ok {
		if z, ok := actInv(t.pre, y-r); ok {
			dst = append(dst, z)
		}
	}
	return dst
}
