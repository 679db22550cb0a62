// Package ops holds the engine's forward kernels on NCHW float32 tensors: convolution,
// pooling, normalisation, activations, broadcasting arithmetic, matrix products,
// softmax, concatenation and padding.
//
// Conventions shared by every kernel:
//   - The caller allocates the output y with the right shape; kernels write into it and
//     allocate nothing on the hot path except reusable scratch held in a Workspace.
//   - For element-wise kernels y may alias x; elsewhere y must not overlap an input.
//   - Shape mismatches are programming errors (the executor checks shapes when it loads
//     a model), so kernels panic on them rather than return errors.
//   - Work is split over Threads() goroutines with ParallelFor, matrix products
//     included: each worker multiplies its own piece, single-threaded. Convolutions
//     multiply on the packed AVX-512 kernel of packed.go when the CPU has it, other
//     products (and convolutions elsewhere) call package gemm.
//     Idle workers poll for the next piece of work for a while instead of sleeping,
//     and SetThreads keeps GOMAXPROCS above the thread count (see parallel.go).
//   - Hot loops that Go would not vectorise (depthwise convolution, pooling, epilogues,
//     strided gathers) have AVX2/FMA assembly kernels on amd64, chosen at start-up,
//     with plain Go fallbacks used elsewhere and tested alongside.
//
// Every kernel has a naive reference in ref_test.go, written straight from the ONNX
// definition, and is tested against it.
package ops
