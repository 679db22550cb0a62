//go:build !amd64

package ops

var hasAVX2FMA = false

func addClampAVX(y *float32, n int, b, lo, hi float32)                             { panic("no AVX") }
func addBiasAVX(y, src *float32, n int, b float32)                                 { panic("no AVX") }
func dw9AVX(y *float32, src *[9]*float32, w *[9]float32, n int, b, lo, hi float32) { panic("no AVX") }
func deinterleaveAVX(even, odd, src *float32, n int)                               { panic("no AVX") }

func evensAVX(dst, src *float32, n int) { panic("no AVX") }

func maxTapsAVX(y *float32, src **float32, taps, n int) { panic("no AVX") }

func fillAVX(y *float32, n int, v float32) { panic("no AVX") }

func sumTapsAVX(y *float32, src **float32, taps, n int) { panic("no AVX") }

func dwTapsAVX(y *float32, src **float32, w *float32, taps, n int, b, lo, hi float32) {
	panic("no AVX")
}
