package canvas

import (
	"image"
	"math"
	"testing"
)

func TestStrokeGolden(t *testing.T) {
	m := image.NewAlpha(image.Rect(0, 0, 64, 64))
	hard := &Stroke{Brush: Brush{Size: 9, Hardness: 1}}
	soft := &Stroke{Brush: Brush{Size: 14, Hardness: 0}}
	for i := 0; i <= 6; i++ {
		x := 4 + float64(i)*9.5 // samples far apart, as from a fast drag
		hard.Add(Point{x, 10 + 6*math.Sin(float64(i))})
		hard.RasterizeLast(m)
		soft.Add(Point{x, 34 + 6*math.Cos(float64(i))})
		soft.RasterizeLast(m)
	}
	eraser := &Stroke{Brush: Brush{Size: 5, Hardness: 0.5, Erase: true}}
	for _, p := range []Point{{32, 2}, {34, 62}} {
		eraser.Add(p)
		eraser.RasterizeLast(m)
	}
	Brush{Size: 1.5, Hardness: 1}.Segment(m, Point{2, 56}, Point{62, 50})
	golden(t, "stroke", alphaImage(m))
}

func TestStrokeHasNoGaps(t *testing.T) {
	m := image.NewAlpha(image.Rect(0, 0, 200, 40))
	s := &Stroke{Brush: Brush{Size: 6, Hardness: 1}}
	s.Add(Point{5.5, 20.5})
	s.RasterizeLast(m)
	s.Add(Point{195.5, 20.5}) // one sample 190 px away
	s.RasterizeLast(m)
	for x := 5; x <= 195; x++ {
		if v := m.AlphaAt(x, 20).A; v != 255 {
			t.Fatalf("pixel (%d,20) on the drag line is %d, want 255", x, v)
		}
	}
	for x := 0; x < 200; x++ {
		if m.AlphaAt(x, 25).A != 0 || m.AlphaAt(x, 15).A != 0 {
			t.Fatalf("pixel in column %d, 5 px from the line, painted", x)
		}
	}
}

func TestStrokeDirtyRect(t *testing.T) {
	m := image.NewAlpha(image.Rect(0, 0, 100, 100))
	s := &Stroke{Brush: Brush{Size: 10, Hardness: 0.5}}
	for i, p := range []Point{{20, 20}, {30, 25}, {95, 98}, {50, 50}} {
		before := cloneAlpha(m)
		s.Add(p)
		bounds := s.LastBounds()
		dirty := s.RasterizeLast(m)
		if !dirty.In(bounds.Intersect(m.Rect)) {
			t.Fatalf("segment %d: dirty %v outside its bounds %v", i, dirty, bounds)
		}
		for y := 0; y < 100; y++ {
			for x := 0; x < 100; x++ {
				if m.AlphaAt(x, y) != before.AlphaAt(x, y) && !image.Pt(x, y).In(dirty) {
					t.Fatalf("segment %d changed (%d,%d) outside its dirty rect %v", i, x, y, dirty)
				}
			}
		}
	}
	whole := image.NewAlpha(m.Rect)
	s.Rasterize(whole)
	if describeDiff(whole, m) != "identical" {
		t.Errorf("Rasterize differs from segment-by-segment: %s", describeDiff(whole, m))
	}
}

func TestBrushProfile(t *testing.T) {
	m := image.NewAlpha(image.Rect(0, 0, 41, 41))
	Brush{Size: 30, Hardness: 0}.Segment(m, Point{20.5, 20.5}, Point{20.5, 20.5})
	prev := 256
	for x := 20; x < 41; x++ {
		v := int(m.AlphaAt(x, 20).A)
		if v > prev {
			t.Fatalf("soft brush not falling off: %d after %d at x=%d", v, prev, x)
		}
		prev = v
	}
	if c := m.AlphaAt(20, 20).A; c != 255 {
		t.Errorf("centre %d, want 255", c)
	}
	if e := m.AlphaAt(35, 20).A; e != 0 {
		t.Errorf("rim %d, want 0", e)
	}
	if mid := m.AlphaAt(28, 20).A; mid < 60 || mid > 200 {
		t.Errorf("half-way %d, want a soft middle value", mid)
	}
}

func TestPolygonGolden(t *testing.T) {
	star := make([]Point, 5)
	for i := range star {
		a := float64(i)*4*math.Pi/5 - math.Pi/2
		star[i] = Point{32 + 28*math.Cos(a), 32 + 28*math.Sin(a)}
	}
	for _, tc := range []struct {
		name string
		pg   Polygon
	}{
		{"polygon_evenodd_aa", Polygon{Points: star, Rule: EvenOdd, Antialias: true}},
		{"polygon_nonzero_aa", Polygon{Points: star, Rule: NonZero, Antialias: true}},
		{"polygon_nonzero", Polygon{Points: star, Rule: NonZero}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := image.NewAlpha(image.Rect(0, 0, 64, 64))
			if d := tc.pg.Fill(m); !d.In(m.Rect) || d.Empty() {
				t.Fatalf("dirty rect %v", d)
			}
			golden(t, tc.name, alphaImage(m))
		})
	}
}

func TestPolygonCoverage(t *testing.T) {
	// An axis-aligned rectangle with fractional edges: exact area coverage.
	m := image.NewAlpha(image.Rect(0, 0, 10, 10))
	Polygon{Points: []Point{{2.25, 3}, {7.5, 3}, {7.5, 6}, {2.25, 6}}, Antialias: true}.Fill(m)
	for _, c := range []struct {
		x, y int
		want uint8
	}{{2, 4, 191}, {3, 4, 255}, {7, 4, 128}, {8, 4, 0}, {4, 2, 0}, {4, 6, 0}} {
		if got := m.AlphaAt(c.x, c.y).A; got != c.want {
			t.Errorf("(%d,%d) = %d, want %d", c.x, c.y, got, c.want)
		}
	}
	// Erasing the same polygon clears what painting set.
	Polygon{Points: []Point{{0, 0}, {10, 0}, {10, 10}, {0, 10}}, Erase: true}.Fill(m)
	for _, v := range m.Pix {
		if v != 0 {
			t.Fatal("erasing the whole mask left pixels")
		}
	}
	if d := (Polygon{Points: []Point{{1, 1}, {5, 5}}}).Fill(m); !d.Empty() {
		t.Errorf("two-point polygon touched %v", d)
	}
}

func TestMaskOps(t *testing.T) {
	m := image.NewAlpha(image.Rect(0, 0, 8, 4))
	if d := Fill(m); d != m.Rect {
		t.Errorf("Fill dirty %v", d)
	}
	if d := Fill(m); !d.Empty() {
		t.Errorf("second Fill dirty %v, want empty", d)
	}
	m.Pix[m.PixOffset(3, 2)] = 10
	if d := Invert(m); d != m.Rect || m.AlphaAt(3, 2).A != 245 || m.AlphaAt(0, 0).A != 0 {
		t.Errorf("Invert: dirty %v, pixels %d %d", d, m.AlphaAt(3, 2).A, m.AlphaAt(0, 0).A)
	}
	if d := Threshold(m, 128); d != image.Rect(3, 2, 4, 3) || m.AlphaAt(3, 2).A != 255 {
		t.Errorf("Threshold: dirty %v", d)
	}
	if Coverage(m) != 1.0/32 {
		t.Errorf("Coverage %g", Coverage(m))
	}
	if d := Clear(m); d != image.Rect(3, 2, 4, 3) {
		t.Errorf("Clear dirty %v", d)
	}
}

// TestGrowShrink compares the distance-transform morphology with brute force.
func TestGrowShrink(t *testing.T) {
	r := rng(3)
	m := image.NewAlpha(image.Rect(0, 0, 37, 29))
	for i := 0; i < 6; i++ {
		Brush{Size: 2 + 6*r.Float64(), Hardness: 1}.Segment(m,
			Point{37 * r.Float64(), 29 * r.Float64()}, Point{37 * r.Float64(), 29 * r.Float64()})
	}
	Threshold(m, 128)
	for _, n := range []float64{1, 2.5, 4} {
		for _, grow := range []bool{true, false} {
			got := cloneAlpha(m)
			if grow {
				Grow(got, n)
			} else {
				Shrink(got, n)
			}
			want := cloneAlpha(m)
			for y := 0; y < 29; y++ {
				for x := 0; x < 37; x++ {
					best := math.Inf(1)
					for v := 0; v < 29; v++ {
						for u := 0; u < 37; u++ {
							if (m.AlphaAt(u, v).A >= 128) == grow {
								best = math.Min(best, math.Hypot(float64(u-x), float64(v-y)))
							}
						}
					}
					c := uint8(math.Min(math.Max(n+0.5-best, 0), 1)*255 + 0.5)
					if grow {
						want.Pix[want.PixOffset(x, y)] = max(m.AlphaAt(x, y).A, c)
					} else {
						want.Pix[want.PixOffset(x, y)] = min(m.AlphaAt(x, y).A, 255-c)
					}
				}
			}
			if s := describeDiff(got, want); s != "identical" {
				t.Errorf("n=%g grow=%v: %s", n, grow, s)
			}
		}
	}
	empty := image.NewAlpha(image.Rect(0, 0, 5, 5))
	if d := Grow(empty, 3); !d.Empty() {
		t.Errorf("growing an empty mask touched %v", d)
	}
}
