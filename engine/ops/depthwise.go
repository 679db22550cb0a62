package ops

// depthwise3x3 is the direct kernel for 3×3 depthwise convolutions (MobileNet's hot
// spot) at stride 1 (any dilation) or 2: each input plane is laid out once as a
// stencil, and each output plane is then one call of the vector kernel dw9 with bias
// and activation fused in.
func depthwise3x3(y, x, w, b []float32, s convShape, act Activation, ws *Workspace) {
	lo, hi, fused := act.bounds()
	if !fused {
		lo, hi = bounds0()
	}
	st := newStencil(s.h, s.w, s.pt, s.pl, 3, 3, s.dh, s.dw, s.sh, s.oh, s.ow)
	hw, ohw, outN := s.h*s.w, s.oh*s.ow, st.outN()
	parallelFor(s.n*s.o, ohw*9, func(first, last int) {
		buf := ws.get(st.scratch() + outN + 8)
		defer ws.put(buf)
		planes, out := buf[:st.scratch()], buf[st.scratch():]
		var src [9][]float32
		st.taps(src[:], planes)
		prev := -1
		for plane := first; plane < last; plane++ {
			n, o := plane/s.o, plane%s.o
			if in := n*s.c + o/s.og; in != prev { // channel multipliers share an input plane
				st.fill(planes, x[in*hw:(in+1)*hw], 0, prev >= 0)
				prev = in
			}
			var bias float32
			if b != nil {
				bias = b[o]
			}
			dw9(out[:outN], &src, (*[9]float32)(w[o*9:o*9+9]), bias, lo, hi)
			yo := y[plane*ohw : (plane+1)*ohw]
			st.copyOut(yo, out)
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
