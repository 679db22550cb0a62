package rewrite

import (
	"context"
	"math"

	"github.com/rulebrush/rulebrush/engine/internal/gemm"
	"github.com/rulebrush/rulebrush/engine/ops"
)

// adam is the Adam optimiser state for a parameter vector.
type adam struct {
	lr, b1, b2, eps float64
	m, v            []float64
	t               int
}

func newAdam(n int, lr float64) *adam {
	return &adam{lr: lr, b1: 0.9, b2: 0.999, eps: 1e-8, m: make([]float64, n), v: make([]float64, n)}
}

// step updates x in place from gradient g over the index range [lo, hi); call tick once
// per iteration first.
func (a *adam) step(x, g []float64, lo, hi int) {
	c1 := 1 - math.Pow(a.b1, float64(a.t))
	c2 := 1 - math.Pow(a.b2, float64(a.t))
	for i := lo; i < hi; i++ {
		a.m[i] = a.b1*a.m[i] + (1-a.b1)*g[i]
		a.v[i] = a.b2*a.v[i] + (1-a.b2)*g[i]*g[i]
		x[i] -= a.lr * (a.m[i] / c1) / (math.Sqrt(a.v[i]/c2) + a.eps)
	}
}

func (a *adam) tick() { a.t++ }

func stepsAndLR(opt SolveOptions, lr float64) (int, float64) {
	steps := opt.Steps
	if steps <= 0 {
		steps = 20000
	}
	if opt.LR > 0 {
		lr = opt.LR
	}
	return steps, lr
}

// lossGrad returns dLoss/dz for one position.
func (pr *problem) lossGrad(z, r, v, w float64) float64 {
	e := pr.tl.f(z, r) - v
	if e == 0 {
		return 0
	}
	return w * math.Copysign(1, e) * pr.tl.deriv(z, r) * pr.norm
}

// solveAdam runs full-batch Adam on Λ alone, starting from zero.
func (pr *problem) solveAdam(ctx context.Context, opt SolveOptions) ([]float64, error) {
	steps, lr := stepsAndLR(opt, 1e-3)
	return pr.solveAdamFrom(ctx, make([]float64, pr.o*pr.n), steps, lr, opt.Progress)
}

func (pr *problem) solveAdamFrom(ctx context.Context, lam []float64, steps int, lr float64, progress func(int, int)) ([]float64, error) {
	n := pr.n
	grad := make([]float64, len(lam))
	opt1 := newAdam(len(lam), lr)
	for it := range steps {
		if it%100 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if progress != nil {
				progress(it, steps)
			}
		}
		opt1.tick()
		ops.ParallelFor(pr.o, func(lo, hi int) {
			pr.gradLambda(lam, grad, lo, hi)
			opt1.step(lam, grad, lo*n, hi*n)
		})
	}
	return lam, nil
}

// gradLambda stores dLoss/dΛ for output channels [lo, hi) in grad.
func (pr *problem) gradLambda(lam, grad []float64, lo, hi int) {
	n := pr.n
	for o := lo; o < hi; o++ {
		pr.channelGrad(o, lam[o*n:(o+1)*n], grad[o*n:(o+1)*n])
	}
}

// channelGrad stores dLoss/dλ_o in g for the parameters l of channel o.
func (pr *problem) channelGrad(o int, l, g []float64) {
	n := pr.n
	{
		clear(g)
		for p := range pr.np {
			z := pr.base[o*pr.np+p]
			for c := range n {
				z += pr.q[p*n+c] * l[c]
			}
			gz := pr.lossGrad(z, pr.resid[o*pr.np+p], pr.vals[o*pr.np+p], pr.wt[p])
			if gz == 0 {
				continue
			}
			for c := range n {
				g[c] += gz * pr.q[p*n+c]
			}
		}
	}
}

// solvePaper is the paper's loop: Adam on the whole weight W, with W - W0 projected back
// onto the allowed updates Λ ⊗ d every 10 steps. It returns the Λ of the final projection.
func (pr *problem) solvePaper(ctx context.Context, opt SolveOptions) ([]float64, error) {
	steps, lr := stepsAndLR(opt, 1e-4)
	kk := len(pr.w0) / pr.o
	w32 := make([]float32, len(pr.w0))
	copy(w32, pr.w0)
	w := make([]float64, len(w32))
	for i, v := range w32 {
		w[i] = float64(v)
	}
	grad := make([]float64, len(w))
	g32 := make([]float32, len(w))
	pre := make([]float32, pr.np*pr.o)
	gz := make([]float32, pr.np*pr.o)
	opt1 := newAdam(len(w), lr)
	for it := range steps {
		if it%100 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if opt.Progress != nil {
				opt.Progress(it, steps)
			}
		}
		gemm.Sgemm(false, true, pr.np, pr.o, kk, 1, pr.col, kk, w32, kk, 0, pre, pr.o)
		ops.ParallelFor(pr.np, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				for o := range pr.o {
					z := float64(pre[p*pr.o+o]) + float64(pr.bias[o])
					gz[p*pr.o+o] = float32(pr.lossGrad(z, pr.resid[o*pr.np+p], pr.vals[o*pr.np+p], pr.wt[p]))
				}
			}
		})
		gemm.Sgemm(true, false, pr.o, kk, pr.np, 1, gz, pr.o, pr.col, kk, 0, g32, kk)
		opt1.tick()
		ops.ParallelFor(pr.o, func(lo, hi int) {
			for i := lo * kk; i < hi*kk; i++ {
				grad[i] = float64(g32[i])
			}
			opt1.step(w, grad, lo*kk, hi*kk)
		})
		if (it+1)%10 == 0 || it == steps-1 {
			pr.project(w, nil)
		}
		for i, v := range w {
			w32[i] = float32(v)
		}
	}
	lam := make([]float64, pr.o*pr.n)
	pr.project(w, lam)
	return lam, nil
}

// project replaces w by W0 + the projection of w - W0 onto {Λ ⊗ d}, and stores Λ in lam
// when it is not nil.
func (pr *problem) project(w, lam []float64) {
	r, kh, kw := pr.rank, pr.kh, pr.kw
	khw := kh * kw
	ops.ParallelFor(pr.o, func(lo, hi int) {
		l := make([]float64, r)
		for o := lo; o < hi; o++ {
			row := w[o*pr.in*khw : (o+1)*pr.in*khw]
			w0 := pr.w0[o*pr.in*khw : (o+1)*pr.in*khw]
			for ab := range khw {
				clear(l)
				for i := range pr.in {
					dw := row[i*khw+ab] - float64(w0[i*khw+ab])
					for c := range r {
						l[c] += float64(pr.d[i*r+c]) * dw
					}
				}
				for i := range pr.in {
					var dw float64
					for c := range r {
						dw += float64(pr.d[i*r+c]) * l[c]
					}
					row[i*khw+ab] = float64(w0[i*khw+ab]) + dw
				}
				if lam != nil {
					for c := range r {
						lam[o*pr.n+c*khw+ab] = l[c]
					}
				}
			}
		}
	})
}
