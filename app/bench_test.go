package app_test

import (
	"context"
	"image"
	"image/color"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/rulebrush/rulebrush/app"
	"github.com/rulebrush/rulebrush/canvas"
)

// pastedSession is newSession with snow pasted into the road.
func pastedSession(b *testing.B) *app.Session {
	s := newSession(b)
	if err := s.PasteTexture(); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkPreviewFromLayer is a preview after the weights change: the modified image's
// activations up to the layer come from the cache and only the rest of the network runs.
func BenchmarkPreviewFromLayer(b *testing.B) {
	s := pastedSession(b)
	pv := app.NewPreviewer(s.Base, s.Model)
	req, _ := s.PreviewRequest()
	ctx := context.Background()
	if _, err := pv.Compute(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	w := uint64(1 << 40)
	for b.Loop() {
		w++
		req.Weights = w // as after a rewrite: the after-model runs again from the cut
		if _, err := pv.Compute(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStrokeEndToPreview is the work between the end of a stroke and new
// predictions: snapshot the composite, run the modified image through the model before
// the edits (to the layer, then from it) and the model after them (from the same cut),
// on the police-van exemplar (500x375) and on it scaled to 1024x1024; live-heat adds
// the concept direction of the painted mask and its heatmap, as once statistics exist.
func BenchmarkStrokeEndToPreview(b *testing.B) {
	for _, tc := range []struct {
		size int
		heat bool
	}{{0, false}, {0, true}, {1024, false}} {
		size := tc.size
		name := "500x375"
		if size > 0 {
			name = "1024x1024"
		}
		if tc.heat {
			name += "/live-heat"
		}
		b.Run(name, func(b *testing.B) {
			s := pastedSession(b)
			if tc.heat {
				job, err := s.PrepareStats()
				if err != nil {
					b.Fatal(err)
				}
				if s.SetStats(job.Cached()); !s.HasStats() {
					b.Skip("no cached key statistics for the layer")
				}
			}
			if size > 0 {
				big := imaging.Resize(s.Exemplar().Doc.Image(), size, size, imaging.Linear)
				ex, err := app.NewExemplar("big", big)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Do(&app.AddExemplar{Exemplar: ex, Index: len(s.Exemplars)}); err != nil {
					b.Fatal(err)
				}
				if err := s.PasteTexture(); err != nil {
					b.Fatal(err)
				}
			}
			w := s.Exemplar().Doc.Bounds().Dx()
			pv := app.NewPreviewer(s.Base, s.Model)
			ctx := context.Background()
			req, _ := s.PreviewRequest()
			if _, err := pv.Compute(ctx, req); err != nil { // the original image's runs are cached from here on
				b.Fatal(err)
			}
			x := 20.0
			b.ReportAllocs()
			for b.Loop() {
				st, err := s.BeginStroke(canvas.Brush{Size: 12, Hardness: 1})
				if err != nil {
					b.Fatal(err)
				}
				st.Add(canvas.Point{X: x, Y: 300})
				st.Add(canvas.Point{X: x + 5, Y: 300})
				st.End()
				x = 20 + float64(int(x+7)%(w-40))
				req, _ := s.PreviewRequest()
				if _, err := pv.Compute(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPaintSegment1024 is one pointer sample of a brush drag on a 1024x1024
// exemplar with a paste: rasterise the new segment, recomposite and retint its dirty
// rectangle. The frame rate painting can keep up with is 1e9 / (ns/op).
func BenchmarkPaintSegment1024(b *testing.B) {
	img := image.NewNRGBA(image.Rect(0, 0, 1024, 1024))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	ex, err := app.NewExemplar("big", img)
	if err != nil {
		b.Fatal(err)
	}
	s := newSessionWithout(b)
	if err := s.Do(&app.AddExemplar{Exemplar: ex}); err != nil {
		b.Fatal(err)
	}
	tex := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	for i := range tex.Pix {
		tex.Pix[i] = 230
	}
	s.SetTexture("snow", tex)
	if err := s.PasteTexture(); err != nil {
		b.Fatal(err)
	}
	overlay := image.NewNRGBA(img.Rect)
	st, err := s.BeginStroke(canvas.Brush{Size: 48, Hardness: 0.8})
	if err != nil {
		b.Fatal(err)
	}
	tint := color.NRGBA{255, 0, 128, 110}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		// A drag zigzags across the image in 12 px steps, as a fast hand at 60 Hz would.
		x := float64(40 + (i*12)%944)
		y := float64(40 + ((i*12)/944*30)%944)
		r := st.Add(canvas.Point{X: x, Y: y})
		app.TintMask(overlay, ex.Mask(), r, tint)
		i++
	}
	b.StopTimer()
	st.End()
}

// BenchmarkRewriteCached is a rewrite of Conv_1 from the police-van exemplar with the
// key statistics already in memory: snapshot, solve, apply (and undo, to repeat).
func BenchmarkRewriteCached(b *testing.B) {
	s := pastedSession(b)
	job, err := s.PrepareRewrite()
	if err != nil {
		b.Fatal(err)
	}
	out, err := job.Run(context.Background(), nil) // fills the statistics cache
	if err != nil {
		b.Fatal(err)
	}
	if err := s.ApplyRewrite(out); err != nil {
		b.Fatal(err)
	}
	if err := s.Undo(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		job, err := s.PrepareRewrite()
		if err != nil {
			b.Fatal(err)
		}
		if job.NeedsStats() {
			b.Fatal("statistics were not cached")
		}
		out, err := job.Run(context.Background(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.ApplyRewrite(out); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.Undo(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
