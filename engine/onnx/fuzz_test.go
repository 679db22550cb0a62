package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/onnx/pb"
)

func FuzzRead(f *testing.F) {
	small := marshal(f, smallModel(&pb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(1), Dims: []int64{2, 2}, RawData: make([]byte, 16)}))
	f.Add(small)
	f.Add(oddModel(f))
	paths, _ := filepath.Glob(filepath.Join(testutil.DataDir(f), "models", "tiny", "*", "model.onnx"))
	for i, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:100+i*37])
		// Whole models over 256 KB (tiny_mobilenet) slow every execution and the
		// minimisation of each new input; their prefixes still seed the corpus.
		if len(data) > 256<<10 {
			f.Add(data[:256<<10])
			continue
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
		flipped := bytes.Clone(data)
		for j := 7 + i; j < len(flipped); j += len(flipped)/50 + 1 {
			flipped[j] ^= 1 << (j % 8)
		}
		f.Add(flipped)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsUnmarshal(t, data)
		m, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever decodes must encode and decode again to the same model.
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a decoded model: %v", err)
		}
		parts, err := encodeParts(m.Proto)
		if err != nil || !bytes.Equal(bytes.Join(parts, nil), out) {
			t.Fatalf("WriteFile's encoding differs from Marshal's (err %v)", err)
		}
		again, err := Decode(out, "")
		if err != nil {
			t.Fatalf("re-decoding a marshalled model: %v", err)
		}
		if !proto.Equal(again.Proto, m.Proto) {
			t.Fatal("re-decoded model differs")
		}
	})
}
