package ops

import (
	"fmt"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

// BinaryBackward computes the gradients of y = a op b (numpy broadcasting) given dy of
// the broadcast shape: da with the shape of a and db with the shape of b, each summed
// over the axes along which its operand was broadcast. Either may be nil to skip it;
// neither may alias dy unless it has dy's shape.
func BinaryBackward(k BinaryKind, da, db, dy, a, b *tensor.Tensor) {
	shape, err := BroadcastShape(a.Shape, b.Shape)
	if err != nil {
		panic("ops.BinaryBackward: " + err.Error())
	}
	n := tensor.Numel(shape)
	if len(dy.Data) != n {
		panic(fmt.Sprintf("ops.BinaryBackward: dy %v, want %v", dy.Shape, shape))
	}
	if da != nil {
		sameLen("BinaryBackward", da, a)
	}
	if db != nil {
		sameLen("BinaryBackward", db, b)
	}
	if n == 0 {
		return
	}
	if da != nil {
		g := dy.Data
		if k == Mul || k == Div {
			bv := expand(b, shape)
			g = make([]float32, n)
			parallelFor(n, 1, func(lo, hi int) {
				if k == Mul {
					binaryVV(Mul, g[lo:hi], dy.Data[lo:hi], bv[lo:hi])
				} else {
					binaryVV(Div, g[lo:hi], dy.Data[lo:hi], bv[lo:hi])
				}
			})
		}
		reduceTo(da, g, shape)
	}
	if db != nil {
		g := dy.Data
		if k != Add {
			var av, bv []float32
			if k != Sub {
				av = expand(a, shape)
			}
			if k == Div {
				bv = expand(b, shape)
			}
			g = make([]float32, n)
			parallelFor(n, 1, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					switch k {
					case Sub:
						g[i] = -dy.Data[i]
					case Mul:
						g[i] = dy.Data[i] * av[i]
					case Div:
						g[i] = -dy.Data[i] * av[i] / (bv[i] * bv[i])
					}
				}
			})
		}
		reduceTo(db, g, shape)
	}
}

// expand returns t's values broadcast to shape (t's own data when it already has every
// element).
func expand(t *tensor.Tensor, shape []int) []float32 {
	n := tensor.Numel(shape)
	if len(t.Data) == n {
		return t.Data
	}
	out := make([]float32, n)
	walkBroadcast(t.Shape, shape, func(i, off int) { out[i] = t.Data[off] })
	return out
}

// reduceTo overwrites d with g (of the broadcast shape) summed down to d's shape.
func reduceTo(d *tensor.Tensor, g []float32, shape []int) {
	if len(d.Data) == len(g) {
		if &d.Data[0] != &g[0] {
			copy(d.Data, g)
		}
		return
	}
	clear(d.Data)
	walkBroadcast(d.Shape, shape, func(i, off int) { d.Data[off] += g[i] })
}

// walkBroadcast calls fn(i, off) for every element i of shape in row-major order, where
// off is the element of a tensor of shape s that broadcasts to it.
func walkBroadcast(s, shape []int, fn func(i, off int)) {
	r := len(shape)
	if r == 0 {
		fn(0, 0)
		return
	}
	st := bstrides(s, r, shape)
	last := shape[r-1]
	if last == 0 {
		return
	}
	rows := tensor.Numel(shape) / last
	for row := range rows {
		rem, off := row, 0
		for d := r - 2; d >= 0; d-- {
			off += rem % shape[d] * st[d]
			rem /= shape[d]
		}
		for j := range last {
			fn(row*last+j, off+j*st[r-1])
		}
	}
}
