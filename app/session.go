package app

import (
	"fmt"
	"image"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rulebrush/rulebrush/canvas"
	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/imageio"
	"github.com/rulebrush/rulebrush/engine/rewrite"
)

// ConceptMask is the name of the mask every exemplar paints its concept into.
const ConceptMask = "concept"

// Exemplar is one photo of an edit with its concept mask and pastes.
type Exemplar struct {
	Name string
	Doc  *canvas.Document
	// version changes whenever the composite (the modified image) changes.
	version   uint64
	orig      uint64 // identifies the photo, which never changes
	composite *image.NRGBA
	snap      *snapshot // copies for previews, of the version they were taken at
}

func (e *Exemplar) origKey() uint64 { return e.orig }

// PhotoKey identifies the exemplar's photo, as Result.Image does.
func (e *Exemplar) PhotoKey() uint64 { return e.orig }

// NewExemplar starts an exemplar on img with an empty concept mask.
func NewExemplar(name string, img image.Image) (*Exemplar, error) {
	d, err := canvas.NewDocument(img)
	if err != nil {
		return nil, fmt.Errorf("exemplar %s: %w", name, err)
	}
	if _, err := d.NewMask(ConceptMask); err != nil {
		return nil, err
	}
	return exemplarOf(name, d), nil
}

func exemplarOf(name string, d *canvas.Document) *Exemplar {
	if d.Mask(ConceptMask) == nil {
		// A document from elsewhere: paint into its first mask, or a new one.
		if _, err := d.NewMask(ConceptMask); err != nil {
			slog.Warn("exemplar without concept mask", "name", name, "err", err)
		}
	}
	return &Exemplar{Name: name, Doc: d, version: nextVersion(), orig: nextVersion(), composite: d.Composite()}
}

// Mask returns the concept mask. Callers must not change it outside a command.
func (e *Exemplar) Mask() *image.Alpha { return e.Doc.Mask(ConceptMask) }

// Composite returns the modified image, kept up to date by the session. Callers must
// not change it, and must copy it before handing it to another goroutine.
func (e *Exemplar) Composite() *image.NRGBA { return e.composite }

// Version identifies the current composite: it changes whenever the composite does.
func (e *Exemplar) Version() uint64 { return e.version }

// touched brings the composite up to date after a change of the mask inside r (image
// coordinates) and gives it a new version.
func (e *Exemplar) touched(r image.Rectangle) {
	e.Doc.CompositeRect(e.composite, e.Doc.Spread(r))
	e.version = nextVersion()
}

// Options configure a new session.
type Options struct {
	Layer   string // edit layer; "" picks a default
	CovData string // folder of natural images for key statistics
	// StatsCache is where key statistics are cached ("" means the user cache dir).
	StatsCache string
}

// Session is the state of the app: a model (live, with edits applied) and a pristine copy
// for comparison, the exemplars being edited, a texture, and the undo history. It is not
// safe for concurrent use; background work reads snapshots.
type Session struct {
	Model *engine.Model // the edited model
	Base  *engine.Model // the same file, never edited: the "before" of every comparison

	Layer     string
	CovData   string
	Exemplars []*Exemplar
	Current   int
	Texture   *image.NRGBA
	// TextureName names the texture in history labels and files.
	TextureName string
	// Path is where the session was last saved or opened, or "".
	Path string

	opt      Options
	history  History
	rewrites *rewrite.History
	pushed   []*rewrite.Edit
	// direction holds the concept direction per layer once known, for the heatmap.
	direction map[string]concept
	stats     map[string]*rewrite.Stats // per layer, for the current CovData
	listen    []func()
	version   uint64 // changes on every change; compared with saved for dirtiness
	saved     uint64
	autosaved uint64
	weights   uint64 // changes when the edited model's weights do
}

// LoadModels loads the model file twice: once to edit and once to keep as it is.
func LoadModels(path string) (edited, base *engine.Model, err error) {
	if edited, err = engine.Load(path); err != nil {
		return nil, nil, err
	}
	if base, err = engine.Load(path); err != nil {
		return nil, nil, err
	}
	return edited, base, nil
}

// NewSession starts a session on a model (edited) and a pristine copy of it (base).
func NewSession(edited, base *engine.Model, opt Options) (*Session, error) {
	s := &Session{Model: edited, Base: base, opt: opt, CovData: opt.CovData,
		rewrites: rewrite.NewHistory(edited), stats: map[string]*rewrite.Stats{}, direction: map[string]concept{},
		version: nextVersion(), weights: nextVersion()}
	s.saved, s.autosaved = s.version, s.version
	layers := edited.EditableNames()
	if len(layers) == 0 {
		return nil, fmt.Errorf("model %s has no editable conv layer", edited.Path)
	}
	s.Layer = opt.Layer
	if s.Layer == "" {
		s.Layer = DefaultLayer(edited)
	} else if !slices.Contains(layers, s.Layer) {
		return nil, fmt.Errorf("layer %q is not an editable layer of %s", s.Layer, edited.Path)
	}
	if s.CovData == "" {
		s.CovData = DefaultCovData()
	}
	return s, nil
}

// DefaultLayer picks the layer to edit first: the last editable conv with a 1x1 kernel
// (MobileNetV2's Conv_1, VGG's and ResNet's late layers are good first choices), or the
// last editable conv.
func DefaultLayer(m *engine.Model) string {
	names := m.EditableNames()
	for i := len(names) - 1; i >= 0; i-- {
		if c, err := m.Conv(names[i]); err == nil && c.W.Shape[2] == 1 && c.W.Shape[3] == 1 {
			return names[i]
		}
	}
	return names[len(names)-1]
}

// OnChange registers f to be called after every change of the session.
func (s *Session) OnChange(f func()) { s.listen = append(s.listen, f) }

func (s *Session) changed() {
	s.version = nextVersion()
	s.notify()
}

// notify tells the listeners about a change that is not an edit of the document.
func (s *Session) notify() {
	for _, f := range s.listen {
		f()
	}
}

// Dirty reports whether the session changed since it was last saved.
func (s *Session) Dirty() bool { return s.version != s.saved }

// Version changes on every change of the session.
func (s *Session) Version() uint64 { return s.version }

// WeightsVersion changes whenever the edited model's weights do.
func (s *Session) WeightsVersion() uint64 { return s.weights }

// History returns the undo history (read-only: change it through Do, Undo, Redo, GoTo).
func (s *Session) History() *History { return &s.history }

// Edits returns the rewrites applied to the model, oldest first.
func (s *Session) Edits() []*rewrite.Edit { return s.rewrites.Applied() }

// Exemplar returns the current exemplar, or nil when there is none.
func (s *Session) Exemplar() *Exemplar {
	if s.Current < 0 || s.Current >= len(s.Exemplars) {
		return nil
	}
	return s.Exemplars[s.Current]
}

// Do applies c and records it.
func (s *Session) Do(c Command) error {
	if err := c.Apply(s); err != nil {
		return err
	}
	s.history.push(c)
	slog.Info("command", "label", c.Label())
	s.changed()
	return nil
}

// record adds an already applied command.
func (s *Session) record(c Command) {
	s.history.push(c)
	s.changed()
}

// Undo reverts the newest done step.
func (s *Session) Undo() error {
	h := &s.history
	if !h.CanUndo() {
		return ErrNothing
	}
	if err := h.items[h.index-1].Revert(s); err != nil {
		return fmt.Errorf("undo %s: %w", h.items[h.index-1].Label(), err)
	}
	h.index--
	s.changed()
	return nil
}

// Redo re-applies the oldest undone step.
func (s *Session) Redo() error {
	h := &s.history
	if !h.CanRedo() {
		return ErrNothing
	}
	if err := h.items[h.index].Apply(s); err != nil {
		return fmt.Errorf("redo %s: %w", h.items[h.index].Label(), err)
	}
	h.index++
	s.changed()
	return nil
}

// GoTo undoes or redoes until exactly n steps are done.
func (s *Session) GoTo(n int) error {
	n = min(max(n, 0), s.history.Len())
	for s.history.Index() > n {
		if err := s.Undo(); err != nil {
			return err
		}
	}
	for s.history.Index() < n {
		if err := s.Redo(); err != nil {
			return err
		}
	}
	return nil
}

// SetLayer chooses the layer the next rewrite edits and the preview splits at.
func (s *Session) SetLayer(layer string) error {
	if _, err := s.Model.Conv(layer); err != nil {
		return err
	}
	if !slices.Contains(s.Model.EditableNames(), layer) {
		return fmt.Errorf("layer %q cannot be rewritten (grouped conv)", layer)
	}
	s.Layer = layer
	s.changed()
	return nil
}

// SetCovData sets the folder of images the key statistics are computed over.
func (s *Session) SetCovData(dir string) {
	if dir != s.CovData {
		s.CovData = dir
		clear(s.stats)
		s.changed()
	}
}

// Select makes exemplar i current.
func (s *Session) Select(i int) {
	if i >= 0 && i < len(s.Exemplars) && i != s.Current {
		s.Current = i
		s.changed()
	}
}

// exemplarIndex finds e among the exemplars.
func (s *Session) exemplarIndex(e *Exemplar) int { return slices.Index(s.Exemplars, e) }

// LoadExemplar reads an image file and adds it as an exemplar (one history step). A mask
// file next to it, named <base>_mask.png, is loaded into the concept mask.
func (s *Session) LoadExemplar(path string) error {
	img, err := imageio.Load(path)
	if err != nil {
		return fmt.Errorf("open image: %w", err)
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	e, err := NewExemplar(name, img)
	if err != nil {
		return err
	}
	mp := strings.TrimSuffix(path, filepath.Ext(path)) + "_mask.png"
	if m, err := imageio.Load(mp); err == nil && m.Bounds().Size() == img.Bounds().Size() {
		mask := e.Mask()
		for y := range m.Rect.Dy() {
			for x := range m.Rect.Dx() {
				mask.Pix[mask.PixOffset(x, y)] = m.Pix[m.PixOffset(x, y)] // red channel of a grey mask
			}
		}
		e.touched(e.Doc.Bounds())
	}
	return s.Do(&AddExemplar{Exemplar: e, Index: len(s.Exemplars)})
}

// LoadTexture reads the texture the paste tool uses.
func (s *Session) LoadTexture(path string) error {
	img, err := imageio.Load(path)
	if err != nil {
		return fmt.Errorf("open texture: %w", err)
	}
	s.SetTexture(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), img)
	return nil
}

// SetTexture sets the texture the paste tool uses.
func (s *Session) SetTexture(name string, img *image.NRGBA) {
	s.Texture, s.TextureName = img, name
	s.changed()
}

// LayerDesc describes an editable layer for the layer picker.
type LayerDesc struct {
	Name    string
	Kernel  [2]int
	In, Out []int // [C, H, W]
}

// EditableLayers describes the layers a rewrite can edit, in graph order.
func (s *Session) EditableLayers() ([]LayerDesc, error) {
	infos, err := s.Base.Layers()
	if err != nil {
		return nil, err
	}
	var out []LayerDesc
	for _, l := range infos {
		if l.Editable {
			out = append(out, LayerDesc{Name: l.Name, Kernel: l.Kernel, In: l.InShape, Out: l.OutShape})
		}
	}
	return out, nil
}
