package ops

import (
	"fmt"
	"math"
	"slices"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

// PoolParams are the attributes of MaxPool and AveragePool over the last two axes of an
// NCHW tensor. Zero strides and dilations mean 1.
type PoolParams struct {
	Kernel          [2]int
	Strides         [2]int
	Pads            [4]int // top, left, bottom, right
	Dilations       [2]int
	CeilMode        bool
	CountIncludePad bool // AveragePool: divide by the window size including padding
}

func (p PoolParams) norm() PoolParams {
	for i := range 2 {
		p.Strides[i] = max(p.Strides[i], 1)
		p.Dilations[i] = max(p.Dilations[i], 1)
	}
	return p
}

// OutSize is the output height and width for an h×w input. In ceil mode a last window
// that would start inside the end padding is dropped, as ONNX and PyTorch specify.
func (p PoolParams) OutSize(h, w int) (oh, ow int) {
	p = p.norm()
	return poolOut(h, p.Kernel[0], p.Strides[0], p.Pads[0], p.Pads[2], p.Dilations[0], p.CeilMode),
		poolOut(w, p.Kernel[1], p.Strides[1], p.Pads[1], p.Pads[3], p.Dilations[1], p.CeilMode)
}

func poolOut(n, k, s, pb, pe, d int, ceil bool) int {
	span := n + pb + pe - (k-1)*d - 1
	if !ceil {
		return span/s + 1
	}
	o := ceilDiv(span, s) + 1
	if (o-1)*s >= n+pb {
		o--
	}
	return o
}

// poolShape holds the sizes of one pooling, checked against the tensors.
type poolShape struct {
	planes, h, w, oh, ow int
	kh, kw, sh, sw       int
	dh, dw, pt, pl       int
	// Padded extent: windows count padding positions only inside [-pt, h+pb).
	pb, pr int
}

func newPoolShape(op string, y, x *tensor.Tensor, p PoolParams) poolShape {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("ops.%s: want a 4-D input, got %v", op, x.Shape))
	}
	s := poolShape{
		planes: x.Shape[0] * x.Shape[1], h: x.Shape[2], w: x.Shape[3],
		kh: p.Kernel[0], kw: p.Kernel[1], sh: p.Strides[0], sw: p.Strides[1],
		dh: p.Dilations[0], dw: p.Dilations[1], pt: p.Pads[0], pl: p.Pads[1], pb: p.Pads[2], pr: p.Pads[3],
	}
	s.oh, s.ow = p.OutSize(s.h, s.w)
	if !slices.Equal(y.Shape, []int{x.Shape[0], x.Shape[1], s.oh, s.ow}) {
		panic(fmt.Sprintf("ops.%s: y %v, want [%d %d %d %d]", op, y.Shape, x.Shape[0], x.Shape[1], s.oh, s.ow))
	}
	return s
}

// MaxPool computes the maximum over each window; padding never wins.
func MaxPool(y, x *tensor.Tensor, p PoolParams) {
	p = p.norm()
	s := newPoolShape("MaxPool", y, x, p)
	if (s.sh == 1 && s.sw == 1 || s.sh == 2 && s.sw == 2 && s.dh == 1 && s.dw == 1) && s.kh*s.kw <= maxStencilTaps {
		maxPoolStencil(y.Data, x.Data, s)
		return
	}
	pool(y.Data, x.Data, s, func(yp, xp []float32) {
		for oy := range s.oh {
			for ox := range s.ow {
				m := float32(math.Inf(-1))
				for i := range s.kh {
					iy := oy*s.sh - s.pt + i*s.dh
					if iy < 0 || iy >= s.h {
						continue
					}
					for j := range s.kw {
						ix := ox*s.sw - s.pl + j*s.dw
						if ix >= 0 && ix < s.w {
							m = max(m, xp[iy*s.w+ix])
						}
					}
				}
				yp[oy*s.ow+ox] = m
			}
		}
	})
}

// maxStencilTaps bounds the window size of the stencil max pooling.
const maxStencilTaps = 64

// maxPoolStencil lays out each plane as a stencil padded with -inf (see stencil) and
// takes the maximum over the window taps with one vector loop per plane. The
// workspace is internal because MaxPool takes none; its buffers are reused.
func maxPoolStencil(y, x []float32, s poolShape) {
	st := newStencil(s.h, s.w, s.pt, s.pl, s.kh, s.kw, s.dh, s.dw, s.sh, s.oh, s.ow)
	hw, ohw, outN := s.h*s.w, s.oh*s.ow, st.outN()
	ninf := float32(math.Inf(-1))
	parallelFor(s.planes, ohw*s.kh*s.kw, func(first, last int) {
		buf := poolScratch.get(st.scratch() + outN + 8)
		defer poolScratch.put(buf)
		planes, out := buf[:st.scratch()], buf[st.scratch():st.scratch()+outN]
		var srcA [maxStencilTaps][]float32
		var ptrs [maxStencilTaps]*float32
		src := srcA[:s.kh*s.kw]
		st.taps(src, planes)
		for i := first; i < last; i++ {
			st.fill(planes, x[i*hw:(i+1)*hw], ninf, i > first)
			maxTaps(out, src, ptrs[:])
			st.copyOut(y[i*ohw:(i+1)*ohw], out)
		}
	})
}

// avgPoolStencil sums each window over a zero-padded stencil (see stencil) and scales
// by the window's divisor, which factors into a row part and a column part because the
// counted region (the image, or the image and its padding) is a rectangle.
func avgPoolStencil(y, x []float32, s poolShape, includePad bool) {
	st := newStencil(s.h, s.w, s.pt, s.pl, s.kh, s.kw, s.dh, s.dw, s.sh, s.oh, s.ow)
	hw, ohw, outN := s.h*s.w, s.oh*s.ow, st.outN()
	lo0, hi0, lo1, hi1 := 0, s.h, 0, s.w // the counted region
	if includePad {
		lo0, hi0, lo1, hi1 = -s.pt, s.h+s.pb, -s.pl, s.w+s.pr
	}
	inv := poolScratch.get(s.oh + s.ow) // 1/taps counted per output row, then per column
	defer poolScratch.put(inv)
	for oy := range s.oh {
		inv[oy] = 1 / float32(max(countTaps(oy*s.sh-s.pt, s.kh, s.dh, lo0, hi0), 1))
	}
	for ox := range s.ow {
		inv[s.oh+ox] = 1 / float32(max(countTaps(ox*s.sw-s.pl, s.kw, s.dw, lo1, hi1), 1))
	}
	parallelFor(s.planes, ohw*s.kh*s.kw, func(first, last int) {
		buf := poolScratch.get(st.scratch() + outN + 8)
		defer poolScratch.put(buf)
		planes, out := buf[:st.scratch()], buf[st.scratch():st.scratch()+outN]
		var srcA [maxStencilTaps][]float32
		var ptrs [maxStencilTaps]*float32
		src := srcA[:s.kh*s.kw]
		st.taps(src, planes)
		cols := inv[s.oh:]
		for i := first; i < last; i++ {
			st.fill(planes, x[i*hw:(i+1)*hw], 0, i > first)
			sumTaps(out, src, ptrs[:])
			yp := y[i*ohw : (i+1)*ohw]
			for oy := range s.oh {
				r, row, g := inv[oy], yp[oy*s.ow:(oy+1)*s.ow], out[oy*st.rowW:]
				for ox, c := range cols {
					row[ox] = g[ox] * r * c
				}
			}
		}
	})
}

// countTaps counts the taps start, start+d, ..., start+(k-1)*d inside [lo, hi).
func countTaps(start, k, d, lo, hi int) int {
	n := 0
	for i := range k {
		if v := start + i*d; v >= lo && v < hi {
			n++
		}
	}
	return n
}

// poolScratch holds the pooling kernels' per-worker buffers.
var poolScratch Workspace

// AveragePool computes the mean over each window. With CountIncludePad the divisor
// counts padding positions (but not the overhang that ceil mode adds past the padding);
// otherwise only input pixels.
func AveragePool(y, x *tensor.Tensor, p PoolParams) {
	p = p.norm()
	s := newPoolShape("AveragePool", y, x, p)
	if (s.sh == 1 && s.sw == 1 || s.sh == 2 && s.sw == 2 && s.dh == 1 && s.dw == 1) && s.kh*s.kw <= maxStencilTaps {
		avgPoolStencil(y.Data, x.Data, s, p.CountIncludePad)
		return
	}
	pool(y.Data, x.Data, s, func(yp, xp []float32) {
		for oy := range s.oh {
			for ox := range s.ow {
				var sum float32
				var cnt, padCnt int
				for i := range s.kh {
					iy := oy*s.sh - s.pt + i*s.dh
					inPadH := iy >= -s.pt && iy < s.h+s.pb
					for j := range s.kw {
						ix := ox*s.sw - s.pl + j*s.dw
						if inPadH && ix >= -s.pl && ix < s.w+s.pr {
							padCnt++
						}
						if iy >= 0 && iy < s.h && ix >= 0 && ix < s.w {
							sum += xp[iy*s.w+ix]
							cnt++
						}
					}
				}
				if p.CountIncludePad {
					cnt = padCnt
				}
				yp[oy*s.ow+ox] = sum / float32(max(cnt, 1))
			}
		}
	})
}

// pool runs fn on every (n, c) plane in parallel.
func pool(y, x []float32, s poolShape, fn func(yp, xp []float32)) {
	hw, ohw := s.h*s.w, s.oh*s.ow
	parallelFor(s.planes, ohw*s.kh*s.kw, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			fn(y[i*ohw:(i+1)*ohw], x[i*hw:(i+1)*hw])
		}
	})
}

// GlobalAveragePool computes the mean of each (n, c) plane of x [N,C,...] into y [N,C,1,...].
func GlobalAveragePool(y, x *tensor.Tensor) {
	if len(x.Shape) < 2 {
		panic(fmt.Sprintf("ops.GlobalAveragePool: input %v has no channel axis", x.Shape))
	}
	planes := x.Shape[0] * x.Shape[1]
	if len(y.Data) != planes {
		panic(fmt.Sprintf("ops.GlobalAveragePool: y %v for input %v", y.Shape, x.Shape))
	}
	if planes == 0 {
		return
	}
	hw := len(x.Data) / planes
	parallelFor(planes, hw, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var sum float32
			for _, v := range x.Data[i*hw : (i+1)*hw] {
				sum += v
			}
			y.Data[i] = sum / float32(hw)
		}
	})
}
