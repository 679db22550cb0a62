package ui

import (
	"image"
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	fynecanvas "fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rulebrush/rulebrush/canvas"
)

// Tool is what a drag or tap on the paint surface does.
type Tool int

// The tools of the toolbar.
const (
	ToolBrush Tool = iota
	ToolEraser
	ToolPolygon
	ToolPaste
)

// PaintSurface shows an exemplar (photo or composite) with its mask as a tinted overlay
// and turns pointer input into image-space tool events. It never calls the engine.
type PaintSurface struct {
	widget.BaseWidget

	// OnStroke is called for each pointer sample of a drag, in image coordinates; first
	// is true for the sample that starts the drag.
	OnStroke func(p canvas.Point, first bool)
	// OnStrokeEnd commits the drag.
	OnStrokeEnd func()
	// OnPolygon is called with the points of a closed polygon.
	OnPolygon func([]canvas.Point)
	// OnTap is called for a tap with the paste tool.
	OnTap func(canvas.Point)

	Tool      Tool
	BrushSize float64 // image pixels
	Zoom      float32 // 0: fit the widget; otherwise screen pixels per image pixel

	view, overlay, heat *fynecanvas.Image
	cursor              *fynecanvas.Circle
	hint                *fynecanvas.Text
	poly                []canvas.Point
	polyDots            []fyne.CanvasObject
	bounds              image.Rectangle
	dragging            bool
	heatRect            [4]float64
}

var (
	_ fyne.Draggable      = (*PaintSurface)(nil)
	_ fyne.Tappable       = (*PaintSurface)(nil)
	_ fyne.DoubleTappable = (*PaintSurface)(nil)
	_ desktop.Hoverable   = (*PaintSurface)(nil)
)

// NewPaintSurface returns an empty surface.
func NewPaintSurface() *PaintSurface {
	p := &PaintSurface{BrushSize: 24}
	for _, img := range []**fynecanvas.Image{&p.view, &p.overlay, &p.heat} {
		*img = &fynecanvas.Image{FillMode: fynecanvas.ImageFillContain, ScaleMode: fynecanvas.ImageScaleFastest}
	}
	p.view.ScaleMode = fynecanvas.ImageScaleSmooth
	p.heat.ScaleMode = fynecanvas.ImageScaleSmooth
	p.heat.Hide()
	p.cursor = &fynecanvas.Circle{StrokeColor: color.NRGBA{255, 255, 255, 220}, StrokeWidth: 1.5}
	p.cursor.Hide()
	p.hint = fynecanvas.NewText("Add an exemplar photo (Ctrl+O), or drop one here", theme.Color(theme.ColorNameDisabled))
	p.hint.Alignment = fyne.TextAlignCenter
	p.ExtendBaseWidget(p)
	return p
}

// SetImages shows view (the photo or the composite) under overlay (the tinted mask),
// both the size of the exemplar. nil clears the surface.
func (p *PaintSurface) SetImages(view, overlay *image.NRGBA) {
	// A typed nil inside image.Image would look like an image to Fyne.
	p.view.Image, p.overlay.Image, p.bounds = nil, nil, image.Rectangle{}
	if view != nil && overlay != nil {
		p.view.Image, p.overlay.Image, p.bounds = view, overlay, view.Rect
	}
	p.poly = nil
	p.Refresh()
}

// ShowMask shows or hides the mask overlay.
func (p *PaintSurface) ShowMask(show bool) {
	if show {
		p.overlay.Show()
	} else {
		p.overlay.Hide()
	}
}

// RefreshOverlay redraws the mask overlay only (after a stroke segment).
func (p *PaintSurface) RefreshOverlay() { p.overlay.Refresh() }

// RefreshView redraws the photo or composite.
func (p *PaintSurface) RefreshView() { p.view.Refresh() }

// SetHeat shows img (or nothing, when nil) stretched over the rectangle (x0,y0)-(x1,y1)
// of the image: the concept heatmap over the model's centre crop.
func (p *PaintSurface) SetHeat(img image.Image, x0, y0, x1, y1 float64) {
	if img == nil || p.bounds.Empty() {
		p.heat.Hide()
		return
	}
	p.heat.Image = img
	p.heat.FillMode = fynecanvas.ImageFillStretch
	p.heatRect = [4]float64{x0, y0, x1, y1}
	p.heat.Show()
	p.Refresh()
}

// MinSize is the image at the zoom, or a small square when fitting.
func (p *PaintSurface) MinSize() fyne.Size {
	if p.Zoom > 0 && !p.bounds.Empty() {
		return fyne.NewSize(float32(p.bounds.Dx())*p.Zoom, float32(p.bounds.Dy())*p.Zoom)
	}
	return fyne.NewSize(200, 200)
}

// viewToImage maps a position in a widget of the given size to image coordinates, for
// an image of bounds b drawn centred and scaled to fit (as ImageFillContain does). It
// also returns the scale (screen units per image pixel) and whether p lies on the image.
func viewToImage(pos fyne.Position, size fyne.Size, b image.Rectangle) (canvas.Point, float64, bool) {
	if b.Empty() || size.Width <= 0 || size.Height <= 0 {
		return canvas.Point{}, 0, false
	}
	s := math.Min(float64(size.Width)/float64(b.Dx()), float64(size.Height)/float64(b.Dy()))
	ox := (float64(size.Width) - s*float64(b.Dx())) / 2
	oy := (float64(size.Height) - s*float64(b.Dy())) / 2
	q := canvas.Point{X: (float64(pos.X)-ox)/s + float64(b.Min.X), Y: (float64(pos.Y)-oy)/s + float64(b.Min.Y)}
	in := q.X >= float64(b.Min.X) && q.Y >= float64(b.Min.Y) && q.X < float64(b.Max.X) && q.Y < float64(b.Max.Y)
	return q, s, in
}

// imageToView is the inverse of viewToImage.
func imageToView(q canvas.Point, size fyne.Size, b image.Rectangle) fyne.Position {
	s := math.Min(float64(size.Width)/float64(b.Dx()), float64(size.Height)/float64(b.Dy()))
	ox := (float64(size.Width) - s*float64(b.Dx())) / 2
	oy := (float64(size.Height) - s*float64(b.Dy())) / 2
	return fyne.NewPos(float32((q.X-float64(b.Min.X))*s+ox), float32((q.Y-float64(b.Min.Y))*s+oy))
}

// Dragged paints with the brush or eraser, or moves the paste.
func (p *PaintSurface) Dragged(e *fyne.DragEvent) {
	if p.Tool == ToolPolygon || p.OnStroke == nil {
		return
	}
	if !p.dragging {
		// The drag began where the pointer was pressed, one delta back.
		p.dragging = true
		start := e.Position.Subtract(fyne.NewPos(e.Dragged.DX, e.Dragged.DY))
		q0, _, _ := viewToImage(start, p.Size(), p.bounds)
		p.OnStroke(q0, true)
	}
	q, _, _ := viewToImage(e.Position, p.Size(), p.bounds)
	p.OnStroke(q, false)
	p.moveCursor(e.Position)
}

// DragEnd commits the drag.
func (p *PaintSurface) DragEnd() {
	if !p.dragging {
		return
	}
	p.dragging = false
	if p.OnStrokeEnd != nil {
		p.OnStrokeEnd()
	}
}

// Tapped adds a polygon vertex, or pastes with the paste tool.
func (p *PaintSurface) Tapped(e *fyne.PointEvent) {
	q, s, in := viewToImage(e.Position, p.Size(), p.bounds)
	if !in {
		return
	}
	switch p.Tool {
	case ToolPolygon:
		// A tap near the first vertex closes the polygon.
		if len(p.poly) >= 3 && math.Hypot(q.X-p.poly[0].X, q.Y-p.poly[0].Y)*s < 10 {
			p.closePolygon()
			return
		}
		p.poly = append(p.poly, q)
		p.Refresh()
	case ToolPaste:
		if p.OnTap != nil {
			p.OnTap(q)
		}
	}
}

// DoubleTapped closes the polygon; for the other tools it is a second tap.
func (p *PaintSurface) DoubleTapped(e *fyne.PointEvent) {
	if p.Tool == ToolPolygon {
		p.closePolygon()
		return
	}
	p.Tapped(e)
}

func (p *PaintSurface) closePolygon() {
	pts := p.poly
	p.poly = nil
	p.Refresh()
	if len(pts) >= 3 && p.OnPolygon != nil {
		p.OnPolygon(pts)
	}
}

// ClearPolygon drops the polygon being drawn (and the brush cursor, when the tool
// changes).
func (p *PaintSurface) ClearPolygon() {
	p.poly = nil
	if p.Tool != ToolBrush && p.Tool != ToolEraser {
		p.cursor.Hide()
	}
	p.Refresh()
}

// MouseIn shows the brush cursor.
func (p *PaintSurface) MouseIn(e *desktop.MouseEvent) { p.moveCursor(e.Position) }

// MouseMoved moves the brush cursor.
func (p *PaintSurface) MouseMoved(e *desktop.MouseEvent) { p.moveCursor(e.Position) }

// MouseOut hides the brush cursor.
func (p *PaintSurface) MouseOut() { p.cursor.Hide(); p.cursor.Refresh() }

func (p *PaintSurface) moveCursor(pos fyne.Position) {
	if p.Tool != ToolBrush && p.Tool != ToolEraser || p.bounds.Empty() {
		p.cursor.Hide()
		p.cursor.Refresh()
		return
	}
	_, s, _ := viewToImage(pos, p.Size(), p.bounds)
	r := float32(p.BrushSize * s / 2)
	p.cursor.Move(fyne.NewPos(pos.X-r, pos.Y-r))
	p.cursor.Resize(fyne.NewSize(2*r, 2*r))
	if p.Tool == ToolEraser {
		p.cursor.StrokeColor = color.NRGBA{120, 200, 255, 230}
	} else {
		p.cursor.StrokeColor = color.NRGBA{255, 255, 255, 230}
	}
	p.cursor.Show()
	p.cursor.Refresh()
}

// CreateRenderer draws the photo, the overlay, the heatmap, the polygon and the cursor.
func (p *PaintSurface) CreateRenderer() fyne.WidgetRenderer {
	bg := fynecanvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	return &paintRenderer{p: p, bg: bg}
}

type paintRenderer struct {
	p  *PaintSurface
	bg *fynecanvas.Rectangle
}

func (r *paintRenderer) Layout(size fyne.Size) {
	p := r.p
	r.bg.Resize(size)
	r.p.hint.Move(fyne.NewPos(0, size.Height/2-10))
	r.p.hint.Resize(fyne.NewSize(size.Width, 20))
	for _, o := range []fyne.CanvasObject{p.view, p.overlay} {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
	if !p.bounds.Empty() {
		a := imageToView(canvas.Point{X: p.heatRect[0], Y: p.heatRect[1]}, size, p.bounds)
		b := imageToView(canvas.Point{X: p.heatRect[2], Y: p.heatRect[3]}, size, p.bounds)
		p.heat.Move(a)
		p.heat.Resize(fyne.NewSize(b.X-a.X, b.Y-a.Y))
	}
}

func (r *paintRenderer) MinSize() fyne.Size { return r.p.MinSize() }

func (r *paintRenderer) Refresh() {
	p := r.p
	r.bg.FillColor = theme.Color(theme.ColorNameInputBackground)
	p.hint.Hidden = !p.bounds.Empty()
	p.polyDots = p.polyDots[:0]
	if !p.bounds.Empty() {
		size := p.Size()
		var prev fyne.Position
		for i, q := range p.poly {
			v := imageToView(q, size, p.bounds)
			dot := &fynecanvas.Circle{FillColor: color.NRGBA{255, 220, 0, 255}}
			dot.Move(fyne.NewPos(v.X-3, v.Y-3))
			dot.Resize(fyne.NewSize(6, 6))
			p.polyDots = append(p.polyDots, dot)
			if i > 0 {
				l := &fynecanvas.Line{StrokeColor: color.NRGBA{255, 220, 0, 255}, StrokeWidth: 2, Position1: prev, Position2: v}
				p.polyDots = append(p.polyDots, l)
			}
			prev = v
		}
	}
	r.Layout(p.Size())
	for _, o := range r.Objects() {
		o.Refresh()
	}
}

func (r *paintRenderer) Objects() []fyne.CanvasObject {
	p := r.p
	objs := []fyne.CanvasObject{r.bg, p.hint, p.view, p.heat, p.overlay}
	objs = append(objs, p.polyDots...)
	return append(objs, p.cursor)
}

func (r *paintRenderer) Destroy() {}
