package canvas

import (
	"bytes"
	"errors"
	"image"
	"testing"
)

// randomEdit applies one random tool through a recorder, or a paste edit, and returns
// the edit (nil when nothing changed).
func randomEdit(t *testing.T, doc *Document, r interface {
	IntN(int) int
	Float64() float64
}) Edit {
	t.Helper()
	names := []string{"road", "sky"}
	rec, err := doc.Record(names[r.IntN(2)])
	if err != nil {
		t.Fatal(err)
	}
	b := doc.Bounds()
	pt := func() Point {
		return Point{float64(b.Dx()) * (1.2*r.Float64() - 0.1), float64(b.Dy()) * (1.2*r.Float64() - 0.1)}
	}
	switch k := r.IntN(10); k {
	case 0, 1, 2, 3:
		s := &Stroke{Brush: Brush{Size: 1 + 20*r.Float64(), Hardness: r.Float64(), Erase: r.IntN(3) == 0}}
		for n := 1 + r.IntN(6); n > 0; n-- {
			s.Add(pt())
			rec.Stroke(s)
		}
		if e := rec.Finish("Brush"); e != nil {
			return e
		}
	case 4, 5:
		pg := Polygon{Points: []Point{pt(), pt(), pt(), pt()}, Rule: FillRule(r.IntN(2)), Antialias: r.IntN(2) == 0, Erase: r.IntN(2) == 0}
		rec.Do(pg.Bounds(), pg.Fill)
		if e := rec.Finish("Polygon"); e != nil {
			return e
		}
	case 6:
		tools := []func(*image.Alpha) image.Rectangle{Fill, Clear, Invert,
			func(m *image.Alpha) image.Rectangle { return Grow(m, 3) },
			func(m *image.Alpha) image.Rectangle { return Shrink(m, 2) }}
		rec.Do(b, tools[r.IntN(len(tools))])
		if e := rec.Finish("Mask op"); e != nil {
			return e
		}
	case 7, 8:
		p := doc.NewPaste(stripes(7, 5), names[r.IntN(2)])
		p.Opacity, p.Mode = r.Float64(), Mode(r.IntN(2))
		e := &AddPaste{Paste: p, Index: r.IntN(len(doc.Pastes()) + 1)}
		if _, err := e.Apply(doc); err != nil {
			t.Fatal(err)
		}
		return e
	case 9:
		ps := doc.Pastes()
		if len(ps) == 0 {
			return nil
		}
		p := ps[r.IntN(len(ps))]
		var e Edit
		if r.IntN(2) == 0 {
			e, err = NewRemovePaste(doc, p.ID)
		} else {
			p.Rotation, p.OffsetX, p.Feather = 90*r.Float64(), 10*r.Float64(), 3*r.Float64()
			e, err = NewModifyPaste(doc, p)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Apply(doc); err != nil {
			t.Fatal(err)
		}
		return e
	}
	return nil
}

type snapshot struct {
	masks  map[string][]byte
	pastes []Paste
	out    []byte
}

func snap(doc *Document) snapshot {
	s := snapshot{masks: map[string][]byte{}, pastes: doc.Pastes(), out: doc.Composite().Pix}
	for _, m := range doc.Masks() {
		s.masks[m.Name] = bytes.Clone(m.Alpha.Pix)
	}
	return s
}

func (s snapshot) equal(o snapshot) bool {
	if len(s.pastes) != len(o.pastes) || !bytes.Equal(s.out, o.out) {
		return false
	}
	for i := range s.pastes {
		if s.pastes[i] != o.pastes[i] {
			return false
		}
	}
	for k, v := range s.masks {
		if !bytes.Equal(v, o.masks[k]) {
			return false
		}
	}
	return true
}

// TestUndoRedoProperty: random edits, then undo them all → the original document byte
// for byte; redo them all → the state before the undos.
func TestUndoRedoProperty(t *testing.T) {
	for seed := uint64(1); seed <= 25; seed++ {
		r := rng(seed)
		doc, err := NewDocument(checker(90, 70))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"road", "sky"} {
			if _, err := doc.NewMask(n); err != nil {
				t.Fatal(err)
			}
		}
		Polygon{Points: []Point{{0, 40}, {90, 30}, {90, 70}, {0, 70}}, Antialias: true}.Fill(doc.Mask("road"))
		h := NewHistory(doc)
		start := snap(doc)
		n := 0
		for i := 0; i < 30; i++ {
			if e := randomEdit(t, doc, r); e != nil {
				h.Push(e)
				n++
			}
		}
		end := snap(doc)
		for i := 0; i < n; i++ {
			if _, err := h.Undo(); err != nil {
				t.Fatalf("seed %d: undo %d: %v", seed, i, err)
			}
		}
		if _, err := h.Undo(); !errors.Is(err, ErrNoEdit) {
			t.Fatalf("seed %d: extra undo: %v", seed, err)
		}
		if !snap(doc).equal(start) {
			t.Fatalf("seed %d: undoing %d edits did not restore the document", seed, n)
		}
		for h.CanRedo() {
			if _, err := h.Redo(); err != nil {
				t.Fatalf("seed %d: redo: %v", seed, err)
			}
		}
		if !snap(doc).equal(end) {
			t.Fatalf("seed %d: redoing %d edits did not restore the edited document", seed, n)
		}
	}
}

func TestMaskEditPatchesAreSmall(t *testing.T) {
	doc, err := NewDocument(checker(500, 400))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := doc.NewMask("road"); err != nil {
		t.Fatal(err)
	}
	rec, err := doc.Record("road")
	if err != nil {
		t.Fatal(err)
	}
	s := &Stroke{Brush: Brush{Size: 10, Hardness: 1}}
	for _, p := range []Point{{100, 100}, {120, 105}, {130, 130}} {
		s.Add(p)
		rec.Stroke(s)
	}
	e := rec.Finish("Brush")
	if e == nil {
		t.Fatal("no edit recorded")
	}
	if want := image.Rect(95, 95, 135, 135); !e.Rect.In(want) || e.Before.Rect != e.Rect || e.After.Rect != e.Rect {
		t.Errorf("patch rect %v (before %v, after %v), want inside %v", e.Rect, e.Before.Rect, e.After.Rect, want)
	}
	if rec.Finish("again") != nil {
		t.Error("a second Finish with no changes returned an edit")
	}
}

func TestHistoryDropsRedoTail(t *testing.T) {
	doc, err := NewDocument(checker(20, 20))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := doc.NewMask("road"); err != nil {
		t.Fatal(err)
	}
	h := NewHistory(doc)
	tex := stripes(4, 4)
	for i := 0; i < 3; i++ {
		if _, err := h.Do(&AddPaste{Paste: doc.NewPaste(tex, "road"), Index: i}); err != nil {
			t.Fatal(err)
		}
	}
	h.Undo()
	h.Undo()
	if _, err := h.Do(&AddPaste{Paste: doc.NewPaste(tex, "road"), Index: 1}); err != nil {
		t.Fatal(err)
	}
	labels, done := h.Labels()
	if len(labels) != 2 || done != 2 || h.CanRedo() {
		t.Errorf("after undo, undo, do: %d items, %d done, CanRedo %v; want 2, 2, false", len(labels), done, h.CanRedo())
	}
	if _, err := h.Redo(); !errors.Is(err, ErrNoEdit) {
		t.Errorf("redo after a new edit: %v", err)
	}
	if _, err := h.Do(&AddPaste{Paste: doc.NewPaste(tex, "nope"), Index: 0}); err == nil {
		t.Error("an edit that fails was accepted")
	}
	if labels, _ := h.Labels(); len(labels) != 2 {
		t.Error("a failed edit was recorded")
	}
}
