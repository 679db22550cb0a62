package rewrite

import (
	"context"
	"math"
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/ops"
)

func TestCholSolve(t *testing.T) {
	// [4 2; 2 3] x = [2; 1] has x = [0.5, 0].
	g := []float64{4, 0, 2, 3}
	x := []float64{2, 1}
	if !cholSolve(g, x, 2) || math.Abs(x[0]-0.5) > 1e-12 || math.Abs(x[1]) > 1e-12 {
		t.Errorf("x = %v, want [0.5 0]", x)
	}
	if cholSolve([]float64{-1}, []float64{1}, 1) {
		t.Error("a negative matrix was factorised")
	}
}

// With 3×3 kernels (9 parameters per channel) the structured solver reaches no higher a
// loss than the paper's loop, for each kind of tail; on the convex linear tail it also
// matches a long Adam run on Λ.
func TestStructured3x3(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		pre      ops.Activation
		residual bool
	}{
		{"linear", ops.Activation{}, false},
		{"relu", ops.Activation{Kind: ops.ActRelu}, false},
		{"relu6", ops.Activation{Kind: ops.ActClip, Min: 0, Max: 6}, false},
		{"linear+residual", ops.Activation{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testutil.Rand(21)
			kd := synthetic(r, 2, 8, 6, 3, 6, tc.pre, nil)
			if tc.residual {
				kd.resid = testutil.RandSlice(r, len(kd.vals))
			}
			for i := range kd.maskOut {
				if i%4 == 1 {
					kd.maskOut[i] = 0
				}
			}
			pr := newProblem(kd, unit(testutil.RandSlice(r, 8)), 1)
			best, err := pr.solve(ctx, SolveOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := pr.loss(best)
			if zero := pr.loss(make([]float64, len(best))); !(got < zero) {
				t.Fatalf("loss %g, not below the unedited %g", got, zero)
			}
			paper, err := pr.solve(ctx, SolveOptions{Solver: SolverPaper, Steps: 3000, LR: 1e-3})
			if err != nil {
				t.Fatal(err)
			}
			if p := pr.loss(paper); got > p {
				t.Errorf("structured loss %g > paper loop's %g", got, p)
			}
			if tc.pre.Kind != ops.ActNone {
				return
			}
			adam, err := pr.solve(ctx, SolveOptions{Solver: SolverAdam, Steps: 20000, LR: 1e-2})
			if err != nil {
				t.Fatal(err)
			}
			if a := pr.loss(adam); got > a*(1+1e-4) {
				t.Errorf("structured loss %g > Adam's %g on a convex problem", got, a)
			}
		})
	}
}
