// Package assets holds rulebrush's bundled resources: the application icon and the
// procedural textures offered for pasting (snow, grass, gravel, sand, asphalt).
//
// Everything is made by the code in this package. Textures are generated on demand at
// any size; they are deterministic for a given size and seed, and seamless: the noise
// lattices are periodic over the image, so the textures tile without visible edges.
// The icon is drawn by Icon and also embedded as icon.png (IconPNG), regenerated with
// `go generate ./assets`.
package assets

import (
	"image"
	"image/color"
	"math"
)

// Texture makes a w×h tileable texture from a seed.
type Texture func(w, h int, seed uint64) *image.NRGBA

// Textures lists the procedural textures by name, in menu order.
var Textures = []struct {
	Name string
	Make Texture
}{
	{"snow", Snow},
	{"grass", Grass},
	{"gravel", Gravel},
	{"sand", Sand},
	{"asphalt", Asphalt},
}

// hash mixes its inputs into 64 well-distributed bits (splitmix64 finaliser).
func hash(seed uint64, v ...int) uint64 {
	h := seed ^ 0x9e3779b97f4a7c15
	for _, x := range v {
		h ^= uint64(int64(x)) + 0x9e3779b97f4a7c15 + h<<6 + h>>2
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

func mod(a, n int) int {
	a %= n
	if a < 0 {
		a += n
	}
	return a
}

// noise is periodic value noise: a lattice of cx×cy random values stretched over the
// w×h image and wrapped, interpolated with a quintic fade. u, v are pixel coordinates.
type noise struct {
	cx, cy  int
	sx, sy  float64   // lattice cells per pixel
	lattice []float32 // cy rows of cx values in [0, 1)
}

func newNoise(seed uint64, w, h int, cx, cy int) noise {
	cx, cy = max(cx, 1), max(cy, 1)
	lat := make([]float32, cx*cy)
	for j := 0; j < cy; j++ {
		for i := 0; i < cx; i++ {
			lat[j*cx+i] = float32(unit(hash(seed, i, j)))
		}
	}
	return noise{cx, cy, float64(cx) / float64(w), float64(cy) / float64(h), lat}
}

func fade(t float64) float64 { return t * t * t * (t*(t*6-15) + 10) }

func (n noise) at(u, v float64) float64 {
	x, y := u*n.sx, v*n.sy
	fx, fy := math.Floor(x), math.Floor(y)
	i0, j0 := mod(int(fx), n.cx), mod(int(fy), n.cy)
	i1, j1 := i0+1, j0+1
	if i1 == n.cx {
		i1 = 0
	}
	if j1 == n.cy {
		j1 = 0
	}
	tx, ty := fade(x-fx), fade(y-fy)
	r0, r1 := n.lattice[j0*n.cx:], n.lattice[j1*n.cx:]
	a := float64(r0[i0]) + float64(r0[i1]-r0[i0])*tx
	b := float64(r1[i0]) + float64(r1[i1]-r1[i0])*tx
	return a + (b-a)*ty
}

// fbm sums octaves of periodic noise, each with twice the lattice cells and half the
// amplitude; cells of the first octave are about cell pixels wide (aspect stretches
// them horizontally). The result is in [0, 1].
func fbm(seed uint64, w, h int, cell, aspect float64, octaves int) func(u, v float64) float64 {
	ns := make([]noise, octaves)
	cx := int(math.Max(1, math.Round(float64(w)/(cell*aspect))))
	cy := int(math.Max(1, math.Round(float64(h)/cell)))
	for o := range ns {
		ns[o] = newNoise(hash(seed, o), w, h, cx<<o, cy<<o)
	}
	return func(u, v float64) float64 {
		var s, norm, amp float64 = 0, 0, 1
		for _, n := range ns {
			s += amp * n.at(u, v)
			norm += amp
			amp /= 2
		}
		return s / norm
	}
}

// render fills a w×h image from a per-pixel colour function returning 0..255 floats.
func render(w, h int, f func(x, y int) (r, g, b float64)) *image.NRGBA {
	w, h = max(w, 1), max(h, 1)
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b := f(x, y)
			img.SetNRGBA(x, y, color.NRGBA{clamp(r), clamp(g), clamp(b), 255})
		}
	}
	return img
}

func clamp(v float64) uint8 { return uint8(math.Min(math.Max(v, 0), 255) + 0.5) }

func lerp(a, b, t float64) float64 { return a + (b-a)*t }

// Snow: bright, slightly blue snow with soft drifts, fine grain and sparkles.
func Snow(w, h int, seed uint64) *image.NRGBA {
	drift := fbm(hash(seed, 1), w, h, 96, 1.6, 4)
	grain := fbm(hash(seed, 2), w, h, 3, 1, 2)
	return render(w, h, func(x, y int) (float64, float64, float64) {
		u, v := float64(x)+0.5, float64(y)+0.5
		d := drift(u, v)
		s := 222 + 30*d + 14*(grain(u, v)-0.5)
		r, g, b := s-6*(1-d), s-2*(1-d), s+8
		// Sparkles: rare pixels catching the light.
		if hh := hash(seed, 3, x, y); unit(hh) < 0.004 {
			k := 0.5 + 0.5*unit(hash(hh))
			r, g, b = lerp(r, 255, k), lerp(g, 255, k), lerp(b, 255, k)
		}
		return r, g, b
	})
}

// Grass: green turf with tall blade streaks and darker patches.
func Grass(w, h int, seed uint64) *image.NRGBA {
	patch := fbm(hash(seed, 1), w, h, 80, 1, 3)
	blades := fbm(hash(seed, 2), w, h, 10, 0.25, 3) // cells 4× taller than wide
	tips := fbm(hash(seed, 3), w, h, 4, 0.5, 2)
	return render(w, h, func(x, y int) (float64, float64, float64) {
		u, v := float64(x)+0.5, float64(y)+0.5
		p, bl, t := patch(u, v), blades(u, v), tips(u, v)
		k := math.Min(math.Max(0.25+0.9*(bl-0.5)+0.5*(p-0.5)+0.35*(t-0.5)+0.3, 0), 1)
		return lerp(28, 128, k), lerp(62, 170, k), lerp(20, 62, k)
	})
}

// Sand: warm beige sand with wind ripples and fine grain.
func Sand(w, h int, seed uint64) *image.NRGBA {
	warp := fbm(hash(seed, 1), w, h, 60, 1, 3)
	tone := fbm(hash(seed, 2), w, h, 120, 1, 3)
	grain := fbm(hash(seed, 3), w, h, 2, 1, 1)
	ripples := math.Max(1, math.Round(float64(h)/14)) // whole ripples per tile height
	return render(w, h, func(x, y int) (float64, float64, float64) {
		u, v := float64(x)+0.5, float64(y)+0.5
		phase := 2*math.Pi*ripples*v/float64(h) + 5*warp(u, v)
		rip := 0.5 + 0.5*math.Sin(phase)
		s := 0.55*tone(u, v) + 0.25*rip + 0.2*grain(u, v)
		return lerp(168, 232, s), lerp(138, 204, s), lerp(92, 150, s)
	})
}

// Asphalt: dark grey road surface with light aggregate specks and worn patches.
func Asphalt(w, h int, seed uint64) *image.NRGBA {
	wear := fbm(hash(seed, 1), w, h, 140, 1, 3)
	grain := fbm(hash(seed, 2), w, h, 2, 1, 2)
	return render(w, h, func(x, y int) (float64, float64, float64) {
		u, v := float64(x)+0.5, float64(y)+0.5
		s := 48 + 26*wear(u, v) + 36*(grain(u, v)-0.5)
		if hh := hash(seed, 3, x, y); unit(hh) < 0.02 {
			s += 30 + 50*unit(hash(hh))
		}
		return s, s, s + 3
	})
}

// Gravel: packed stones of mixed grey-brown tones with dark gaps, from periodic
// cellular (Worley) noise with one stone per lattice cell.
func Gravel(w, h int, seed uint64) *image.NRGBA {
	const stone = 14.0 // px
	cx := int(math.Max(1, math.Round(float64(w)/stone)))
	cy := int(math.Max(1, math.Round(float64(h)/stone)))
	sx, sy := float64(w)/float64(cx), float64(h)/float64(cy)
	shade := fbm(hash(seed, 9), w, h, 3, 1, 2)
	// One stone centre per cell, jittered over the whole cell, with its colour seed.
	type site struct {
		x, y float64
		h    uint64
	}
	sites := make([]site, cx*cy)
	for j := 0; j < cy; j++ {
		for i := 0; i < cx; i++ {
			hh := hash(seed, i, j)
			sites[j*cx+i] = site{unit(hh), unit(hash(hh, 1)), hh}
		}
	}
	return render(w, h, func(x, y int) (float64, float64, float64) {
		u, v := (float64(x)+0.5)/sx, (float64(y)+0.5)/sy
		ix, iy := int(math.Floor(u)), int(math.Floor(v))
		d1, d2 := math.Inf(1), math.Inf(1) // squared distances to the two nearest centres
		var owner uint64
		// Centres jitter over whole cells, so the nearest two may lie two cells away.
		for j := iy - 2; j <= iy+2; j++ {
			row := sites[mod(j, cy)*cx:]
			for i := ix - 2; i <= ix+2; i++ {
				st := row[mod(i, cx)]
				dx, dy := u-float64(i)-st.x, v-float64(j)-st.y
				d := dx*dx + dy*dy
				if d < d1 {
					d1, d2, owner = d, d1, st.h
				} else if d < d2 {
					d2 = d
				}
			}
		}
		n1, n2 := math.Sqrt(d1), math.Sqrt(d2)
		edge := math.Min((n2-n1)*4, 1) // 0 at the gap between two stones
		t := unit(hash(owner, 2))
		base := lerp(95, 175, t)
		warm := 18 * unit(hash(owner, 3))
		s := (0.25 + 0.75*edge) * (0.85 + 0.3*shade(float64(x)+0.5, float64(y)+0.5))
		rim := 1 - 0.35*n1 // stones are a little lighter towards their centre
		return (base + warm) * s * rim, (base + warm*0.6) * s * rim, base * s * rim
	})
}
