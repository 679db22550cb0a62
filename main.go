// Command rulebrush edits image classifiers by rewriting their prediction rules. With a
// subcommand it runs headless (predict, eval, edit, bench, ...); without one it opens the
// desktop app.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/rulebrush/rulebrush/app"
	"github.com/rulebrush/rulebrush/app/cli"
	"github.com/rulebrush/rulebrush/assets"
	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/ui"
)

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(os.Args) > 1 && cli.IsCommand(os.Args[1]) {
		os.Exit(cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(runGUI(ctx, os.Args[1:]))
}

// appID matches FyneApp.toml.
const appID = "io.github.rulebrush.rulebrush"

// runGUI opens the desktop app: on a session, on a model, on the model opened last time,
// or on the welcome view.
func runGUI(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("rulebrush", flag.ContinueOnError)
	model := fs.String("model", "", "ONNX model to open")
	session := fs.String("session", "", "session file ("+app.SessionExt+") to open")
	layer := fs.String("layer", "", "layer to edit (default: a late 1x1 conv)")
	covData := fs.String("cov-data", "", "folder of ordinary photos for key statistics")
	texture := fs.String("texture", "", "texture to paste")
	var images multiFlag
	fs.Var(&images, "image", "exemplar image to open (repeatable); a <name>_mask.png beside it is loaded as its mask")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opt := app.Options{Layer: *layer, CovData: *covData}

	fa := fyneapp.NewWithID(appID)
	fa.SetIcon(fyne.NewStaticResource("icon.png", assets.IconPNG))

	var s *app.Session
	var err error
	switch {
	case *session != "":
		s, err = app.OpenSession(*session, app.LoadModels, opt)
	case *model != "" || app.RecentModel() != "":
		path := *model
		if path == "" {
			path = app.RecentModel()
		}
		var edited, base = loadModels(path)
		if edited != nil {
			s, err = app.NewSession(edited, base, opt)
			if err == nil && *model != "" {
				if rerr := app.RememberModel(path); rerr != nil {
					slog.Warn("could not remember the model", "err", rerr)
				}
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rulebrush:", err)
		return 1
	}
	if s != nil {
		if *texture != "" {
			if err := s.LoadTexture(*texture); err != nil {
				fmt.Fprintln(os.Stderr, "rulebrush:", err)
				return 1
			}
		}
		for _, img := range images {
			if err := s.LoadExemplar(img); err != nil {
				fmt.Fprintln(os.Stderr, "rulebrush:", err)
				return 1
			}
		}
	}
	autosave, hasAutosave := app.FindAutosave()
	w := ui.NewMainWindow(fa, s, ui.Options{
		StatusFile: os.Getenv("RULEBRUSH_E2E_STATUS"), Autosave: true, SessionOptions: opt})
	if hasAutosave && *session == "" {
		w.OfferAutosave(autosave)
	}
	go func() {
		<-ctx.Done()
		fyne.Do(fa.Quit)
	}()
	w.ShowAndRun()
	return 0
}

// loadModels loads a model for the GUI; a model that fails to load is reported and the
// app starts on the welcome view instead.
func loadModels(path string) (edited, base *engine.Model) {
	e, b, err := app.LoadModels(path)
	if err != nil {
		slog.Error("could not open the model", "path", path, "err", err)
		return nil, nil
	}
	return e, b
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
