package ops

import (
	"fmt"

	"github.com/rulebrush/rulebrush/engine/internal/gemm"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// GemmBackward computes the gradients of Gemm's y = alpha*op(a)*op(b) + beta*c given dy
// [M,N]: da and db with the shapes of a and b, and dc with the shape of c (beta*dy
// summed over the axes c broadcasts along). Any of them may be nil to skip it. A fused
// activation is the caller's to undo first, as for ConvBackward.
func GemmBackward(da, db, dc, dy, a, b *tensor.Tensor, transA, transB bool, alpha, beta float32) {
	if len(a.Shape) != 2 || len(b.Shape) != 2 || len(dy.Shape) != 2 {
		panic(fmt.Sprintf("ops.GemmBackward: want 2-D a, b, dy; got %v %v %v", a.Shape, b.Shape, dy.Shape))
	}
	m, k := a.Shape[0], a.Shape[1]
	if transA {
		m, k = k, m
	}
	kb, n := b.Shape[0], b.Shape[1]
	if transB {
		kb, n = n, kb
	}
	if kb != k || dy.Shape[0] != m || dy.Shape[1] != n {
		panic(fmt.Sprintf("ops.GemmBackward: a %v (trans %v) times b %v (trans %v) for dy %v", a.Shape, transA, b.Shape, transB, dy.Shape))
	}
	lda, ldb := max(a.Shape[1], 1), max(b.Shape[1], 1)
	if da != nil {
		sameLen("GemmBackward", da, a)
		if transA { // da [k,m] = alpha * op(b) · dyᵀ
			gemm.Sgemm(transB, true, k, m, n, alpha, b.Data, ldb, dy.Data, max(n, 1), 0, da.Data, max(m, 1))
		} else { // da [m,k] = alpha * dy · op(b)ᵀ
			gemm.Sgemm(false, !transB, m, k, n, alpha, dy.Data, max(n, 1), b.Data, ldb, 0, da.Data, max(k, 1))
		}
	}
	if db != nil {
		sameLen("GemmBackward", db, b)
		if transB { // db [n,k] = alpha * dyᵀ · op(a)
			gemm.Sgemm(true, transA, n, k, m, alpha, dy.Data, max(n, 1), a.Data, lda, 0, db.Data, max(k, 1))
		} else { // db [k,n] = alpha * op(a)ᵀ · dy
			gemm.Sgemm(!transA, false, k, n, m, alpha, a.Data, lda, dy.Data, max(n, 1), 0, db.Data, max(n, 1))
		}
	}
	if dc != nil {
		if len(dc.Shape) > 2 {
			panic(fmt.Sprintf("ops.GemmBackward: dc %v does not broadcast to [%d %d]", dc.Shape, m, n))
		}
		g := dy.Data
		if beta != 1 {
			g = make([]float32, len(dy.Data))
			binaryVS(Mul, g, dy.Data, beta)
		}
		reduceTo(dc, g, []int{m, n})
	}
}

// MatMulBackward computes the gradients of y = a·b for a [...,M,K] and a 2-D b [K,N]
// given dy [...,M,N]: da with the shape of a and db with the shape of b. Either may be
// nil. The leading axes of a fold into M, as in MatMul.
func MatMulBackward(da, db, dy, a, b *tensor.Tensor) {
	if len(a.Shape) < 2 || len(b.Shape) != 2 {
		panic(fmt.Sprintf("ops.MatMulBackward: want a of rank >= 2 and a 2-D b; got %v and %v", a.Shape, b.Shape))
	}
	k, n := b.Shape[0], b.Shape[1]
	if a.Shape[len(a.Shape)-1] != k {
		panic(fmt.Sprintf("ops.MatMulBackward: a %v and b %v do not multiply", a.Shape, b.Shape))
	}
	m := tensor.Numel(a.Shape[:len(a.Shape)-1])
	if len(dy.Data) != m*n {
		panic(fmt.Sprintf("ops.MatMulBackward: dy %v for a %v and b %v", dy.Shape, a.Shape, b.Shape))
	}
	if da != nil {
		sameLen("MatMulBackward", da, a)
		gemm.Sgemm(false, true, m, k, n, 1, dy.Data, max(n, 1), b.Data, max(n, 1), 0, da.Data, max(k, 1))
	}
	if db != nil {
		sameLen("MatMulBackward", db, b)
		gemm.Sgemm(true, false, k, n, m, 1, a.Data, max(k, 1), dy.Data, max(n, 1), 0, db.Data, max(n, 1))
	}
}
