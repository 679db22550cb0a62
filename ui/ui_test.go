package ui

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"github.com/rulebrush/rulebrush/app"
	"github.com/rulebrush/rulebrush/canvas"
	"github.com/rulebrush/rulebrush/engine/imageio"
)

func TestViewToImage(t *testing.T) {
	b := image.Rect(0, 0, 400, 200)
	// A 400x200 image in a 200x200 widget: scale 0.5, centred vertically (50 px bands).
	for _, tc := range []struct {
		pos  fyne.Position
		want canvas.Point
		in   bool
	}{
		{fyne.NewPos(0, 50), canvas.Point{X: 0, Y: 0}, true},
		{fyne.NewPos(100, 100), canvas.Point{X: 200, Y: 100}, true},
		{fyne.NewPos(199, 149), canvas.Point{X: 398, Y: 198}, true},
		{fyne.NewPos(100, 20), canvas.Point{X: 200, Y: -60}, false},
	} {
		got, s, in := viewToImage(tc.pos, fyne.NewSize(200, 200), b)
		if got != tc.want || in != tc.in || s != 0.5 {
			t.Errorf("viewToImage(%v) = %v, %g, %v; want %v, 0.5, %v", tc.pos, got, s, in, tc.want, tc.in)
		}
		if back := imageToView(got, fyne.NewSize(200, 200), b); back != tc.pos {
			t.Errorf("imageToView(%v) = %v, want %v", got, back, tc.pos)
		}
	}
	if _, _, in := viewToImage(fyne.NewPos(1, 1), fyne.NewSize(0, 0), b); in {
		t.Error("a zero-size widget maps onto the image")
	}
}

func dataDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("RULEBRUSH_DATA")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "shared", "data")
	}
	if _, err := os.Stat(filepath.Join(dir, "models", "mobilenetv2", "model.onnx")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test data missing at %s (set RULEBRUSH_DATA): %v", dir, err)
		}
		t.Skipf("test data missing at %s (set RULEBRUSH_DATA); skipped", dir)
	}
	return dir
}

// newTestWindow opens the main window on MobileNetV2 with the police-van exemplar and
// the snow texture, in the headless test driver.
func newTestWindow(t *testing.T) *MainWindow {
	dir := dataDir(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	fa := test.NewTempApp(t)
	edited, base, err := app.LoadModels(filepath.Join(dir, "models", "mobilenetv2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	opt := app.Options{CovData: filepath.Join(dir, "imagenet-samples"), StatsCache: filepath.Join(os.TempDir(), "rulebrush-test-stats")}
	s, err := app.NewSession(edited, base, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LoadExemplar(filepath.Join(dir, "exemplars", "police_van.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadTexture(filepath.Join(dir, "textures", "snow.jpg")); err != nil {
		t.Fatal(err)
	}
	m := NewMainWindow(fa, s, Options{SessionOptions: opt, OnUI: uiQueue.push})
	m.w.Resize(fyne.NewSize(1200, 800))
	t.Cleanup(m.w.Close)
	return m
}

// surfaceCentre is the middle of the paint surface in canvas coordinates.
func surfaceCentre(m *MainWindow) fyne.Position {
	d := fyne.CurrentApp().Driver()
	pos := d.AbsolutePositionForObject(m.surface)
	sz := m.surface.Size()
	return pos.Add(fyne.NewPos(sz.Width/2, sz.Height/2))
}

func TestDragPaintsOneUndoableStroke(t *testing.T) {
	m := newTestWindow(t)
	s := m.Session()
	before := bytes.Clone(s.Exemplar().Mask().Pix)
	n := s.History().Len()
	m.setTool(ToolBrush)
	test.Drag(m.w.Canvas(), surfaceCentre(m), 60, 0)
	if got := s.History().Len(); got != n+1 {
		t.Fatalf("a drag added %d history steps, want 1", got-n)
	}
	after := bytes.Clone(s.Exemplar().Mask().Pix)
	if bytes.Equal(before, after) {
		t.Fatal("the drag painted nothing")
	}
	if m.history.index != s.History().Index() || len(m.history.labels) != s.History().Len() {
		t.Error("the history panel does not show the stroke")
	}
	sc := m.w.Canvas().(fyne.Shortcutable)
	sc.TypedShortcut(&fyne.ShortcutUndo{})
	if !bytes.Equal(s.Exemplar().Mask().Pix, before) {
		t.Fatal("Ctrl+Z did not restore the mask")
	}
	sc.TypedShortcut(&fyne.ShortcutRedo{})
	if !bytes.Equal(s.Exemplar().Mask().Pix, after) {
		t.Fatal("redo did not restore the stroke")
	}
	// Going back to the start in the history list undoes everything.
	m.history.OnGoTo(0)
	if s.History().Index() != 0 || len(s.Exemplars) != 0 {
		t.Fatalf("going back to the start left %d steps done", s.History().Index())
	}
}

func TestRewriteAddsOneStepAndChangesAfter(t *testing.T) {
	if testing.Short() {
		t.Skip("needs key statistics over imagenet-samples")
	}
	m := newTestWindow(t)
	s := m.Session()
	if err := s.PasteTexture(); err != nil {
		t.Fatal(err)
	}
	first := waitPreview(t, m, s.Exemplar().Version())
	n := s.History().Len()
	sc := m.w.Canvas().(fyne.Shortcutable)
	sc.TypedShortcut(&desktopShortcut{fyne.KeyR})
	waitFor(t, "the rewrite", func() bool { return s.History().Len() == n+1 })
	if labels := s.History().Labels(); labels[len(labels)-1] != "Rewrite "+s.Layer {
		t.Fatalf("last step is %q", labels[len(labels)-1])
	}
	var r *app.Result
	waitFor(t, "the preview after the rewrite", func() bool {
		r = m.last
		return r != nil && r.Weights == s.WeightsVersion() && r.Heat != nil
	})
	if equal(r.Probs[app.Modified][app.After], first.Probs[app.Modified][app.After]) {
		t.Fatal("the after predictions did not change")
	}
}

// waitPreview waits until the window shows a preview of the given composite version.
func waitPreview(t *testing.T, m *MainWindow, version uint64) *app.Result {
	var r *app.Result
	waitFor(t, "a preview", func() bool {
		r = m.last
		return r != nil && r.Version == version
	})
	return r
}

// queue holds the work background goroutines hand to the UI. The test driver runs
// fyne.Do at once on the calling goroutine, so the tests run the queue themselves, on
// the test goroutine, which then is the only one touching widgets.
type queue struct{ ch chan func() }

var uiQueue = queue{ch: make(chan func(), 1024)}

func (q queue) push(f func()) { q.ch <- f }

// waitFor runs queued UI work until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(time.Minute)
	for !cond() {
		select {
		case f := <-uiQueue.ch:
			f()
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBadFilesShowErrorsAndKeepSession(t *testing.T) {
	m := newTestWindow(t)
	s := m.Session()
	n := s.History().Len()
	dir := t.TempDir()
	badModel := filepath.Join(dir, "bad.onnx")
	badImage := filepath.Join(dir, "bad.jpg")
	for _, f := range []string{badModel, badImage} {
		if err := os.WriteFile(f, []byte("not what the name says"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m.loadModel(badModel)
	waitFor(t, "the model to fail to load", func() bool { return m.jobCancel == nil })
	if m.Session() != s {
		t.Fatal("a bad model replaced the session")
	}
	if m.w.Canvas().Overlays().Top() == nil {
		t.Fatal("no error dialog for a bad model")
	}
	m.w.Canvas().Overlays().Remove(m.w.Canvas().Overlays().Top())
	m.dropped(fyne.NewPos(10, 10), []fyne.URI{storage.NewFileURI(badImage)})
	if m.w.Canvas().Overlays().Top() == nil {
		t.Fatal("no error dialog for a bad image")
	}
	if s.History().Len() != n || len(s.Exemplars) != 1 {
		t.Fatal("a bad image changed the session")
	}
}

func TestCheckFolderAfterRewrite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the model over snow-dev twice")
	}
	m := newTestWindow(t)
	s := m.Session()
	if err := s.PasteTexture(); err != nil {
		t.Fatal(err)
	}
	m.rewrite()
	waitFor(t, "the rewrite", func() bool { return len(s.Edits()) == 1 && m.jobCancel == nil })
	m.CheckFolder(filepath.Join(dataDir(t), "snow-dev"))
	var res fyne.Window
	waitFor(t, "the check results", func() bool {
		for _, w := range fyne.CurrentApp().Driver().AllWindows() {
			if strings.HasPrefix(w.Title(), "Check: ") {
				res = w
			}
		}
		return res != nil
	})
	if shots := os.Getenv("RULEBRUSH_UI_SHOTS"); shots != "" {
		res.Resize(fyne.NewSize(900, 700))
		if err := imageio.SavePNG(filepath.Join(shots, "check.png"), res.Canvas().Capture()); err != nil {
			t.Fatal(err)
		}
	}
	res.Close()
}

func TestPolygonAndPasteMoveAreOneStepEach(t *testing.T) {
	m := newTestWindow(t)
	s := m.Session()
	c := surfaceCentre(m)
	m.setTool(ToolPolygon)
	for _, d := range []fyne.Position{{X: -40, Y: -40}, {X: 40, Y: -40}, {X: 40, Y: 40}} {
		test.TapCanvas(m.w.Canvas(), c.Add(d))
	}
	n := s.History().Len()
	test.DoubleTap(m.surface)
	if s.History().Len() != n+1 || !strings.HasPrefix(s.History().Labels()[n], "Polygon") {
		t.Fatalf("closing a polygon gave history %v", s.History().Labels())
	}
	m.setTool(ToolPaste)
	test.TapCanvas(m.w.Canvas(), c)
	ps := s.Exemplar().Doc.Pastes()
	if len(ps) != 1 {
		t.Fatalf("a tap with the paste tool made %d pastes", len(ps))
	}
	n = s.History().Len()
	test.Drag(m.w.Canvas(), c, 30, 10)
	moved, _, _ := s.Exemplar().Doc.Paste(ps[0].ID)
	if s.History().Len() != n+1 || moved.OffsetX == 0 {
		t.Fatalf("dragging the paste: %d steps, offset %v", s.History().Len()-n, moved.OffsetX)
	}
	if err := s.Undo(); err != nil {
		t.Fatal(err)
	}
	if back, _, _ := s.Exemplar().Doc.Paste(ps[0].ID); back.OffsetX != 0 || back.OffsetY != 0 {
		t.Fatal("undo did not put the paste back")
	}
}

func TestShortcutsAndExemplarStrip(t *testing.T) {
	m := newTestWindow(t)
	s := m.Session()
	sc := m.w.Canvas().(fyne.Shortcutable)
	m.strip.OnRemove(0)
	if len(s.Exemplars) != 0 {
		t.Fatal("removing the exemplar left it in the session")
	}
	sc.TypedShortcut(&fyne.ShortcutUndo{}) // what the driver makes of Ctrl+Z
	if len(s.Exemplars) != 1 {
		t.Fatal("Ctrl+Z did not bring the exemplar back")
	}
	sc.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyZ, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift})
	if len(s.Exemplars) != 0 {
		t.Fatal("Ctrl+Shift+Z did not redo the removal")
	}
	m.history.OnGoTo(1)
	if len(s.Exemplars) != 1 || m.surface.bounds != s.Exemplar().Doc.Bounds() {
		t.Fatal("going back in the history did not show the exemplar again")
	}
	for _, k := range []struct {
		key  fyne.KeyName
		tool Tool
	}{{fyne.KeyP, ToolPolygon}, {fyne.KeyT, ToolPaste}, {fyne.KeyE, ToolEraser}, {fyne.KeyB, ToolBrush}} {
		m.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: k.key})
		if m.surface.Tool != k.tool {
			t.Errorf("key %s chose tool %d, want %d", k.key, m.surface.Tool, k.tool)
		}
	}
	m.surface.Zoom = 1
	if got, want := m.surface.MinSize(), fyne.NewSize(500, 375); got != want {
		t.Errorf("at 100%% the surface wants %v, want %v", got, want)
	}
}

func TestRewriteCanBeCancelledWhileComputingStatistics(t *testing.T) {
	m := newTestWindow(t)
	s := m.Session()
	// A fresh statistics cache: the rewrite has to go over imagenet-samples first.
	m.opt.SessionOptions.StatsCache = t.TempDir()
	s2, err := app.NewSession(s.Model, s.Base, m.opt.SessionOptions)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.LoadExemplar(filepath.Join(dataDir(t), "exemplars", "police_van.jpg")); err != nil {
		t.Fatal(err)
	}
	s2.SetTexture(s.TextureName, s.Texture)
	m.setSession(s2)
	if err := s2.PasteTexture(); err != nil {
		t.Fatal(err)
	}
	n := s2.History().Len()
	m.rewrite()
	if m.jobCancel == nil || m.progress.Hidden {
		t.Fatal("no progress bar and cancel button while the statistics are computed")
	}
	m.cancel.OnTapped()
	waitFor(t, "the job to stop", func() bool { return m.jobCancel == nil })
	if s2.History().Len() != n {
		t.Fatal("a cancelled rewrite changed the history")
	}
	if !strings.HasSuffix(m.status.Text, "cancelled") {
		t.Errorf("status after cancelling: %q", m.status.Text)
	}
}

func TestOpeningAnotherModelAsksAboutUnsavedChanges(t *testing.T) {
	m := newTestWindow(t)
	s := m.Session()
	m.openModel(filepath.Join(dataDir(t), "models", "mobilenetv2", "model.onnx"))
	if m.answer == nil || m.jobCancel != nil {
		t.Fatal("opening a model over unsaved changes did not ask first")
	}
	m.answer(false)
	if m.Session() != s || m.jobCancel != nil {
		t.Fatal("declining still opened the model")
	}
}
