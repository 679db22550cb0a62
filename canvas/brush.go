package canvas

import (
	"image"
	"math"
)

// Point is a position in image coordinates; pixel (x, y) covers [x, x+1) × [y, y+1), so
// its centre is (x+0.5, y+0.5). Pointer positions map to Points without rounding.
type Point struct{ X, Y float64 }

// Brush is a round brush or eraser.
type Brush struct {
	Size     float64 // diameter in pixels
	Hardness float64 // 1: solid disc with a one-pixel antialiased rim; 0: soft all the way from the centre
	Erase    bool    // lower the mask instead of raising it
}

// profile returns the coverage 0..1 at distance d from the brush centre line.
type profile struct{ r, inner, ramp float64 }

func (b Brush) profile() profile {
	r := math.Max(b.Size, 0.5) / 2
	ramp := math.Max((1-math.Min(math.Max(b.Hardness, 0), 1))*r, math.Min(1, r))
	return profile{r: r, inner: r - ramp, ramp: ramp}
}

func (p profile) at(d float64) float64 {
	if d <= p.inner {
		return 1
	}
	if d >= p.r {
		return 0
	}
	t := (d - p.inner) / p.ramp
	return 1 - t*t*(3-2*t)
}

// Bounds returns the pixels a segment from a to b can touch, unclipped.
func (b Brush) Bounds(a, c Point) image.Rectangle {
	r := b.profile().r
	return image.Rect(
		int(math.Floor(math.Min(a.X, c.X)-r)), int(math.Floor(math.Min(a.Y, c.Y)-r)),
		int(math.Ceil(math.Max(a.X, c.X)+r)), int(math.Ceil(math.Max(a.Y, c.Y)+r)),
	)
}

// Segment paints (or erases) the brush swept from a to b into m and returns the
// rectangle it touched, clipped to m. A pixel receives the coverage of its centre's
// distance to the segment: this is the limit of stamping the brush ever more densely
// along the path, so fast drags leave no gaps and overlapping stamps never build up.
// Painting raises each pixel to the coverage (max); erasing lowers it to 1 − coverage
// (min), so repeating a segment changes nothing.
func (b Brush) Segment(m *image.Alpha, a, c Point) image.Rectangle {
	box := b.Bounds(a, c).Intersect(m.Rect)
	if box.Empty() {
		return image.Rectangle{}
	}
	prof := b.profile()
	dx, dy := c.X-a.X, c.Y-a.Y
	ll := dx*dx + dy*dy
	r2 := prof.r * prof.r
	inner2 := math.Max(prof.inner, 0)
	inner2 *= inner2
	for y := box.Min.Y; y < box.Max.Y; y++ {
		row := m.Pix[m.PixOffset(box.Min.X, y):][:box.Dx()]
		py := float64(y) + 0.5 - a.Y
		for i := range row {
			px := float64(box.Min.X+i) + 0.5 - a.X
			qx, qy := px, py
			if ll > 0 {
				t := (px*dx + py*dy) / ll
				t = math.Min(math.Max(t, 0), 1)
				qx, qy = px-t*dx, py-t*dy
			}
			d2 := qx*qx + qy*qy
			if d2 >= r2 {
				continue
			}
			var v uint8 = 255
			if d2 > inner2 {
				v = uint8(prof.at(math.Sqrt(d2))*255 + 0.5)
			}
			if b.Erase {
				row[i] = min(row[i], 255-v)
			} else {
				row[i] = max(row[i], v)
			}
		}
	}
	return box
}

// Stroke accumulates the pointer samples of one drag and rasterises them segment by
// segment as they arrive.
type Stroke struct {
	Brush  Brush
	Points []Point
}

// Add appends a pointer sample.
func (s *Stroke) Add(p Point) { s.Points = append(s.Points, p) }

// last returns the endpoints of the newest segment (a dot for the first sample).
func (s *Stroke) last() (Point, Point, bool) {
	n := len(s.Points)
	switch n {
	case 0:
		return Point{}, Point{}, false
	case 1:
		return s.Points[0], s.Points[0], true
	}
	return s.Points[n-2], s.Points[n-1], true
}

// LastBounds returns the pixels the newest segment can touch, unclipped.
func (s *Stroke) LastBounds() image.Rectangle {
	a, b, ok := s.last()
	if !ok {
		return image.Rectangle{}
	}
	return s.Brush.Bounds(a, b)
}

// RasterizeLast paints only the newest segment into m and returns the rectangle it
// touched. Call it after each Add.
func (s *Stroke) RasterizeLast(m *image.Alpha) image.Rectangle {
	a, b, ok := s.last()
	if !ok {
		return image.Rectangle{}
	}
	return s.Brush.Segment(m, a, b)
}

// Rasterize paints the whole stroke into m and returns the rectangle it touched.
func (s *Stroke) Rasterize(m *image.Alpha) image.Rectangle {
	var dirty image.Rectangle
	for i := range s.Points {
		a := s.Points[max(i-1, 0)]
		dirty = dirty.Union(s.Brush.Segment(m, a, s.Points[i]))
	}
	return dirty
}

// Bounds returns the pixels the whole stroke can touch, unclipped.
func (s *Stroke) Bounds() image.Rectangle {
	var r image.Rectangle
	for i := range s.Points {
		r = r.Union(s.Brush.Bounds(s.Points[max(i-1, 0)], s.Points[i]))
	}
	return r
}
