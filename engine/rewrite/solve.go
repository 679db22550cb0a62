package rewrite

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/rulebrush/rulebrush/engine/internal/gemm"
	"github.com/rulebrush/rulebrush/engine/ops"
)

// Solver names.
const (
	SolverStructured = "structured" // exact line searches on Λ (default)
	SolverAdam       = "adam"       // Adam on Λ alone
	SolverPaper      = "paper"      // the paper's loop: Adam on the whole W, projected every 10 steps
)

// Loss names.
const (
	LossL1 = "l1" // the paper's masked L1 (default)
	LossL2 = "l2" // masked least squares; closed form when the tail is linear
)

// SolveOptions choose the objective and the optimiser.
type SolveOptions struct {
	Loss     string                // LossL1 (default) or LossL2
	Solver   string                // SolverStructured (default), SolverAdam or SolverPaper
	Steps    int                   // iterations of the Adam solvers; 0 means 20000
	LR       float64               // Adam learning rate; 0 means 1e-4 (paper) or 1e-3 (adam)
	Progress func(done, total int) // called now and then by the iterative solvers
}

// problem is the constrained rewrite of one layer restricted to the masked output
// positions (the others have zero weight in the loss). Per output channel o and position
// p the block output is f(base[o,p] + q[p]·λ_o, resid[o,p]); the target is vals[o,p].
type problem struct {
	tl        tail
	o, n, np  int       // output channels, parameters per channel (r*kh*kw), positions
	wt        []float64 // [np] loss weight sqrt(m)
	q         []float64 // [np, n] im2col of dᵀk~
	base      []float64 // [o, np] conv(k~, W) + b
	resid     []float64 // [o, np] (zeros without a residual)
	vals      []float64 // [o, np]
	norm      float64   // 1/(N * N*O*oh*ow): the paper's l1_loss(...)/N
	col       []float32 // [np, I*kh*kw] im2col of k~ (the paper solver's input)
	w0        []float32 // the layer's current weights [O, I*kh*kw]
	bias      []float32
	d         []float32 // [I, r]
	in, rank  int
	kh, kw    int
	positions []int // index j*oh*ow + y*ow + x of each position
}

// newProblem builds the problem for direction d [I, r].
func newProblem(kd *keyData, d []float32, rank int) *problem {
	c := kd.blk.Conv
	pr := &problem{
		tl: tail{kd.blk.Pre, kd.blk.Post}, o: kd.o, n: rank * kd.kh * kd.kw,
		norm: 1 / float64(kd.n*kd.n*kd.o*kd.oh*kd.ow),
		w0:   c.W.Data, bias: c.B, d: d, in: kd.in, rank: rank, kh: kd.kh, kw: kd.kw,
	}
	ohw := kd.oh * kd.ow
	for j := range kd.n {
		for p := range ohw {
			if mv := kd.maskOut[j*ohw+p]; mv > 0 {
				pr.positions = append(pr.positions, j*ohw+p)
				pr.wt = append(pr.wt, math.Sqrt(float64(mv)))
			}
		}
	}
	pr.np = len(pr.positions)
	kk := kd.in * kd.kh * kd.kw
	pr.col = im2colAt(kd.keys, kd.in, kd, pr.positions)
	pre := make([]float32, pr.np*pr.o)
	gemm.Sgemm(false, true, pr.np, pr.o, kk, 1, pr.col, kk, c.W.Data, kk, 0, pre, pr.o)
	// dᵀk~ as an r-channel map, then its im2col.
	hw := kd.h * kd.w
	dk := make([]float32, kd.n*rank*hw)
	for j := range kd.n {
		gemm.Sgemm(true, false, rank, hw, kd.in, 1, d, rank, kd.keys[j*kd.in*hw:], hw, 0, dk[j*rank*hw:], hw)
	}
	q := im2colAt(dk, rank, kd, pr.positions)
	pr.q = make([]float64, len(q))
	for i, v := range q {
		pr.q[i] = float64(v)
	}
	pr.base = make([]float64, pr.o*pr.np)
	pr.resid = make([]float64, pr.o*pr.np)
	pr.vals = make([]float64, pr.o*pr.np)
	for o := range pr.o {
		for p, pos := range pr.positions {
			j, s := pos/ohw, pos%ohw
			at := (j*pr.o+o)*ohw + s
			pr.base[o*pr.np+p] = float64(pre[p*pr.o+o]) + float64(c.B[o])
			pr.vals[o*pr.np+p] = float64(kd.vals[at])
			if kd.resid != nil {
				pr.resid[o*pr.np+p] = float64(kd.resid[at])
			}
		}
	}
	return pr
}

// im2colAt gathers, for each output position, the ch*kh*kw input values under the kernel.
func im2colAt(x []float32, ch int, kd *keyData, positions []int) []float32 {
	p := kd.blk.Conv.Params
	sh, sw := max(p.Strides[0], 1), max(p.Strides[1], 1)
	dh, dw := max(p.Dilations[0], 1), max(p.Dilations[1], 1)
	kk := ch * kd.kh * kd.kw
	hw, ohw := kd.h*kd.w, kd.oh*kd.ow
	col := make([]float32, len(positions)*kk)
	for r, pos := range positions {
		j, s := pos/ohw, pos%ohw
		oy, ox := s/kd.ow, s%kd.ow
		row := col[r*kk : (r+1)*kk]
		for i := range ch {
			for a := range kd.kh {
				iy := oy*sh - p.Pads[0] + a*dh
				if iy < 0 || iy >= kd.h {
					continue
				}
				for b := range kd.kw {
					ix := ox*sw - p.Pads[1] + b*dw
					if ix < 0 || ix >= kd.w {
						continue
					}
					row[(i*kd.kh+a)*kd.kw+b] = x[(j*ch+i)*hw+iy*kd.w+ix]
				}
			}
		}
	}
	return col
}

// channelLoss is the unnormalised L1 loss of channel o with parameters lam.
func (pr *problem) channelLoss(o int, lam []float64) float64 {
	var s float64
	for p := range pr.np {
		z := pr.base[o*pr.np+p]
		for c, l := range lam {
			z += pr.q[p*pr.n+c] * l
		}
		s += pr.wt[p] * math.Abs(pr.tl.f(z, pr.resid[o*pr.np+p])-pr.vals[o*pr.np+p])
	}
	return s
}

// loss is the paper's masked L1 loss for Λ [O, n].
func (pr *problem) loss(lam []float64) float64 {
	var s float64
	for o := range pr.o {
		s += pr.channelLoss(o, lam[o*pr.n:(o+1)*pr.n])
	}
	return s * pr.norm
}

// solve optimises Λ and returns it as [O, n].
func (pr *problem) solve(ctx context.Context, opt SolveOptions) ([]float64, error) {
	if pr.np == 0 {
		return nil, fmt.Errorf("no masked positions at the layer's output")
	}
	switch opt.Solver {
	case "", SolverStructured:
		if opt.Loss == LossL2 {
			return pr.solveL2()
		}
		return pr.solveL1(ctx)
	case SolverAdam:
		return pr.solveAdam(ctx, opt)
	case SolverPaper:
		return pr.solvePaper(ctx, opt)
	}
	return nil, fmt.Errorf("unknown solver %q (want %s, %s or %s)", opt.Solver, SolverStructured, SolverAdam, SolverPaper)
}

// solveL2 is the closed form of masked least squares when the tail is linear: one n×n
// system shared by all output channels.
func (pr *problem) solveL2() ([]float64, error) {
	if !pr.tl.linear() {
		return nil, fmt.Errorf("the L2 loss needs a linear tail; this block ends in an activation (use the L1 loss)")
	}
	n := pr.n
	g := mat.NewSymDense(n, nil)
	for p := range pr.np {
		m := pr.wt[p] * pr.wt[p]
		for a := range n {
			for b := a; b < n; b++ {
				g.SetSym(a, b, g.At(a, b)+m*pr.q[p*n+a]*pr.q[p*n+b])
			}
		}
	}
	var tr float64
	for a := range n {
		tr += g.At(a, a)
	}
	for a := range n {
		g.SetSym(a, a, g.At(a, a)+1e-9*tr/float64(n))
	}
	rhs := mat.NewDense(n, pr.o, nil)
	for o := range pr.o {
		for p := range pr.np {
			r := pr.wt[p] * pr.wt[p] * (pr.vals[o*pr.np+p] - pr.resid[o*pr.np+p] - pr.base[o*pr.np+p])
			for a := range n {
				rhs.Set(a, o, rhs.At(a, o)+r*pr.q[p*n+a])
			}
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(g) {
		return nil, fmt.Errorf("the L2 system is singular: the concept does not fire at the masked positions")
	}
	var x mat.Dense
	if err := ch.SolveTo(&x, rhs); err != nil {
		return nil, fmt.Errorf("L2 solve: %w", err)
	}
	lam := make([]float64, pr.o*n)
	for o := range pr.o {
		for a := range n {
			lam[o*n+a] = x.At(a, o)
		}
	}
	return lam, nil
}

// solveL1 minimises the masked L1 loss channel by channel (the loss separates over output
// channels). With several parameters per channel, IRLS steps (irlsChannel) come first;
// then exact line searches along each coordinate of λ_o, along each sweep's total step
// and along the gradient polish it, until a sweep gains nothing. With one parameter per
// channel (rank 1, 1×1 conv) a single search is the global optimum.
func (pr *problem) solveL1(ctx context.Context) ([]float64, error) {
	lam := make([]float64, pr.o*pr.n)
	ops.ParallelFor(pr.o, func(lo, hi int) {
		ls := newLineSearch(pr.np)
		var ir *irls
		if pr.n > 1 {
			ir = newIRLS(pr.n, pr.np)
		}
		for o := lo; o < hi; o++ {
			if ctx.Err() != nil {
				return
			}
			l := lam[o*pr.n : (o+1)*pr.n]
			if ir != nil {
				pr.irlsChannel(o, l, ir, ls)
			}
			pr.solveChannel(o, l, ls)
		}
	})
	return lam, ctx.Err()
}

const maxSweeps = 200

func (pr *problem) solveChannel(o int, lam []float64, ls *lineSearch) {
	np, n := pr.np, pr.n
	z := ls.z[:np]
	copy(z, pr.base[o*np:(o+1)*np])
	for p := range np {
		for c, l := range lam {
			z[p] += pr.q[p*n+c] * l
		}
	}
	r, v := pr.resid[o*np:(o+1)*np], pr.vals[o*np:(o+1)*np]
	s := ls.s[:np]
	prev := make([]float64, n)
	f := math.Inf(1)
	for range maxSweeps {
		copy(prev, lam)
		start := f
		for c := range n {
			for p := range np {
				s[p] = pr.q[p*n+c]
			}
			// The sweep's loss is measured after the pattern move below.
			t, _ := ls.search(pr.tl, z, s, r, v, pr.wt)
			if t != 0 {
				lam[c] += t
				for p := range np {
					z[p] += t * s[p]
				}
			}
		}
		if n == 1 {
			return
		}
		// Pattern move along the sweep's total step.
		for p := range np {
			s[p] = 0
		}
		for c := range n {
			if dc := lam[c] - prev[c]; dc != 0 {
				for p := range np {
					s[p] += pr.q[p*n+c] * dc
				}
			}
		}
		t, ft := ls.search(pr.tl, z, s, r, v, pr.wt)
		f = ft
		if t != 0 {
			for c := range n {
				lam[c] += t * (lam[c] - prev[c])
			}
			for p := range np {
				z[p] += t * s[p]
			}
		}
		// Steepest-descent move: escapes the corners where every axis is a kink.
		if cap(ls.g) < n {
			ls.g = make([]float64, n)
		}
		g := ls.g[:n]
		pr.channelGrad(o, lam, g)
		for p := range np {
			s[p] = 0
			for c := range n {
				s[p] -= pr.q[p*n+c] * g[c]
			}
		}
		if t, ft := ls.search(pr.tl, z, s, r, v, pr.wt); t != 0 {
			f = ft
			for c := range n {
				lam[c] -= t * g[c]
			}
			for p := range np {
				z[p] += t * s[p]
			}
		}
		if start-f <= 1e-9*start {
			return
		}
	}
}

// lineSearch finds the exact minimiser over t of Σ_p w_p |f(z_p + t s_p, r_p) - v_p|, a
// piecewise-linear function of t: sort the kinks, sweep the slope.
type lineSearch struct {
	z, s   []float64
	g      []float64
	events []event
	kinks  []float64
}

type event struct{ t, dslope float64 }

func newLineSearch(np int) *lineSearch {
	return &lineSearch{z: make([]float64, np), s: make([]float64, np)}
}

func (ls *lineSearch) search(tl tail, z, s, r, v, w []float64) (float64, float64) {
	ls.events = ls.events[:0]
	var slope0, f0 float64
	slopeAt := func(p int, t float64) float64 {
		zt := z[p] + t*s[p]
		e := tl.f(zt, r[p]) - v[p]
		if e == 0 {
			return 0
		}
		return w[p] * math.Copysign(1, e) * tl.deriv(zt, r[p]) * s[p]
	}
	for p := range z {
		f0 += w[p] * math.Abs(tl.f(z[p], r[p])-v[p])
		if s[p] == 0 {
			continue
		}
		ks := tl.kinks(ls.kinks[:0], r[p], v[p])
		ls.kinks = ks
		for i, k := range ks {
			ks[i] = (k - z[p]) / s[p]
		}
		slices.Sort(ks)
		ks = slices.Compact(ks)
		if len(ks) == 0 {
			slope0 += slopeAt(p, 0)
			continue
		}
		left := slopeAt(p, ks[0]-1)
		slope0 += left
		for i, t := range ks {
			var right float64
			if i+1 < len(ks) {
				right = slopeAt(p, (t+ks[i+1])/2)
			} else {
				right = slopeAt(p, t+1)
			}
			ls.events = append(ls.events, event{t, right - left})
			left = right
		}
	}
	if len(ls.events) == 0 {
		return 0, f0
	}
	ev := ls.events
	slices.SortFunc(ev, func(a, b event) int { return cmp.Compare(a.t, b.t) })
	// Value at the first kink, then walk right accumulating slope.
	t0 := ev[0].t
	var f float64
	for p := range z {
		f += w[p] * math.Abs(tl.f(z[p]+t0*s[p], r[p])-v[p])
	}
	bestT, bestF := 0.0, f0
	slope := slope0
	for i, e := range ev {
		if i > 0 {
			f += slope * (e.t - ev[i-1].t)
		}
		slope += e.dslope
		if f < bestF-1e-12*math.Abs(bestF) || (f <= bestF && math.Abs(e.t) < math.Abs(bestT)) {
			bestT, bestF = e.t, f
		}
	}
	if bestT == 0 {
		return 0, f0
	}
	// Confirm against the accumulated rounding of the sweep.
	var fb float64
	for p := range z {
		fb += w[p] * math.Abs(tl.f(z[p]+bestT*s[p], r[p])-v[p])
	}
	if fb >= f0 {
		return 0, f0
	}
	return bestT, fb
}
