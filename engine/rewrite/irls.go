package rewrite

import (
	"math"
	"slices"
)

// irls holds one worker's buffers for irlsChannel.
type irls struct {
	t, om []float64 // per position: target in z, distance to it (-1: left out)
	g     []float64 // [n, n] normal matrix, lower triangle used
	x     []float64 // [n] right-hand side, then the step
	cand  []float64
}

func newIRLS(n, np int) *irls {
	return &irls{t: make([]float64, np), om: make([]float64, np), g: make([]float64, n*n), x: make([]float64, n)}
}

// cholSolve solves g x = b in place (b in x) for a symmetric positive definite g [n, n]
// given by its lower triangle, which it overwrites with the Cholesky factor. It reports
// false when g is not positive definite.
func cholSolve(g, x []float64, n int) bool {
	for j := range n {
		d := g[j*n+j]
		for k := range j {
			d -= g[j*n+k] * g[j*n+k]
		}
		if d <= 0 {
			return false
		}
		d = math.Sqrt(d)
		g[j*n+j] = d
		for i := j + 1; i < n; i++ {
			s := g[i*n+j]
			for k := range j {
				s -= g[i*n+k] * g[j*n+k]
			}
			g[i*n+j] = s / d
		}
	}
	for i := range n {
		s := x[i]
		for k := range i {
			s -= g[i*n+k] * x[k]
		}
		x[i] = s / g[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		s := x[i]
		for k := i + 1; k < n; k++ {
			s -= g[k*n+i] * x[k]
		}
		x[i] = s / g[i*n+i]
	}
	return true
}

const (
	irlsIters  = 40 // per round
	irlsRounds = 2
)

// irlsChannel lowers the L1 loss of channel o from lam by iteratively reweighted least
// squares on the tail linearised on its active set, each step taken with an exact line
// search on the true loss, so the loss never rises. Per position the target is the z
// nearest to the current one at which the tail gives the value (for a ReLU and a
// positive value: the value itself); positions on a flat piece of the tail (an inactive
// ReLU) are left out until a step moves them off it. The n×n normal equations (n =
// r*kh*kw, ~9) are solved by Cholesky. Rounds restart the weights' epsilon schedule
// while they still gain.
func (pr *problem) irlsChannel(o int, lam []float64, ir *irls, ls *lineSearch) {
	f := pr.channelLoss(o, lam)
	for range irlsRounds {
		g := pr.irlsRound(o, lam, ir, ls)
		if f-g <= 1e-9*f {
			return
		}
		f = g
	}
}

// irlsRound is one round of irlsChannel; it returns the loss reached.
func (pr *problem) irlsRound(o int, lam []float64, ir *irls, ls *lineSearch) float64 {
	np, n := pr.np, pr.n
	z := ls.z[:np]
	base, r, v := pr.base[o*np:(o+1)*np], pr.resid[o*np:(o+1)*np], pr.vals[o*np:(o+1)*np]
	for p := range np {
		z[p] = base[p]
		for c := range n {
			z[p] += pr.q[p*n+c] * lam[c]
		}
	}
	s := ls.s[:np]
	var eps float64
	f := pr.channelLoss(o, lam)
	for it := range irlsIters {
		var sum float64
		active := 0
		for p := range np {
			t := pr.target(z[p], r[p], v[p], ir)
			ir.t[p] = t
			d := math.Abs(z[p] - t)
			if pr.tl.deriv(z[p], r[p]) == 0 {
				ir.om[p] = -1
				continue
			}
			ir.om[p] = d
			sum += pr.wt[p] * d
			active++
		}
		if active == 0 {
			return f
		}
		// Start eps near the typical residual and shrink it, so early steps are not
		// dominated by the few positions that happen to be matched.
		mean := sum / float64(active)
		if it == 0 {
			eps = 0.1 * mean
		} else {
			eps = max(eps*0.3, 1e-9*mean, 1e-30)
		}
		clear(ir.g)
		clear(ir.x)
		for p := range np {
			if ir.om[p] < 0 {
				continue
			}
			w := pr.wt[p] / max(ir.om[p], eps)
			qp := pr.q[p*n : (p+1)*n]
			e := ir.t[p] - z[p]
			for a := range n {
				wa := w * qp[a]
				ir.x[a] += wa * e
				row := ir.g[a*n : a*n+a+1]
				for b := range row {
					row[b] += wa * qp[b]
				}
			}
		}
		var tr float64
		for a := range n {
			tr += ir.g[a*n+a]
		}
		if tr == 0 {
			return f
		}
		for a := range n {
			ir.g[a*n+a] += 1e-10 * tr / float64(n)
		}
		if !cholSolve(ir.g, ir.x, n) || slices.ContainsFunc(ir.x, func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }) {
			return f
		}
		// Step direction in z; the line search finds the best multiple on the true loss.
		for p := range np {
			var sp float64
			for c, xc := range ir.x {
				sp += pr.q[p*n+c] * xc
			}
			s[p] = sp
		}
		// The full step usually lowers the loss; search along it only when it does not.
		t, ft := 1.0, 0.0
		for p := range np {
			ft += pr.wt[p] * math.Abs(pr.tl.f(z[p]+s[p], r[p])-v[p])
		}
		if !(ft < f) {
			t, ft = ls.search(pr.tl, z, s, r, v, pr.wt)
		}
		if t == 0 {
			if eps <= 1e-9*mean {
				return f
			}
			continue
		}
		for c, xc := range ir.x {
			lam[c] += t * xc
		}
		for p := range np {
			z[p] += t * s[p]
		}
		done := f-ft <= 1e-10*ft && eps <= 1e-6*mean
		f = ft
		if done {
			break
		}
	}
	return f
}

// target returns the pre-activation value nearest to z at which the tail maps r to v, or
// the one that comes closest when v cannot be reached.
func (pr *problem) target(z, r, v float64, ir *irls) float64 {
	if pr.tl.linear() {
		return v - r
	}
	ir.cand = pr.tl.kinks(ir.cand[:0], r, v)
	best, bestErr := z, math.Abs(pr.tl.f(z, r)-v)
	for _, c := range ir.cand {
		e := math.Abs(pr.tl.f(c, r) - v)
		if e < bestErr-1e-12*math.Abs(v) || (e <= bestErr+1e-12*math.Abs(v) && math.Abs(c-z) < math.Abs(best-z)) {
			best, bestErr = c, e
		}
	}
	return best
}
