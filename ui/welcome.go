package ui

import (
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rulebrush/rulebrush/app"
)

// exportHelp says how to get an ONNX model out of PyTorch.
const exportHelp = "rulebrush edits image classifiers saved as ONNX. To export one from PyTorch, " +
	"put the model in eval mode and trace it with a dummy batch: " +
	"torch.onnx.export(model.eval(), torch.randn(1, 3, 224, 224), \"model.onnx\", " +
	"input_names=[\"input\"], output_names=[\"logits\"], opset_version=13). " +
	"Keep BatchNorm layers (they are folded in on load) and leave the final Softmax out. " +
	"Class names and preprocessing can travel in the file's metadata_props (labels, mean, std, input_size); " +
	"without them ImageNet's are assumed."

// welcome is the first-run view: open a model, remembered for next time.
func (m *MainWindow) welcomeView() fyne.CanvasObject {
	title := widget.NewLabelWithStyle("Welcome to rulebrush", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameHeadingText
	intro := widget.NewLabel("Fix an image classifier by rewriting one of its prediction rules: paint a concept " +
		"on an exemplar, paste a texture into it, and teach the model that the two mean the same.")
	intro.Wrapping = fyne.TextWrapWord
	help := widget.NewLabel(exportHelp)
	help.Wrapping = fyne.TextWrapWord
	open := widget.NewButtonWithIcon("Open ONNX model…", theme.FolderOpenIcon(), func() {
		m.openFile([]string{".onnx"}, m.openModel)
	})
	open.Importance = widget.HighImportance
	items := []fyne.CanvasObject{title, intro, container.NewCenter(open)}
	if recent := app.RecentModel(); recent != "" {
		items = append(items, container.NewCenter(widget.NewButton("Open "+filepath.Base(recent)+" again", func() {
			m.openModel(recent)
		})))
	}
	items = append(items, widget.NewSeparator(),
		widget.NewLabelWithStyle("No ONNX model yet?", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), help)
	return container.NewCenter(container.NewGridWrap(fyne.NewSize(620, 420), container.NewVBox(items...)))
}

func (m *MainWindow) showWelcome() {
	m.w.SetContent(m.welcomeView())
	m.w.SetMainMenu(fyne.NewMainMenu(fyne.NewMenu("File",
		fyne.NewMenuItem("Open model…", func() { m.openFile([]string{".onnx"}, m.openModel) }),
		fyne.NewMenuItem("Open session…", func() { m.openFile([]string{app.SessionExt}, m.openSession) }),
	)))
}
