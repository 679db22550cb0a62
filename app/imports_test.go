package app_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoFyneBelowUI keeps the GUI toolkit out of the packages under ui: app, canvas and
// engine must build and test without it.
func TestNoFyneBelowUI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../app/...", "../canvas/...", "../engine/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "fyne.io/") {
			t.Errorf("%s is imported below ui", p)
		}
	}
}
