package ops

// winoIn2AVX is the input transform of F(2×2, 3×3) for n tiles of one tile row, n a
// multiple of 8: rows holds the phase planes of the row's four input rows (even and odd
// columns of row i at rows[2i*planeLen] and rows[(2i+1)*planeLen]); tile t's 16 values
// go to dst[ξ*stride+t].
//
//go:noescape
func winoIn2AVX(rows *float32, planeLen int, dst *float32, stride, n int)

// winoOut2AVX is the output transform of F(2×2, 3×3) for n tiles of one tile row, n a
// multiple of 8: tile t's 16 values are m[ξ*stride+t], and its two output rows go to
// y0[2t:2t+2] and y1[2t:2t+2]. y1 may be y0, whose values then win.
//
//go:noescape
func winoOut2AVX(m *float32, stride int, y0, y1 *float32, n int)
