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
	gemm.Sgemm(transA, transB, m, n, k, alpha, a.Data, max(a.Shape[1], 1), b.Data, max(b.Shape[1], 1), cBeta, y.Data, n)
	if act.Kind != ActNone {
		parallelFor(m, n, func(lo, hi int) { act.applyBias(y.Data[lo*n:hi*n], 0) })
	}
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
		gemm.Sgemm(false, false, nb*m, n, k, 1, a.Data, max(k, 1), b.Data, n, 0, y.Data, n)
		return
	}
	sa := bstrides(as[:len(as)-2], len(batch), batch)
	sb := bstrides(bs[:len(bs)-2], len(batch), batch)
	idx := make([]int, len(batch))
	for i := range nb {
		rem, oa, ob := i, 0, 0
		for d := len(batch) - 1; d >= 0; d-- {
			idx[d] = rem % batch[d]
			rem /= batch[d]
			oa += idx[d] * sa[d]
			ob += idx[d] * sb[d]
		}
		gemm.Sgemm(false, false, m, n, k, 1, a.Data[oa*m*k:], max(k, 1), b.Data[ob*k*n:], n, 0, y.Data[i*m*n:(i+1)*m*n], n)
	}
}
