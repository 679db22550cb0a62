package ops

import (
	"fmt"
	"testing"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

func TestBinaryBackwardFiniteDifferences(t *testing.T) {
	shapes := []struct{ a, b []int }{
		{[]int{2, 3, 4}, []int{2, 3, 4}},
		{[]int{2, 3, 4, 5}, []int{1, 3, 1, 1}}, // per-channel bias
		{[]int{2, 3, 4, 5}, []int{3, 1, 1}},
		{[]int{2, 3}, []int{}}, // scalar
		{[]int{}, []int{2, 3}},
		{[]int{3, 1}, []int{1, 4}}, // both broadcast
		{[]int{4}, []int{2, 3, 4}},
		{[]int{2, 1, 3}, []int{4, 1}},
	}
	for i, s := range shapes {
		for _, k := range []BinaryKind{Add, Sub, Mul, Div} {
			t.Run(fmt.Sprintf("%v%v%v", s.a, k, s.b), func(t *testing.T) {
				seed := uint64(600 + 10*i + int(k))
				a, b := randTensor(seed, s.a...), randTensor(seed+1, s.b...)
				if k == Div {
					for j, v := range b.Data {
						b.Data[j] = 0.5 + max(v, -v)
					}
				}
				shape, _ := BroadcastShape(s.a, s.b)
				r := randTensor(seed+2, shape...)
				y := tensor.New(shape...)
				loss := func() float64 {
					Binary(k, y, a, b)
					return dot(r.Data, y.Data)
				}
				da, db := tensor.New(s.a...), tensor.New(s.b...)
				fill(da.Data, 7)
				fill(db.Data, 7)
				BinaryBackward(k, da, db, r, a, b)
				assertGrad(t, "da", da.Data, numGrad(a.Data, 1e-3, loss))
				assertGrad(t, "db", db.Data, numGrad(b.Data, 1e-3, loss))
			})
		}
	}
}
