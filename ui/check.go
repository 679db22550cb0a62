package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	fynecanvas "fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/rulebrush/rulebrush/app"
)

// checkFolder asks for a folder of class subfolders and compares the model before and
// after the edit on it.
func (m *MainWindow) checkFolder() {
	if m.s == nil {
		return
	}
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil {
			m.fail(err)
			return
		}
		if u != nil {
			m.CheckFolder(u.Path())
		}
	}, m.w)
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// CheckFolder evaluates the folder in the background and shows the results window.
func (m *MainWindow) CheckFolder(dir string) {
	s := m.s
	m.runJob("Check folder", func(ctx context.Context, progress app.Progress) (func(), error) {
		res, err := app.Check(ctx, s.Base, s.Model, dir, progress)
		if err != nil {
			return nil, err
		}
		return func() { m.showCheck(res) }, nil
	})
}

func (m *MainWindow) showCheck(res *app.CheckResult) {
	w := m.fa.NewWindow("Check: " + res.Dir)
	w.SetContent(CheckView(res))
	w.Resize(fyne.NewSize(900, 700))
	w.Show()
}

// CheckView shows accuracy before and after per class, and the photos the edit fixed
// and broke.
func CheckView(res *app.CheckResult) fyne.CanvasObject {
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }
	rows := [][]string{{"Class", "Photos", "Before", "After", "Change"}}
	for _, c := range res.Classes {
		b, a := res.Before.PerClass[c], res.After.PerClass[c]
		rows = append(rows, []string{c, fmt.Sprint(b.N), pct(b.Top1), pct(a.Top1), fmt.Sprintf("%+.1f", 100*(a.Top1-b.Top1))})
	}
	rows = append(rows, []string{"All", fmt.Sprint(res.N), pct(res.Before.Top1), pct(res.After.Top1),
		fmt.Sprintf("%+.1f", 100*(res.After.Top1-res.Before.Top1))})
	grid := container.NewGridWithColumns(5)
	for i, r := range rows {
		for _, cell := range r {
			l := widget.NewLabel(cell)
			l.TextStyle.Bold = i == 0 || i == len(rows)-1
			grid.Add(l)
		}
	}
	flips := func(title string, fs []app.Flip) fyne.CanvasObject {
		head := widget.NewLabelWithStyle(fmt.Sprintf("%s (%d)", title, len(fs)), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		wrap := container.NewGridWrap(fyne.NewSize(120, 150))
		for _, f := range fs {
			img := fynecanvas.NewImageFromImage(f.Thumb)
			img.FillMode = fynecanvas.ImageFillContain
			img.SetMinSize(fyne.NewSize(app.ThumbSize, app.ThumbSize))
			cap := widget.NewLabel(f.Before + " → " + f.After)
			cap.Truncation = fyne.TextTruncateEllipsis
			cap.Importance = widget.LowImportance
			wrap.Add(container.NewBorder(nil, cap, nil, nil, img))
		}
		return container.NewVBox(head, wrap)
	}
	summary := widget.NewLabel(fmt.Sprintf("%d photos in %s, %.1f s. Top-1 accuracy %s → %s.",
		res.N, res.Dir, res.Elapsed.Seconds(), pct(res.Before.Top1), pct(res.After.Top1)))
	summary.Wrapping = fyne.TextWrapWord
	return container.NewVScroll(container.NewVBox(summary, widget.NewCard("Accuracy per class", "", grid),
		flips("Fixed by the edit", res.Fixed), flips("Broken by the edit", res.Broken)))
}
