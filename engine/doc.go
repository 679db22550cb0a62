// Package engine loads ONNX image classifiers and runs them on the CPU.
//
// Load resolves the ONNX graph once into integer-indexed nodes, folds BatchNormalization
// into the Conv before it where that is exact, and checks every op is supported. Each
// batch size gets a plan: static shapes, constant-folded shape arithmetic, fused Conv
// activations and activation buffers allocated once and reused, so a run allocates
// nothing but its outputs. RunTo and RunFrom split a run at one layer, so an edit of that
// layer re-runs only what follows it; Conv gives the editable layers' weights, and Save
// writes the edited model back as ONNX.
package engine
