package ops

import "math"

// Vector helpers: each uses the assembly kernel for the multiple-of-8 prefix when the
// CPU has AVX2 and FMA, and plain Go for the rest.

// addClamp sets y[i] = min(max(y[i]+b, lo), hi).
func addClamp(y []float32, b, lo, hi float32) {
	i := 0
	if n8 := len(y) &^ 7; hasAVX2FMA && n8 > 0 {
		addClampAVX(&y[0], n8, b, lo, hi)
		i = n8
	}
	for ; i < len(y); i++ {
		y[i] = min(max(y[i]+b, lo), hi)
	}
}

// addBias sets y[i] = src[i] + b for i < len(y).
func addBias(y, src []float32, b float32) {
	src = src[:len(y)]
	i := 0
	if n8 := len(y) &^ 7; hasAVX2FMA && n8 > 0 {
		addBiasAVX(&y[0], &src[0], n8, b)
		i = n8
	}
	for ; i < len(y); i++ {
		y[i] = src[i] + b
	}
}

// dw9 sets y[i] = min(max(b + Σ_t w[t]*src[t][i], lo), hi) for i < len(y). Every
// src[t] must hold at least len(y) rounded up to a multiple of 8 values, because the
// vector kernel computes whole vectors (the extra results are discarded).
func dw9(y []float32, src *[9][]float32, w *[9]float32, b, lo, hi float32) {
	n := len(y)
	if n == 0 {
		return
	}
	if hasAVX2FMA {
		n8 := (n + 7) &^ 7
		var p [9]*float32
		for t := range p {
			p[t] = &src[t][:n8][0]
		}
		if n8 == n {
			dw9AVX(&y[0], &p, w, n8, b, lo, hi)
			return
		}
		// The last partial vector goes through a small buffer so y is never overrun.
		if n8 > 8 {
			dw9AVX(&y[0], &p, w, n8-8, b, lo, hi)
		}
		var last [8]float32
		for t := range p {
			p[t] = &src[t][n8-8]
		}
		dw9AVX(&last[0], &p, w, 8, b, lo, hi)
		copy(y[n8-8:], last[:n-(n8-8)])
		return
	}
	s0, s1, s2, s3, s4, s5, s6, s7, s8 := src[0][:n], src[1][:n], src[2][:n], src[3][:n], src[4][:n], src[5][:n], src[6][:n], src[7][:n], src[8][:n]
	for i := range y {
		v := b + w[0]*s0[i] + w[1]*s1[i] + w[2]*s2[i] + w[3]*s3[i] + w[4]*s4[i] +
			w[5]*s5[i] + w[6]*s6[i] + w[7]*s7[i] + w[8]*s8[i]
		y[i] = min(max(v, lo), hi)
	}
}

// deinterleave sets even[i] = src[2i] and odd[i] = src[2i+1]; len(src) >= 2*len(odd)
// and len(even) >= len(odd), and even gets one more element when src has it.
func deinterleave(even, odd, src []float32) {
	n := len(odd)
	i := 0
	if n8 := n &^ 7; hasAVX2FMA && n8 > 0 {
		deinterleaveAVX(&even[0], &odd[0], &src[:2*n8][0], n8)
		i = n8
	}
	for ; i < n; i++ {
		even[i], odd[i] = src[2*i], src[2*i+1]
	}
	if len(even) > n && len(src) > 2*n {
		even[n] = src[2*n]
	}
}

// dwTaps sets y[i] = min(max(b + Σ_t w[t]*src[t][i], lo), hi) for i < len(y), a
// multiple of 8 when the vector kernel is to run; every src[t] holds len(y) values.
// ptrs is scratch of len(src) pointers.
func dwTaps(y []float32, src [][]float32, w []float32, ptrs []*float32, b, lo, hi float32) {
	n := len(y)
	if n == 0 {
		return
	}
	if hasAVX2FMA && n%8 == 0 {
		for t := range src {
			ptrs[t] = &src[t][:n][0]
		}
		dwTapsAVX(&y[0], &ptrs[0], &w[:len(src)][0], len(src), n, b, lo, hi)
		return
	}
	fill(y, b)
	for t, s := range src {
		wt := w[t]
		for i, v := range s[:n] {
			y[i] += wt * v
		}
	}
	for i, v := range y {
		y[i] = min(max(v, lo), hi)
	}
}

// maxTaps sets y[i] = max_t src[t][i]; like dw9, every src[t] must hold len(y)
// rounded up to a multiple of 8 values. ptrs is scratch of len(src) pointers.
func maxTaps(y []float32, src [][]float32, ptrs []*float32) {
	if reduceTapsAVX(maxTapsAVX, y, src, ptrs) {
		return
	}
	n := len(y)
	copy(y, src[0][:n])
	for _, s := range src[1:] {
		s = s[:n]
		for i, v := range s {
			y[i] = max(y[i], v)
		}
	}
}

// sumTaps sets y[i] = Σ_t src[t][i], with the same requirements as maxTaps.
func sumTaps(y []float32, src [][]float32, ptrs []*float32) {
	if reduceTapsAVX(sumTapsAVX, y, src, ptrs) {
		return
	}
	n := len(y)
	copy(y, src[0][:n])
	for _, s := range src[1:] {
		s = s[:n]
		for i, v := range s {
			y[i] += v
		}
	}
}

// reduceTapsAVX runs a tap-reducing vector kernel when it can (the CPU has it and
// len(y) is a multiple of 8) and reports whether it did.
func reduceTapsAVX(kernel func(y *float32, src **float32, taps, n int), y []float32, src [][]float32, ptrs []*float32) bool {
	n := len(y)
	if !hasAVX2FMA || n == 0 || n%8 != 0 {
		return false
	}
	for t := range src {
		ptrs[t] = &src[t][:n][0]
	}
	kernel(&y[0], &ptrs[0], len(src), n)
	return true
}

// evens sets dst[i] = src[2i] for i < len(dst); src needs 2*len(dst)-1 values.
func evens(dst, src []float32) {
	n := len(dst)
	i := 0
	if n8 := min(n, len(src)/2) &^ 7; hasAVX2FMA && n8 > 0 {
		evensAVX(&dst[0], &src[:2*n8][0], n8)
		i = n8
	}
	src = src[:2*n-1]
	for ; i < n; i++ {
		dst[i] = src[2*i]
	}
}

// bounds expresses an activation as a clamp, when it is one.
func (a Activation) bounds() (lo, hi float32, ok bool) {
	inf := float32(math.Inf(1))
	switch a.Kind {
	case ActNone:
		return -inf, inf, true
	case ActRelu:
		return 0, inf, true
	case ActClip:
		return a.Min, a.Max, true
	}
	return 0, 0, false
}
