// Package onnx reads and writes ONNX model files.
//
// Read, ReadFile and Decode turn a file into a Model: the decoded protobuf (kept so that
// writing loses nothing) plus a Graph of plain Go values (nodes, attributes, initializers
// decoded to float32 or int64) that the rest of the engine works with, so no other
// package touches the generated protobuf types in engine/onnx/pb.
//
// Edits go through the Model (SetFloatInitializer, SetMetadata), which updates both the
// Graph and the protobuf; Marshal and WriteFile then save the edited model.
//
// Every error names the file (or "input" for Read) and, where it applies, the node or
// tensor at fault.
package onnx
