package ui

import (
	"fmt"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/rulebrush/rulebrush/canvas"
)

// PasteBar edits the settings of one paste: scale, rotation, opacity, feather and how
// the texture is laid out. Like the brush, a slider drag is live (OnChange) and its
// release commits (OnChangeEnd), so one drag is one history step.
type PasteBar struct {
	widget.BaseWidget
	// OnChange shows the paste as the control moves.
	OnChange func(canvas.Paste)
	// OnChangeEnd records the change from before, named label.
	OnChangeEnd func(before canvas.Paste, label string)

	cur     canvas.Paste
	before  *canvas.Paste // the paste when the current drag began
	setting bool          // Set is moving the controls: not a user change

	scale, rotation, opacity, feather *widget.Slider
	scaleL, rotationL, opacityL       *widget.Label
	featherL                          *widget.Label
	mode                              *widget.Select
}

// Paste modes as the mode picker names them.
var pasteModes = []string{"Cover", "Tile"}

// NewPasteBar returns a paste bar; Set gives it a paste.
func NewPasteBar() *PasteBar {
	b := &PasteBar{}
	b.scale, b.scaleL = b.slider(-2, 2, 0.05, "Scale texture", func(p *canvas.Paste, v float64) { p.Scale = math.Exp2(v) })
	b.rotation, b.rotationL = b.slider(-180, 180, 1, "Rotate texture", func(p *canvas.Paste, v float64) { p.Rotation = v })
	b.opacity, b.opacityL = b.slider(0, 100, 1, "Texture opacity", func(p *canvas.Paste, v float64) { p.Opacity = v / 100 })
	b.feather, b.featherL = b.slider(0, 64, 1, "Feather texture", func(p *canvas.Paste, v float64) { p.Feather = v })
	b.mode = widget.NewSelect(pasteModes, func(v string) {
		if b.setting {
			return
		}
		before := b.cur
		b.cur.Mode = canvas.ModeCover
		if v == pasteModes[1] {
			b.cur.Mode = canvas.ModeTile
		}
		b.labels()
		if b.OnChange != nil {
			b.OnChange(b.cur)
		}
		if b.OnChangeEnd != nil {
			b.OnChangeEnd(before, "Texture "+v)
		}
	})
	b.ExtendBaseWidget(b)
	return b
}

// slider makes one control: set applies its value to the paste.
func (b *PasteBar) slider(lo, hi, step float64, label string, set func(*canvas.Paste, float64)) (*widget.Slider, *widget.Label) {
	s := widget.NewSlider(lo, hi)
	s.Step = step
	s.OnChanged = func(v float64) {
		if b.setting {
			return
		}
		if b.before == nil {
			p := b.cur
			b.before = &p
		}
		set(&b.cur, v)
		b.labels()
		if b.OnChange != nil {
			b.OnChange(b.cur)
		}
	}
	s.OnChangeEnded = func(float64) {
		if b.before == nil {
			return
		}
		before := *b.before
		b.before = nil
		if b.OnChangeEnd != nil {
			b.OnChangeEnd(before, label)
		}
	}
	return s, widget.NewLabel("")
}

// Set shows the settings of p.
func (b *PasteBar) Set(p canvas.Paste) {
	b.cur, b.before = p, nil
	b.setting = true
	defer func() { b.setting = false }()
	sc := p.Scale
	if sc == 0 {
		sc = 1
	}
	b.scale.SetValue(math.Log2(sc))
	b.rotation.SetValue(p.Rotation)
	b.opacity.SetValue(p.Opacity * 100)
	b.feather.SetValue(p.Feather)
	b.mode.SetSelected(pasteModes[min(int(p.Mode), 1)])
	b.labels()
}

// Paste returns the paste as the bar shows it.
func (b *PasteBar) Paste() canvas.Paste { return b.cur }

func (b *PasteBar) labels() {
	sc := b.cur.Scale
	if sc == 0 {
		sc = 1
	}
	b.scaleL.SetText(fmt.Sprintf("×%.2f", sc))
	b.rotationL.SetText(fmt.Sprintf("%.0f°", b.cur.Rotation))
	b.opacityL.SetText(fmt.Sprintf("%.0f%%", b.cur.Opacity*100))
	b.featherL.SetText(fmt.Sprintf("%.0f px", b.cur.Feather))
}

// CreateRenderer lays the controls out in one row.
func (b *PasteBar) CreateRenderer() fyne.WidgetRenderer {
	item := func(name string, s *widget.Slider, l *widget.Label) fyne.CanvasObject {
		return container.NewGridWrap(fyne.NewSize(230, 36), container.NewBorder(nil, nil, widget.NewLabel(name), l, s))
	}
	row := container.NewHBox(widget.NewLabelWithStyle("Texture", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		item("Scale", b.scale, b.scaleL), item("Rotate", b.rotation, b.rotationL),
		item("Opacity", b.opacity, b.opacityL), item("Feather", b.feather, b.featherL), b.mode)
	return widget.NewSimpleRenderer(row)
}
