package app_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rulebrush/rulebrush/app"
)

// dataDir returns the shared test data: $RULEBRUSH_DATA, else ../shared/data beside the
// module. Missing data fails under CI and skips otherwise.
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

// newSessionWithout opens a session on MobileNetV2 with no exemplar.
func newSessionWithout(t testing.TB) *app.Session {
	t.Helper()
	dir := dataDir(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	edited, base, err := app.LoadModels(filepath.Join(dir, "models", "mobilenetv2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := app.NewSession(edited, base, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newSession opens a session on MobileNetV2 with the police-van exemplar (mask loaded
// from police_van_mask.png) and the snow texture. Settings go to a temporary folder.
func newSession(t testing.TB) *app.Session {
	t.Helper()
	dir := dataDir(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	edited, base, err := app.LoadModels(filepath.Join(dir, "models", "mobilenetv2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := app.NewSession(edited, base, app.Options{
		CovData: filepath.Join(dir, "imagenet-samples"), StatsCache: filepath.Join(os.TempDir(), "rulebrush-test-stats")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LoadExemplar(filepath.Join(dir, "exemplars", "police_van.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadTexture(filepath.Join(dir, "textures", "snow.jpg")); err != nil {
		t.Fatal(err)
	}
	return s
}
