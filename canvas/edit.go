package canvas

import (
	"errors"
	"fmt"
	"image"
)

// Edit is one undoable change to a document. Apply and Revert return the part of the
// image whose composite changed.
type Edit interface {
	Apply(*Document) (image.Rectangle, error)
	Revert(*Document) (image.Rectangle, error)
	Label() string
}

// MaskEdit is an exact change to one mask: the pixels of Rect before and after it.
// Before and After have bounds Rect, which covers only what the change touched.
type MaskEdit struct {
	Mask          string
	Name          string // label shown in the history, e.g. "Brush"
	Rect          image.Rectangle
	Before, After *image.Alpha
}

// Apply writes the After patch into the mask.
func (e *MaskEdit) Apply(d *Document) (image.Rectangle, error) { return e.put(d, e.After) }

// Revert writes the Before patch into the mask.
func (e *MaskEdit) Revert(d *Document) (image.Rectangle, error) { return e.put(d, e.Before) }

// Label returns the edit's name.
func (e *MaskEdit) Label() string { return e.Name }

func (e *MaskEdit) put(d *Document, patch *image.Alpha) (image.Rectangle, error) {
	m := d.Mask(e.Mask)
	if m == nil {
		return image.Rectangle{}, fmt.Errorf("canvas: %s: no mask %q", e.Name, e.Mask)
	}
	if !e.Rect.In(m.Rect) || patch.Rect != e.Rect {
		return image.Rectangle{}, fmt.Errorf("canvas: %s: patch %v does not fit mask %q", e.Name, e.Rect, e.Mask)
	}
	copyAlpha(m, patch, e.Rect)
	return e.Rect, nil
}

// copyAlpha copies the pixels of r from src to dst.
func copyAlpha(dst, src *image.Alpha, r image.Rectangle) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(dst.Pix[dst.PixOffset(r.Min.X, y):][:r.Dx()], src.Pix[src.PixOffset(r.Min.X, y):][:r.Dx()])
	}
}

// tileSize is the edge of the squares a Recorder saves before they are first changed.
const tileSize = 64

// Recorder turns tool calls on one mask into a MaskEdit. Tell it which rectangle a tool
// may change before running the tool (Save, or the Stroke and Do helpers); it copies the
// 64×64 tiles of that rectangle it has not copied yet, so a long stroke costs memory in
// proportion to the area it covers, and Finish builds patches of just the changed pixels.
type Recorder struct {
	name  string
	mask  *image.Alpha
	saved map[image.Point][]uint8 // tile index → original pixels, row-major
}

// Record starts recording changes to the named mask.
func (d *Document) Record(mask string) (*Recorder, error) {
	m := d.Mask(mask)
	if m == nil {
		return nil, fmt.Errorf("canvas: no mask %q", mask)
	}
	return &Recorder{name: mask, mask: m, saved: map[image.Point][]uint8{}}, nil
}

// Mask returns the mask being recorded.
func (r *Recorder) Mask() *image.Alpha { return r.mask }

// Save copies the not yet saved tiles under rect; call it before changing rect.
func (r *Recorder) Save(rect image.Rectangle) {
	rect = rect.Intersect(r.mask.Rect)
	if rect.Empty() {
		return
	}
	for ty := floorDiv(rect.Min.Y, tileSize); ty*tileSize < rect.Max.Y; ty++ {
		for tx := floorDiv(rect.Min.X, tileSize); tx*tileSize < rect.Max.X; tx++ {
			key := image.Pt(tx, ty)
			if _, ok := r.saved[key]; ok {
				continue
			}
			t := r.tile(key)
			buf := make([]uint8, 0, t.Dx()*t.Dy())
			for y := t.Min.Y; y < t.Max.Y; y++ {
				buf = append(buf, r.mask.Pix[r.mask.PixOffset(t.Min.X, y):][:t.Dx()]...)
			}
			r.saved[key] = buf
		}
	}
}

func (r *Recorder) tile(key image.Point) image.Rectangle {
	return image.Rect(key.X*tileSize, key.Y*tileSize, (key.X+1)*tileSize, (key.Y+1)*tileSize).Intersect(r.mask.Rect)
}

func floorDiv(a, b int) int {
	if a < 0 {
		return -((-a + b - 1) / b)
	}
	return a / b
}

// Stroke saves the area of the stroke's newest segment and rasterises it.
func (r *Recorder) Stroke(s *Stroke) image.Rectangle {
	r.Save(s.LastBounds())
	return s.RasterizeLast(r.mask)
}

// Do saves bounds, runs tool on the mask and returns the rectangle the tool reports. The
// tool must not change pixels outside bounds.
func (r *Recorder) Do(bounds image.Rectangle, tool func(*image.Alpha) image.Rectangle) image.Rectangle {
	r.Save(bounds)
	return tool(r.mask)
}

// Finish returns the recorded change as a MaskEdit labelled label, cropped to the pixels
// that actually changed, or nil when nothing changed. The recorder is reset.
func (r *Recorder) Finish(label string) *MaskEdit {
	defer func() { r.saved = map[image.Point][]uint8{} }()
	// Only saved tiles can have changed: compare each with the mask.
	var tight image.Rectangle
	for key, buf := range r.saved {
		t := r.tile(key)
		for y := t.Min.Y; y < t.Max.Y; y++ {
			old := buf[(y-t.Min.Y)*t.Dx():][:t.Dx()]
			cur := r.mask.Pix[r.mask.PixOffset(t.Min.X, y):][:t.Dx()]
			lo, hi := -1, -1
			for i := range cur {
				if cur[i] != old[i] {
					if lo < 0 {
						lo = i
					}
					hi = i
				}
			}
			if lo >= 0 {
				tight = tight.Union(image.Rect(t.Min.X+lo, y, t.Min.X+hi+1, y+1))
			}
		}
	}
	if tight.Empty() {
		return nil
	}
	before, after := image.NewAlpha(tight), image.NewAlpha(tight)
	copyAlpha(after, r.mask, tight)
	copyAlpha(before, r.mask, tight)
	for key, buf := range r.saved {
		t := r.tile(key)
		in := t.Intersect(tight)
		for y := in.Min.Y; y < in.Max.Y; y++ {
			copy(before.Pix[before.PixOffset(in.Min.X, y):][:in.Dx()], buf[(y-t.Min.Y)*t.Dx()+in.Min.X-t.Min.X:])
		}
	}
	return &MaskEdit{Mask: r.name, Name: label, Rect: tight, Before: before, After: after}
}

// AddPaste adds Paste at position Index of the paste order.
type AddPaste struct {
	Paste Paste
	Index int
}

// Apply inserts the paste.
func (e *AddPaste) Apply(d *Document) (image.Rectangle, error) {
	return d.Bounds(), d.InsertPaste(e.Index, e.Paste)
}

// Revert deletes the paste.
func (e *AddPaste) Revert(d *Document) (image.Rectangle, error) {
	_, _, err := d.DeletePaste(e.Paste.ID)
	return d.Bounds(), err
}

// Label returns "Paste texture".
func (e *AddPaste) Label() string { return "Paste texture" }

// RemovePaste deletes a paste; Revert puts it back where it was.
type RemovePaste struct {
	Paste Paste
	Index int
}

// NewRemovePaste returns the edit that deletes the paste with the given ID.
func NewRemovePaste(d *Document, id int) (*RemovePaste, error) {
	p, i, ok := d.Paste(id)
	if !ok {
		return nil, fmt.Errorf("canvas: no paste %d", id)
	}
	return &RemovePaste{Paste: p, Index: i}, nil
}

// Apply deletes the paste.
func (e *RemovePaste) Apply(d *Document) (image.Rectangle, error) {
	_, _, err := d.DeletePaste(e.Paste.ID)
	return d.Bounds(), err
}

// Revert reinserts the paste at its old position.
func (e *RemovePaste) Revert(d *Document) (image.Rectangle, error) {
	return d.Bounds(), d.InsertPaste(e.Index, e.Paste)
}

// Label returns "Remove texture".
func (e *RemovePaste) Label() string { return "Remove texture" }

// ModifyPaste changes a paste's settings (placement, opacity, mask, texture).
type ModifyPaste struct {
	Before, After Paste
}

// NewModifyPaste returns the edit that replaces the paste with after's ID by after.
func NewModifyPaste(d *Document, after Paste) (*ModifyPaste, error) {
	before, _, ok := d.Paste(after.ID)
	if !ok {
		return nil, fmt.Errorf("canvas: no paste %d", after.ID)
	}
	return &ModifyPaste{Before: before, After: after}, nil
}

// Apply sets the new settings.
func (e *ModifyPaste) Apply(d *Document) (image.Rectangle, error) {
	return d.Bounds(), d.UpdatePaste(e.After)
}

// Revert restores the old settings.
func (e *ModifyPaste) Revert(d *Document) (image.Rectangle, error) {
	return d.Bounds(), d.UpdatePaste(e.Before)
}

// Label returns "Change texture".
func (e *ModifyPaste) Label() string { return "Change texture" }

// History is a linear undo stack: items[:index] are done, items[index:] undone. Pushing
// a new edit drops the undone tail.
type History struct {
	doc   *Document
	items []Edit
	index int
}

// ErrNoEdit is returned by Undo or Redo when there is nothing to undo or redo.
var ErrNoEdit = errors.New("canvas: nothing to undo or redo")

// NewHistory returns an empty history for d.
func NewHistory(d *Document) *History { return &History{doc: d} }

// Push records an edit that has already been applied, such as a finished stroke.
func (h *History) Push(e Edit) {
	h.items = append(h.items[:h.index], e)
	h.index++
}

// Do applies e and records it. A failed edit is not recorded.
func (h *History) Do(e Edit) (image.Rectangle, error) {
	r, err := e.Apply(h.doc)
	if err != nil {
		return image.Rectangle{}, err
	}
	h.Push(e)
	return r, nil
}

// Undo reverts the newest done edit.
func (h *History) Undo() (image.Rectangle, error) {
	if h.index == 0 {
		return image.Rectangle{}, ErrNoEdit
	}
	r, err := h.items[h.index-1].Revert(h.doc)
	if err != nil {
		return image.Rectangle{}, err
	}
	h.index--
	return r, nil
}

// Redo re-applies the oldest undone edit.
func (h *History) Redo() (image.Rectangle, error) {
	if h.index == len(h.items) {
		return image.Rectangle{}, ErrNoEdit
	}
	r, err := h.items[h.index].Apply(h.doc)
	if err != nil {
		return image.Rectangle{}, err
	}
	h.index++
	return r, nil
}

// CanUndo reports whether Undo has an edit to revert.
func (h *History) CanUndo() bool { return h.index > 0 }

// CanRedo reports whether Redo has an edit to re-apply.
func (h *History) CanRedo() bool { return h.index < len(h.items) }

// Labels returns the labels of all edits and how many of them are done.
func (h *History) Labels() ([]string, int) {
	out := make([]string, len(h.items))
	for i, e := range h.items {
		out[i] = e.Label()
	}
	return out, h.index
}
