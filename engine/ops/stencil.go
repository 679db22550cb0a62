package ops

// A stencil lays out one input plane so that every output pixel of a kh×kw window
// operation (depthwise convolution, max pooling) at stride 1 or 2 reads each window tap
// at a fixed offset from the output's own index, with the padding already in place.
// The whole plane is then one straight vector loop with no bounds checks or border
// cases; the price is one copy of the input plane into scratch.
//
// Stride 1: the padded plane P has row stride rowW; output (oy, ox) is computed at
// q = oy*rowW + ox and tap (i, j) reads P[q + i*dh*rowW + j*dw]. Columns ox >= ow of the
// output grid are wrap-around garbage, dropped when the rows are copied out.
//
// Stride 2: the padded plane is split into four quarter planes by row and column
// parity, all with row stride rowW. Row 2oy+i of the padded plane is row oy + i/2 of
// the quarter of parity i%2, and likewise for columns, so tap (i, j) of output
// q = oy*rowW + ox reads quarter (i%2, j%2) at q + (i/2)*rowW + j/2.
type stencil struct {
	h, w, pt, pl   int // input plane and leading padding
	kh, kw, dh, dw int
	stride         int // 1 or 2 (2 only without dilation)
	oh, ow         int
	rows, rowW     int // rows and row stride of one (quarter) plane
	planeN         int // floats per (quarter) plane, with room for vector overrun
}

func newStencil(h, w, pt, pl, kh, kw, dh, dw, stride, oh, ow int) stencil {
	s := stencil{h: h, w: w, pt: pt, pl: pl, kh: kh, kw: kw, dh: dh, dw: dw, stride: stride, oh: oh, ow: ow}
	if stride == 2 {
		s.rows, s.rowW = oh+(kh-1)/2, ow+(kw-1)/2
		s.planeN = (s.rows+1)*s.rowW + 8
	} else {
		s.rows, s.rowW = oh+(kh-1)*dh, ow+(kw-1)*dw
		s.planeN = s.rows*s.rowW + (kw-1)*dw + 8
	}
	return s
}

// scratch is the number of floats fill needs: the plane, or the four quarters and the
// two planes of padded rows they are split from.
func (s *stencil) scratch() int {
	if s.stride == 2 {
		return 8 * s.planeN
	}
	return s.planeN
}

// outN is the size of the output grid, oh rows of rowW.
func (s *stencil) outN() int { return s.oh * s.rowW }

// fill lays out plane x [h,w] in buf (of scratch() floats), with pad outside the image.
// With again set, buf already holds a plane filled with the same pad and only the
// image values are rewritten: the padding is where it was.
func (s *stencil) fill(buf, x []float32, pad float32, again bool) {
	if s.stride == 1 {
		p := buf[:s.planeN]
		for r := range s.rows {
			dst := p[r*s.rowW : (r+1)*s.rowW]
			if iy := r - s.pt; again && iy >= 0 && iy < s.h {
				copy(dst[min(s.pl, len(dst)):], x[iy*s.w:(iy+1)*s.w])
			} else if !again {
				s.padRow(dst, x, iy, pad)
			}
		}
		if !again {
			fill(p[s.rows*s.rowW:], pad)
		}
		return
	}
	// The padded rows go, by parity, into two planes with rows 2·rowW long; one
	// deinterleave of each then gives its two quarters.
	q, par := buf[:4*s.planeN], buf[4*s.planeN:8*s.planeN]
	for r := range 2 * s.rows {
		dst := par[(r%2)*2*s.planeN+(r/2)*2*s.rowW:][:2*s.rowW]
		if iy := r - s.pt; again && iy >= 0 && iy < s.h {
			copy(dst[min(s.pl, len(dst)):], x[iy*s.w:(iy+1)*s.w])
		} else if !again {
			s.padRow(dst, x, iy, pad)
		}
	}
	for a := range 2 {
		if !again {
			fill(par[a*2*s.planeN+s.rows*2*s.rowW:(a+1)*2*s.planeN], pad)
		}
		deinterleave(q[2*a*s.planeN:(2*a+1)*s.planeN], q[(2*a+1)*s.planeN:(2*a+2)*s.planeN], par[a*2*s.planeN:(a+1)*2*s.planeN])
	}
}

// padRow writes input row iy (or pad if it is outside the image) into dst, shifted
// right by the left padding and cut or padded to len(dst).
func (s *stencil) padRow(dst, x []float32, iy int, pad float32) {
	if iy < 0 || iy >= s.h {
		fill(dst, pad)
		return
	}
	lo := min(s.pl, len(dst))
	n := min(s.w, len(dst)-lo)
	fill(dst[:lo], pad)
	copy(dst[lo:lo+n], x[iy*s.w:])
	fill(dst[lo+n:], pad)
}

// taps points src at every tap's first value in the filled buffer, in row-major tap
// order; len(src) == kh*kw.
func (s *stencil) taps(src [][]float32, buf []float32) {
	for i := range s.kh {
		for j := range s.kw {
			off := i*s.dh*s.rowW + j*s.dw
			if s.stride == 2 {
				off = ((i%2)*2+j%2)*s.planeN + (i/2)*s.rowW + j/2
			}
			src[i*s.kw+j] = buf[off:]
		}
	}
}

// copyOut copies the valid ow columns of each output grid row into y [oh,ow].
func (s *stencil) copyOut(y, grid []float32) {
	for oy := range s.oh {
		copy(y[oy*s.ow:(oy+1)*s.ow], grid[oy*s.rowW:])
	}
}

// fill sets every element of s to v.
func fill(s []float32, v float32) {
	if v == 0 {
		clear(s)
		return
	}
	i := 0
	if n8 := len(s) &^ 7; hasAVX2FMA && n8 > 0 {
		fillAVX(&s[0], n8, v)
		i = n8
	}
	for ; i < len(s); i++ {
		s[i] = v
	}
}
