package ops

import (
	"fmt"
	"slices"

	"github.com/rulebrush/rulebrush/engine/internal/gemm"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// ConvBackward computes the gradients of a convolution y = conv(x, w) + b given dy =
// dL/dy [N,O,oh,ow]: dx = dL/dx (shape of x), dw = dL/dw (shape of w) and db = dL/db
// [O]. Any of dx, dw and db may be nil to skip it; the others are overwritten. p.Act is
// ignored: the caller multiplies dy by the activation's derivative first (see
// ActivationBackward). ws may be nil.
//
// Like Conv, depthwise convolutions run direct loops; the others are two GEMMs per image
// and group, dw += dy·colᵀ and dcol = wᵀ·dy, with col2im folding dcol back onto dx.
func ConvBackward(dx, dw, db, dy, x, w *tensor.Tensor, p ConvParams, ws *Workspace) {
	p = p.norm()
	s := newConvShape(dy, x, w, nil, p)
	if dx != nil && !slices.Equal(dx.Shape, x.Shape) {
		panic(fmt.Sprintf("ops.ConvBackward: dx %v for x %v", dx.Shape, x.Shape))
	}
	if dw != nil && !slices.Equal(dw.Shape, w.Shape) {
		panic(fmt.Sprintf("ops.ConvBackward: dw %v for w %v", dw.Shape, w.Shape))
	}
	if db != nil && len(db.Data) != s.o {
		panic(fmt.Sprintf("ops.ConvBackward: db %v for %d filters", db.Shape, s.o))
	}
	ohw := s.oh * s.ow
	if db != nil {
		biasBackward(db.Data, dy.Data, s.n, s.o, ohw)
	}
	if dx == nil && dw == nil {
		return
	}
	if ws == nil {
		ws = &Workspace{}
	}
	if s.cg == 1 && s.group == s.c {
		if dx != nil {
			depthwiseBackwardInput(dx.Data, dy.Data, w.Data, s)
		}
		if dw != nil {
			depthwiseBackwardWeights(dw.Data, dy.Data, x.Data, s)
		}
		return
	}
	hw := s.h * s.w
	k := s.cg * s.kh * s.kw
	pointwise := s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && p.Pads == [4]int{}
	var col []float32
	if !pointwise {
		col = ws.floats(k * ohw)
	}
	if dw != nil {
		clear(dw.Data)
	}
	for n := range s.n {
		for g := range s.group {
			xg := x.Data[(n*s.c+g*s.cg)*hw : (n*s.c+(g+1)*s.cg)*hw]
			dyg := dy.Data[(n*s.o+g*s.og)*ohw : (n*s.o+(g+1)*s.og)*ohw]
			wg := w.Data[g*s.og*k : (g+1)*s.og*k]
			if dw != nil {
				src := xg
				if !pointwise {
					im2col(col, xg, s)
					src = col
				}
				dwg := dw.Data[g*s.og*k : (g+1)*s.og*k]
				gemm.Sgemm(false, true, s.og, k, ohw, 1, dyg, ohw, src, ohw, 1, dwg, k)
			}
			if dx != nil {
				dxg := dx.Data[(n*s.c+g*s.cg)*hw : (n*s.c+(g+1)*s.cg)*hw]
				if pointwise {
					gemm.Sgemm(true, false, k, ohw, s.og, 1, wg, k, dyg, ohw, 0, dxg, ohw)
					continue
				}
				gemm.Sgemm(true, false, k, ohw, s.og, 1, wg, k, dyg, ohw, 0, col, ohw)
				col2im(dxg, col, s)
			}
		}
	}
}

// biasBackward sums dy [n,o,plane] over images and pixels into db [o].
func biasBackward(db, dy []float32, n, o, plane int) {
	parallelFor(o, n*plane, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var sum float64
			for i := range n {
				for _, v := range dy[(i*o+c)*plane : (i*o+c+1)*plane] {
					sum += float64(v)
				}
			}
			db[c] = float32(sum)
		}
	})
}

// col2im is the adjoint of im2col: it overwrites one image group x [cg,h,w] with the
// sum, over kernel taps, of the col [cg*kh*kw, oh*ow] entries that read each pixel.
// Rows of one channel only touch that channel's plane, so channels run in parallel.
func col2im(x, col []float32, s convShape) {
	ohw, kk := s.oh*s.ow, s.kh*s.kw
	parallelFor(s.cg, kk*ohw, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			xc := x[c*s.h*s.w : (c+1)*s.h*s.w]
			clear(xc)
			for t := range kk {
				src := col[(c*kk+t)*ohw : (c*kk+t+1)*ohw]
				addTap(xc, src, 1, t/s.kw, t%s.kw, s)
			}
		}
	})
}

// tapSpan returns the output positions [o0, o1) at which kernel tap t reads inside an
// input axis of length n, and off such that it reads input index o*stride + off.
func tapSpan(t, n, outN, stride, pad, dil int) (o0, o1, off int) {
	off = t*dil - pad
	o0 = min(ceilDiv(max(-off, 0), stride), outN)
	o1 = max(min(ceilDiv(n-off, stride), outN), o0)
	return o0, o1, off
}

// addTap adds a·dy to the input plane x [h,w] at the pixels kernel tap (i, j) reads for
// the output plane dy [oh,ow].
func addTap(x, dy []float32, a float32, i, j int, s convShape) {
	oy0, oy1, offY := tapSpan(i, s.h, s.oh, s.sh, s.pt, s.dh)
	ox0, ox1, offX := tapSpan(j, s.w, s.ow, s.sw, s.pl, s.dw)
	for oy := oy0; oy < oy1; oy++ {
		row := x[(oy*s.sh+offY)*s.w:]
		g := dy[oy*s.ow : (oy+1)*s.ow]
		if s.sw == 1 {
			d, g := row[ox0+offX:ox1+offX], g[ox0:ox1]
			g = g[:len(d)]
			for k := range d {
				d[k] += a * g[k]
			}
			continue
		}
		for ox := ox0; ox < ox1; ox++ {
			row[ox*s.sw+offX] += a * g[ox]
		}
	}
}

// dotTap is Σ dy·x over the output plane dy [oh,ow] and the pixels of x [h,w] that
// kernel tap (i, j) reads.
func dotTap(dy, x []float32, i, j int, s convShape) float32 {
	oy0, oy1, offY := tapSpan(i, s.h, s.oh, s.sh, s.pt, s.dh)
	ox0, ox1, offX := tapSpan(j, s.w, s.ow, s.sw, s.pl, s.dw)
	var sum float32
	for oy := oy0; oy < oy1; oy++ {
		row := x[(oy*s.sh+offY)*s.w:]
		g := dy[oy*s.ow : (oy+1)*s.ow]
		if s.sw == 1 {
			sum += dot32(g[ox0:ox1], row[ox0+offX:ox1+offX])
			continue
		}
		for ox := ox0; ox < ox1; ox++ {
			sum += g[ox] * row[ox*s.sw+offX]
		}
	}
	return sum
}

// dot32 is Σ a·b over equal-length slices, in four independent sums so that the adds
// do not wait on each other.
func dot32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// depthwiseBackwardInput overwrites dx with the gradient of a depthwise convolution
// with respect to its input: each input plane gathers from its og output planes.
func depthwiseBackwardInput(dx, dy, w []float32, s convShape) {
	hw, ohw, kk := s.h*s.w, s.oh*s.ow, s.kh*s.kw
	parallelFor(s.n*s.c, s.og*ohw*kk, func(lo, hi int) {
		for plane := lo; plane < hi; plane++ {
			n, c := plane/s.c, plane%s.c
			dxc := dx[plane*hw : (plane+1)*hw]
			clear(dxc)
			for q := range s.og {
				o := c*s.og + q
				dyo := dy[(n*s.o+o)*ohw : (n*s.o+o+1)*ohw]
				for t, wv := range w[o*kk : (o+1)*kk] {
					addTap(dxc, dyo, wv, t/s.kw, t%s.kw, s)
				}
			}
		}
	})
}

// depthwiseBackwardWeights overwrites dw with the gradient of a depthwise convolution
// with respect to its filters, summing over images; filters run in parallel.
func depthwiseBackwardWeights(dw, dy, x []float32, s convShape) {
	hw, ohw, kk := s.h*s.w, s.oh*s.ow, s.kh*s.kw
	parallelFor(s.o, s.n*ohw*kk, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			c := o / s.og
			for t := range kk {
				var sum float32
				for n := range s.n {
					sum += dotTap(dy[(n*s.o+o)*ohw:(n*s.o+o+1)*ohw], x[(n*s.c+c)*hw:(n*s.c+c+1)*hw], t/s.kw, t%s.kw, s)
				}
				dw[o*kk+t] = sum
			}
		}
	})
}
