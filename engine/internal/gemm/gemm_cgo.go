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

// SetThreads sets the number of threads OpenBLAS uses inside one Sgemm call.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(max(n, 1))) }

// Backend names the implementation and the kernel OpenBLAS selected, e.g. "openblas Haswell".
func Backend() string {
	return "openblas " + strings.TrimSpace(C.GoString(C.openblas_get_corename()))
}
