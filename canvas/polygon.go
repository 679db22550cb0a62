package canvas

import (
	"image"
	"math"
	"slices"
)

// FillRule decides which points a self-intersecting polygon contains.
type FillRule int

const (
	// EvenOdd: inside where a ray crosses the outline an odd number of times.
	EvenOdd FillRule = iota
	// NonZero: inside where the outline winds around the point at least once.
	NonZero
)

// Polygon is a closed outline for the polygon and lasso tools.
type Polygon struct {
	Points    []Point // vertices in image coordinates; the last joins the first
	Rule      FillRule
	Antialias bool // exact horizontal coverage and 16 sub-scanlines per pixel row
	Erase     bool // lower the mask instead of raising it
}

// Bounds returns the pixels the polygon can touch, unclipped.
func (pg Polygon) Bounds() image.Rectangle {
	if len(pg.Points) == 0 {
		return image.Rectangle{}
	}
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range pg.Points {
		x0, y0, x1, y1 = math.Min(x0, p.X), math.Min(y0, p.Y), math.Max(x1, p.X), math.Max(y1, p.Y)
	}
	return image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1)))
}

type edge struct{ x0, y0, x1, y1 float64 } // y0 < y1

type crossing struct {
	x   float64
	dir int
}

// Fill paints (or erases) the polygon's interior into m and returns the rectangle it
// touched, clipped to m. Like the brush, painting raises pixels to the coverage and
// erasing lowers them, so filling twice changes nothing.
func (pg Polygon) Fill(m *image.Alpha) image.Rectangle {
	box := pg.Bounds().Intersect(m.Rect)
	if len(pg.Points) < 3 || box.Empty() {
		return image.Rectangle{}
	}
	var edges []edge
	var dirs []int
	for i, p := range pg.Points {
		q := pg.Points[(i+1)%len(pg.Points)]
		switch {
		case p.Y < q.Y:
			edges, dirs = append(edges, edge{p.X, p.Y, q.X, q.Y}), append(dirs, 1)
		case p.Y > q.Y:
			edges, dirs = append(edges, edge{q.X, q.Y, p.X, p.Y}), append(dirs, -1)
		}
	}
	order := make([]int, len(edges))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if edges[a].y0 < edges[b].y0 {
			return -1
		}
		if edges[a].y0 > edges[b].y0 {
			return 1
		}
		return 0
	})
	sub := 1
	if pg.Antialias {
		sub = 16
	}
	w := box.Dx()
	cov := make([]float32, w)
	var active []int
	var xs []crossing
	next := 0
	for y := box.Min.Y; y < box.Max.Y; y++ {
		clear(cov)
		touched := false
		for k := 0; k < sub; k++ {
			sy := float64(y) + (float64(k)+0.5)/float64(sub)
			for next < len(order) && edges[order[next]].y0 <= sy {
				active = append(active, order[next])
				next++
			}
			active = slices.DeleteFunc(active, func(e int) bool { return edges[e].y1 <= sy })
			xs = xs[:0]
			for _, e := range active {
				ed := edges[e]
				if sy < ed.y0 {
					continue
				}
				x := ed.x0 + (sy-ed.y0)*(ed.x1-ed.x0)/(ed.y1-ed.y0)
				xs = append(xs, crossing{x, dirs[e]})
			}
			slices.SortFunc(xs, func(a, b crossing) int {
				if a.x < b.x {
					return -1
				}
				if a.x > b.x {
					return 1
				}
				return 0
			})
			wind := 0
			for i := 0; i+1 < len(xs); i++ {
				wind += xs[i].dir
				inside := wind != 0
				if pg.Rule == EvenOdd {
					inside = (i+1)%2 == 1
				}
				if !inside || xs[i].x >= xs[i+1].x {
					continue
				}
				touched = true
				span(cov, xs[i].x-float64(box.Min.X), xs[i+1].x-float64(box.Min.X), 1/float32(sub), pg.Antialias)
			}
		}
		if !touched {
			continue
		}
		row := m.Pix[m.PixOffset(box.Min.X, y):][:w]
		for i, c := range cov {
			if c <= 0 {
				continue
			}
			v := uint8(min(c, 1)*255 + 0.5)
			if pg.Erase {
				row[i] = min(row[i], 255-v)
			} else {
				row[i] = max(row[i], v)
			}
		}
	}
	return box
}

// span adds weight × the coverage of [a, b) to cov, whose cell i is [i, i+1). With exact
// set, partly covered cells get the covered fraction; otherwise cells whose centre lies
// in the span get the full weight.
func span(cov []float32, a, b float64, weight float32, exact bool) {
	n := float64(len(cov))
	a, b = math.Max(a, 0), math.Min(b, n)
	if a >= b {
		return
	}
	if !exact {
		for i := int(math.Ceil(a - 0.5)); i < len(cov) && float64(i)+0.5 < b; i++ {
			cov[i] += weight
		}
		return
	}
	i0, i1 := int(a), int(math.Ceil(b))-1
	if i0 == i1 {
		cov[i0] += weight * float32(b-a)
		return
	}
	cov[i0] += weight * float32(float64(i0+1)-a)
	for i := i0 + 1; i < i1; i++ {
		cov[i] += weight
	}
	cov[i1] += weight * float32(b-float64(i1))
}
