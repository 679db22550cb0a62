// Package gemm is the engine's single-precision matrix multiply. With cgo it calls
// OpenBLAS's cblas_sgemm (an order of magnitude faster than pure Go on these machines);
// without cgo it falls back to gonum's pure-Go Sgemm so the engine still builds anywhere.
//
// All matrices are row-major: element (i, j) of A is a[i*lda+j].
package gemm

// check panics on arguments that cannot describe the matrices; they are programming
// errors, and OpenBLAS would otherwise print a message and carry on.
func check(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	switch {
	case m < 0 || n < 0 || k < 0:
		panic("gemm: negative dimension")
	case lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n):
		panic("gemm: leading dimension too small")
	case ar > 0 && ac > 0 && len(a) < (ar-1)*lda+ac:
		panic("gemm: a too short")
	case br > 0 && bc > 0 && len(b) < (br-1)*ldb+bc:
		panic("gemm: b too short")
	case m > 0 && len(c) < (m-1)*ldc+n:
		panic("gemm: c too short")
	}
}
