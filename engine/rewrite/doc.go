// Package rewrite edits a classifier by rewriting one conv layer's prediction rule
// (Santurkar et al., NeurIPS 2021; the math is in METHOD.md):
//
//   - Stats: the uncentred second moment C of a layer's input over a folder of images,
//     cached on disk, and its whitening Z = C^(-1/2).
//   - Direction: the concept direction d [I, r] from the masked keys of modified exemplars,
//     and the heatmap dᵀk that shows where the concept fires.
//   - Solve: the update W' = W + Λ ⊗ d that makes the modified keys produce the original
//     values through the layer's block, optimising only Λ [O, r, kh, kw].
//   - Edit and History: edits as values, applied, reverted and stacked exactly.
//   - Request and Recipe: an edit request as a JSON file.
package rewrite
