//go:build !amd64

package ops

func winoIn2AVX(rows *float32, planeLen int, dst *float32, stride, n int) { panic("no AVX") }

func winoOut2AVX(m *float32, stride int, y0, y1 *float32, n int) { panic("no AVX") }
