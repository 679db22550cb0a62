package app_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rulebrush/rulebrush/app"
	"github.com/rulebrush/rulebrush/canvas"
)

func maskCopy(s *app.Session) []byte { return bytes.Clone(s.Exemplar().Mask().Pix) }

func TestStrokeIsOneExactStep(t *testing.T) {
	s := newSession(t)
	before := maskCopy(s)
	n := s.History().Len()
	st, err := s.BeginStroke(canvas.Brush{Size: 20, Hardness: 1, Erase: true})
	if err != nil {
		t.Fatal(err)
	}
	for x := 50.0; x < 300; x += 7 {
		st.Add(canvas.Point{X: x, Y: 300})
	}
	if !st.End() {
		t.Fatal("stroke recorded nothing")
	}
	if got := s.History().Len(); got != n+1 {
		t.Fatalf("history has %d steps after a stroke, want %d", got, n+1)
	}
	after := maskCopy(s)
	if bytes.Equal(before, after) {
		t.Fatal("erasing changed nothing")
	}
	if err := s.Undo(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(maskCopy(s), before) {
		t.Fatal("undo did not restore the mask exactly")
	}
	if err := s.Redo(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(maskCopy(s), after) {
		t.Fatal("redo did not restore the stroke exactly")
	}
}

func TestPasteChangesCompositeAndUndoes(t *testing.T) {
	s := newSession(t)
	ex := s.Exemplar()
	orig := bytes.Clone(ex.Composite().Pix)
	v := ex.Version()
	if err := s.PasteTexture(); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(orig, ex.Composite().Pix) || ex.Version() == v {
		t.Fatal("pasting snow into the road changed nothing")
	}
	if err := s.GoTo(1); err != nil { // back to just the exemplar
		t.Fatal(err)
	}
	if !bytes.Equal(orig, ex.Composite().Pix) {
		t.Fatal("undoing the paste did not restore the composite")
	}
}

func TestPreviewAndRewrite(t *testing.T) {
	if testing.Short() {
		t.Skip("computes key statistics over imagenet-samples")
	}
	s := newSession(t)
	if err := s.PasteTexture(); err != nil {
		t.Fatal(err)
	}
	pv := app.NewPreviewer(s.Base, s.Model)
	req, ok := s.PreviewRequest()
	if !ok {
		t.Fatal("no preview request")
	}
	ctx := context.Background()
	r0, err := pv.Compute(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if r0.Top[app.Original][app.Before][0].Label != "police van" {
		t.Errorf("top class of the exemplar is %q, want police van", r0.Top[app.Original][app.Before][0].Label)
	}
	job, err := s.PrepareRewrite()
	if err != nil {
		t.Fatal(err)
	}
	out, err := job.Run(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := s.History().Len()
	if err := s.ApplyRewrite(out); err != nil {
		t.Fatal(err)
	}
	if s.History().Len() != n+1 {
		t.Fatalf("a rewrite added %d steps, want 1", s.History().Len()-n)
	}
	req, _ = s.PreviewRequest()
	r1, err := pv.Compute(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Heat == nil {
		t.Error("no heatmap after a rewrite")
	}
	b, a := r1.Probs[app.Modified][app.Before], r1.Probs[app.Modified][app.After]
	if equalFloats(b, a) {
		t.Fatal("the rewrite did not change the after predictions")
	}
	// Undo is exact: after predictions equal before again.
	if err := s.Undo(); err != nil {
		t.Fatal(err)
	}
	req, _ = s.PreviewRequest()
	r2, err := pv.Compute(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !equalFloats(r2.Probs[app.Modified][app.Before], r2.Probs[app.Modified][app.After]) {
		t.Fatal("after undoing the rewrite the model differs from the original")
	}
	if err := s.Redo(); err != nil {
		t.Fatal(err)
	}

	// Save and reopen keeps exemplars, pastes and the edit.
	dir := t.TempDir()
	p := filepath.Join(dir, "s"+app.SessionExt)
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	s2, err := app.OpenSession(p, app.LoadModels, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s2.Exemplars) != 1 || len(s2.Edits()) != 1 || len(s2.Exemplar().Doc.Pastes()) != 1 {
		t.Fatalf("reopened session: %d exemplars, %d edits, %d pastes", len(s2.Exemplars), len(s2.Edits()), len(s2.Exemplar().Doc.Pastes()))
	}
	if !bytes.Equal(s2.Exemplar().Mask().Pix, s.Exemplar().Mask().Pix) {
		t.Fatal("reopened mask differs")
	}
	// A failed save leaves the earlier file intact.
	good, _ := os.ReadFile(p)
	if err := s.Save(filepath.Join(dir, "missing", "x"+app.SessionExt)); err == nil {
		t.Fatal("saving into a missing folder succeeded")
	}
	if err := os.Chmod(dir, 0o500); err == nil && os.Geteuid() != 0 {
		if err := s.Save(p); err == nil {
			t.Fatal("saving into a read-only folder succeeded")
		}
		os.Chmod(dir, 0o700)
	}
	if now, _ := os.ReadFile(p); !bytes.Equal(now, good) {
		t.Fatal("a failed save changed the earlier file")
	}
	// Recipes and models export.
	if err := s.ExportRecipe(filepath.Join(dir, "edit.json")); err != nil {
		t.Fatal(err)
	}
	if err := s.ExportModel(filepath.Join(dir, "edited.onnx")); err != nil {
		t.Fatal(err)
	}
}

func equalFloats(a, b []float32) bool {
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

func TestAutosaveRoundTrip(t *testing.T) {
	s := newSession(t)
	if err := s.PasteTexture(); err != nil {
		t.Fatal(err)
	}
	if !s.AutosaveDue() {
		t.Fatal("a changed session is not due for autosave")
	}
	if err := s.Autosave()(); err != nil {
		t.Fatal(err)
	}
	if s.AutosaveDue() {
		t.Fatal("still due right after an autosave")
	}
	p, ok := app.FindAutosave()
	if !ok {
		t.Fatal("no autosave found")
	}
	s2, err := app.OpenSession(p, app.LoadModels, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s2.Exemplar().Doc.Pastes()) != 1 {
		t.Fatal("the autosave lost the paste")
	}
	if err := app.RemoveAutosave(); err != nil {
		t.Fatal(err)
	}
	if _, ok := app.FindAutosave(); ok {
		t.Fatal("autosave still there after removal")
	}
}

func TestRecentModel(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if got := app.RecentModel(); got != "" {
		t.Fatalf("fresh config remembers %q", got)
	}
	f := filepath.Join(t.TempDir(), "m.onnx")
	os.WriteFile(f, []byte("x"), 0o644)
	if err := app.RememberModel(f); err != nil {
		t.Fatal(err)
	}
	if got := app.RecentModel(); got != f {
		t.Fatalf("RecentModel = %q, want %q", got, f)
	}
}
