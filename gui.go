package main

import (
	"context"
	"fmt"
	"os"
)

// runGUI opens the desktop app; until the ui package is wired in, it says so.
func runGUI(ctx context.Context, args []string) int {
	fmt.Fprintln(os.Stderr, "rulebrush: the desktop app is not available in this build; run 'rulebrush help' for commands")
	return 2
}
