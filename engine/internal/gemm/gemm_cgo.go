//go:build cgo

package gemm

/*
#cgo pkg-config: openblas
#include <cblas.h>
*/
import "C"

import "strings"

// Sgemm computes C = alpha*op(A)*op(B) + beta*C, where op(X) is X or Xᵀ, op(A) is m×k,
// op(B) is k×n and C is m×n.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if m == 1 || n == 1 {
		// A matrix-vector product: OpenBLAS's sgemm would first copy the whole matrix
		// into its packed layout, doubling the memory traffic of a classifier layer.
		gemv(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	if transA {
		ta = C.CblasTrans
	}
	if transB {
		tb = C.CblasTrans
	}
	var pa, pb *C.float
	if len(a) > 0 {
		pa = (*C.float)(&a[0])
	}
	if len(b) > 0 {
		pb = (*C.float)(&b[0])
	}
	C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k), C.float(alpha),
		pa, C.blasint(lda), pb, C.blasint(ldb), C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
}

// gemv computes a single-row (m == 1) or single-column (n == 1) product with
// cblas_sgemv: the vector is the row of op(A) or the column of op(B), and the matrix is
// the other operand, transposed as needed.
func gemv(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	// y = alpha*M*x + beta*y over row-major M (rows × cols, stride ld), transposed when tr.
	mat, ld, x, incx, incy, rows, cols, tr := b, ldb, a, 1, 1, k, n, !transB
	if transB {
		rows, cols = n, k
	}
	if transA {
		incx = lda
	}
	if m != 1 { // n == 1: y is the column of C, x the column of op(B)
		mat, ld, x, incx, incy, rows, cols, tr = a, lda, b, ldb, ldc, m, k, transA
		if transA {
			rows, cols = k, m
		}
		if transB {
			incx = 1
		}
	}
	ylen := m * n
	if beta == 0 { // never let 0*NaN from stale output through
		for i := range ylen {
			c[i*incy] = 0
		}
	}
	if k == 0 {
		if beta != 0 {
			for i := range ylen {
				c[i*incy] *= beta
			}
		}
		return
	}
	t := uint32(C.CblasNoTrans)
	if tr {
		t = C.CblasTrans
	}
	C.cblas_sgemv(C.CblasRowMajor, t, C.blasint(rows), C.blasint(cols), C.float(alpha), (*C.float)(&mat[0]), C.blasint(ld),
		(*C.float)(&x[0]), C.blasint(incx), C.float(beta), (*C.float)(&c[0]), C.blasint(incy))
}

// SetThreads sets the number of threads OpenBLAS uses inside one Sgemm call.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(max(n, 1))) }

// Backend names the implementation and the kernel OpenBLAS selected, e.g. "openblas Haswell".
func Backend() string {
	return "openblas " + strings.TrimSpace(C.GoString(C.openblas_get_corename()))
}
