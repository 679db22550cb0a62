package ops

// depthwiseStencil is the direct kernel for depthwise convolutions at stride 1 (any
// dilation) or 2 (no dilation), with up to maxStencilTaps taps: each input plane is
// laid out once as a stencil, and each output plane is then one call of a vector
// kernel with bias and activation fused in: dw9, unrolled for 3×3 filters (MobileNet's
// hot spot), or dwTaps for other sizes.
func depthwiseStencil(y, x, w, b []float32, s convShape, act Activation, ws *Workspace) {
	lo, hi, fused := act.bounds()
	if !fused {
		lo, hi = bounds0()
	}
	st := newStencil(s.h, s.w, s.pt, s.pl, s.kh, s.kw, s.dh, s.dw, s.sh, s.oh, s.ow)
	kk := s.kh * s.kw
	hw, ohw, outN := s.h*s.w, s.oh*s.ow, st.outN()
	n8 := (outN + 7) &^ 7 // the grid rounded up to whole vectors; the stencil has room
	parallelFor(s.n*s.o, ohw*kk, func(first, last int) {
		buf := ws.get(st.scratch() + n8)
		defer ws.put(buf)
		planes, out := buf[:st.scratch()], buf[st.scratch():]
		var srcA [maxStencilTaps][]float32
		var ptrs [maxStencilTaps]*float32
		src := srcA[:kk]
		st.taps(src, planes)
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
			wo := w[o*kk : (o+1)*kk]
			if kk == 9 {
				dw9(out[:n8], (*[9][]float32)(src), (*[9]float32)(wo), bias, lo, hi)
			} else {
				dwTaps(out[:n8], src, wo, ptrs[:], bias, lo, hi)
			}
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
