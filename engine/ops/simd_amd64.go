package ops

// The vector kernels below are written in assembly (simd_amd64.s) because the Go
// compiler does not vectorise loops; they need AVX2 and FMA, checked once at start-up.
// Each processes a multiple of 8 elements; callers finish the tail in Go.

var hasAVX2FMA = detectAVX2FMA()

func detectAVX2FMA() bool {
	_, _, c1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if c1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 { // the OS saves XMM and YMM state
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<5) != 0 // AVX2
}

func cpuid(eax, ecx uint32) (a, b, c, d uint32)
func xgetbv() (eax, edx uint32)

// addClampAVX sets y[i] = min(max(y[i]+b, lo), hi) for i < n, n a multiple of 8.
//
//go:noescape
func addClampAVX(y *float32, n int, b, lo, hi float32)

// addBiasAVX sets y[i] = src[i] + b for i < n, n a multiple of 8.
//
//go:noescape
func addBiasAVX(y, src *float32, n int, b float32)

// dw9AVX sets y[i] = min(max(b + Σ_t w[t]*src[t][i], lo), hi) for i < n, n a multiple
// of 8: nine taps of a 3×3 depthwise filter, each read from its own row pointer.
//
//go:noescape
func dw9AVX(y *float32, src *[9]*float32, w *[9]float32, n int, b, lo, hi float32)

// deinterleaveAVX splits src[0:2n] into even[i] = src[2i] and odd[i] = src[2i+1] for
// i < n, n a multiple of 8.
//
//go:noescape
func deinterleaveAVX(even, odd, src *float32, n int)

// evensAVX sets dst[i] = src[2i] for i < n, n a multiple of 8; it reads src[0:2n].
//
//go:noescape
func evensAVX(dst, src *float32, n int)

// maxTapsAVX sets y[i] = max_t src[t][i] over taps >= 1 sources, for i < n, n a
// multiple of 8.
//
//go:noescape
func maxTapsAVX(y *float32, src **float32, taps, n int)

// fillAVX sets y[i] = v for i < n, n a multiple of 8.
//
//go:noescape
func fillAVX(y *float32, n int, v float32)

// sumTapsAVX sets y[i] = Σ_t src[t][i] over taps >= 1 sources, for i < n, n a
// multiple of 8.
//
//go:noescape
func sumTapsAVX(y *float32, src **float32, taps, n int)

// dwTapsAVX sets y[i] = min(max(b + Σ_t w[t]*src[t][i], lo), hi) over taps >= 1
// sources, for i < n, n a multiple of 8: a depthwise filter of any size.
//
//go:noescape
func dwTapsAVX(y *float32, src **float32, w *float32, taps, n int, b, lo, hi float32)
