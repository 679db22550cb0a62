package canvas

import (
	"image"
	"math"

	"github.com/disintegration/imaging"
)

// Fill sets every pixel of m to 255 and returns the rectangle that changed.
func Fill(m *image.Alpha) image.Rectangle { return mapMask(m, func(uint8) uint8 { return 255 }) }

// Clear sets every pixel of m to 0 and returns the rectangle that changed.
func Clear(m *image.Alpha) image.Rectangle { return mapMask(m, func(uint8) uint8 { return 0 }) }

// Invert replaces every pixel v of m by 255 − v and returns the rectangle that changed.
func Invert(m *image.Alpha) image.Rectangle {
	return mapMask(m, func(v uint8) uint8 { return 255 - v })
}

// Threshold sets pixels at or above t to 255 and the rest to 0, the way the exemplar
// convention reads masks (t = 128), and returns the rectangle that changed.
func Threshold(m *image.Alpha, t uint8) image.Rectangle {
	return mapMask(m, func(v uint8) uint8 {
		if v >= t {
			return 255
		}
		return 0
	})
}

// mapMask applies f to every pixel and returns the bounding box of the pixels it changed.
func mapMask(m *image.Alpha, f func(uint8) uint8) image.Rectangle {
	var lut [256]uint8
	for i := range lut {
		lut[i] = f(uint8(i))
	}
	var dirty image.Rectangle
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		row := m.Pix[m.PixOffset(m.Rect.Min.X, y):][:m.Rect.Dx()]
		lo, hi := -1, -1
		for i, v := range row {
			if nv := lut[v]; nv != v {
				row[i] = nv
				if lo < 0 {
					lo = i
				}
				hi = i
			}
		}
		if lo >= 0 {
			dirty = dirty.Union(image.Rect(m.Rect.Min.X+lo, y, m.Rect.Min.X+hi+1, y+1))
		}
	}
	return dirty
}

// Coverage returns the fraction of m's pixels at or above 128 (the concept's share of
// the image, as road_fraction in the exemplars' index.json).
func Coverage(m *image.Alpha) float64 {
	n := 0
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		for _, v := range m.Pix[m.PixOffset(m.Rect.Min.X, y):][:m.Rect.Dx()] {
			if v >= 128 {
				n++
			}
		}
	}
	if area := m.Rect.Dx() * m.Rect.Dy(); area > 0 {
		return float64(n) / float64(area)
	}
	return 0
}

// Grow dilates the concept (pixels ≥ 128) by a disc of radius n pixels, with an
// antialiased rim, and returns the rectangle that changed. It uses an exact Euclidean
// distance transform, so its cost does not depend on n.
func Grow(m *image.Alpha, n float64) image.Rectangle {
	if n <= 0 {
		return image.Rectangle{}
	}
	dist := distanceTo(m, func(v uint8) bool { return v >= 128 })
	return morph(m, dist, n, false)
}

// Shrink erodes the concept by a disc of radius n pixels (the image border does not
// erode it) and returns the rectangle that changed.
func Shrink(m *image.Alpha, n float64) image.Rectangle {
	if n <= 0 {
		return image.Rectangle{}
	}
	dist := distanceTo(m, func(v uint8) bool { return v < 128 })
	return morph(m, dist, n, true)
}

// morph raises (or, for erode, lowers) each pixel by its distance to the nearest seed.
func morph(m *image.Alpha, dist2 []float32, n float64, erode bool) image.Rectangle {
	if dist2 == nil {
		return image.Rectangle{}
	}
	w := m.Rect.Dx()
	var dirty image.Rectangle
	lim := (n + 0.5) * (n + 0.5)
	for y := 0; y < m.Rect.Dy(); y++ {
		row := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):][:w]
		lo, hi := -1, -1
		for x, d2 := range dist2[y*w : (y+1)*w] {
			if float64(d2) >= lim {
				continue
			}
			v := uint8(math.Min(math.Max(n+0.5-math.Sqrt(float64(d2)), 0), 1)*255 + 0.5)
			old := row[x]
			nv := max(old, v)
			if erode {
				nv = min(old, 255-v)
			}
			if nv != old {
				row[x] = nv
				if lo < 0 {
					lo = x
				}
				hi = x
			}
		}
		if lo >= 0 {
			y0 := m.Rect.Min.Y + y
			dirty = dirty.Union(image.Rect(m.Rect.Min.X+lo, y0, m.Rect.Min.X+hi+1, y0+1))
		}
	}
	return dirty
}

// distanceTo returns, row-major, the squared Euclidean distance from each pixel to the
// nearest pixel satisfying seed (Felzenszwalb and Huttenlocher's separable transform),
// or nil when no pixel does.
func distanceTo(m *image.Alpha, seed func(uint8) bool) []float32 {
	const inf = 1e20
	w, h := m.Rect.Dx(), m.Rect.Dy()
	grid := make([]float32, w*h)
	any := false
	for y := 0; y < h; y++ {
		row := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):][:w]
		for x, v := range row {
			if seed(v) {
				any = true
			} else {
				grid[y*w+x] = inf
			}
		}
	}
	if !any {
		return nil
	}
	n := max(w, h)
	f, d := make([]float64, n), make([]float64, n)
	v, z := make([]int, n), make([]float64, n+1)
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			f[y] = float64(grid[y*w+x])
		}
		edt1d(f[:h], d[:h], v, z)
		for y := 0; y < h; y++ {
			grid[y*w+x] = float32(d[y])
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			f[x] = float64(grid[y*w+x])
		}
		edt1d(f[:w], d[:w], v, z)
		for x := 0; x < w; x++ {
			grid[y*w+x] = float32(d[x])
		}
	}
	return grid
}

// edt1d computes d[q] = min over p of (q−p)² + f[p], the lower envelope of parabolas.
func edt1d(f, d []float64, v []int, z []float64) {
	k := 0
	v[0] = 0
	z[0], z[1] = math.Inf(-1), math.Inf(1)
	for q := 1; q < len(f); q++ {
		s := intersect(f, q, v[k])
		for s <= z[k] { // z[0] = −∞ stops this at k = 0
			k--
			s = intersect(f, q, v[k])
		}
		k++
		v[k] = q
		z[k] = s
		z[k+1] = math.Inf(1)
	}
	k = 0
	for q := range f {
		for z[k+1] < float64(q) {
			k++
		}
		p := v[k]
		d[q] = float64((q-p)*(q-p)) + f[p]
	}
}

// intersect returns where the parabolas rooted at q and p cross.
func intersect(f []float64, q, p int) float64 {
	return ((f[q] + float64(q*q)) - (f[p] + float64(p*p))) / float64(2*(q-p))
}

// ResizeMask scales a mask to w×h with bilinear interpolation, for masks drawn at another
// resolution than the image.
func ResizeMask(m *image.Alpha, w, h int) *image.Alpha {
	g := &image.Gray{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
	r := imaging.Resize(g, w, h, imaging.Linear)
	out := image.NewAlpha(image.Rect(0, 0, w, h))
	for i := range out.Pix {
		out.Pix[i] = r.Pix[4*i]
	}
	return out
}
