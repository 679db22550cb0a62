package ops

import (
	"fmt"
	"testing"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

func TestGemmBackwardFiniteDifferences(t *testing.T) {
	const m, k, n = 3, 5, 4
	cShapes := [][]int{nil, {}, {n}, {1, n}, {m, 1}, {m, n}}
	i := 0
	for _, transA := range []bool{false, true} {
		for _, transB := range []bool{false, true} {
			for _, cs := range cShapes {
				i++
				t.Run(fmt.Sprintf("tA=%v/tB=%v/c%v", transA, transB, cs), func(t *testing.T) {
					seed := uint64(700 + 10*i)
					as, bs := []int{m, k}, []int{k, n}
					if transA {
						as = []int{k, m}
					}
					if transB {
						bs = []int{n, k}
					}
					a, b, r := randTensor(seed, as...), randTensor(seed+1, bs...), randTensor(seed+2, m, n)
					var c, dc *tensor.Tensor
					if cs != nil {
						c, dc = randTensor(seed+3, cs...), tensor.New(cs...)
					}
					const alpha, beta = 0.7, -1.3
					y := tensor.New(m, n)
					loss := func() float64 {
						Gemm(y, a, b, c, transA, transB, alpha, beta, Activation{})
						return dot(r.Data, y.Data)
					}
					da, db := tensor.New(as...), tensor.New(bs...)
					GemmBackward(da, db, dc, r, a, b, transA, transB, alpha, beta)
					assertGrad(t, "da", da.Data, numGrad(a.Data, 0.5, loss))
					assertGrad(t, "db", db.Data, numGrad(b.Data, 0.5, loss))
					if c != nil {
						assertGrad(t, "dc", dc.Data, numGrad(c.Data, 0.5, loss))
					}
				})
			}
		}
	}
}

func TestMatMulBackwardFiniteDifferences(t *testing.T) {
	for i, as := range [][]int{{3, 5}, {2, 3, 5}, {1, 5}} {
		a, b := randTensor(uint64(800+i), as...), randTensor(uint64(810+i), 5, 4)
		ys := append(append([]int{}, as[:len(as)-1]...), 4)
		r := randTensor(uint64(820+i), ys...)
		y := tensor.New(ys...)
		loss := func() float64 {
			MatMul(y, a, b)
			return dot(r.Data, y.Data)
		}
		da, db := tensor.New(as...), tensor.New(5, 4)
		MatMulBackward(da, db, r, a, b)
		assertGrad(t, fmt.Sprintf("%v da", as), da.Data, numGrad(a.Data, 0.5, loss))
		assertGrad(t, fmt.Sprintf("%v db", as), db.Data, numGrad(b.Data, 0.5, loss))
	}
}
