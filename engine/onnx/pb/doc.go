// Package pb holds the Go types generated from the ONNX schema in onnx.proto.
//
// The proto package is renamed to rulebrush.onnx so these types register under names of
// their own; files read and written with them are ordinary ONNX files. Regenerating
// needs protoc (Debian protobuf-compiler) and protoc-gen-go v1.36.12 on PATH.
package pb

//go:generate protoc --go_out=. --go_opt=paths=source_relative onnx.proto
