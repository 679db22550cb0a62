package ops

import (
	"math"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Naive references written straight from the ONNX definitions: plain loops, float64
// accumulation, no fast paths. The kernels are tested against these.

func refAct(v float64, a Activation) float64 {
	switch a.Kind {
	case ActRelu:
		return math.Max(v, 0)
	case ActClip:
		return math.Min(math.Max(v, float64(a.Min)), float64(a.Max))
	case ActLeakyRelu:
		if v < 0 {
			return float64(a.Alpha) * v
		}
	}
	return v
}

func refConv(x, w *tensor.Tensor, b []float32, p ConvParams) *tensor.Tensor {
	p = p.norm()
	N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	O, CG, KH, KW := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	OH := (H+p.Pads[0]+p.Pads[2]-p.Dilations[0]*(KH-1)-1)/p.Strides[0] + 1
	OW := (W+p.Pads[1]+p.Pads[3]-p.Dilations[1]*(KW-1)-1)/p.Strides[1] + 1
	OG := O / p.Group
	y := tensor.New(N, O, OH, OW)
	for n := range N {
		for o := range O {
			g := o / OG
			for oy := range OH {
				for ox := range OW {
					var s float64
					if b != nil {
						s = float64(b[o])
					}
					for c := range CG {
						ci := g*CG + c
						for i := range KH {
							for j := range KW {
								iy := oy*p.Strides[0] - p.Pads[0] + i*p.Dilations[0]
								ix := ox*p.Strides[1] - p.Pads[1] + j*p.Dilations[1]
								if iy < 0 || iy >= H || ix < 0 || ix >= W {
									continue
								}
								s += float64(x.Data[((n*C+ci)*H+iy)*W+ix]) * float64(w.Data[((o*CG+c)*KH+i)*KW+j])
							}
						}
					}
					y.Data[((n*O+o)*OH+oy)*OW+ox] = float32(refAct(s, p.Act))
				}
			}
		}
	}
	return y
}

// refPool returns, per output pixel, the input values under the window and the number
// of window positions inside the padded extent.
func refPool(x *tensor.Tensor, p PoolParams, reduce func(vals []float64, padded int) float64) *tensor.Tensor {
	p = p.norm()
	N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := func(n, k, s, pb, pe, d int) int {
		span := float64(n+pb+pe-(k-1)*d-1) / float64(s)
		if !p.CeilMode {
			return int(math.Floor(span)) + 1
		}
		o := int(math.Ceil(span)) + 1
		if (o-1)*s >= n+pb { // the last window would start in the end padding
			o--
		}
		return o
	}
	OH := out(H, p.Kernel[0], p.Strides[0], p.Pads[0], p.Pads[2], p.Dilations[0])
	OW := out(W, p.Kernel[1], p.Strides[1], p.Pads[1], p.Pads[3], p.Dilations[1])
	y := tensor.New(N, C, OH, OW)
	for n := range N {
		for c := range C {
			for oy := range OH {
				for ox := range OW {
					var vals []float64
					padded := 0
					for i := range p.Kernel[0] {
						for j := range p.Kernel[1] {
							iy := oy*p.Strides[0] - p.Pads[0] + i*p.Dilations[0]
							ix := ox*p.Strides[1] - p.Pads[1] + j*p.Dilations[1]
							if iy >= -p.Pads[0] && iy < H+p.Pads[2] && ix >= -p.Pads[1] && ix < W+p.Pads[3] {
								padded++
							}
							if iy >= 0 && iy < H && ix >= 0 && ix < W {
								vals = append(vals, float64(x.Data[((n*C+c)*H+iy)*W+ix]))
							}
						}
					}
					y.Data[((n*C+c)*OH+oy)*OW+ox] = float32(reduce(vals, padded))
				}
			}
		}
	}
	return y
}

func refMaxPool(x *tensor.Tensor, p PoolParams) *tensor.Tensor {
	return refPool(x, p, func(vals []float64, _ int) float64 {
		m := math.Inf(-1)
		for _, v := range vals {
			m = math.Max(m, v)
		}
		return m
	})
}

func refAveragePool(x *tensor.Tensor, p PoolParams) *tensor.Tensor {
	return refPool(x, p, func(vals []float64, padded int) float64 {
		s := 0.0
		for _, v := range vals {
			s += v
		}
		if p.CountIncludePad {
			return s / float64(padded)
		}
		return s / float64(len(vals))
	})
}

func refGlobalAveragePool(x *tensor.Tensor) *tensor.Tensor {
	N, C := x.Shape[0], x.Shape[1]
	hw := tensor.Numel(x.Shape[2:])
	shape := append([]int{N, C}, make([]int, len(x.Shape)-2)...)
	for i := 2; i < len(shape); i++ {
		shape[i] = 1
	}
	y := tensor.New(shape...)
	for i := range N * C {
		s := 0.0
		for j := range hw {
			s += float64(x.Data[i*hw+j])
		}
		y.Data[i] = float32(s / float64(hw))
	}
	return y
}

func refBatchNorm(x *tensor.Tensor, scale, bias, mean, variance []float32, eps float32) *tensor.Tensor {
	y := tensor.New(x.Shape...)
	C := x.Shape[1]
	inner := tensor.Numel(x.Shape[2:])
	for i, v := range x.Data {
		c := i / inner % C
		y.Data[i] = float32(float64(scale[c])*(float64(v)-float64(mean[c]))/math.Sqrt(float64(variance[c])+float64(eps)) + float64(bias[c]))
	}
	return y
}

// refIndex maps a multi-index of the broadcast output to a flat index of shape s.
func refIndex(idx, s []int) int {
	off := len(idx) - len(s)
	flat := 0
	for d, n := range s {
		i := idx[off+d]
		if n == 1 {
			i = 0
		}
		flat = flat*n + i
	}
	return flat
}

// unravel turns a flat row-major index into a multi-index of shape s.
func unravel(i int, s []int) []int {
	idx := make([]int, len(s))
	for d := len(s) - 1; d >= 0; d-- {
		idx[d] = i % s[d]
		i /= s[d]
	}
	return idx
}

func refBinary(k BinaryKind, a, b *tensor.Tensor, shape []int) *tensor.Tensor {
	y := tensor.New(shape...)
	for i := range y.Data {
		idx := unravel(i, shape)
		av, bv := float64(a.Data[refIndex(idx, a.Shape)]), float64(b.Data[refIndex(idx, b.Shape)])
		var v float64
		switch k {
		case Add:
			v = av + bv
		case Sub:
			v = av - bv
		case Mul:
			v = av * bv
		case Div:
			v = av / bv
		}
		y.Data[i] = float32(v)
	}
	return y
}

func refGemm(a, b, c *tensor.Tensor, transA, transB bool, alpha, beta float32, act Activation) *tensor.Tensor {
	M, K := a.Shape[0], a.Shape[1]
	if transA {
		M, K = K, M
	}
	N := b.Shape[1]
	if transB {
		N = b.Shape[0]
	}
	y := tensor.New(M, N)
	for i := range M {
		for j := range N {
			s := 0.0
			for p := range K {
				var av float32
				if transA {
					av = a.Data[p*a.Shape[1]+i]
				} else {
					av = a.Data[i*a.Shape[1]+p]
				}
				var bv float32
				if transB {
					bv = b.Data[j*b.Shape[1]+p]
				} else {
					bv = b.Data[p*b.Shape[1]+j]
				}
				s += float64(av) * float64(bv)
			}
			s *= float64(alpha)
			if c != nil {
				s += float64(beta) * float64(c.Data[refIndex([]int{i, j}, c.Shape)])
			}
			y.Data[i*N+j] = float32(refAct(s, act))
		}
	}
	return y
}

func refMatMul(a, b *tensor.Tensor) *tensor.Tensor {
	as, bs := a.Shape, b.Shape
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	M, K, N := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
	batch, err := BroadcastShape(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		panic(err)
	}
	shape := append(append([]int{}, batch...), M, N)
	y := tensor.New(shape...)
	for i := range y.Data {
		idx := unravel(i, shape)
		bi, m, n := idx[:len(batch)], idx[len(batch)], idx[len(batch)+1]
		s := 0.0
		for p := range K {
			ai := refIndex(append(append([]int{}, bi...), m, p), as)
			bj := refIndex(append(append([]int{}, bi...), p, n), bs)
			s += float64(a.Data[ai]) * float64(b.Data[bj])
		}
		y.Data[i] = float32(s)
	}
	return y
}

func refSoftmax(x *tensor.Tensor, axis int) *tensor.Tensor {
	if axis < 0 {
		axis += len(x.Shape)
	}
	y := tensor.New(x.Shape...)
	inner := tensor.Numel(x.Shape[axis+1:])
	d := x.Shape[axis]
	for i := range x.Data {
		base := i - (i/inner%d)*inner
		m := math.Inf(-1)
		for j := range d {
			m = math.Max(m, float64(x.Data[base+j*inner]))
		}
		s := 0.0
		for j := range d {
			s += math.Exp(float64(x.Data[base+j*inner]) - m)
		}
		y.Data[i] = float32(math.Exp(float64(x.Data[i])-m) / s)
	}
	return y
}

func refConcat(xs []*tensor.Tensor, axis int) *tensor.Tensor {
	r := len(xs[0].Shape)
	if axis < 0 {
		axis += r
	}
	shape := append([]int{}, xs[0].Shape...)
	shape[axis] = 0
	for _, x := range xs {
		shape[axis] += x.Shape[axis]
	}
	y := tensor.New(shape...)
	for i := range y.Data {
		idx := unravel(i, shape)
		for _, x := range xs {
			if idx[axis] < x.Shape[axis] {
				y.Data[i] = x.Data[refIndex(idx, x.Shape)]
				break
			}
			idx[axis] -= x.Shape[axis]
		}
	}
	return y
}

func refPad(x *tensor.Tensor, pads []int, value float32) *tensor.Tensor {
	r := len(x.Shape)
	shape := make([]int, r)
	for i := range r {
		shape[i] = x.Shape[i] + pads[i] + pads[r+i]
	}
	y := tensor.New(shape...)
	for i := range y.Data {
		idx := unravel(i, shape)
		src, inside := 0, true
		for d := range r {
			j := idx[d] - pads[d]
			if j < 0 || j >= x.Shape[d] {
				inside = false
				break
			}
			src = src*x.Shape[d] + j
		}
		if inside {
			y.Data[i] = x.Data[src]
		} else {
			y.Data[i] = value
		}
	}
	return y
}
