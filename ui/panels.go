package ui

import (
	"fmt"
	"image"

	"fyne.io/fyne/v2"
	fynecanvas "fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rulebrush/rulebrush/app"
)

// HistoryList lists every step of the session, the undone ones dimmed; tapping a step
// goes back (or forward) to just after it, and the first row to the start.
type HistoryList struct {
	widget.BaseWidget
	// OnGoTo is called with the number of steps to have done.
	OnGoTo func(n int)

	list   *widget.List
	labels []string
	index  int
}

// NewHistoryList returns an empty history list.
func NewHistoryList() *HistoryList {
	h := &HistoryList{}
	h.list = widget.NewList(
		func() int { return len(h.labels) + 1 },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			l := o.(*widget.Label)
			text := "Start"
			if i > 0 {
				text = fmt.Sprintf("%d. %s", i, h.labels[i-1])
			}
			l.Importance = widget.MediumImportance
			if i > h.index {
				l.Importance = widget.LowImportance
			}
			l.TextStyle.Bold = i == h.index
			l.SetText(text)
		})
	h.list.OnSelected = func(i widget.ListItemID) {
		h.list.UnselectAll()
		if h.OnGoTo != nil && i != h.index {
			h.OnGoTo(i)
		}
	}
	h.ExtendBaseWidget(h)
	return h
}

// Set shows labels with the first index of them done.
func (h *HistoryList) Set(labels []string, index int) {
	h.labels, h.index = labels, index
	h.list.Refresh()
	h.list.ScrollTo(index)
}

// CreateRenderer shows the list.
func (h *HistoryList) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(h.list) }

// ExemplarStrip shows the session's exemplars as thumbnails with add and remove buttons.
type ExemplarStrip struct {
	widget.BaseWidget
	OnSelect func(i int)
	OnAdd    func()
	OnRemove func(i int)

	box     *fyne.Container
	add     *widget.Button
	current int
}

// NewExemplarStrip returns an empty strip.
func NewExemplarStrip() *ExemplarStrip {
	s := &ExemplarStrip{box: container.NewHBox()}
	s.add = widget.NewButtonWithIcon("Add exemplar", theme.ContentAddIcon(), func() {
		if s.OnAdd != nil {
			s.OnAdd()
		}
	})
	s.ExtendBaseWidget(s)
	return s
}

// Set shows thumbnails of the exemplars' composites with current highlighted.
func (s *ExemplarStrip) Set(exs []*app.Exemplar, current int) {
	s.current = current
	var objs []fyne.CanvasObject
	for i, ex := range exs {
		objs = append(objs, s.thumb(i, ex, i == current))
	}
	objs = append(objs, s.add)
	s.box.Objects = objs
	s.box.Refresh()
}

func (s *ExemplarStrip) thumb(i int, ex *app.Exemplar, current bool) fyne.CanvasObject {
	img := fynecanvas.NewImageFromImage(thumbnail(ex.Composite(), 64))
	img.FillMode = fynecanvas.ImageFillContain
	img.SetMinSize(fyne.NewSize(64, 48))
	sel := widget.NewButton(ex.Name, func() {
		if s.OnSelect != nil {
			s.OnSelect(i)
		}
	})
	if current {
		sel.Importance = widget.HighImportance
	}
	rm := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
		if s.OnRemove != nil {
			s.OnRemove(i)
		}
	})
	rm.Importance = widget.LowImportance
	return container.NewBorder(nil, container.NewBorder(nil, nil, nil, rm, sel), nil, nil, img)
}

// CreateRenderer shows the strip, scrolling sideways when long.
func (s *ExemplarStrip) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewHScroll(s.box))
}

// thumbnail shrinks img to fit size x size by nearest sampling (cheap enough to redo
// after every step).
func thumbnail(img *image.NRGBA, size int) *image.NRGBA {
	b := img.Bounds()
	f := float64(size) / float64(max(b.Dx(), b.Dy()))
	w, h := max(int(float64(b.Dx())*f), 1), max(int(float64(b.Dy())*f), 1)
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		sy := b.Min.Y + int((float64(y)+0.5)/f)
		for x := range w {
			sx := b.Min.X + int((float64(x)+0.5)/f)
			copy(out.Pix[out.PixOffset(x, y):][:4], img.Pix[img.PixOffset(sx, sy):][:4])
		}
	}
	return out
}

// layerOption describes a layer for the picker: its name, kernel and shapes.
func layerOption(l app.LayerDesc) string {
	return fmt.Sprintf("%s  %dx%d  %v→%v", l.Name, l.Kernel[0], l.Kernel[1], l.In, l.Out)
}
