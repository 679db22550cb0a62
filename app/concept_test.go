package app_test

import (
	"context"
	"slices"
	"testing"

	"github.com/rulebrush/rulebrush/app"
	"github.com/rulebrush/rulebrush/canvas"
)

// withStats gives s the key statistics of its layer: from the test cache, else computed.
func withStats(t *testing.T, s *app.Session) {
	t.Helper()
	job, err := s.PrepareStats()
	if err != nil {
		t.Fatal(err)
	}
	out := job.Cached()
	if out.Stats == nil {
		if testing.Short() {
			t.Skip("needs key statistics over imagenet-samples")
		}
		if out, err = job.Run(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	v := s.Version()
	s.SetStats(out)
	if !s.HasStats() || s.Version() != v {
		t.Fatal("statistics were not kept, or counted as an edit")
	}
}

func TestLiveHeatmapBeforeRewriteFollowsTheMask(t *testing.T) {
	s := newSession(t)
	pv := app.NewPreviewer(s.Base, s.Model)
	ctx := context.Background()
	preview := func() *app.Result {
		t.Helper()
		req, _ := s.PreviewRequest()
		r, err := pv.Compute(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := preview(); r.Heat != nil {
		t.Fatal("a heatmap without statistics or a rewrite")
	}
	withStats(t, s)
	r1 := preview()
	if r1.Heat == nil || !r1.HeatLive || len(s.Edits()) != 0 {
		t.Fatalf("no live heatmap before a rewrite (heat %d values, live %v)", len(r1.Heat), r1.HeatLive)
	}
	// Paint the sky as well: the concept, and where it fires, change.
	st, err := s.BeginStroke(canvas.Brush{Size: 60, Hardness: 1})
	if err != nil {
		t.Fatal(err)
	}
	for x := 20.0; x < 480; x += 10 {
		st.Add(canvas.Point{X: x, Y: 40})
	}
	st.End()
	r2 := preview()
	if r2.Heat == nil || slices.Equal(r1.Heat, r2.Heat) {
		t.Fatal("the heatmap did not change with the mask")
	}
	// A second painted exemplar joins the direction.
	ex, err := app.NewExemplar("copy", s.Exemplar().Doc.Image())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Do(&app.AddExemplar{Exemplar: ex, Index: len(s.Exemplars)}); err != nil {
		t.Fatal(err)
	}
	if err := s.FillPolygon([]canvas.Point{{X: 0, Y: 200}, {X: 500, Y: 200}, {X: 500, Y: 375}, {X: 0, Y: 375}}, false); err != nil {
		t.Fatal(err)
	}
	if r := preview(); r.Heat == nil || !r.HeatLive {
		t.Fatal("no live heatmap with two painted exemplars")
	}
}

func TestPasteSettingIsOneStep(t *testing.T) {
	s := newSession(t)
	if err := s.PasteTexture(); err != nil {
		t.Fatal(err)
	}
	ex := s.Exemplar()
	before := ex.Doc.Pastes()[0]
	composite := slices.Clone(ex.Composite().Pix)
	n := s.History().Len()
	p := before
	for _, sc := range []float64{1.2, 1.6, 2} { // a slider drag: live, no steps
		p.Scale = sc
		if err := s.ShowPaste(p); err != nil {
			t.Fatal(err)
		}
	}
	if s.History().Len() != n {
		t.Fatal("live paste changes recorded steps")
	}
	if err := s.CommitPaste(before, "Scale texture"); err != nil {
		t.Fatal(err)
	}
	if s.History().Len() != n+1 || s.History().Labels()[n] != "Scale texture · police_van" {
		t.Fatalf("history after the drag: %v", s.History().Labels())
	}
	if slices.Equal(composite, ex.Composite().Pix) {
		t.Fatal("scaling the texture changed nothing")
	}
	if err := s.Undo(); err != nil {
		t.Fatal(err)
	}
	if got := ex.Doc.Pastes()[0]; got != before || !slices.Equal(composite, ex.Composite().Pix) {
		t.Fatalf("undo left scale %g", got.Scale)
	}
	if err := s.CommitPaste(before, "Scale texture"); err != nil || s.History().Len() != n+1 {
		t.Fatal("an unchanged paste recorded a step")
	}
}
