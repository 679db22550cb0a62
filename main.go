// Command rulebrush edits image classifiers by rewriting their prediction rules. With a
// subcommand it runs headless (predict, eval, edit, bench, ...); without one it opens the
// desktop app.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/rulebrush/rulebrush/app/cli"
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
