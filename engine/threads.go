package engine

import (
	"github.com/rulebrush/rulebrush/engine/internal/gemm"
	"github.com/rulebrush/rulebrush/engine/ops"
)

// SetThreads sets how many cores the kernels use (worker goroutines and OpenBLAS).
func SetThreads(n int) { ops.SetThreads(n) }

// BLAS names the matrix-multiply backend and, for OpenBLAS, the CPU kernel it runs,
// so benchmark reports say what they measured.
func BLAS() string { return gemm.Backend() }
