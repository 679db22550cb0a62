package ops

import (
	"math"
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
)

// Every backward kernel is checked against central differences of a scalar loss. The
// loss is L = Σ r·y for a fixed random r, so the gradient fed in as dy is r itself; L is
// accumulated in float64 to keep the differences above float32 rounding.

// dot is Σ r·y in float64.
func dot(r, y []float32) float64 {
	var s float64
	for i := range y {
		s += float64(r[i]) * float64(y[i])
	}
	return s
}

// numGrad returns the central differences of loss with respect to every element of v,
// perturbing v in place by ±h and restoring it.
func numGrad(v []float32, h float32, loss func() float64) []float32 {
	g := make([]float32, len(v))
	for i := range v {
		old := v[i]
		v[i] = old + h
		lp := loss()
		v[i] = old - h
		lm := loss()
		v[i] = old
		g[i] = float32((lp - lm) / (float64(old+h) - float64(old-h)))
	}
	return g
}

// assertGrad fails unless the analytic gradient got matches the numerical one within
// 1e-2 relative, plus 1e-3 of the gradient's largest entry for entries near zero.
func assertGrad(t *testing.T, what string, got, num []float32) {
	t.Helper()
	var scale float64
	for _, v := range num {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if msg := testutil.Compare(got, num, 1e-3*scale+1e-6, 1e-2); msg != "" {
		t.Errorf("%s: %s", what, msg)
	}
}

// awayFrom moves every value of v within gap of a kink k up by 2*gap, so that small
// perturbations never cross a kink of a piecewise-linear function.
func awayFrom(v []float32, gap float32, kinks ...float32) {
	for i := range v {
		for _, k := range kinks {
			if v[i] > k-gap && v[i] < k+gap {
				v[i] = k + 2*gap
			}
		}
	}
}
