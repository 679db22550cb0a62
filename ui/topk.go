package ui

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	fynecanvas "fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rulebrush/rulebrush/app"
)

// Colours of the prediction bars.
var (
	colFocus = color.NRGBA{R: 0x21, G: 0x96, B: 0xf3, A: 0xff} // the exemplar's own class
	colOther = color.NRGBA{R: 0x90, G: 0x98, B: 0xa4, A: 0xff}
	colUp    = color.NRGBA{R: 0x2e, G: 0xa0, B: 0x43, A: 0xff}
	colDown  = color.NRGBA{R: 0xd3, G: 0x3a, B: 0x2f, A: 0xff}
)

// topKRows is how many classes a TopKList shows.
const topKRows = 5

// TopKList shows the top classes of one image under one model as bars, each with its
// change from a reference (the same image before the edit, or the original image):
// rises in green, falls in red, and the exemplar's own class in blue.
type TopKList struct {
	widget.BaseWidget
	title *widget.Label
	rows  [topKRows]*topKRow
}

type topKRow struct {
	label, value, delta *fynecanvas.Text
	track, bar          *fynecanvas.Rectangle
	frac                float32
}

// NewTopKList returns an empty list titled title.
func NewTopKList(title string) *TopKList {
	l := &TopKList{title: widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})}
	l.title.Truncation = fyne.TextTruncateEllipsis
	for i := range l.rows {
		r := &topKRow{
			label: fynecanvas.NewText("", theme.Color(theme.ColorNameForeground)),
			value: fynecanvas.NewText("", theme.Color(theme.ColorNameForeground)),
			delta: fynecanvas.NewText("", theme.Color(theme.ColorNameForeground)),
			track: fynecanvas.NewRectangle(theme.Color(theme.ColorNameInputBackground)),
			bar:   fynecanvas.NewRectangle(colOther),
		}
		r.track.CornerRadius, r.bar.CornerRadius = 3, 3
		r.label.TextSize, r.value.TextSize, r.delta.TextSize = 12, 12, 11
		r.value.Alignment, r.delta.Alignment = fyne.TextAlignTrailing, fyne.TextAlignTrailing
		l.rows[i] = r
	}
	l.ExtendBaseWidget(l)
	return l
}

// Set shows preds; ref holds the reference probabilities (nil: no changes shown) and
// focus the class to mark (-1: none).
func (l *TopKList) Set(preds []app.Pred, ref []float32, focus int) {
	for i, r := range l.rows {
		if i >= len(preds) {
			r.label.Text, r.value.Text, r.delta.Text, r.frac = "", "", "", 0
			continue
		}
		p := preds[i]
		r.label.Text = p.Label
		r.value.Text = fmt.Sprintf("%.1f%%", 100*p.Prob)
		r.frac = p.Prob
		r.bar.FillColor = colOther
		r.label.TextStyle.Bold = p.Index == focus
		if p.Index == focus {
			r.bar.FillColor = colFocus
		}
		r.delta.Text = ""
		if ref != nil && p.Index < len(ref) {
			d := 100 * (p.Prob - ref[p.Index])
			switch {
			case d >= 0.5:
				r.delta.Text, r.delta.Color = fmt.Sprintf("▲%.1f", d), colUp
			case d <= -0.5:
				r.delta.Text, r.delta.Color = fmt.Sprintf("▼%.1f", -d), colDown
			}
		}
	}
	l.Refresh()
}

// CreateRenderer lays the rows out as label | bar | value | change.
func (l *TopKList) CreateRenderer() fyne.WidgetRenderer {
	rows := []fyne.CanvasObject{l.title}
	for _, r := range l.rows {
		rows = append(rows, container.New(&barLayout{row: r}, r.label, r.track, r.bar, r.value, r.delta))
	}
	return widget.NewSimpleRenderer(container.NewVBox(rows...))
}

// Refresh re-lays the bars and redraws the texts.
func (l *TopKList) Refresh() {
	for _, r := range l.rows {
		r.label.Color = theme.Color(theme.ColorNameForeground)
		r.value.Color = theme.Color(theme.ColorNameForeground)
		r.track.FillColor = theme.Color(theme.ColorNameInputBackground)
	}
	l.BaseWidget.Refresh()
}

// barLayout places one row: a label column, a bar track with its bar, the value and the
// change.
type barLayout struct{ row *topKRow }

const (
	labelW = 112
	valueW = 46
	deltaW = 44
	rowH   = 20
)

func (b *barLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	r := b.row
	barW := max(size.Width-labelW-valueW-deltaW-8, 20)
	r.label.Move(fyne.NewPos(0, 2))
	r.label.Resize(fyne.NewSize(labelW, rowH-4))
	r.track.Move(fyne.NewPos(labelW+4, 4))
	r.track.Resize(fyne.NewSize(barW, rowH-8))
	r.bar.Move(fyne.NewPos(labelW+4, 4))
	r.bar.Resize(fyne.NewSize(max(barW*r.frac, 0), rowH-8))
	r.value.Move(fyne.NewPos(labelW+4+barW, 2))
	r.value.Resize(fyne.NewSize(valueW, rowH-4))
	r.delta.Move(fyne.NewPos(labelW+4+barW+valueW, 3))
	r.delta.Resize(fyne.NewSize(deltaW, rowH-4))
}

func (b *barLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(labelW+valueW+deltaW+80, rowH)
}

// PredictionsPanel is a 2x2 grid of TopKLists: rows are the original and the modified
// image, columns the model before and after the rewrites.
type PredictionsPanel struct {
	widget.BaseWidget
	lists  [2][2]*TopKList
	status *widget.Label
}

// NewPredictionsPanel returns an empty panel.
func NewPredictionsPanel() *PredictionsPanel {
	p := &PredictionsPanel{status: widget.NewLabel("")}
	titles := [2][2]string{{"Original · model before", "Original · model after"},
		{"Modified · model before", "Modified · model after"}}
	for i := range 2 {
		for j := range 2 {
			p.lists[i][j] = NewTopKList(titles[i][j])
		}
	}
	p.status.Importance = widget.LowImportance
	p.ExtendBaseWidget(p)
	return p
}

// Set shows a preview result. Each list's changes are relative to its left neighbour
// (the model before the edit) or, in the first column, to the original image.
func (p *PredictionsPanel) Set(r *app.Result) {
	if r == nil {
		for i := range 2 {
			for j := range 2 {
				p.lists[i][j].Set(nil, nil, -1)
			}
		}
		p.status.SetText("")
		return
	}
	focus := -1
	if top := r.Top[app.Original][app.Before]; len(top) > 0 {
		focus = top[0].Index
	}
	p.lists[0][0].Set(r.Top[0][0], nil, focus)
	p.lists[0][1].Set(r.Top[0][1], r.Probs[0][0], focus)
	p.lists[1][0].Set(r.Top[1][0], r.Probs[0][0], focus)
	p.lists[1][1].Set(r.Top[1][1], r.Probs[1][0], focus)
	p.status.SetText(fmt.Sprintf("Preview in %d ms", r.Elapsed.Milliseconds()))
}

// CreateRenderer lays the lists out in a grid.
func (p *PredictionsPanel) CreateRenderer() fyne.WidgetRenderer {
	grid := container.NewGridWithColumns(2, p.lists[0][0], p.lists[0][1], p.lists[1][0], p.lists[1][1])
	return widget.NewSimpleRenderer(container.NewVBox(grid, p.status))
}
