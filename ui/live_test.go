package ui

import (
	"path/filepath"
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/rulebrush/rulebrush/app"
)

func TestHeatmapIsLiveBeforeRewriteOnceStatisticsExist(t *testing.T) {
	m := newTestWindow(t)
	s := m.Session()
	// The window looks for the layer's statistics in the disk cache by itself.
	waitFor(t, "cached statistics", func() bool { return s.HasStats() })
	var first *app.Result
	waitFor(t, "a live heatmap", func() bool {
		first = m.last
		return first != nil && first.Version == s.Exemplar().Version() && first.HeatLive
	})
	if len(s.Edits()) != 0 || m.concept.Image == nil || !m.statsB.Hidden {
		t.Fatal("the heatmap panel does not show the live heatmap before a rewrite")
	}
	shown := m.concept.Image
	m.setTool(ToolBrush)
	m.surface.BrushSize = 60
	test.Drag(m.w.Canvas(), surfaceCentre(m).Add(fyne.NewPos(-150, -120)), 300, 0)
	var r *app.Result
	waitFor(t, "the heatmap of the new mask", func() bool {
		r = m.last
		return r != nil && r.Version == s.Exemplar().Version()
	})
	if !r.HeatLive || slices.Equal(r.Heat, first.Heat) || m.concept.Image == shown {
		t.Fatal("the heatmap did not follow the mask")
	}
}

func TestHeatmapPanelOffersToComputeStatistics(t *testing.T) {
	m := newTestWindow(t)
	// A session whose statistics cache is empty.
	m.opt.SessionOptions.StatsCache = t.TempDir()
	s, err := app.NewSession(m.s.Model, m.s.Base, m.opt.SessionOptions)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LoadExemplar(filepath.Join(dataDir(t), "exemplars", "police_van.jpg")); err != nil {
		t.Fatal(err)
	}
	m.setSession(s)
	waitFor(t, "a preview", func() bool { return m.last != nil })
	if m.statsB.Hidden || m.last.Heat != nil {
		t.Fatal("no Compute statistics button without statistics")
	}
	test.Tap(m.statsB)
	if m.jobCancel == nil || m.progress.Hidden || !m.statsB.Hidden {
		t.Fatal("the statistics job shows no progress")
	}
	m.cancel.OnTapped()
	waitFor(t, "the job to stop", func() bool { return m.jobCancel == nil })
	if s.HasStats() || m.statsB.Hidden {
		t.Fatal("after cancelling, the button should be back and no statistics kept")
	}
}

func TestPasteScaleIsOneUndoableStep(t *testing.T) {
	m := newTestWindow(t)
	s := m.Session()
	m.setTool(ToolPaste)
	if !m.pasteBar.Hidden {
		t.Fatal("the paste bar shows with nothing pasted")
	}
	test.TapCanvas(m.w.Canvas(), surfaceCentre(m))
	if m.pasteBar.Hidden {
		t.Fatal("no paste bar for the new paste")
	}
	before := s.Exemplar().Doc.Pastes()[0]
	n := s.History().Len()
	sl := m.pasteBar.scale
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(sl).Add(fyne.NewPos(sl.Size().Width/2, sl.Size().Height/2))
	test.Drag(m.w.Canvas(), pos, 40, 0)
	after, _, _ := s.Exemplar().Doc.Paste(before.ID)
	if got := s.History().Labels(); len(got) != n+1 || got[n] != "Scale texture · police_van" || after.Scale == before.Scale {
		t.Fatalf("a scale drag gave history %v and scale %g", got, after.Scale)
	}
	sc := m.w.Canvas().(fyne.Shortcutable)
	sc.TypedShortcut(&fyne.ShortcutUndo{})
	if p, _, _ := s.Exemplar().Doc.Paste(before.ID); p != before || m.pasteBar.Paste() != before {
		t.Fatalf("undo left scale %g (bar %g)", p.Scale, m.pasteBar.Paste().Scale)
	}
	m.setTool(ToolBrush)
	if !m.pasteBar.Hidden {
		t.Fatal("the paste bar stays with the brush")
	}
}
