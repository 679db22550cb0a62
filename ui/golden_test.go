package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/rulebrush/rulebrush/app"
	"github.com/rulebrush/rulebrush/canvas"
)

// desktopShortcut is Ctrl+key, as the window registers it.
type desktopShortcut struct{ key fyne.KeyName }

func (d *desktopShortcut) ShortcutName() string {
	return (&desktop.CustomShortcut{KeyName: d.key, Modifier: fyne.KeyModifierShortcutDefault}).ShortcutName()
}

func TestTopKListMarkup(t *testing.T) {
	test.NewTempApp(t)
	l := NewTopKList("Modified · model after")
	ref := make([]float32, 10)
	ref[3], ref[7] = 0.7, 0.1
	l.Set([]app.Pred{
		{Index: 3, Label: "police van", Prob: 0.5},
		{Index: 7, Label: "minivan", Prob: 0.25},
		{Index: 1, Label: "snowplow", Prob: 0.1},
	}, ref, 3)
	l.Resize(fyne.NewSize(420, l.MinSize().Height))
	test.AssertObjectRendersToMarkup(t, "topk.xml", l)
}

func TestHistoryListMarkup(t *testing.T) {
	test.NewTempApp(t)
	h := NewHistoryList()
	h.Set([]string{"Add exemplar police_van", "Paste snow · police_van", "Brush · police_van", "Rewrite Conv_1"}, 3)
	h.Resize(fyne.NewSize(300, 220))
	test.AssertObjectRendersToMarkup(t, "history.xml", h)
}

func TestWelcomeMarkup(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	fa := test.NewTempApp(t)
	m := NewMainWindow(fa, nil, Options{})
	defer m.w.Close()
	m.w.Resize(fyne.NewSize(800, 600))
	test.AssertRendersToMarkup(t, "welcome.xml", m.w.Canvas())
}

func TestPredictionsPanelMarkup(t *testing.T) {
	test.NewTempApp(t)
	p := NewPredictionsPanel()
	probs := func(v ...float32) []float32 { return v }
	r := &app.Result{Probs: [2][2][]float32{
		{probs(0.7, 0.2, 0.1), probs(0.6, 0.3, 0.1)},
		{probs(0.5, 0.3, 0.2), probs(0.8, 0.1, 0.1)},
	}}
	names := []string{"police van", "minivan", "snowplow"}
	for i := range 2 {
		for j := range 2 {
			for c, v := range r.Probs[i][j] {
				r.Top[i][j] = append(r.Top[i][j], app.Pred{Index: c, Label: names[c], Prob: v})
			}
		}
	}
	p.Set(r)
	p.Resize(fyne.NewSize(820, p.MinSize().Height))
	test.AssertObjectRendersToMarkup(t, "predictions.xml", p)
}

func TestPasteBarMarkup(t *testing.T) {
	test.NewTempApp(t)
	b := NewPasteBar()
	b.Set(canvas.Paste{Mode: canvas.ModeTile, Scale: 2, Rotation: 30, Opacity: 0.8, Feather: 4})
	b.Resize(b.MinSize())
	test.AssertObjectRendersToMarkup(t, "pastebar.xml", b)
}
