package ops

//go:generate go run gen_packed.go

// hasAVX512 reports whether the CPU and OS run AVX-512F: the packed GEMM and the 3×3
// depthwise rows need it; without it convolutions call OpenBLAS and the stencils.
var hasAVX512 = detectAVX512()

func detectAVX512() bool {
	if !hasAVX2FMA {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&0xe6 != 0xe6 { // the OS saves the opmask and ZMM state
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<16) != 0 // AVX512F
}

// kernel14x32 adds the product of a [k][14] and b [k][32] to rows [0, rows) of c (row
// stride ldc), or stores it there when add is false, in the columns whose bit is set in
// mask. rows is 1 to 14.
//
//go:noescape
func kernel14x32(k int, a, b, c *float32, ldc, rows int, mask uint32, add bool)

// kernel8x32 and kernel4x32 are kernel14x32 for at most 8 and 4 rows: the last panel of
// filters whose count is not a multiple of 14 (64 = 4·14 + 8) needs no more FMAs than
// it has rows.
//
//go:noescape
func kernel8x32(k int, a, b, c *float32, ldc, rows int, mask uint32, add bool)

//go:noescape
func kernel4x32(k int, a, b, c *float32, ldc, rows int, mask uint32, add bool)

// packPanel32 copies k rows of 32 floats from src (row stride ld) into dst [k][32],
// reading only the columns whose bit is set in mask and writing zeros for the others.
//
//go:noescape
func packPanel32(k int, src *float32, ld int, dst *float32, mask uint32)

// scatterPanels copies the row src[0:n] into consecutive panels: floats [32j, 32j+32)
// to dst[j*stride:], with zeros past n.
//
//go:noescape
func scatterPanels(src *float32, n int, dst *float32, stride int)
