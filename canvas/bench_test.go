package canvas

import (
	"image"
	"testing"
)

// BenchmarkBrushSegment paints one 40 px segment of a 64 px soft brush on a 4096² mask.
func BenchmarkBrushSegment(b *testing.B) {
	m := image.NewAlpha(image.Rect(0, 0, 4096, 4096))
	br := Brush{Size: 64, Hardness: 0.5}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x := float64(100 + (i%90)*40)
		br.Segment(m, Point{x, 2000}, Point{x + 40, 2020})
		i++
	}
}

// BenchmarkStrokeRecorded is one recorded segment, as while painting with undo.
func BenchmarkStrokeRecorded(b *testing.B) {
	doc, _ := NewDocument(image.NewNRGBA(image.Rect(0, 0, 4096, 4096)))
	doc.NewMask("road")
	rec, _ := doc.Record("road")
	s := &Stroke{Brush: Brush{Size: 64, Hardness: 0.5}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Add(Point{float64(100 + (i%90)*40), float64(2000 + i%7*10)})
		rec.Stroke(s)
		i++
	}
}

func benchDoc(b *testing.B, feather float64) (*Document, *image.NRGBA) {
	doc, err := NewDocument(checker(1024, 1024))
	if err != nil {
		b.Fatal(err)
	}
	m, _ := doc.NewMask("road")
	Polygon{Points: []Point{{0, 500}, {1024, 420}, {1024, 1024}, {0, 1024}}, Antialias: true}.Fill(m)
	p := doc.NewPaste(stripes(345, 342), "road")
	p.Feather = feather
	doc.InsertPaste(0, p)
	return doc, doc.Composite() // renders and caches the texture layer
}

// BenchmarkComposite is a full composite of a 1024² document with one cover paste.
func BenchmarkComposite(b *testing.B) {
	for _, f := range []float64{0, 8} {
		name := "hard"
		if f > 0 {
			name = "feather8"
		}
		b.Run(name, func(b *testing.B) {
			doc, dst := benchDoc(b, f)
			b.ReportAllocs()
			for b.Loop() {
				doc.CompositeRect(dst, doc.Bounds())
			}
		})
	}
}

// BenchmarkRenderTexture renders a paste's layer, done once per placement change.
func BenchmarkRenderTexture(b *testing.B) {
	for _, tc := range []struct {
		name string
		p    Paste
	}{
		{"cover", Paste{Texture: stripes(345, 342), Opacity: 1}},
		{"cover-rotated", Paste{Texture: stripes(345, 342), Opacity: 1, Rotation: 10}},
		{"tile-scaled", Paste{Texture: stripes(345, 342), Opacity: 1, Mode: ModeTile, Scale: 0.5}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				RenderTexture(tc.p, 1024, 1024)
			}
		})
	}
}

// BenchmarkUndoStroke reverts and re-applies a 20-segment stroke on a 4096² mask.
func BenchmarkUndoStroke(b *testing.B) {
	doc, _ := NewDocument(image.NewNRGBA(image.Rect(0, 0, 4096, 4096)))
	doc.NewMask("road")
	rec, _ := doc.Record("road")
	s := &Stroke{Brush: Brush{Size: 64, Hardness: 0.5}}
	for i := 0; i < 20; i++ {
		s.Add(Point{float64(1000 + 30*i), float64(1000 + 10*i)})
		rec.Stroke(s)
	}
	h := NewHistory(doc)
	h.Push(rec.Finish("Brush"))
	b.ReportAllocs()
	for b.Loop() {
		h.Undo()
		h.Redo()
	}
}

// BenchmarkGrow dilates a 1024² mask by 8 px.
func BenchmarkGrow(b *testing.B) {
	doc, _ := benchDoc(b, 0)
	m := doc.Mask("road")
	orig := cloneAlpha(m)
	b.ReportAllocs()
	for b.Loop() {
		copy(m.Pix, orig.Pix)
		Grow(m, 8)
	}
}
