//go:build !amd64

package ops

// depthwise3x3 has no kernel outside amd64: the stencils run instead.
func depthwise3x3(y, x, w, b []float32, s convShape, act Activation) bool { return false }
