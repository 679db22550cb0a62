// Package canvas is the exemplar document: a photo, named concept masks painted over it,
// and texture pastes shown inside those masks.
//
// A mask is an *image.Alpha the size of the photo; 255 marks the concept (for example the
// road) and 0 everything else, with soft values at brushed edges. Tools (Brush and Stroke,
// FillPolygon, Fill, Clear, Invert, Threshold, Grow, Shrink) change a mask in place and
// return the rectangle they touched, so a caller can recomposite just that part with
// CompositeRect. A Recorder turns such changes into an exact MaskEdit holding before and
// after patches of the touched region only, and History undoes and redoes edits.
//
// Composite renders the photo with every paste applied in order: inside the mask the
// texture replaces the photo, blended by mask × opacity (× the texture's own alpha);
// outside, the photo is unchanged. A ModeCover paste with default placement reproduces the
// exemplar convention of shared/data/exemplars: the texture is scaled with Catmull-Rom
// bicubic interpolation until it covers the image and centre-cropped.
//
// The package works on image.Image values and never reads photo formats itself: callers
// decode files. Documents are saved as a folder or a single .rbdoc zip of PNGs and a
// manifest (see Save and Load). It imports nothing from the GUI or the engine.
package canvas

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
	"regexp"
	"slices"
)

// Mask is a named concept mask; Alpha has the bounds of the document image.
type Mask struct {
	Name  string
	Alpha *image.Alpha
}

// Mode says how a paste lays its texture over the image.
type Mode int

const (
	// ModeCover scales the texture (keeping its aspect ratio) until it covers the whole
	// image, then centres it; Paste.Scale multiplies that cover scale.
	ModeCover Mode = iota
	// ModeTile repeats the texture at Paste.Scale × its own size from the image origin.
	ModeTile
)

// String returns "cover" or "tile".
func (m Mode) String() string {
	switch m {
	case ModeCover:
		return "cover"
	case ModeTile:
		return "tile"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses "cover" or "tile".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "cover":
		return ModeCover, nil
	case "tile":
		return ModeTile, nil
	}
	return 0, fmt.Errorf("canvas: unknown paste mode %q (want cover or tile)", s)
}

// Paste shows a texture inside one mask of the document.
type Paste struct {
	ID      int          // unique in its document; assigned by NewPaste
	Texture *image.NRGBA // the source texture, never modified by the document
	Mask    string       // name of the mask it is shown inside
	Mode    Mode
	// Offset moves the texture by this many image pixels (right and down).
	OffsetX, OffsetY float64
	// Scale multiplies the texture size: relative to the cover size in ModeCover, to
	// the texture's own size in ModeTile. Zero means 1.
	Scale float64
	// Rotation turns the texture clockwise by this many degrees about the image centre.
	Rotation float64
	// Opacity in 0..1 scales how strongly the texture replaces the image.
	Opacity float64
	// Feather softens the mask edge by blurring it over about this many pixels.
	Feather float64
}

func (p Paste) scale() float64 {
	if p.Scale == 0 {
		return 1
	}
	return p.Scale
}

// Validate reports the first thing wrong with the paste itself (not its mask name).
func (p Paste) Validate() error {
	switch {
	case p.Texture == nil || p.Texture.Bounds().Empty():
		size := image.Point{}
		if p.Texture != nil {
			size = p.Texture.Bounds().Size()
		}
		return fmt.Errorf("canvas: paste %d: texture is empty (%dx%d)", p.ID, size.X, size.Y)
	case p.Mode != ModeCover && p.Mode != ModeTile:
		return fmt.Errorf("canvas: paste %d: unknown mode %d", p.ID, int(p.Mode))
	case !(p.Scale >= 0) || math.IsInf(p.Scale, 0):
		return fmt.Errorf("canvas: paste %d: scale %g is not a positive number", p.ID, p.Scale)
	case !(p.Opacity >= 0 && p.Opacity <= 1):
		return fmt.Errorf("canvas: paste %d: opacity %g is outside 0..1", p.ID, p.Opacity)
	case !(p.Feather >= 0 && p.Feather <= 1000):
		return fmt.Errorf("canvas: paste %d: feather %g is outside 0..1000 px", p.ID, p.Feather)
	case math.IsNaN(p.OffsetX) || math.IsInf(p.OffsetX, 0) || math.IsNaN(p.OffsetY) || math.IsInf(p.OffsetY, 0):
		return fmt.Errorf("canvas: paste %d: offset (%g, %g) is not finite", p.ID, p.OffsetX, p.OffsetY)
	case math.IsNaN(p.Rotation) || math.IsInf(p.Rotation, 0):
		return fmt.Errorf("canvas: paste %d: rotation %g is not finite", p.ID, p.Rotation)
	}
	return nil
}

// Document is an exemplar photo with its masks and pastes. It is not safe for
// concurrent use.
type Document struct {
	image  *image.NRGBA
	masks  []Mask
	pastes []Paste
	nextID int
	layers map[int]*layer // rendered texture layers by paste ID
}

// ErrSize is wrapped by errors about a mask whose size differs from the image's.
var ErrSize = errors.New("size differs from the image")

// NewDocument starts a document on a copy of img, with no masks or pastes. The copy's
// bounds start at (0, 0).
func NewDocument(img image.Image) (*Document, error) {
	b := img.Bounds()
	if b.Empty() {
		return nil, fmt.Errorf("canvas: image is empty (%dx%d)", b.Dx(), b.Dy())
	}
	cp := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(cp, cp.Rect, img, b.Min, draw.Src)
	return &Document{image: cp, nextID: 1, layers: map[int]*layer{}}, nil
}

// Image returns the document's photo. Callers must not modify it.
func (d *Document) Image() *image.NRGBA { return d.image }

// Bounds returns the image bounds, (0,0)-(W,H).
func (d *Document) Bounds() image.Rectangle { return d.image.Rect }

var maskName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidMaskName reports whether name can name a mask: 1 to 64 letters, digits, '_', '-'
// or '.', starting with a letter or digit. Names become file names when saved.
func ValidMaskName(name string) bool { return maskName.MatchString(name) }

// Masks returns the masks in creation order. The slice is a copy; the images are shared.
func (d *Document) Masks() []Mask { return slices.Clone(d.masks) }

// Mask returns the named mask, or nil.
func (d *Document) Mask(name string) *image.Alpha {
	if i := d.maskIndex(name); i >= 0 {
		return d.masks[i].Alpha
	}
	return nil
}

func (d *Document) maskIndex(name string) int {
	return slices.IndexFunc(d.masks, func(m Mask) bool { return m.Name == name })
}

// NewMask adds an empty mask named name and returns it.
func (d *Document) NewMask(name string) (*image.Alpha, error) {
	m := image.NewAlpha(d.Bounds())
	if err := d.InsertMask(len(d.masks), Mask{name, m}); err != nil {
		return nil, err
	}
	return m, nil
}

// InsertMask adds a mask at position i of the mask list. Its bounds must equal the image
// bounds (see ResizeMask) and its name must be valid and unused.
func (d *Document) InsertMask(i int, m Mask) error {
	switch {
	case !ValidMaskName(m.Name):
		return fmt.Errorf("canvas: invalid mask name %q", m.Name)
	case d.maskIndex(m.Name) >= 0:
		return fmt.Errorf("canvas: mask %q already exists", m.Name)
	case m.Alpha == nil:
		return fmt.Errorf("canvas: mask %q has no pixels", m.Name)
	case m.Alpha.Rect != d.Bounds():
		return fmt.Errorf("canvas: mask %q is %dx%d, image is %dx%d: %w", m.Name,
			m.Alpha.Rect.Dx(), m.Alpha.Rect.Dy(), d.Bounds().Dx(), d.Bounds().Dy(), ErrSize)
	case i < 0 || i > len(d.masks):
		return fmt.Errorf("canvas: mask position %d out of range", i)
	}
	d.masks = slices.Insert(d.masks, i, m)
	return nil
}

// DeleteMask removes the named mask and returns it with its former position. Pastes
// that use it must be deleted first.
func (d *Document) DeleteMask(name string) (Mask, int, error) {
	i := d.maskIndex(name)
	if i < 0 {
		return Mask{}, 0, fmt.Errorf("canvas: no mask %q", name)
	}
	for _, p := range d.pastes {
		if p.Mask == name {
			return Mask{}, 0, fmt.Errorf("canvas: mask %q is used by paste %d", name, p.ID)
		}
	}
	m := d.masks[i]
	d.masks = slices.Delete(d.masks, i, i+1)
	return m, i, nil
}

// Pastes returns the pastes in the order they are applied. The slice is a copy.
func (d *Document) Pastes() []Paste { return slices.Clone(d.pastes) }

// Paste returns the paste with the given ID and its position.
func (d *Document) Paste(id int) (Paste, int, bool) {
	i := d.pasteIndex(id)
	if i < 0 {
		return Paste{}, -1, false
	}
	return d.pastes[i], i, true
}

func (d *Document) pasteIndex(id int) int {
	return slices.IndexFunc(d.pastes, func(p Paste) bool { return p.ID == id })
}

// NewPaste returns a paste of texture into the named mask with a fresh ID, cover mode,
// scale 1 and full opacity. It does not add it: use InsertPaste or an AddPaste edit.
func (d *Document) NewPaste(texture *image.NRGBA, mask string) Paste {
	id := d.nextID
	d.nextID++
	return Paste{ID: id, Texture: texture, Mask: mask, Mode: ModeCover, Scale: 1, Opacity: 1}
}

func (d *Document) checkPaste(p Paste) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if d.maskIndex(p.Mask) < 0 {
		return fmt.Errorf("canvas: paste %d: no mask %q", p.ID, p.Mask)
	}
	return nil
}

// InsertPaste adds p at position i of the paste order (len(Pastes()) appends).
func (d *Document) InsertPaste(i int, p Paste) error {
	if err := d.checkPaste(p); err != nil {
		return err
	}
	if d.pasteIndex(p.ID) >= 0 {
		return fmt.Errorf("canvas: paste %d already exists", p.ID)
	}
	if i < 0 || i > len(d.pastes) {
		return fmt.Errorf("canvas: paste position %d out of range", i)
	}
	d.pastes = slices.Insert(d.pastes, i, p)
	d.nextID = max(d.nextID, p.ID+1)
	return nil
}

// UpdatePaste replaces the paste with p's ID by p, keeping its position.
func (d *Document) UpdatePaste(p Paste) error {
	i := d.pasteIndex(p.ID)
	if i < 0 {
		return fmt.Errorf("canvas: no paste %d", p.ID)
	}
	if err := d.checkPaste(p); err != nil {
		return err
	}
	d.pastes[i] = p
	return nil
}

// DeletePaste removes the paste with the given ID and returns it with its position.
func (d *Document) DeletePaste(id int) (Paste, int, error) {
	i := d.pasteIndex(id)
	if i < 0 {
		return Paste{}, 0, fmt.Errorf("canvas: no paste %d", id)
	}
	p := d.pastes[i]
	d.pastes = slices.Delete(d.pastes, i, i+1)
	delete(d.layers, id)
	return p, i, nil
}
