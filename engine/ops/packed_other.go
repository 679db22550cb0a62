//go:build !amd64

package ops

// hasAVX512 is false: the AVX-512 kernels are written for amd64, and convolutions
// elsewhere call the matrix library and the stencils.
var hasAVX512 = false

func kernel14x32(k int, a, b, c *float32, ldc, rows int, mask uint32, add bool) {
	kernel14x32Ref(k, a, b, c, ldc, rows, mask, add)
}

func kernel8x32(k int, a, b, c *float32, ldc, rows int, mask uint32, add bool) {
	kernel14x32Ref(k, a, b, c, ldc, rows, mask, add)
}

func kernel4x32(k int, a, b, c *float32, ldc, rows int, mask uint32, add bool) {
	kernel14x32Ref(k, a, b, c, ldc, rows, mask, add)
}

func packPanel32(k int, src *float32, ld int, dst *float32, mask uint32) {
	packPanel32Ref(k, src, ld, dst, mask)
}

func scatterPanels(src *float32, n int, dst *float32, stride int) {
	scatterPanelsRef(src, n, dst, stride)
}
