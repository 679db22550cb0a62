package ops

import (
	"fmt"

	"github.com/rulebrush/rulebrush/engine/internal/gemm"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Gemm computes y = act(alpha*op(a)*op(b) + beta*c) with ONNX Gemm semantics: a and b
// are 2-D, op transposes when asked, and c is nil or broadcasts to y [M,N] (a scalar,
// [N], [1,N], [M,1] or [M,N]). y must not overlap a or b; it may be c itself.
func Gemm(y, a, b, c *tensor.Tensor, transA, transB bool, alpha, beta float32, act Activation) {
	if len(a.Shape) != 2 || len(b.Shape) != 2 || len(y.Shape) != 2 {
		panic(fmt.Sprintf("ops.Gemm: want 2-D a, b, y; got %v %v %v", a.Shape, b.Shape, y.Shape))
	}
	m, k := a.Shape[0], a.Shape[1]
	if transA {
		m, k = k, m
	}
	kb, n := b.Shape[0], b.Shape[1]
	if transB {
		kb, n = n, kb
	}
	if kb != k || y.Shape[0] != m || y.Shape[1] != n {
		panic(fmt.Sprintf("ops.Gemm: a %v (trans %v) times b %v (trans %v) into y %v", a.Shape, transA, b.Shape, transB, y.Shape))
	}
	if m == 0 || n == 0 {
		return
	}
	cBeta := float32(0)
	if c != nil && beta != 0 {
		broadcastTo(y.Data, c, m, n, beta)
		cBeta = 1
	}
	lda, ldb := max(a.Shape[1], 1), max(b.Shape[1], 1)
	parallelGemm(m, n, k, func(m0, m1, n0, n1 int) {
		ao, bo := m0*lda, n0
		if transA {
			ao = m0
		}
		if transB {
			bo = n0 * ldb
		}
		gemm.Sgemm(transA, transB, m1-m0, n1-n0, k, alpha, a.Data[ao:], lda, b.Data[bo:], ldb, cBeta, y.Data[m0*n+n0:], n)
		for i := m0; i < m1; i++ {
			act.applyBias(y.Data[i*n+n0:i*n+n1], 0)
		}
	})
}

// parallelGemm splits an m×n product with inner size k into one block per worker, by
// rows when there are enough of them and else by columns, and calls fn on each block
// [m0, m1) × [n0, n1).
func parallelGemm(m, n, k int, fn func(m0, m1, n0, n1 int)) {
	t := Threads()
	if t == 1 || 2*m*n*k < 4*minParallelWork {
		fn(0, m, 0, n)
		return
	}
	if m >= 16*t || m >= n {
		mb := (m/t + 15) &^ 15 // whole 16-row panels of the GEMM kernel
		parallelFor((m+mb-1)/mb, minParallelWork, func(lo, hi int) { fn(lo*mb, min(hi*mb, m), 0, n) })
		return
	}
	nb := (n/t + 15) &^ 15
	parallelFor((n+nb-1)/nb, minParallelWork, func(lo, hi int) { fn(0, m, lo*nb, min(hi*nb, n)) })
}

// broadcastTo writes beta*c broadcast to [m,n] into y.
func broadcastTo(y []float32, c *tensor.Tensor, m, n int, beta float32) {
	cm, cn := 1, 1
	switch len(c.Shape) {
	case 0:
	case 1:
		cn = c.Shape[0]
	case 2:
		cm, cn = c.Shape[0], c.Shape[1]
	default:
		cm = -1
	}
	if (cm != 1 && cm != m) || (cn != 1 && cn != n) {
		panic(fmt.Sprintf("ops.Gemm: c %v does not broadcast to [%d %d]", c.Shape, m, n))
	}
	for i := range m {
		row := y[i*n : (i+1)*n]
		src := c.Data[min(i, cm-1)*cn : (min(i, cm-1)+1)*cn]
		if cn == n {
			for j, v := range src {
				row[j] = beta * v
			}
			continue
		}
		v := beta * src[0]
		for j := range row {
			row[j] = v
		}
	}
}

// MatMul computes y = a·b with numpy matmul semantics: the last two axes are matrices,
// leading axes are batch axes that broadcast, and a 1-D a (b) is a row (column) vector
// whose axis is dropped from the result. y must not overlap a or b.
func MatMul(y, a, b *tensor.Tensor) {
	as, bs := a.Shape, b.Shape
	if len(as) == 0 || len(bs) == 0 {
		panic("ops.MatMul: scalar operand")
	}
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	m, k := as[len(as)-2], as[len(as)-1]
	kb, n := bs[len(bs)-2], bs[len(bs)-1]
	batch, err := BroadcastShape(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil || kb != k {
		panic(fmt.Sprintf("ops.MatMul: a %v and b %v do not multiply", a.Shape, b.Shape))
	}
	nb := tensor.Numel(batch)
	if len(y.Data) != nb*m*n {
		panic(fmt.Sprintf("ops.MatMul: y %v for a %v and b %v", y.Shape, a.Shape, b.Shape))
	}
	if len(y.Data) == 0 {
		return
	}
	// With b shared by the whole batch and a contiguous, the batch folds into M: one
	// larger GEMM instead of many small ones.
	if len(bs) == 2 && tensor.Numel(as[:len(as)-2]) == nb {
		parallelGemm(nb*m, n, k, func(m0, m1, n0, n1 int) {
			gemm.Sgemm(false, false, m1-m0, n1-n0, k, 1, a.Data[m0*k:], max(k, 1), b.Data[n0:], n, 0, y.Data[m0*n+n0:], n)
		})
		return
	}
	sa := bstrides(as[:len(as)-2], len(batch), batch)
	sb := bstrides(bs[:len(bs)-2], len(batch), batch)
	parallelFor(nb, 2*m*n*k, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			rem, oa, ob := i, 0, 0
			for d := len(batch) - 1; d >= 0; d-- {
				idx := rem % batch[d]
				rem /= batch[d]
				oa += idx * sa[d]
				ob += idx * sb[d]
			}
			gemm.Sgemm(false, false, m, n, k, 1, a.Data[oa*m*k:], max(k, 1), b.Data[ob*k*n:], n, 0, y.Data[i*m*n:(i+1)*m*n], n)
		}
	})
}
