package onnx

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/onnx/pb"
)

// oddModel is a serialized model that uses what the wire format allows and exporters do
// not write: unknown fields of every wire type (groups nested), the graph given twice,
// raw_data repeated, empty or before data_type, and special field numbers with the wrong
// wire type.
func oddModel(t testing.TB) []byte {
	t.Helper()
	w := &pb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(Float)), Dims: []int64{2, 2}, RawData: make([]byte, 16)}
	data := marshal(t, smallModel(w))

	unknown := func(b []byte) []byte {
		b = protowire.AppendTag(b, 1000, protowire.VarintType)
		b = protowire.AppendVarint(b, 300)
		b = protowire.AppendTag(b, 1001, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, 7)
		b = protowire.AppendTag(b, 1002, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, 8)
		b = protowire.AppendTag(b, 1003, protowire.BytesType)
		b = protowire.AppendBytes(b, []byte("abc"))
		b = protowire.AppendTag(b, 1004, protowire.StartGroupType)
		b = protowire.AppendTag(b, 1005, protowire.StartGroupType)
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
		b = protowire.AppendTag(b, 1005, protowire.EndGroupType)
		b = protowire.AppendTag(b, 1004, protowire.EndGroupType)
		return b
	}
	bytesField := func(b []byte, num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
	}

	var t2 []byte // raw_data before data_type, given twice, and as a varint
	t2 = bytesField(t2, tensorRawData, make([]byte, 8))
	t2 = bytesField(t2, tensorRawData, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40})
	t2 = protowire.AppendTag(t2, tensorRawData, protowire.VarintType)
	t2 = protowire.AppendVarint(t2, 5)
	t2 = protowire.AppendTag(t2, 2, protowire.VarintType)
	t2 = protowire.AppendVarint(t2, uint64(Float))
	t2 = protowire.AppendTag(t2, 1, protowire.VarintType)
	t2 = protowire.AppendVarint(t2, 2)
	t2 = bytesField(t2, 8, []byte("v"))
	t2 = unknown(t2)

	var t3 []byte // odd-length and empty raw_data
	t3 = bytesField(t3, 8, []byte("u"))
	t3 = protowire.AppendTag(t3, 2, protowire.VarintType)
	t3 = protowire.AppendVarint(t3, uint64(Uint8))
	t3 = bytesField(t3, tensorRawData, []byte{1, 2, 3})
	t3 = bytesField(t3, tensorRawData, nil)

	var g []byte
	g = bytesField(g, graphInitializer, t2)
	g = unknown(g)
	g = bytesField(g, graphInitializer, t3)
	g = protowire.AppendTag(g, graphInitializer, protowire.Fixed32Type)
	g = protowire.AppendFixed32(g, 1)
	g = bytesField(g, 2, []byte("renamed"))

	data = unknown(data)
	data = bytesField(data, modelGraph, g)
	data = protowire.AppendTag(data, modelGraph, protowire.VarintType)
	data = protowire.AppendVarint(data, 1)
	return data
}

// sameAsUnmarshal checks that parseModel agrees with proto.Unmarshal on data: both fail,
// or both give the same message.
func sameAsUnmarshal(t *testing.T, data []byte) {
	t.Helper()
	want := new(pb.ModelProto)
	wantErr := proto.Unmarshal(data, want)
	got, err := parseModel(bytes.NewReader(data), int64(len(data)))
	switch {
	case (err != nil) != (wantErr != nil):
		t.Fatalf("parseModel error %v, proto.Unmarshal error %v on %x", err, wantErr, data)
	case err == nil && !proto.Equal(got, want):
		t.Fatalf("parseModel and proto.Unmarshal differ on %x", data)
	}
}

func TestParseMatchesUnmarshal(t *testing.T) {
	data := oddModel(t)
	sameAsUnmarshal(t, data)
	m, err := parseModel(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.GetGraph().GetInitializer()); n != 3 || len(m.ProtoReflect().GetUnknown()) == 0 {
		t.Fatalf("%d initializers, %d bytes of unknown fields; want 3 and some", n, len(m.ProtoReflect().GetUnknown()))
	}
	ff := bytes.Repeat([]byte{0xff}, 10)
	for _, tail := range [][]byte{ // overlong and out-of-range varints in tags and values
		append(ff, 0x01),
		append(bytes.Clone(ff[:9]), 0x01),
		append(bytes.Clone(ff[:4]), 0x0f),
		append([]byte{0xc0, 0x3e}, append(ff, 0x01)...),
		append([]byte{0xc0, 0x3e}, append(bytes.Clone(ff[:9]), 0x02)...),
	} {
		sameAsUnmarshal(t, append(bytes.Clone(data), tail...))
	}
	for i := range len(data) {
		sameAsUnmarshal(t, data[:i])
		for _, x := range []byte{0x01, 0x04, 0x07, 0x80, 0xff} {
			flipped := bytes.Clone(data)
			flipped[i] ^= x
			sameAsUnmarshal(t, flipped)
		}
	}
}

// TestEncodePartsMatchMarshal checks that WriteFile's pieces make exactly the bytes
// Marshal gives, on the test models and on fields in unusual places.
func TestEncodePartsMatchMarshal(t *testing.T) {
	dir := testutil.DataDir(t)
	paths, _ := filepath.Glob(filepath.Join(dir, "models", "tiny", "*", "model.onnx"))
	paths = append(paths, filepath.Join(dir, "models", "mobilenetv2", "model.onnx"))
	var models []*pb.ModelProto
	for _, path := range paths {
		m, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		models = append(models, m.Proto)
	}
	odd, err := parseModel(bytes.NewReader(oddModel(t)), int64(len(oddModel(t))))
	if err != nil {
		t.Fatal(err)
	}
	models = append(models, odd, &pb.ModelProto{}, &pb.ModelProto{Graph: &pb.GraphProto{Initializer: []*pb.TensorProto{{}}}})
	for i, mp := range models {
		want, err := (&Model{Proto: mp}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		parts, err := encodeParts(mp)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Join(parts, nil); !bytes.Equal(got, want) {
			t.Errorf("model %d: parts make %d bytes that differ from Marshal's %d", i, len(got), len(want))
		}
	}
}

// TestReadFileAllocation guards the streaming read: reading a model allocates about its
// weights once, not the file, a parsed copy and the decoded values.
func TestReadFileAllocation(t *testing.T) {
	path := mobilenetPath(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := ReadFile(path)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	weights := 0
	for _, tp := range m.Proto.GetGraph().GetInitializer() {
		weights += len(tp.GetRawData())
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes for %d bytes of raw_data (%.3fx)", alloc, weights, float64(alloc)/float64(weights))
	if float64(alloc) > 1.2*float64(weights) {
		t.Errorf("ReadFile allocated %d bytes, over 1.2x the %d bytes of raw_data", alloc, weights)
	}
	if !littleEndian {
		return
	}
	for _, tp := range m.Proto.GetGraph().GetInitializer() {
		f := m.Graph.Initializers[tp.GetName()].Float
		if tp.GetDataType() == int32(Float) && len(f) > 0 && !sharesMemory(tp.RawData, f) {
			t.Fatalf("initializer %q: Float is a copy of raw_data, not the same memory", tp.GetName())
		}
	}
}

// TestSetFloatInitializerFloatData edits a tensor stored as float_data, whose values
// are not raw_data's memory: the edit moves it to a new raw_data.
func TestSetFloatInitializerFloatData(t *testing.T) {
	w := &pb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(Float)), Dims: []int64{2, 2}, FloatData: []float32{1, 2, 3, 4}}
	m, err := Decode(marshal(t, smallModel(w)), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{-1, 0.5, 7, 8}
	if err := m.SetFloatInitializer("w", want); err != nil {
		t.Fatal(err)
	}
	out, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(out, "")
	if err != nil {
		t.Fatal(err)
	}
	tp := back.Proto.GetGraph().GetInitializer()[0]
	if got := back.Graph.Initializers["w"].Float; !slices.Equal(got, want) || len(tp.GetFloatData()) != 0 || len(tp.GetRawData()) != 16 {
		t.Errorf("saved w = %v (float_data %v, %d bytes raw_data), want %v as raw_data", got, tp.GetFloatData(), len(tp.GetRawData()), want)
	}
	if !slices.Equal(m.Graph.Initializers["w"].Float, want) {
		t.Errorf("Graph w = %v, want %v", m.Graph.Initializers["w"].Float, want)
	}
}

// TestSharedWeightsSave checks that with Float and raw_data one memory, writes through
// SetFloatInitializer and straight into Float both reach the saved file.
func TestSharedWeightsSave(t *testing.T) {
	m, err := ReadFile(filepath.Join(testutil.DataDir(t), "models", "tiny", "tiny_vgg", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tp := range m.Proto.GetGraph().GetInitializer() {
		if tp.GetDataType() == int32(Float) && len(tp.GetRawData()) >= 8 {
			names = append(names, tp.GetName())
		}
	}
	if len(names) < 2 {
		t.Fatalf("want two FLOAT initializers, have %v", names)
	}
	a, b := m.Graph.Initializers[names[0]], m.Graph.Initializers[names[1]]
	edited := make([]float32, len(a.Float))
	for i := range edited {
		edited[i] = float32(i) - 0.5
	}
	if err := m.SetFloatInitializer(names[0], edited); err != nil {
		t.Fatal(err)
	}
	b.Float[0], b.Float[1] = 42, -42
	if err := m.SetFloatInitializer(names[1], b.Float); err != nil { // as engine.Model.Save does
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "edited.onnx")
	if err := WriteFile(path, m); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Graph.Initializers[names[0]].Float; len(got) != len(edited) || got[0] != edited[0] || got[len(got)-1] != edited[len(edited)-1] {
		t.Errorf("%s saved as %v..., want %v...", names[0], got[:2], edited[:2])
	}
	if got := back.Graph.Initializers[names[1]].Float; got[0] != 42 || got[1] != -42 {
		t.Errorf("%s saved as %v..., want [42 -42]...", names[1], got[:2])
	}
	want, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
		t.Errorf("WriteFile wrote %d bytes that differ from Marshal's %d (err %v)", len(got), len(want), err)
	}
}

// bigModels lists the full-size exports under $RULEBRUSH_BIG_MODELS (see engine's
// TestBigModels), skipping when it is not set.
func bigModels(tb testing.TB) []string {
	dir := os.Getenv("RULEBRUSH_BIG_MODELS")
	if dir == "" {
		tb.Skip("RULEBRUSH_BIG_MODELS not set; full-size models not read")
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "model.onnx"))
	return paths
}

// TestBigRoundTrip reads and writes the full-size models, which must come back byte for byte.
func TestBigRoundTrip(t *testing.T) {
	for _, path := range bigModels(t) {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			m, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "model.onnx")
			if err := WriteFile(out, m); err != nil {
				t.Fatal(err)
			}
			sameFile(t, out, path)
		})
	}
}

// sameFile fails unless the files at a and b have the same bytes; it compares them a
// block at a time, as they may be large.
func sameFile(t *testing.T, a, b string) {
	t.Helper()
	fa, err := os.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := 0; ; off += len(ba) {
		na, err := io.ReadFull(fa, ba)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			t.Fatal(err)
		}
		nb, _ := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			t.Fatalf("%s and %s differ in the block at %d", a, b, off)
		}
		if na < len(ba) {
			return
		}
	}
}

func BenchmarkReadFileBig(b *testing.B) {
	for _, path := range bigModels(b) {
		b.Run(filepath.Base(filepath.Dir(path)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ReadFile(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
