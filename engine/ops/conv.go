package ops

import (
	"fmt"
	"slices"

	"github.com/rulebrush/rulebrush/engine/internal/gemm"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// ConvParams are the attributes of a 2-D convolution. Zero strides, dilations and group
// mean 1, so the zero value is a plain stride-1 unpadded convolution.
type ConvParams struct {
	Strides   [2]int // h, w
	Pads      [4]int // top, left, bottom, right (the ONNX order x1_begin, x2_begin, x1_end, x2_end)
	Dilations [2]int // h, w
	Group     int
	Act       Activation // applied after the bias
}

func (p ConvParams) norm() ConvParams {
	for i := range 2 {
		p.Strides[i] = max(p.Strides[i], 1)
		p.Dilations[i] = max(p.Dilations[i], 1)
	}
	p.Group = max(p.Group, 1)
	return p
}

// OutSize is the output height and width for an h×w input and a kh×kw kernel.
func (p ConvParams) OutSize(h, w, kh, kw int) (oh, ow int) {
	p = p.norm()
	oh = (h+p.Pads[0]+p.Pads[2]-(kh-1)*p.Dilations[0]-1)/p.Strides[0] + 1
	ow = (w+p.Pads[1]+p.Pads[3]-(kw-1)*p.Dilations[1]-1)/p.Strides[1] + 1
	return oh, ow
}

// Workspace holds scratch buffers reused across kernel calls so that the hot path does
// not allocate. The zero value is ready to use; a nil *Workspace makes a kernel allocate
// its own scratch. A Workspace must not be used by two calls at the same time.
type Workspace struct {
	col []float32 // im2col matrix
}

// NewWorkspace returns an empty workspace.
func NewWorkspace() *Workspace { return &Workspace{} }

// floats returns a scratch slice of length n, growing the buffer if needed.
func (ws *Workspace) floats(n int) []float32 {
	if cap(ws.col) < n {
		ws.col = make([]float32, n)
	}
	return ws.col[:n]
}

// convShape holds the sizes of one convolution, checked against the tensors.
type convShape struct {
	n, c, h, w     int // input
	o, cg, kh, kw  int // weights: o filters over cg = c/group channels
	og             int // filters per group
	oh, ow         int // output
	group          int
	sh, sw, dh, dw int
	pt, pl         int
}

func newConvShape(y, x, w *tensor.Tensor, b []float32, p ConvParams) convShape {
	if len(x.Shape) != 4 || len(w.Shape) != 4 || len(y.Shape) != 4 {
		panic(fmt.Sprintf("ops.Conv: want 4-D tensors, got x %v w %v y %v", x.Shape, w.Shape, y.Shape))
	}
	s := convShape{
		n: x.Shape[0], c: x.Shape[1], h: x.Shape[2], w: x.Shape[3],
		o: w.Shape[0], cg: w.Shape[1], kh: w.Shape[2], kw: w.Shape[3],
		group: p.Group, sh: p.Strides[0], sw: p.Strides[1], dh: p.Dilations[0], dw: p.Dilations[1],
		pt: p.Pads[0], pl: p.Pads[1],
	}
	s.oh, s.ow = p.OutSize(s.h, s.w, s.kh, s.kw)
	if s.c != s.cg*s.group || s.o%s.group != 0 {
		panic(fmt.Sprintf("ops.Conv: x %v and w %v do not fit group %d", x.Shape, w.Shape, s.group))
	}
	if b != nil && len(b) != s.o {
		panic(fmt.Sprintf("ops.Conv: %d biases for %d filters", len(b), s.o))
	}
	if !slices.Equal(y.Shape, []int{s.n, s.o, s.oh, s.ow}) {
		panic(fmt.Sprintf("ops.Conv: y %v, want [%d %d %d %d]", y.Shape, s.n, s.o, s.oh, s.ow))
	}
	s.og = s.o / s.group
	return s
}

// Conv computes y = act(conv(x, w) + b) with x [N,C,H,W], w [O,C/group,kh,kw], b of
// length O or nil, and y [N,O,oh,ow]. ws may be nil.
//
// Depthwise convolutions (one input channel per group) run a direct kernel; 1×1
// stride-1 unpadded convolutions are one GEMM per image and group on x itself; all
// others unfold the input with im2col and multiply. Bias and activation are applied in
// one pass over the output.
func Conv(y, x, w *tensor.Tensor, b []float32, p ConvParams, ws *Workspace) {
	p = p.norm()
	s := newConvShape(y, x, w, b, p)
	if len(y.Data) == 0 {
		return
	}
	if ws == nil {
		ws = &Workspace{}
	}
	if s.cg == 1 && s.group == s.c {
		depthwise(y.Data, x.Data, w.Data, b, s, p.Act)
		return
	}
	hw, ohw := s.h*s.w, s.oh*s.ow
	k := s.cg * s.kh * s.kw
	pointwise := s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && p.Pads == [4]int{}
	var col []float32
	if !pointwise {
		col = ws.floats(k * ohw)
	}
	for n := range s.n {
		for g := range s.group {
			xg := x.Data[(n*s.c+g*s.cg)*hw : (n*s.c+(g+1)*s.cg)*hw]
			yg := y.Data[(n*s.o+g*s.og)*ohw : (n*s.o+(g+1)*s.og)*ohw]
			wg := w.Data[g*s.og*k : (g+1)*s.og*k]
			src := xg
			if !pointwise {
				im2col(col, xg, s)
				src = col
			}
			gemm.Sgemm(false, false, s.og, ohw, k, 1, wg, k, src, ohw, 0, yg, ohw)
		}
	}
	epilogue(y.Data, b, s.n, s.o, ohw, p.Act)
}

// epilogue applies bias and activation to n×o planes of size plane.
func epilogue(y, b []float32, n, o, plane int, act Activation) {
	if b == nil && act.Kind == ActNone {
		return
	}
	parallelFor(n*o, plane, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var bias float32
			if b != nil {
				bias = b[i%o]
			}
			act.applyBias(y[i*plane:(i+1)*plane], bias)
		}
	})
}

// im2col unfolds one image group x [cg,h,w] into col [cg*kh*kw, oh*ow], whose row
// (c, i, j) holds the input pixel under kernel tap (i, j) for every output pixel, or 0
// where the tap falls in the padding.
func im2col(col, x []float32, s convShape) {
	ohw := s.oh * s.ow
	rows := s.cg * s.kh * s.kw
	parallelFor(rows, ohw, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			c, i, j := r/(s.kh*s.kw), r/s.kw%s.kh, r%s.kw
			xc := x[c*s.h*s.w : (c+1)*s.h*s.w]
			dst := col[r*ohw : (r+1)*ohw]
			// Output columns [ox0, ox1) read inside the image: 0 <= ox*sw - pl + j*dw < w.
			off := j*s.dw - s.pl
			ox0 := min(ceilDiv(max(-off, 0), s.sw), s.ow)
			ox1 := max(min(ceilDiv(s.w-off, s.sw), s.ow), ox0)
			for oy := range s.oh {
				d := dst[oy*s.ow : (oy+1)*s.ow]
				iy := oy*s.sh - s.pt + i*s.dh
				if iy < 0 || iy >= s.h {
					clear(d)
					continue
				}
				clear(d[:ox0])
				clear(d[ox1:])
				src := xc[iy*s.w:]
				if s.sw == 1 {
					copy(d[ox0:ox1], src[ox0+off:])
					continue
				}
				for ox := ox0; ox < ox1; ox++ {
					d[ox] = src[ox*s.sw+off]
				}
			}
		}
	})
}

// ceilDiv is ⌈a/b⌉ for b > 0 and any sign of a.
func ceilDiv(a, b int) int {
	if a <= 0 {
		return -(-a / b)
	}
	return (a + b - 1) / b
}

// depthwise is the direct kernel for group == C with one input channel per group; each
// input channel feeds og = O/C output channels.
func depthwise(y, x, w, b []float32, s convShape, act Activation) {
	hw, ohw, kk := s.h*s.w, s.oh*s.ow, s.kh*s.kw
	parallelFor(s.n*s.o, ohw*kk, func(lo, hi int) {
		for plane := lo; plane < hi; plane++ {
			n, o := plane/s.o, plane%s.o
			xc := x[(n*s.c+o/s.og)*hw : (n*s.c+o/s.og+1)*hw]
			wo := w[o*kk : (o+1)*kk]
			yo := y[plane*ohw : (plane+1)*ohw]
			var bias float32
			if b != nil {
				bias = b[o]
			}
			depthwisePlane(yo, xc, wo, s)
			act.applyBias(yo, bias)
		}
	})
}

// depthwisePlane convolves one input plane with one kh×kw filter, bounds-checking
// every tap.
func depthwisePlane(y, x, w []float32, s convShape) {
	for oy := range s.oh {
		for ox := range s.ow {
			var sum float32
			for i := range s.kh {
				iy := oy*s.sh - s.pt + i*s.dh
				if iy < 0 || iy >= s.h {
					continue
				}
				for j := range s.kw {
					ix := ox*s.sw - s.pl + j*s.dw
					if ix < 0 || ix >= s.w {
						continue
					}
					sum += x[iy*s.w+ix] * w[i*s.kw+j]
				}
			}
			y[oy*s.ow+ox] = sum
		}
	}
}
