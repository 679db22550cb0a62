package app

import (
	"fmt"
	"image"
	"slices"

	"github.com/rulebrush/rulebrush/canvas"
	"github.com/rulebrush/rulebrush/engine/rewrite"
)

// AddExemplar inserts an exemplar at Index and makes it current.
type AddExemplar struct {
	Exemplar *Exemplar
	Index    int
	prev     int
}

// Apply inserts the exemplar.
func (c *AddExemplar) Apply(s *Session) error {
	if c.Index < 0 || c.Index > len(s.Exemplars) {
		return fmt.Errorf("exemplar position %d out of range", c.Index)
	}
	s.Exemplars = slices.Insert(s.Exemplars, c.Index, c.Exemplar)
	c.prev, s.Current = s.Current, c.Index
	return nil
}

// Revert removes it again.
func (c *AddExemplar) Revert(s *Session) error {
	i := s.exemplarIndex(c.Exemplar)
	if i < 0 {
		return fmt.Errorf("exemplar %s is gone", c.Exemplar.Name)
	}
	s.Exemplars = slices.Delete(s.Exemplars, i, i+1)
	s.Current = min(c.prev, len(s.Exemplars)-1)
	return nil
}

// Label names the step.
func (c *AddExemplar) Label() string { return "Add exemplar " + c.Exemplar.Name }

// RemoveExemplar takes an exemplar out of the edit.
type RemoveExemplar struct {
	Exemplar *Exemplar
	index    int
}

// Apply removes the exemplar.
func (c *RemoveExemplar) Apply(s *Session) error {
	i := s.exemplarIndex(c.Exemplar)
	if i < 0 {
		return fmt.Errorf("exemplar %s is not in the session", c.Exemplar.Name)
	}
	c.index = i
	s.Exemplars = slices.Delete(s.Exemplars, i, i+1)
	s.Current = min(s.Current, len(s.Exemplars)-1)
	return nil
}

// Revert puts it back where it was.
func (c *RemoveExemplar) Revert(s *Session) error {
	s.Exemplars = slices.Insert(s.Exemplars, min(c.index, len(s.Exemplars)), c.Exemplar)
	s.Current = c.index
	return nil
}

// Label names the step.
func (c *RemoveExemplar) Label() string { return "Remove exemplar " + c.Exemplar.Name }

// DocEdit is a change to one exemplar's document: a brush stroke, an eraser stroke or a
// polygon on the concept mask (a canvas.MaskEdit holding the dirty rectangle with its
// before and after patches), or a texture paste added, moved or removed.
type DocEdit struct {
	Exemplar *Exemplar
	Edit     canvas.Edit
}

// Apply applies the edit and updates the composite where it changed.
func (c *DocEdit) Apply(s *Session) error { return c.run(c.Edit.Apply) }

// Revert reverts the edit.
func (c *DocEdit) Revert(s *Session) error { return c.run(c.Edit.Revert) }

func (c *DocEdit) run(f func(*canvas.Document) (image.Rectangle, error)) error {
	r, err := f(c.Exemplar.Doc)
	if err != nil {
		return err
	}
	c.Exemplar.touched(r)
	return nil
}

// Label names the step, with the exemplar.
func (c *DocEdit) Label() string { return c.Edit.Label() + " · " + c.Exemplar.Name }

// Stroke is a brush or eraser drag in progress on the current exemplar. Each Add paints
// the new segment at once (for the live view); End records the whole drag as one step.
type Stroke struct {
	s      *Session
	ex     *Exemplar
	rec    *canvas.Recorder
	stroke canvas.Stroke
	erase  bool
}

// BeginStroke starts a stroke with brush on the current exemplar's concept mask.
func (s *Session) BeginStroke(brush canvas.Brush) (*Stroke, error) {
	ex := s.Exemplar()
	if ex == nil {
		return nil, fmt.Errorf("no exemplar to paint on: open an image first")
	}
	rec, err := ex.Doc.Record(ConceptMask)
	if err != nil {
		return nil, err
	}
	return &Stroke{s: s, ex: ex, rec: rec, stroke: canvas.Stroke{Brush: brush}, erase: brush.Erase}, nil
}

// Add extends the stroke to p (image coordinates) and returns the rectangle of the mask
// and composite that changed.
func (st *Stroke) Add(p canvas.Point) image.Rectangle {
	st.stroke.Add(p)
	r := st.rec.Stroke(&st.stroke)
	if !r.Empty() {
		st.ex.touched(r)
	}
	return r
}

// Exemplar is the exemplar being painted.
func (st *Stroke) Exemplar() *Exemplar { return st.ex }

// End records the stroke as one history step; a stroke that changed nothing records
// nothing. It reports whether a step was recorded.
func (st *Stroke) End() bool {
	label := "Brush"
	if st.erase {
		label = "Erase"
	}
	e := st.rec.Finish(label)
	if e == nil {
		return false
	}
	st.s.record(&DocEdit{Exemplar: st.ex, Edit: e})
	return true
}

// FillPolygon fills (or erases) a polygon in image coordinates on the current exemplar's
// concept mask, as one step.
func (s *Session) FillPolygon(pts []canvas.Point, erase bool) error {
	ex := s.Exemplar()
	if ex == nil {
		return fmt.Errorf("no exemplar to paint on")
	}
	if len(pts) < 3 {
		return fmt.Errorf("a polygon needs at least 3 points")
	}
	rec, err := ex.Doc.Record(ConceptMask)
	if err != nil {
		return err
	}
	pg := canvas.Polygon{Points: pts, Erase: erase}
	r := rec.Do(pg.Bounds(), pg.Fill)
	label := "Polygon"
	if erase {
		label = "Erase polygon"
	}
	e := rec.Finish(label)
	if e == nil {
		return nil
	}
	ex.touched(r)
	s.record(&DocEdit{Exemplar: ex, Edit: e})
	return nil
}

// PasteTexture pastes the session's texture into the current exemplar's concept mask.
func (s *Session) PasteTexture() error {
	ex := s.Exemplar()
	if ex == nil {
		return fmt.Errorf("no exemplar to paste into")
	}
	if s.Texture == nil {
		return fmt.Errorf("no texture: open one first")
	}
	p := ex.Doc.NewPaste(s.Texture, ConceptMask)
	return s.Do(&DocEdit{Exemplar: ex, Edit: &pasteEdit{AddPaste: canvas.AddPaste{Paste: p, Index: len(ex.Doc.Pastes())}, name: s.TextureName}})
}

// pasteEdit labels a paste with its texture's name.
type pasteEdit struct {
	canvas.AddPaste
	name string
}

func (e *pasteEdit) Label() string {
	if e.name == "" {
		return e.AddPaste.Label()
	}
	return "Paste " + e.name
}

// MovePaste moves paste id of the current exemplar by (dx, dy) image pixels as one step.
// Live feedback while dragging comes from PreviewPasteOffset.
func (s *Session) MovePaste(id int, dx, dy float64) error {
	ex := s.Exemplar()
	if ex == nil {
		return fmt.Errorf("no exemplar")
	}
	p, _, ok := ex.Doc.Paste(id)
	if !ok {
		return fmt.Errorf("no paste %d", id)
	}
	p.OffsetX += dx
	p.OffsetY += dy
	e, err := canvas.NewModifyPaste(ex.Doc, p)
	if err != nil {
		return err
	}
	return s.Do(&DocEdit{Exemplar: ex, Edit: e})
}

// SetPasteOffset places paste id of the current exemplar at an offset without recording
// a step: the live view while a paste is dragged. CommitPasteMove then records the move.
func (s *Session) SetPasteOffset(id int, x, y float64) error {
	p, err := s.paste(id)
	if err != nil {
		return err
	}
	p.OffsetX, p.OffsetY = x, y
	return s.ShowPaste(p)
}

// paste returns paste id of the current exemplar.
func (s *Session) paste(id int) (canvas.Paste, error) {
	ex := s.Exemplar()
	if ex == nil {
		return canvas.Paste{}, fmt.Errorf("no exemplar")
	}
	p, _, ok := ex.Doc.Paste(id)
	if !ok {
		return canvas.Paste{}, fmt.Errorf("no paste %d", id)
	}
	return p, nil
}

// ShowPaste replaces the current exemplar's paste with p's ID by p without recording a
// step: the live view while a paste setting is dragged. CommitPaste records it.
func (s *Session) ShowPaste(p canvas.Paste) error {
	ex := s.Exemplar()
	if ex == nil {
		return fmt.Errorf("no exemplar")
	}
	if err := ex.Doc.UpdatePaste(p); err != nil {
		return err
	}
	ex.touched(ex.Doc.Bounds())
	return nil
}

// CommitPaste records the change of a paste made live with ShowPaste, from its settings
// before as one step named label; an unchanged paste records nothing.
func (s *Session) CommitPaste(before canvas.Paste, label string) error {
	after, err := s.paste(before.ID)
	if err != nil {
		return err
	}
	if after == before {
		return nil
	}
	s.record(&DocEdit{Exemplar: s.Exemplar(), Edit: &pasteChange{ModifyPaste: canvas.ModifyPaste{Before: before, After: after}, label: label}})
	return nil
}

// ChangePaste replaces the current exemplar's paste with p's ID by p as one step.
func (s *Session) ChangePaste(p canvas.Paste, label string) error {
	before, err := s.paste(p.ID)
	if err != nil {
		return err
	}
	if err := s.ShowPaste(p); err != nil {
		return err
	}
	return s.CommitPaste(before, label)
}

// pasteChange names a change of paste settings in the history.
type pasteChange struct {
	canvas.ModifyPaste
	label string
}

func (e *pasteChange) Label() string { return e.label }

// RewriteLayer is one rewrite of a layer. It holds the edit (its request and the
// rank-one factors d and Λ); applying and reverting recompute the layer from its pristine
// weights, so undo is exact.
type RewriteLayer struct {
	Edit *rewrite.Edit
	// Inputs are the exemplars the edit was computed from, kept for recipes.
	Inputs []rewrite.Exemplar
}

// Apply applies the edit to the model.
func (c *RewriteLayer) Apply(s *Session) error {
	h := s.rewrites
	// s.pushed mirrors the rewrite history's list, to tell a redo from a new edit.
	if i := h.Index(); i < len(s.pushed) && s.pushed[i] == c.Edit {
		if _, err := h.Redo(); err != nil {
			return err
		}
	} else {
		if err := h.Push(c.Edit); err != nil {
			return err
		}
		s.pushed = append(s.pushed[:i], c.Edit)
	}
	s.weights = nextVersion()
	return nil
}

// Revert takes the edit back.
func (c *RewriteLayer) Revert(s *Session) error {
	if _, err := s.rewrites.Undo(); err != nil {
		return err
	}
	s.weights = nextVersion()
	return nil
}

// Label names the step.
func (c *RewriteLayer) Label() string { return "Rewrite " + c.Edit.Layer }

// CommitPasteMove records a paste move made live with SetPasteOffset, from the offset it
// had when the drag began, as one step.
func (s *Session) CommitPasteMove(id int, fromX, fromY float64) error {
	before, err := s.paste(id)
	if err != nil {
		return err
	}
	before.OffsetX, before.OffsetY = fromX, fromY
	return s.CommitPaste(before, "Move texture")
}
