package ops

// The 3×3 depthwise kernel (MobileNet's hot spot) copies each input plane once into a
// zero-padded scratch plane, so that every output pixel is "interior": its nine taps sit
// at fixed offsets from it in the flattened plane and the whole plane is one vector loop
// (dw9) with bias and activation fused in, with no bounds checks or border cases.
//
// Stride 1: with the padded plane P of width wp, output (oy, ox) is computed at
// q = oy*wp + ox and tap (i, j) reads P[q + i*dh*wp + j*dw]. The columns ox >= ow are
// wrap-around garbage and are dropped when the rows are copied out.
//
// Stride 2: the padded plane is split into four quarter planes by row and column
// parity, all of width we. Output (oy, ox) at q = oy*we + ox then reads
// rows 2oy, 2oy+1, 2oy+2 = even[oy], odd[oy], even[oy+1] and columns 2ox, 2ox+1, 2ox+2 =
// even[ox], odd[ox], even[ox+1]: again fixed offsets (0 or 1, plus we for even[oy+1]).
func depthwise3x3(y, x, w, b []float32, s convShape, act Activation, ws *Workspace) {
	lo, hi, fused := act.bounds()
	if !fused {
		lo, hi = bounds0()
	}
	hw, ohw := s.h*s.w, s.oh*s.ow
	hp, wp := s.h+s.pt+s.pb, s.w+s.pl+s.pr
	s2 := s.sh == 2
	var rowW, planeN, outN int // scratch: output row stride, input planes, output plane
	if s2 {
		rowW = s.ow + 1
		planeN = (s.oh+2)*rowW + 8 // one quarter plane, with room for vector overrun
		outN = s.oh*rowW + 8
	} else {
		rowW = wp
		planeN = (hp+1)*wp + 2*s.dw + 8
		outN = s.oh*rowW + 8
	}
	need := outN + wp + 8
	if s2 {
		need += 4 * planeN
	} else {
		need += planeN
	}
	parallelFor(s.n*s.o, ohw*9, func(first, last int) {
		buf := ws.get(need)
		defer ws.put(buf)
		out, row, planes := buf[:outN], buf[outN:outN+wp+8], buf[outN+wp+8:]
		prev := -1
		for plane := first; plane < last; plane++ {
			n, o := plane/s.o, plane%s.o
			if in := n*s.c + o/s.og; in != prev { // channel multipliers share an input plane
				xc := x[in*hw : (in+1)*hw]
				if s2 {
					padQuarters(planes[:4*planeN], row, xc, s, rowW, planeN)
				} else {
					padPlane(planes[:planeN], xc, s, hp, wp)
				}
				prev = in
			}
			var src [9][]float32
			for i := range 3 {
				for j := range 3 {
					if s2 {
						// Quarter planes: 0 even rows/even cols, 1 even/odd, 2 odd/even, 3 odd/odd.
						q := (i%2)*2 + j%2
						off := q*planeN + (i/2)*rowW + j/2
						src[i*3+j] = planes[off:]
					} else {
						src[i*3+j] = planes[i*s.dh*wp+j*s.dw:]
					}
				}
			}
			var bias float32
			if b != nil {
				bias = b[o]
			}
			n8 := s.oh * rowW
			dw9(out[:n8], &src, (*[9]float32)(w[o*9:o*9+9]), bias, lo, hi)
			yo := y[plane*ohw : (plane+1)*ohw]
			for oy := range s.oh {
				copy(yo[oy*s.ow:(oy+1)*s.ow], out[oy*rowW:])
			}
			if !fused {
				act.applyBias(yo, 0)
			}
		}
	})
}

// bounds0 is a clamp that changes nothing.
func bounds0() (lo, hi float32) {
	lo, hi, _ = Activation{}.bounds()
	return lo, hi
}

// padPlane writes x [h,w] into p [hp,wp] with s.pt/s.pl zeros before and zeros after,
// and zeroes the rest of p.
func padPlane(p, x []float32, s convShape, hp, wp int) {
	clear(p[:s.pt*wp])
	for iy := range s.h {
		r := p[(s.pt+iy)*wp : (s.pt+iy+1)*wp]
		clear(r[:s.pl])
		copy(r[s.pl:], x[iy*s.w:(iy+1)*s.w])
		clear(r[s.pl+s.w:])
	}
	clear(p[(s.pt+s.h)*wp:])
}

// padQuarters splits the zero-padded plane into four quarter planes of stride rowW
// and size planeN each (see depthwise3x3); row is scratch for one padded row.
func padQuarters(q, row, x []float32, s convShape, rowW, planeN int) {
	clear(q)
	for r := range 2*s.oh + 1 { // padded rows the outputs read
		iy := r - s.pt
		if iy < 0 || iy >= s.h {
			continue // stays zero
		}
		pr := row[:2*rowW]
		clear(pr)
		lo := max(s.pl, 0)
		n := min(s.w, len(pr)-lo)
		copy(pr[lo:lo+n], x[iy*s.w:])
		base := (r%2)*2*planeN + (r/2)*rowW
		deinterleave(q[base:base+rowW], q[base+planeN:base+planeN+rowW-1], pr)
	}
}
