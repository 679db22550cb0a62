package ops

import (
	"fmt"
	"slices"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

// BinaryKind selects the arithmetic of Binary.
type BinaryKind int

const (
	Add BinaryKind = iota
	Sub
	Mul
	Div
)

func (k BinaryKind) String() string {
	switch k {
	case Add:
		return "Add"
	case Sub:
		return "Sub"
	case Mul:
		return "Mul"
	case Div:
		return "Div"
	}
	return fmt.Sprintf("BinaryKind(%d)", int(k))
}

// BroadcastShape is the numpy (multidirectional) broadcast of two shapes.
func BroadcastShape(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := dimFromEnd(a, n-1-i), dimFromEnd(b, n-1-i)
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// dimFromEnd is dimension len(s)-1-i of s, or 1 past its start.
func dimFromEnd(s []int, i int) int {
	if i >= len(s) {
		return 1
	}
	return s[len(s)-1-i]
}

// Binary computes y = a op b with numpy broadcasting; y has the broadcast shape and may
// alias an input of that same shape.
func Binary(k BinaryKind, y, a, b *tensor.Tensor) {
	shape, err := BroadcastShape(a.Shape, b.Shape)
	if err != nil {
		panic("ops.Binary: " + err.Error())
	}
	if tensor.Numel(shape) != len(y.Data) || tensor.Numel(y.Shape) != len(y.Data) {
		panic(fmt.Sprintf("ops.Binary: y %v, want %v", y.Shape, shape))
	}
	if len(y.Data) == 0 {
		return
	}
	na, nb := len(a.Data), len(b.Data)
	switch {
	case na == len(y.Data) && nb == len(y.Data):
		parallelFor(na, 1, func(lo, hi int) { binaryVV(k, y.Data[lo:hi], a.Data[lo:hi], b.Data[lo:hi]) })
		return
	case nb == 1 && na == len(y.Data):
		bv := b.Data[0]
		parallelFor(na, 1, func(lo, hi int) { binaryVS(k, y.Data[lo:hi], a.Data[lo:hi], bv) })
		return
	case na == 1 && nb == len(y.Data):
		av := a.Data[0]
		parallelFor(nb, 1, func(lo, hi int) { binarySV(k, y.Data[lo:hi], av, b.Data[lo:hi]) })
		return
	}
	if c, inner, ok := perChannel(shape, a.Shape, b.Shape); ok {
		planes := len(y.Data) / inner
		parallelFor(planes, inner, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				binaryVS(k, y.Data[p*inner:(p+1)*inner], a.Data[p*inner:(p+1)*inner], b.Data[p%c])
			}
		})
		return
	}
	broadcastGeneral(k, y.Data, a, b, shape)
}

// perChannel reports whether a has the full shape [N,C,rest...] and b is a per-channel
// vector [C,1,...] or [1,C,1,...] aligned with axis 1, returning C and the inner size.
func perChannel(shape, a, b []int) (c, inner int, ok bool) {
	if len(shape) < 3 || !slices.Equal(a, shape) {
		return 0, 0, false
	}
	c = shape[1]
	bb := make([]int, 0, len(shape))
	for range len(shape) - len(b) {
		bb = append(bb, 1)
	}
	bb = append(bb, b...)
	for i, d := range bb {
		if (i == 1 && d != c) || (i != 1 && d != 1) {
			return 0, 0, false
		}
	}
	return c, tensor.Numel(shape[2:]), true
}

// broadcastGeneral walks the output in row-major order with broadcast strides (0 on
// broadcast axes), running the innermost axis as a vector, scalar or scalar-vector loop.
func broadcastGeneral(k BinaryKind, y []float32, a, b *tensor.Tensor, shape []int) {
	n := len(shape)
	sa, sb := bstrides(a.Shape, n, shape), bstrides(b.Shape, n, shape)
	last := shape[n-1]
	rows := len(y) / last
	parallelFor(rows, last, func(lo, hi int) {
		idx := make([]int, n)
		for r := lo; r < hi; r++ {
			// Unravel row r into the outer indices.
			rem, oa, ob := r, 0, 0
			for d := n - 2; d >= 0; d-- {
				idx[d] = rem % shape[d]
				rem /= shape[d]
				oa += idx[d] * sa[d]
				ob += idx[d] * sb[d]
			}
			ys := y[r*last : (r+1)*last]
			switch {
			case sa[n-1] == 1 && sb[n-1] == 1:
				binaryVV(k, ys, a.Data[oa:oa+last], b.Data[ob:ob+last])
			case sa[n-1] == 1:
				binaryVS(k, ys, a.Data[oa:oa+last], b.Data[ob])
			case sb[n-1] == 1:
				binarySV(k, ys, a.Data[oa], b.Data[ob:ob+last])
			default:
				binaryVS(k, ys[:1], a.Data[oa:oa+1], b.Data[ob])
				for i := range ys {
					ys[i] = ys[0]
				}
			}
		}
	})
}

// bstrides are the element strides of shape s aligned to the right of an n-axis output,
// with 0 on axes that broadcast.
func bstrides(s []int, n int, out []int) []int {
	st := make([]int, n)
	acc := 1
	for i := n - 1; i >= 0; i-- {
		d := dimFromEnd(s, n-1-i)
		if d != 1 || out[i] == 1 {
			st[i] = acc
		}
		acc *= d
	}
	return st
}

func binaryVV(k BinaryKind, y, a, b []float32) {
	b = b[:len(y)]
	a = a[:len(y)]
	switch k {
	case Add:
		for i := range y {
			y[i] = a[i] + b[i]
		}
	case Sub:
		for i := range y {
			y[i] = a[i] - b[i]
		}
	case Mul:
		for i := range y {
			y[i] = a[i] * b[i]
		}
	case Div:
		for i := range y {
			y[i] = a[i] / b[i]
		}
	default:
		panic("ops.Binary: unknown kind " + k.String())
	}
}

func binaryVS(k BinaryKind, y, a []float32, b float32) {
	a = a[:len(y)]
	switch k {
	case Add:
		for i := range y {
			y[i] = a[i] + b
		}
	case Sub:
		for i := range y {
			y[i] = a[i] - b
		}
	case Mul:
		for i := range y {
			y[i] = a[i] * b
		}
	case Div:
		for i := range y {
			y[i] = a[i] / b
		}
	default:
		panic("ops.Binary: unknown kind " + k.String())
	}
}

func binarySV(k BinaryKind, y []float32, a float32, b []float32) {
	b = b[:len(y)]
	switch k {
	case Add:
		for i := range y {
			y[i] = a + b[i]
		}
	case Sub:
		for i := range y {
			y[i] = a - b[i]
		}
	case Mul:
		for i := range y {
			y[i] = a * b[i]
		}
	case Div:
		for i := range y {
			y[i] = a / b[i]
		}
	default:
		panic("ops.Binary: unknown kind " + k.String())
	}
}
