package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	fynecanvas "fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rulebrush/rulebrush/app"
	"github.com/rulebrush/rulebrush/canvas"
)

// previewInterval throttles live previews while painting to about 30 per second.
const previewInterval = 33 * time.Millisecond

// Options adjust the main window.
type Options struct {
	// StatusFile, when set, receives a JSON summary after every change and preview.
	StatusFile string
	// Autosave enables the periodic autosave (off in tests).
	Autosave bool
	// LoadModels loads a model file; app.LoadModels when nil.
	LoadModels app.ModelLoader
	// SessionOptions configure sessions the window creates.
	SessionOptions app.Options
	// OnUI runs a function on the UI goroutine; fyne.Do when nil. Background work
	// (previews, jobs, autosave) reports through it.
	OnUI func(func())
}

// MainWindow is the app's window: the welcome view until a model is open, then the
// editor.
type MainWindow struct {
	fa  fyne.App
	w   fyne.Window
	opt Options
	s   *app.Session
	pv  *app.Previewer

	surface  *PaintSurface
	overlay  *image.NRGBA
	shownEx  *app.Exemplar
	preds    *PredictionsPanel
	history  *HistoryList
	strip    *ExemplarStrip
	layerSel *widget.Select
	layers   []app.LayerDesc
	concept  *fynecanvas.Image
	conceptL *widget.Label
	statsB   *widget.Button
	pasteBar *PasteBar
	status   *widget.Label
	progress *widget.ProgressBar
	cancel   *widget.Button
	toolBtns [4]*widget.Button
	sizeLbl  *widget.Label
	origChk  *widget.Check
	heatChk  *widget.Check
	rewriteB *widget.Button
	scroll   *container.Scroll

	stroke         *app.Stroke
	strokeEnd      time.Time
	pasteDrag      *pasteDrag
	last           *app.Result
	lastPreview    time.Time
	previewPending bool
	jobCancel      context.CancelFunc
	timings        map[string]float64
	paint          paintStats
	overlayLive    bool // the overlay already shows the stroke being committed
	dialogTitle    string
	answer         func(bool) // answers the open question, if any
	lastDir        string     // where the last file was saved
	stopAutosave   chan struct{}
	probed         [2]string // the layer and folder whose cached statistics were looked for
}

type pasteDrag struct {
	id           int
	start        canvas.Point
	fromX, fromY float64
}

// NewMainWindow builds the window for s, or the welcome view when s is nil.
func NewMainWindow(fa fyne.App, s *app.Session, opt Options) *MainWindow {
	if opt.LoadModels == nil {
		opt.LoadModels = app.LoadModels
	}
	if opt.OnUI == nil {
		opt.OnUI = fyne.Do
	}
	m := &MainWindow{fa: fa, w: fa.NewWindow("rulebrush"), opt: opt, timings: map[string]float64{}}
	m.w.Resize(fyne.NewSize(1440, 900))
	m.w.SetOnDropped(m.dropped)
	m.installShortcuts()
	if s == nil {
		m.showWelcome()
	} else {
		m.setSession(s)
	}
	m.w.SetCloseIntercept(func() {
		m.closing()
		m.w.Close()
	})
	return m
}

// onUI runs f on the UI goroutine.
func (m *MainWindow) onUI(f func()) { m.opt.OnUI(f) }

// Window returns the Fyne window.
func (m *MainWindow) Window() fyne.Window { return m.w }

// Session returns the open session, or nil.
func (m *MainWindow) Session() *app.Session { return m.s }

// ShowAndRun shows the window and runs the app until it closes.
func (m *MainWindow) ShowAndRun() { m.w.ShowAndRun() }

// closing runs before the window closes: a clean session needs no autosave any more;
// a changed one keeps it, to be offered next time.
func (m *MainWindow) closing() {
	if m.stopAutosave != nil {
		close(m.stopAutosave)
		m.stopAutosave = nil
	}
	if m.s != nil && !m.s.Dirty() {
		_ = app.RemoveAutosave()
	} else if m.s != nil && m.opt.Autosave {
		if err := m.s.Autosave()(); err != nil {
			m.fail(err)
		}
	}
}

// setSession shows s in the editor, replacing any other session.
func (m *MainWindow) setSession(s *app.Session) {
	m.s = s
	m.pv = app.NewPreviewer(s.Base, s.Model)
	m.last = nil
	m.shownEx = nil
	m.probed = [2]string{}
	m.w.SetContent(m.buildEditor())
	m.w.SetMainMenu(m.buildMenu())
	s.OnChange(func() { m.sessionChanged() })
	m.sessionChanged()
	if m.opt.Autosave && m.stopAutosave == nil {
		m.startAutosave()
	}
}

func (m *MainWindow) buildEditor() fyne.CanvasObject {
	m.surface = NewPaintSurface()
	m.surface.OnStroke = m.onStroke
	m.surface.OnStrokeEnd = m.onStrokeEnd
	m.surface.OnPolygon = func(pts []canvas.Point) { m.do(m.s.FillPolygon(pts, false)) }
	m.surface.OnTap = func(canvas.Point) { m.pasteTexture() }
	m.preds = NewPredictionsPanel()
	m.history = NewHistoryList()
	m.history.OnGoTo = func(n int) { m.do(m.s.GoTo(n)) }
	m.strip = NewExemplarStrip()
	m.strip.OnSelect = func(i int) { m.s.Select(i) }
	m.strip.OnAdd = m.openImage
	m.strip.OnRemove = func(i int) {
		m.do(m.s.Do(&app.RemoveExemplar{Exemplar: m.s.Exemplars[i]}))
	}
	m.status = widget.NewLabel("")
	m.status.Truncation = fyne.TextTruncateEllipsis
	m.progress = widget.NewProgressBar()
	m.progress.Hide()
	m.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() {
		if m.jobCancel != nil {
			m.jobCancel()
		}
	})
	m.cancel.Hide()

	var err error
	if m.layers, err = m.s.EditableLayers(); err != nil {
		m.fail(err)
	}
	var opts []string
	for _, l := range m.layers {
		opts = append(opts, layerOption(l))
	}
	m.layerSel = widget.NewSelect(opts, func(v string) {
		for _, l := range m.layers {
			if layerOption(l) == v && l.Name != m.s.Layer {
				m.do(m.s.SetLayer(l.Name))
			}
		}
	})
	m.concept = &fynecanvas.Image{FillMode: fynecanvas.ImageFillContain, ScaleMode: fynecanvas.ImageScaleSmooth}
	m.concept.SetMinSize(fyne.NewSize(220, 165))
	m.conceptL = widget.NewLabel("")
	m.conceptL.Wrapping = fyne.TextWrapWord
	m.conceptL.Importance = widget.LowImportance
	m.statsB = widget.NewButtonWithIcon("Compute statistics", theme.ComputerIcon(), m.computeStats)
	m.statsB.Hide()
	m.pasteBar = NewPasteBar()
	m.pasteBar.OnChange = func(p canvas.Paste) {
		if err := m.s.ShowPaste(p); err != nil {
			m.fail(err)
			return
		}
		m.surface.RefreshView()
		m.requestPreview(false)
	}
	m.pasteBar.OnChangeEnd = func(before canvas.Paste, label string) { m.do(m.s.CommitPaste(before, label)) }
	m.pasteBar.Hide()

	m.scroll = container.NewScroll(m.surface)
	center := container.NewBorder(nil, m.strip, nil, nil, m.scroll)
	layerCard := widget.NewCard("", "", container.NewVBox(
		widget.NewLabelWithStyle("Edit layer", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), m.layerSel))
	conceptBox := container.NewBorder(
		widget.NewLabelWithStyle("Concept heatmap", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewVBox(m.conceptL, m.statsB), nil, nil, m.concept)
	predCard := widget.NewCard("", "", container.NewVBox(
		widget.NewLabelWithStyle("Predictions (top 5)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), m.preds))
	histTitle := widget.NewLabelWithStyle("History", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	histCard := widget.NewCard("", "", container.NewBorder(histTitle, nil, nil, nil, m.history))
	lower := container.NewGridWithColumns(2, widget.NewCard("", "", conceptBox), histCard)
	right := container.NewBorder(container.NewVBox(layerCard, predCard), nil, nil, nil, lower)
	split := container.NewHSplit(center, right)
	split.Offset = 0.52
	bottom := container.NewBorder(nil, nil, nil, container.NewHBox(m.progress, m.cancel), m.status)
	// The paste bar sits under the toolbar, where it has the window's width.
	return container.NewBorder(container.NewVBox(m.buildToolbar(), m.pasteBar), bottom, nil, nil, split)
}

func (m *MainWindow) buildToolbar() fyne.CanvasObject {
	tools := []struct {
		name string
		icon fyne.Resource
		tool Tool
	}{
		{"Brush", theme.DocumentCreateIcon(), ToolBrush},
		{"Eraser", theme.ContentClearIcon(), ToolEraser},
		{"Polygon", theme.ViewFullScreenIcon(), ToolPolygon},
		{"Paste texture", theme.ContentPasteIcon(), ToolPaste},
	}
	var objs []fyne.CanvasObject
	for i, t := range tools {
		b := widget.NewButtonWithIcon(t.name, t.icon, func() { m.setTool(t.tool) })
		m.toolBtns[i] = b
		objs = append(objs, b)
	}
	size := widget.NewSlider(2, 200)
	size.Step = 1
	m.sizeLbl = widget.NewLabel("")
	size.OnChanged = func(v float64) {
		m.surface.BrushSize = v
		m.sizeLbl.SetText(fmt.Sprintf("%3.0f px", v))
	}
	size.SetValue(m.surface.BrushSize)
	sizeBox := container.NewBorder(nil, nil, widget.NewLabel("Size"), m.sizeLbl, size)
	zoom := widget.NewSelect([]string{"Fit", "50%", "100%", "200%"}, func(v string) {
		switch v {
		case "Fit":
			m.surface.Zoom = 0
		default:
			var pct float32
			fmt.Sscanf(v, "%f%%", &pct)
			m.surface.Zoom = pct / 100
		}
		m.surface.Refresh()
		m.scroll.Refresh()
	})
	zoom.SetSelected("Fit")
	m.origChk = widget.NewCheck("Show original", func(bool) { m.showExemplar(true) })
	m.heatChk = widget.NewCheck("Heatmap", func(bool) { m.showHeat() })
	maskChk := widget.NewCheck("Mask", func(on bool) { m.surface.ShowMask(on) })
	maskChk.SetChecked(true)
	undo := widget.NewButtonWithIcon("", theme.ContentUndoIcon(), func() { m.undo() })
	redo := widget.NewButtonWithIcon("", theme.ContentRedoIcon(), func() { m.redo() })
	m.rewriteB = widget.NewButtonWithIcon("Rewrite (Ctrl+R)", theme.MediaPlayIcon(), m.rewrite)
	m.rewriteB.Importance = widget.HighImportance
	check := widget.NewButtonWithIcon("Check folder", theme.FolderOpenIcon(), m.checkFolder)
	m.setTool(ToolBrush)
	left := container.NewHBox(append(objs, widget.NewSeparator(), undo, redo, widget.NewSeparator(), zoom, maskChk, m.origChk, m.heatChk)...)
	right := container.NewHBox(check, m.rewriteB)
	mid := container.NewGridWrap(fyne.NewSize(230, 36), sizeBox)
	return container.NewVBox(container.NewBorder(nil, nil, container.NewHBox(left, mid), right), widget.NewSeparator())
}

func (m *MainWindow) setTool(t Tool) {
	if m.surface == nil {
		return
	}
	m.surface.Tool = t
	m.surface.ClearPolygon()
	for i, b := range m.toolBtns {
		if b == nil {
			continue
		}
		b.Importance = widget.MediumImportance
		if Tool(i) == t {
			b.Importance = widget.HighImportance
		}
		b.Refresh()
	}
	hints := map[Tool]string{
		ToolBrush:   "Brush: drag to paint the concept (B). [ ] change the size.",
		ToolEraser:  "Eraser: drag to erase the concept (E).",
		ToolPolygon: "Polygon: click the corners, double-click or Enter to fill (P). Esc cancels.",
		ToolPaste:   "Paste: click to paste the texture into the concept, drag to move it, set it up in the bar above (T).",
	}
	if m.status != nil && m.jobCancel == nil {
		m.status.SetText(hints[t])
	}
	m.showPasteBar()
}

// showPasteBar shows the settings of the newest paste while the paste tool is active.
func (m *MainWindow) showPasteBar() {
	if m.pasteBar == nil {
		return
	}
	var ps []canvas.Paste
	if ex := m.s.Exemplar(); ex != nil {
		ps = ex.Doc.Pastes()
	}
	if m.surface.Tool != ToolPaste || len(ps) == 0 {
		m.pasteBar.Hide()
		return
	}
	m.pasteBar.Set(ps[len(ps)-1])
	m.pasteBar.Show()
}

// sessionChanged refreshes everything that shows session state.
func (m *MainWindow) sessionChanged() {
	s := m.s
	// Start the preview first, so the model runs while the panels redraw.
	m.requestPreview(true)
	m.history.Set(s.History().Labels(), s.History().Index())
	m.strip.Set(s.Exemplars, s.Current)
	for _, l := range m.layers {
		if l.Name == s.Layer && m.layerSel.Selected != layerOption(l) {
			m.layerSel.SetSelected(layerOption(l))
		}
	}
	title := "rulebrush"
	if s.Path != "" {
		title += " — " + filepath.Base(s.Path)
	}
	if s.Dirty() {
		title += " •"
	}
	m.w.SetTitle(title)
	m.showExemplar(false)
	m.showPasteBar()
	m.probeStats()
	m.writeStatus()
}

// probeStats looks, off the UI goroutine, for the current layer's statistics in the disk
// cache, once per layer and folder: with them the heatmap is live before any rewrite.
func (m *MainWindow) probeStats() {
	s := m.s
	key := [2]string{s.Layer, s.CovData}
	if s.HasStats() || key == m.probed {
		return
	}
	m.probed = key
	job, err := s.PrepareStats()
	if err != nil {
		return
	}
	go func() {
		out := job.Cached()
		m.onUI(func() {
			if m.s == s {
				s.SetStats(out)
			}
		})
	}()
}

// computeStats computes the current layer's key statistics as a job with progress and
// cancel; the heatmap goes live when they are done.
func (m *MainWindow) computeStats() {
	if m.s == nil {
		return
	}
	job, err := m.s.PrepareStats()
	if err != nil {
		m.fail(err)
		return
	}
	s := m.s
	m.runJob("Key statistics of "+s.Layer, func(ctx context.Context, progress app.Progress) (func(), error) {
		out, err := job.Run(ctx, progress)
		if err != nil {
			return nil, err
		}
		return func() {
			if m.s == s {
				s.SetStats(out)
				m.status.SetText("Key statistics of " + out.Layer + " ready: the heatmap follows the painted concept.")
			}
		}, nil
	})
	m.showHeat()
}

// showExemplar puts the current exemplar on the surface; full redraws the overlay even
// when the exemplar did not change (after an undo, say).
func (m *MainWindow) showExemplar(full bool) {
	ex := m.s.Exemplar()
	if ex == nil {
		m.surface.SetImages(nil, nil)
		m.shownEx = nil
		m.preds.Set(nil)
		return
	}
	if m.overlayLive && ex == m.shownEx && !full {
		// A stroke just ended: the overlay and the view already show it.
		m.showHeat()
		return
	}
	if ex != m.shownEx || m.overlay == nil || m.overlay.Rect != ex.Doc.Bounds() {
		m.overlay = image.NewNRGBA(ex.Doc.Bounds())
		m.shownEx = ex
	}
	app.TintMask(m.overlay, ex.Mask(), m.overlay.Rect, app.MaskTint)
	view := ex.Composite()
	if m.origChk.Checked {
		view = ex.Doc.Image()
	}
	m.surface.SetImages(view, m.overlay)
	m.showHeat()
}

// onStroke paints one pointer sample (or moves the paste).
func (m *MainWindow) onStroke(p canvas.Point, first bool) {
	switch m.surface.Tool {
	case ToolPaste:
		m.dragPaste(p, first)
		return
	case ToolBrush, ToolEraser:
	default:
		return
	}
	if first {
		st, err := m.s.BeginStroke(canvas.Brush{Size: m.surface.BrushSize, Hardness: 0.8, Erase: m.surface.Tool == ToolEraser})
		if err != nil {
			m.fail(err)
			return
		}
		m.stroke = st
	}
	if m.stroke == nil {
		return
	}
	start := time.Now()
	if first {
		m.paint = paintStats{start: start}
	}
	r := m.stroke.Add(p)
	if r.Empty() {
		return
	}
	app.TintMask(m.overlay, m.stroke.Exemplar().Mask(), r, app.MaskTint)
	m.surface.RefreshOverlay()
	if len(m.stroke.Exemplar().Doc.Pastes()) > 0 && !m.origChk.Checked {
		m.surface.RefreshView()
	}
	m.requestPreview(false)
	m.paint.add(time.Since(start))
}

// paintStats measures the handling of one drag's pointer samples on the UI goroutine.
type paintStats struct {
	start    time.Time
	n        int
	sum, max time.Duration
}

func (p *paintStats) add(d time.Duration) {
	p.n++
	p.sum += d
	p.max = max(p.max, d)
}

// report adds the drag's figures to timings (milliseconds; events per second).
func (p *paintStats) report(timings map[string]float64, w, h int) {
	if p.n == 0 {
		return
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	timings["paint_image_pixels"] = float64(w * h)
	timings["paint_samples"] = float64(p.n)
	timings["paint_sample_avg_ms"] = ms(p.sum / time.Duration(p.n))
	timings["paint_sample_max_ms"] = ms(p.max)
	if d := time.Since(p.start); d > 0 {
		timings["paint_samples_per_s"] = float64(p.n) / d.Seconds()
	}
}

func (m *MainWindow) onStrokeEnd() {
	if m.pasteDrag != nil {
		d := m.pasteDrag
		m.pasteDrag = nil
		m.do(m.s.CommitPasteMove(d.id, d.fromX, d.fromY))
		return
	}
	if m.stroke == nil {
		return
	}
	st := m.stroke
	m.stroke = nil
	m.strokeEnd = time.Now()
	b := st.Exemplar().Doc.Bounds()
	m.paint.report(m.timings, b.Dx(), b.Dy())
	m.overlayLive = true // read by sessionChanged, which End calls when it records
	recorded := st.End()
	m.overlayLive = false
	if !recorded {
		m.requestPreview(true)
	}
}

// dragPaste moves the newest paste of the current exemplar with the pointer.
func (m *MainWindow) dragPaste(p canvas.Point, first bool) {
	ex := m.s.Exemplar()
	if ex == nil {
		return
	}
	if first {
		ps := ex.Doc.Pastes()
		if len(ps) == 0 {
			m.pasteTexture()
			return
		}
		top := ps[len(ps)-1]
		m.pasteDrag = &pasteDrag{id: top.ID, start: p, fromX: top.OffsetX, fromY: top.OffsetY}
	}
	d := m.pasteDrag
	if d == nil {
		return
	}
	if err := m.s.SetPasteOffset(d.id, d.fromX+p.X-d.start.X, d.fromY+p.Y-d.start.Y); err != nil {
		m.fail(err)
		return
	}
	m.surface.RefreshView()
	m.requestPreview(false)
}

func (m *MainWindow) pasteTexture() {
	if m.s.Texture == nil {
		m.openTexture()
		return
	}
	m.do(m.s.PasteTexture())
}

// requestPreview asks for new predictions, at most about 30 times a second unless now.
func (m *MainWindow) requestPreview(now bool) {
	if m.s == nil {
		return
	}
	since := time.Since(m.lastPreview)
	if !now && since < previewInterval {
		if !m.previewPending {
			m.previewPending = true
			time.AfterFunc(previewInterval-since, func() {
				m.onUI(func() {
					m.previewPending = false
					m.requestPreview(true)
				})
			})
		}
		return
	}
	m.lastPreview = time.Now()
	req, ok := m.s.PreviewRequest()
	if !ok {
		m.preds.Set(nil)
		return
	}
	s := m.s
	m.pv.Request(req, func(r *app.Result, err error) {
		m.onUI(func() {
			if m.s != s {
				return
			}
			if err != nil {
				m.status.SetText("Preview failed: " + err.Error())
				return
			}
			m.showPreview(r)
		})
	})
}

func (m *MainWindow) showPreview(r *app.Result) {
	m.last = r
	m.preds.Set(r)
	if !m.strokeEnd.IsZero() {
		m.timings["stroke_end_to_preview"] = float64(time.Since(m.strokeEnd).Microseconds()) / 1000
		m.strokeEnd = time.Time{}
	}
	m.showHeat()
	m.writeStatus()
}

// showHeat draws the concept heatmap in the right panel and, when asked, on the canvas.
// The latest preview of this exemplar's photo is shown even while a newer one is on the
// way, so the heatmap follows the brush.
func (m *MainWindow) showHeat() {
	ex := m.s.Exemplar()
	if ex == nil {
		return
	}
	r := m.last
	m.statsB.Hide()
	if r == nil || r.Heat == nil || r.Image != ex.PhotoKey() || r.Layer != m.s.Layer {
		switch {
		case !m.s.HasStats():
			m.conceptL.SetText(fmt.Sprintf("Where the concept fires needs the key statistics of %s.", m.s.Layer))
			if m.jobCancel == nil {
				m.statsB.Show()
			}
		case canvas.Coverage(ex.Mask()) == 0:
			m.conceptL.SetText("Paint the concept to see where it fires.")
		default:
			m.conceptL.SetText("Computing where the concept fires…")
		}
		m.concept.Image = thumbnail(ex.Composite(), 220)
		m.concept.Refresh()
		m.surface.SetHeat(nil, 0, 0, 0, 0)
		return
	}
	heat := app.HeatImage(r.Heat, r.HeatW, r.HeatH)
	x0, y0, x1, y1 := app.CropRect(m.s.Model.Pre, ex.Doc.Bounds())
	if r.HeatLive {
		m.conceptL.SetText(fmt.Sprintf("Where the painted concept fires (dᵀk at %s), live as you paint.", r.Layer))
	} else {
		m.conceptL.SetText(fmt.Sprintf("Where the concept of %s fires (dᵀk) on this exemplar.", r.Layer))
	}
	m.concept.Image = blendHeat(ex.Composite(), heat, x0, y0, x1, y1)
	m.concept.Refresh()
	if m.heatChk.Checked {
		m.surface.SetHeat(heat, x0, y0, x1, y1)
	} else {
		m.surface.SetHeat(nil, 0, 0, 0, 0)
	}
}

// blendHeat draws the heat grid, scaled to the crop rectangle, over a thumbnail of img.
func blendHeat(img *image.NRGBA, heat *image.NRGBA, x0, y0, x1, y1 float64) *image.NRGBA {
	th := thumbnail(img, 220)
	f := float64(th.Rect.Dx()) / float64(img.Rect.Dx())
	out := image.NewNRGBA(th.Rect)
	draw.Draw(out, out.Rect, th, image.Point{}, draw.Src)
	hw, hh := heat.Rect.Dx(), heat.Rect.Dy()
	for y := range out.Rect.Dy() {
		iy := (float64(y)+0.5)/f - y0
		gy := int(iy / (y1 - y0) * float64(hh))
		if iy < 0 || gy >= hh {
			continue
		}
		for x := range out.Rect.Dx() {
			ix := (float64(x)+0.5)/f - x0
			gx := int(ix / (x1 - x0) * float64(hw))
			if ix < 0 || gx >= hw {
				continue
			}
			h := heat.Pix[heat.PixOffset(gx, gy):][:4]
			o := out.Pix[out.PixOffset(x, y):][:4]
			a := uint32(h[3])
			for c := range 3 {
				o[c] = uint8((uint32(o[c])*(255-a) + uint32(h[c])*a) / 255)
			}
		}
	}
	return out
}

// do reports err, if any, in a dialog.
func (m *MainWindow) do(err error) {
	if err != nil {
		m.fail(err)
	}
}

// fail shows an error dialog; the session stays as it was.
func (m *MainWindow) fail(err error) {
	if errors.Is(err, app.ErrNothing) {
		return
	}
	dialog.ShowError(err, m.w)
}

func (m *MainWindow) undo() {
	if m.s != nil && m.jobCancel == nil {
		m.do(m.s.Undo())
	}
}

func (m *MainWindow) redo() {
	if m.s != nil && m.jobCancel == nil {
		m.do(m.s.Redo())
	}
}

func (m *MainWindow) installShortcuts() {
	c := m.w.Canvas()
	add := func(key fyne.KeyName, mod fyne.KeyModifier, f func()) {
		c.AddShortcut(&desktop.CustomShortcut{KeyName: key, Modifier: mod}, func(fyne.Shortcut) { f() })
	}
	c.AddShortcut(&fyne.ShortcutUndo{}, func(fyne.Shortcut) { m.undo() })
	c.AddShortcut(&fyne.ShortcutRedo{}, func(fyne.Shortcut) { m.redo() })
	ctrl := fyne.KeyModifierShortcutDefault
	add(fyne.KeyZ, ctrl|fyne.KeyModifierShift, m.redo)
	add(fyne.KeyY, ctrl, m.redo)
	add(fyne.KeyR, ctrl, m.rewrite)
	add(fyne.KeyO, ctrl, m.openImage)
	add(fyne.KeyS, ctrl, m.save)
	add(fyne.KeyE, ctrl, m.exportModel)
	c.SetOnTypedKey(func(e *fyne.KeyEvent) {
		if m.answer != nil {
			switch e.Name {
			case fyne.KeyReturn, fyne.KeyEnter:
				m.answer(true)
			case fyne.KeyEscape:
				m.answer(false)
			}
			return
		}
		if m.surface == nil {
			return
		}
		switch e.Name {
		case fyne.KeyB:
			m.setTool(ToolBrush)
		case fyne.KeyE:
			m.setTool(ToolEraser)
		case fyne.KeyP:
			m.setTool(ToolPolygon)
		case fyne.KeyT:
			m.setTool(ToolPaste)
		case fyne.KeyEscape:
			m.surface.ClearPolygon()
		case fyne.KeyReturn, fyne.KeyEnter:
			m.surface.closePolygon()
		case fyne.KeyLeftBracket:
			m.surface.BrushSize = max(m.surface.BrushSize/1.25, 2)
		case fyne.KeyRightBracket:
			m.surface.BrushSize = min(m.surface.BrushSize*1.25, 200)
		}
	})
}

// writeStatus writes the e2e status file when one was asked for.
func (m *MainWindow) writeStatus() {
	if m.opt.StatusFile == "" || m.s == nil {
		return
	}
	st := m.s.Status(m.last)
	st.Timings = m.timings
	st.Dialog = m.dialogTitle
	if ex := m.s.Exemplar(); ex != nil && m.surface != nil {
		origin := fyne.CurrentApp().Driver().AbsolutePositionForObject(m.surface)
		tl := imageToView(canvas.Point{}, m.surface.Size(), ex.Doc.Bounds())
		_, sc, _ := viewToImage(tl, m.surface.Size(), ex.Doc.Bounds())
		px := float64(m.w.Canvas().Scale())
		st.View = &app.View{X: float64(origin.X+tl.X) * px, Y: float64(origin.Y+tl.Y) * px, Scale: sc * px}
	}
	if err := app.WriteStatus(m.opt.StatusFile, st); err != nil {
		m.status.SetText(err.Error())
	}
}

// dropped opens files dropped on the window: models, sessions, images (exemplars, or
// the texture while the paste tool is active).
func (m *MainWindow) dropped(_ fyne.Position, uris []fyne.URI) {
	for _, u := range uris {
		p := u.Path()
		switch strings.ToLower(filepath.Ext(p)) {
		case ".onnx":
			m.openModel(p)
		case app.SessionExt:
			m.openSession(p)
		default:
			if m.s == nil {
				m.fail(fmt.Errorf("open a model before adding images"))
				return
			}
			if m.surface.Tool == ToolPaste {
				m.do(m.s.LoadTexture(p))
			} else {
				m.do(m.s.LoadExemplar(p))
			}
		}
	}
}

// openModel loads a model off the UI goroutine and starts a new session on it; a bad
// file leaves the current session as it is.
func (m *MainWindow) openModel(path string) {
	m.unlessUnsaved(func() { m.loadModel(path) })
}

// unlessUnsaved runs then, after asking first when the session has unsaved changes.
func (m *MainWindow) unlessUnsaved(then func()) {
	if m.s == nil || !m.s.Dirty() {
		then()
		return
	}
	m.ask("Discard unsaved changes?", "The current session has changes that are not saved. Open the other file anyway?",
		"Open", "Cancel", func(ok bool) {
			if ok {
				then()
			}
		})
}

func (m *MainWindow) loadModel(path string) {
	m.runJob("Loading "+filepath.Base(path), func(ctx context.Context, _ app.Progress) (func(), error) {
		edited, base, err := m.opt.LoadModels(path)
		if err != nil {
			return nil, err
		}
		return func() {
			s, err := app.NewSession(edited, base, m.opt.SessionOptions)
			if err != nil {
				m.fail(err)
				return
			}
			_ = app.RememberModel(path)
			m.setSession(s)
		}, nil
	})
}

// openSession reads a session file off the UI goroutine.
func (m *MainWindow) openSession(path string) {
	m.unlessUnsaved(func() { m.loadSession(path) })
}

func (m *MainWindow) loadSession(path string) {
	m.runJob("Opening "+filepath.Base(path), func(ctx context.Context, _ app.Progress) (func(), error) {
		s, err := app.OpenSession(path, m.opt.LoadModels, m.opt.SessionOptions)
		if err != nil {
			return nil, err
		}
		return func() { m.setSession(s) }, nil
	})
}

// runJob runs work on another goroutine with a progress bar and a cancel button; the
// function it returns runs on the UI goroutine when it succeeds.
func (m *MainWindow) runJob(name string, work func(context.Context, app.Progress) (func(), error)) {
	if m.jobCancel != nil {
		m.fail(fmt.Errorf("wait for the running task to finish, or cancel it"))
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.jobCancel = cancel
	if m.progress != nil {
		m.progress.SetValue(0)
		m.progress.Show()
		m.cancel.Show()
		m.status.SetText(name + "…")
	}
	progress := func(stage string, done, total int) {
		m.onUI(func() {
			if m.progress == nil {
				return
			}
			m.status.SetText(fmt.Sprintf("%s: %s…", name, stage))
			if total > 0 {
				m.progress.SetValue(float64(done) / float64(total))
			}
		})
	}
	go func() {
		then, err := work(ctx, progress)
		m.onUI(func() {
			cancel()
			m.jobCancel = nil
			if m.progress != nil {
				m.progress.Hide()
				m.cancel.Hide()
				m.status.SetText("")
			}
			switch {
			case errors.Is(err, context.Canceled):
				if m.status != nil {
					m.status.SetText(name + ": cancelled")
				}
			case err != nil:
				m.fail(err)
			default:
				then()
			}
			if m.s != nil && m.statsB != nil {
				m.showHeat() // the statistics button comes back once the job is over
			}
		})
	}()
}

// rewrite computes (or reuses) the key statistics and applies a rewrite of the layer.
func (m *MainWindow) rewrite() {
	if m.s == nil {
		return
	}
	job, err := m.s.PrepareRewrite()
	if err != nil {
		m.fail(err)
		return
	}
	start := time.Now()
	m.runJob("Rewrite "+m.s.Layer, func(ctx context.Context, progress app.Progress) (func(), error) {
		out, err := job.Run(ctx, progress)
		if err != nil {
			return nil, err
		}
		return func() {
			if err := m.s.ApplyRewrite(out); err != nil {
				m.fail(err)
				return
			}
			e := out.Command.Edit
			ms := float64(time.Since(start).Microseconds()) / 1000
			m.timings["rewrite"] = ms
			m.status.SetText(fmt.Sprintf("Rewrote %s in %.0f ms: loss %.4g → %.4g", e.Layer, ms, e.LossBefore, e.LossAfter))
			m.writeStatus()
		}, nil
	})
}

func (m *MainWindow) startAutosave() {
	stop := make(chan struct{})
	m.stopAutosave = stop
	go func() {
		t := time.NewTicker(app.AutosaveInterval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				m.onUI(func() {
					if m.s == nil || !m.s.AutosaveDue() {
						return
					}
					write := m.s.Autosave()
					go func() {
						if err := write(); err != nil {
							m.onUI(func() { m.status.SetText(err.Error()) })
						}
					}()
				})
			}
		}
	}()
}

// OfferAutosave asks whether to restore the session a previous run autosaved. Return
// restores, Escape discards.
func (m *MainWindow) OfferAutosave(path string) {
	m.ask("Restore session?", "rulebrush stopped without saving your last session. Restore it from the autosave?",
		"Restore", "Discard", func(ok bool) {
			if ok {
				m.loadSession(path)
				return
			}
			_ = app.RemoveAutosave()
		})
}

// ask shows a yes/no question that the keyboard can answer too (Return: yes, Escape: no).
func (m *MainWindow) ask(title, text, yes, no string, then func(bool)) {
	var d *dialog.CustomDialog
	answer := func(ok bool) {
		d.Hide()
		m.answer, m.dialogTitle = nil, ""
		m.writeStatus()
		then(ok)
	}
	yesB := widget.NewButtonWithIcon(yes, theme.ConfirmIcon(), func() { answer(true) })
	yesB.Importance = widget.HighImportance
	noB := widget.NewButtonWithIcon(no, theme.CancelIcon(), func() { answer(false) })
	msg := widget.NewLabel(text)
	msg.Wrapping = fyne.TextWrapWord
	d = dialog.NewCustomWithoutButtons(title, container.NewGridWrap(fyne.NewSize(420, 60), msg), m.w)
	d.SetButtons([]fyne.CanvasObject{noB, yesB})
	m.answer, m.dialogTitle = answer, title
	d.Show()
	m.writeStatus()
}

// fileFilter limits a file dialog to extensions.
func fileFilter(exts ...string) storage.FileFilter { return storage.NewExtensionFileFilter(exts) }

var imageExts = []string{".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}

func (m *MainWindow) openFile(filter []string, then func(path string)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			m.fail(err)
			return
		}
		if r == nil {
			return
		}
		r.Close()
		then(r.URI().Path())
	}, m.w)
	d.SetFilter(fileFilter(filter...))
	if wd, err := os.Getwd(); err == nil {
		if l, err := storage.ListerForURI(storage.NewFileURI(wd)); err == nil {
			d.SetLocation(l)
		}
	}
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// saveFile asks where to save. It does not use Fyne's save dialog, which creates (and
// truncates) the chosen file before the app writes it: our writers replace files
// atomically, so a failed save must leave the earlier file as it was.
func (m *MainWindow) saveFile(name string, filter []string, then func(path string)) {
	dir := m.lastDir
	if dir == "" {
		dir, _ = os.Getwd()
	}
	entry := widget.NewEntry()
	entry.SetText(filepath.Join(dir, name))
	browse := widget.NewButtonWithIcon("Folder…", theme.FolderOpenIcon(), func() {
		d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
			if err != nil {
				m.fail(err)
				return
			}
			if u != nil {
				entry.SetText(filepath.Join(u.Path(), filepath.Base(entry.Text)))
			}
		}, m.w)
		d.Resize(fyne.NewSize(900, 600))
		d.Show()
	})
	form := dialog.NewForm("Save as", "Save", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("File", container.NewBorder(nil, nil, nil, browse, entry))},
		func(ok bool) {
			if !ok || strings.TrimSpace(entry.Text) == "" {
				return
			}
			p := strings.TrimSpace(entry.Text)
			if len(filter) > 0 && !slices.Contains(filter, strings.ToLower(filepath.Ext(p))) {
				p += filter[0]
			}
			m.lastDir = filepath.Dir(p)
			if _, err := os.Stat(p); err == nil {
				m.ask("Replace "+filepath.Base(p)+"?", p+" exists. Replace it?", "Replace", "Cancel", func(yes bool) {
					if yes {
						then(p)
					}
				})
				return
			}
			then(p)
		}, m.w)
	entry.OnSubmitted = func(string) { form.Submit() }
	form.Resize(fyne.NewSize(720, 160))
	form.Show()
	m.w.Canvas().Focus(entry)
}

func (m *MainWindow) openImage() {
	if m.s == nil {
		return
	}
	m.openFile(imageExts, func(p string) { m.do(m.s.LoadExemplar(p)) })
}

func (m *MainWindow) openTexture() {
	if m.s == nil {
		return
	}
	m.openFile(imageExts, func(p string) {
		if err := m.s.LoadTexture(p); err != nil {
			m.fail(err)
			return
		}
		m.status.SetText("Texture " + filepath.Base(p) + ": click the concept with the paste tool to paste it.")
	})
}

func (m *MainWindow) save() {
	if m.s == nil {
		return
	}
	if m.s.Path == "" {
		m.saveAs()
		return
	}
	m.do(m.s.Save(m.s.Path))
	m.sessionChanged()
}

func (m *MainWindow) saveAs() {
	if m.s == nil {
		return
	}
	m.saveFile("session"+app.SessionExt, []string{app.SessionExt}, func(p string) {
		m.do(m.s.Save(p))
		m.sessionChanged()
	})
}

func (m *MainWindow) exportModel() {
	if m.s == nil {
		return
	}
	m.saveFile("edited.onnx", []string{".onnx"}, func(p string) {
		if err := m.s.ExportModel(p); err != nil {
			m.fail(err)
			return
		}
		m.status.SetText("Exported " + p)
	})
}

func (m *MainWindow) exportRecipe() {
	if m.s == nil {
		return
	}
	m.saveFile("edit.json", []string{".json"}, func(p string) {
		if err := m.s.ExportRecipe(p); err != nil {
			m.fail(err)
			return
		}
		m.status.SetText("Exported recipe " + p + " (rulebrush edit --recipe " + filepath.Base(p) + ")")
	})
}

func (m *MainWindow) chooseCovData() {
	if m.s == nil {
		return
	}
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil {
			m.fail(err)
			return
		}
		if u != nil {
			m.s.SetCovData(u.Path())
		}
	}, m.w)
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

func (m *MainWindow) buildMenu() *fyne.MainMenu {
	item := fyne.NewMenuItem
	file := fyne.NewMenu("File",
		item("Open model…", func() { m.openFile([]string{".onnx"}, m.openModel) }),
		item("Add exemplar image…	Ctrl+O", m.openImage),
		item("Open texture…", m.openTexture),
		fyne.NewMenuItemSeparator(),
		item("Open session…", func() { m.openFile([]string{app.SessionExt}, m.openSession) }),
		item("Save session	Ctrl+S", m.save),
		item("Save session as…", m.saveAs),
		fyne.NewMenuItemSeparator(),
		item("Export edited model…	Ctrl+E", m.exportModel),
		item("Export recipe…", m.exportRecipe),
	)
	edit := fyne.NewMenu("Edit",
		item("Undo	Ctrl+Z", m.undo),
		item("Redo	Ctrl+Shift+Z", m.redo),
		fyne.NewMenuItemSeparator(),
		item("Rewrite layer	Ctrl+R", m.rewrite),
		item("Check a folder…", m.checkFolder),
		item("Statistics folder…", m.chooseCovData),
	)
	return fyne.NewMainMenu(file, edit)
}
