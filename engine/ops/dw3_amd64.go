package ops

// depthwise3x3 runs a 3×3 depthwise convolution at stride 1 or 2 (any padding, no
// dilation) straight from the input planes, a row of outputs at a time, and reports
// whether it did: it needs AVX-512. Masked loads stand in for the padding, so no plane
// is copied or padded first, which is most of the stencils' time on the small planes
// of MobileNetV2's later layers.
func depthwise3x3(y, x, w, b []float32, s convShape, act Activation) bool {
	if !hasAVX512 || !hasAVX2FMA || s.kh != 3 || s.kw != 3 || s.dh != 1 || s.dw != 1 ||
		s.sh != s.sw || s.sh > 2 {
		return false
	}
	lo, hi, fused := act.bounds()
	if !fused {
		lo, hi = bounds0()
	}
	plane, masks := dw3PlaneS1, dw3Masks(s)
	if s.sh == 2 {
		plane = dw3PlaneS2
	}
	g := dw3Geom{h: s.h, w: s.w, oh: s.oh, ow: s.ow, pt: s.pt, pl: s.pl, stride: s.sh, chunks: (s.ow + 15) / 16}
	hw, ohw := s.h*s.w, s.oh*s.ow
	parallelFor(s.n*s.o, ohw*9, func(first, last int) {
		for p := first; p < last; p++ {
			n, o := p/s.o, p%s.o
			yo := y[p*ohw:][:ohw]
			bias := float32(0)
			if b != nil {
				bias = b[o]
			}
			plane(&yo[0], &x[(n*s.c+o/s.og)*hw], (*[9]float32)(w[o*9:o*9+9]), &masks[0], &g, bias, lo, hi)
			if !fused {
				act.applyBias(yo, 0)
			}
		}
	})
	return true
}

// dw3Masks returns, for every chunk of 16 outputs of a row, the lanes each tap column
// may load (those inside the input row) and the lanes to store (those inside the
// output row): at stride 1, four masks (taps 0-2, store); at stride 2, two per tap for
// its 32 inputs (low and high half), the store mask and one unused.
func dw3Masks(s convShape) []uint16 {
	chunks := (s.ow + 15) / 16
	per, span, store := 4, 16, 3
	if s.sh == 2 {
		per, span, store = 8, 32, 6
	}
	masks := make([]uint16, chunks*per)
	for c := range chunks {
		m := masks[c*per : (c+1)*per]
		for j := range 3 {
			var bits uint32
			for l := range span {
				if ix := c*16*s.sh + l + j - s.pl; ix >= 0 && ix < s.w {
					bits |= 1 << l
				}
			}
			if s.sh == 1 {
				m[j] = uint16(bits)
			} else {
				m[2*j], m[2*j+1] = uint16(bits), uint16(bits>>16)
			}
		}
		m[store] = uint16(colMask(min(s.ow-c*16, 16)))
	}
	return masks
}

// dw3Geom is the geometry the plane kernels read: input and output sizes, leading
// padding, stride and 16-output chunks per row.
type dw3Geom struct {
	h, w, oh, ow, pt, pl, stride, chunks int
}

// dw3PlaneS1 sets y[oy][ox] = min(max(b + Σ w[3i+j]·x[oy+i-pt][ox+j-pl], lo), hi) for
// one plane at stride 1, taps outside the image counting as zero: a row of outputs at a
// time, 16 per chunk, each tap read under the chunk's masks.
//
//go:noescape
func dw3PlaneS1(y, x *float32, w *[9]float32, masks *uint16, geom *dw3Geom, b, lo, hi float32)

// dw3PlaneS2 is dw3PlaneS1 at stride 2: output (oy, ox) reads x[2oy+i-pt][2ox+j-pl].
//
//go:noescape
func dw3PlaneS2(y, x *float32, w *[9]float32, masks *uint16, geom *dw3Geom, b, lo, hi float32)
