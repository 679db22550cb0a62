package assets

//go:generate go run gen_icon.go

import (
	_ "embed"
	"image"
	"math"
)

// IconPNG is the application icon as a 512×512 PNG: icon.png, written from Icon by
// `go generate`.
//
//go:embed icon.png
var IconPNG []byte

// IconSize is the edge of the icon in pixels.
const IconSize = 512

// shape is a filled region given by a signed distance (negative inside), in pixels.
type shape func(x, y float64) float64

func circle(cx, cy, r float64) shape {
	return func(x, y float64) float64 { return math.Hypot(x-cx, y-cy) - r }
}

// capsule is the segment a–b thickened to radius r.
func capsule(ax, ay, bx, by, r float64) shape {
	return func(x, y float64) float64 {
		dx, dy := bx-ax, by-ay
		t := math.Min(math.Max(((x-ax)*dx+(y-ay)*dy)/(dx*dx+dy*dy), 0), 1)
		return math.Hypot(x-ax-t*dx, y-ay-t*dy) - r
	}
}

// taper is a capsule whose radius goes from ra at a to rb at b.
func taper(ax, ay, bx, by, ra, rb float64) shape {
	return func(x, y float64) float64 {
		dx, dy := bx-ax, by-ay
		t := math.Min(math.Max(((x-ax)*dx+(y-ay)*dy)/(dx*dx+dy*dy), 0), 1)
		return math.Hypot(x-ax-t*dx, y-ay-t*dy) - (ra + (rb-ra)*t)
	}
}

func roundRect(x0, y0, x1, y1, r float64) shape {
	return func(x, y float64) float64 {
		qx := math.Abs(x-(x0+x1)/2) - ((x1-x0)/2 - r)
		qy := math.Abs(y-(y0+y1)/2) - ((y1-y0)/2 - r)
		return math.Hypot(math.Max(qx, 0), math.Max(qy, 0)) + math.Min(math.Max(qx, qy), 0) - r
	}
}

// rgba is a straight-alpha colour with float channels in 0..1.
type rgba struct{ r, g, b, a float64 }

// layer is a shape painted with a colour that may vary over the image.
type layer struct {
	s   shape
	col func(x, y float64) rgba
}

func solid(c rgba) func(x, y float64) rgba { return func(float64, float64) rgba { return c } }

// Icon draws the application icon: a brush laying a stroke of snow across a small
// neural network whose one highlighted connection is the rule being rewritten.
func Icon() *image.NRGBA {
	const n = IconSize
	var layers []layer
	add := func(s shape, c func(x, y float64) rgba) { layers = append(layers, layer{s, c}) }

	// Tile: rounded square with a vertical blue gradient.
	add(roundRect(16, 16, n-16, n-16, 96), func(x, y float64) rgba {
		t := y / n
		return rgba{0.13 + 0.06*(1-t), 0.24 + 0.10*(1-t), 0.42 + 0.12*(1-t), 1}
	})

	// Network: three layers of nodes, fully connected between neighbours.
	cols := [][]float64{{150, 250, 350}, {110, 200, 290, 380}, {190, 310}}
	xs := []float64{112, 232, 352}
	edge := rgba{0.62, 0.74, 0.92, 0.55}
	for l := 0; l+1 < len(cols); l++ {
		for _, ya := range cols[l] {
			for _, yb := range cols[l+1] {
				add(capsule(xs[l], ya, xs[l+1], yb, 3.5), solid(edge))
			}
		}
	}
	gold := rgba{1.0, 0.72, 0.20, 1}
	add(capsule(xs[1], cols[1][1], xs[2], cols[2][1], 8), solid(gold)) // the rewritten rule
	for l, ys := range cols {
		for _, y := range ys {
			add(circle(xs[l], y, 25), solid(rgba{0.10, 0.17, 0.30, 1}))
			add(circle(xs[l], y, 20), solid(rgba{0.93, 0.96, 1.0, 1}))
		}
	}
	add(circle(xs[2], cols[2][1], 20), solid(gold))

	// Snow stroke swept along the bottom, brighter at its core.
	var sweep []shape
	pts := [][2]float64{{70, 452}, {150, 430}, {230, 442}, {310, 428}, {384, 404}}
	for i := 0; i+1 < len(pts); i++ {
		sweep = append(sweep, taper(pts[i][0], pts[i][1], pts[i+1][0], pts[i+1][1], 10+5*float64(i), 15+5*float64(i)))
	}
	stroke := func(x, y float64) float64 {
		d := math.Inf(1)
		for _, s := range sweep {
			d = math.Min(d, s(x, y))
		}
		return d
	}
	add(stroke, func(x, y float64) rgba {
		sparkle := 0.0
		if unit(hash(7, int(x)/3, int(y)/3)) < 0.05 {
			sparkle = 0.04
		}
		return rgba{0.90 + sparkle, 0.94 + sparkle, 0.99, 0.95}
	})

	// Brush, lying from the top right down to the end of the stroke.
	const hx, hy, fx, fy, tx, ty = 462.0, 112.0, 424.0, 318.0, 398.0, 396.0
	add(capsule(hx+4, hy+4, fx+4, fy+4, 19), solid(rgba{0, 0, 0, 0.25})) // shadow
	add(capsule(hx, hy, fx, fy, 17), func(x, y float64) rgba {
		// Wood with a lengthwise highlight.
		k := 0.5 + 0.5*math.Cos((x-y)*0.09)
		return rgba{0.62 + 0.12*k, 0.38 + 0.08*k, 0.20 + 0.04*k, 1}
	})
	add(capsule(fx+8, fy-22, fx-6, fy+14, 22), solid(rgba{0.74, 0.77, 0.82, 1})) // ferrule
	add(capsule(fx+4, fy-12, fx-2, fy+4, 22), solid(rgba{0.60, 0.63, 0.69, 1}))
	add(taper(fx-8, fy+18, tx, ty, 21, 5), solid(rgba{0.95, 0.97, 1.0, 1})) // snowy bristles

	// at composites the layers at one point, premultiplied.
	at := func(px, py float64) rgba {
		var p rgba
		for _, l := range layers {
			if l.s(px, py) > 0 {
				continue
			}
			s := l.col(px, py)
			p.r = s.r*s.a + p.r*(1-s.a)
			p.g = s.g*s.a + p.g*(1-s.a)
			p.b = s.b*s.a + p.b*(1-s.a)
			p.a = s.a + p.a*(1-s.a)
		}
		return p
	}
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			cx, cy := float64(x)+0.5, float64(y)+0.5
			edge := false
			for _, l := range layers {
				if math.Abs(l.s(cx, cy)) < 0.75 {
					edge = true
					break
				}
			}
			c := at(cx, cy)
			if edge {
				// 4×4 supersampling where an outline crosses the pixel.
				c = rgba{}
				for sy := 0; sy < 4; sy++ {
					for sx := 0; sx < 4; sx++ {
						p := at(float64(x)+(float64(sx)+0.5)/4, float64(y)+(float64(sy)+0.5)/4)
						c.r, c.g, c.b, c.a = c.r+p.r/16, c.g+p.g/16, c.b+p.b/16, c.a+p.a/16
					}
				}
			}
			o := img.Pix[y*img.Stride+4*x:]
			if c.a > 0 {
				o[0], o[1], o[2] = clamp(255*c.r/c.a), clamp(255*c.g/c.a), clamp(255*c.b/c.a)
			}
			o[3] = clamp(255 * c.a)
		}
	}
	return img
}
