package canvas

import (
	"image"
	"math"
	"runtime"
	"sync"

	"github.com/disintegration/imaging"
)

// layer is a paste's texture rendered at image size, cached until its placement changes.
type layer struct {
	key layerKey
	img *image.NRGBA
}

// layerKey holds everything a rendered texture layer depends on.
type layerKey struct {
	tex                *image.NRGBA
	mode               Mode
	ox, oy, scale, rot float64
	size               image.Point
}

func (d *Document) layer(p Paste) *image.NRGBA {
	key := layerKey{p.Texture, p.Mode, p.OffsetX, p.OffsetY, p.scale(), p.Rotation, d.Bounds().Size()}
	if l := d.layers[p.ID]; l != nil && l.key == key {
		return l.img
	}
	img := RenderTexture(p, key.size.X, key.size.Y)
	d.layers[p.ID] = &layer{key, img}
	return img
}

// Composite renders the document: the image with every paste applied in order.
func (d *Document) Composite() *image.NRGBA {
	dst := image.NewNRGBA(d.Bounds())
	d.CompositeRect(dst, d.Bounds())
	return dst
}

// Spread returns the part of the composite that a change to mask pixels inside r can
// alter: r grown by the reach of the widest feather, clipped to the image. Pass it to
// CompositeRect after a tool reports r.
func (d *Document) Spread(r image.Rectangle) image.Rectangle {
	reach := 0
	for _, p := range d.pastes {
		reach = max(reach, 2*featherRadius(p.Feather))
	}
	return r.Inset(-reach).Intersect(d.Bounds())
}

// CompositeRect re-renders the part r of a composite in dst, in image coordinates, and
// leaves the rest of dst alone; after a tool reports its dirty rectangle this brings a
// composite up to date in time proportional to that rectangle (grown by Spread when
// pastes are feathered, since a feathered paste reads mask pixels outside r).
func (d *Document) CompositeRect(dst *image.NRGBA, r image.Rectangle) {
	r = r.Intersect(d.Bounds()).Intersect(dst.Rect)
	if r.Empty() {
		return
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		s := d.image.PixOffset(r.Min.X, y)
		o := dst.PixOffset(r.Min.X, y)
		copy(dst.Pix[o:o+4*r.Dx()], d.image.Pix[s:s+4*r.Dx()])
	}
	for _, p := range d.pastes {
		if p.Opacity == 0 {
			continue
		}
		tex := d.layer(p)
		mask := d.Mask(p.Mask)
		if rb := featherRadius(p.Feather); rb > 0 {
			blendFeathered(dst, tex, mask, r, float32(p.Opacity), rb)
		} else {
			blend(dst, tex, mask, r, float32(p.Opacity))
		}
	}
}

// blend mixes tex into dst inside r by mask × opacity × the texture's alpha.
func blend(dst, tex *image.NRGBA, mask *image.Alpha, r image.Rectangle, opacity float32) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		m := mask.Pix[mask.PixOffset(r.Min.X, y):][:r.Dx()]
		t := tex.Pix[tex.PixOffset(r.Min.X, y):][:4*r.Dx()]
		o := dst.Pix[dst.PixOffset(r.Min.X, y):][:4*r.Dx()]
		for x, mv := range m {
			if mv != 0 {
				mix(o[4*x:4*x+4], t[4*x:4*x+4], float32(mv)*opacity)
			}
		}
	}
}

// blendFeathered is blend with the mask blurred by two box passes of radius rb.
func blendFeathered(dst, tex *image.NRGBA, mask *image.Alpha, r image.Rectangle, opacity float32, rb int) {
	// Each band blurs the mask rows it needs itself, so bands are exact and independent:
	// large regions are split over the cores.
	if bands := min(runtime.GOMAXPROCS(0), r.Dy()/64); bands > 1 && r.Dx()*r.Dy() >= 1<<18 {
		var wg sync.WaitGroup
		for i := range bands {
			band := r
			band.Min.Y = r.Min.Y + i*r.Dy()/bands
			band.Max.Y = r.Min.Y + (i+1)*r.Dy()/bands
			wg.Go(func() { blendFeatheredBand(dst, tex, mask, band, opacity, rb) })
		}
		wg.Wait()
		return
	}
	blendFeatheredBand(dst, tex, mask, r, opacity, rb)
}

func blendFeatheredBand(dst, tex *image.NRGBA, mask *image.Alpha, r image.Rectangle, opacity float32, rb int) {
	soft := blurRect(mask, r, rb)
	w := r.Dx()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		m := soft[(y-r.Min.Y)*w:][:w]
		t := tex.Pix[tex.PixOffset(r.Min.X, y):][:4*w]
		o := dst.Pix[dst.PixOffset(r.Min.X, y):][:4*w]
		for x, mv := range m {
			if mv > 0.5 {
				mix(o[4*x:4*x+4], t[4*x:4*x+4], min(mv, 255)*opacity)
			}
		}
	}
}

// mix moves the NRGBA pixel o towards t by weight w/255 × t's alpha, rounding.
func mix(o, t []uint8, w float32) {
	ta := t[3]
	if ta == 0 {
		return
	}
	if w >= 255 && ta == 255 {
		o[0], o[1], o[2], o[3] = t[0], t[1], t[2], 255
		return
	}
	a := w * float32(ta) / (255 * 255)
	for k := 0; k < 3; k++ {
		o[k] = uint8(float32(o[k]) + (float32(t[k])-float32(o[k]))*a + 0.5)
	}
	o[3] = uint8(float32(o[3]) + (255-float32(o[3]))*a + 0.5)
}

// featherRadius converts a feather width to the radius of the box filter that, applied
// twice, spreads an edge over about that many pixels.
func featherRadius(f float64) int {
	if f <= 0 {
		return 0
	}
	return max(1, int(math.Round(f/2)))
}

// blurRect returns the mask blurred by two box filters of radius rb (a triangle filter
// of radius 2rb), with edges extended, for the pixels of r only, row-major.
func blurRect(m *image.Alpha, r image.Rectangle, rb int) []float32 {
	b := m.Rect
	clampY := func(y int) int { return min(max(y, b.Min.Y), b.Max.Y-1) }
	w, h := r.Dx(), r.Dy()
	norm := 1 / float32(2*rb+1)
	// Horizontal passes for every source row the vertical passes will read.
	rows := h + 4*rb
	horiz := make([]float32, rows*w)
	ext := w + 4*rb
	pre := make([]float32, ext+1)
	pass1 := make([]float32, w+2*rb)
	for j := 0; j < rows; j++ {
		row := m.Pix[m.PixOffset(b.Min.X, clampY(r.Min.Y-2*rb+j)):][:b.Dx()]
		x0 := r.Min.X - 2*rb - b.Min.X // row index of ext[0]
		lo, hi := max(0, -x0), min(ext, len(row)-x0)
		first, last := float32(row[0]), float32(row[len(row)-1])
		for i := 0; i < lo; i++ {
			pre[i+1] = pre[i] + first
		}
		for i, v := range row[x0+lo : x0+hi] {
			pre[lo+i+1] = pre[lo+i] + float32(v)
		}
		for i := hi; i < ext; i++ {
			pre[i+1] = pre[i] + last
		}
		for i := range pass1 {
			pass1[i] = (pre[i+2*rb+1] - pre[i]) * norm
		}
		out := horiz[j*w : (j+1)*w]
		var s float32
		for _, v := range pass1[:2*rb+1] {
			s += v
		}
		for i := range out {
			if i > 0 {
				s += pass1[i+2*rb] - pass1[i-1]
			}
			out[i] = s * norm
		}
	}
	// Vertical passes as running sums of whole rows, so memory is read in order.
	mid := make([]float32, (h+2*rb)*w)
	acc := make([]float32, w)
	slide := func(dst, src []float32, n int) {
		clear(acc)
		for j := 0; j < 2*rb+1; j++ {
			for x, v := range src[j*w : (j+1)*w] {
				acc[x] += v
			}
		}
		for j := 0; j < n; j++ {
			if j > 0 {
				add, sub := src[(j+2*rb)*w:][:w], src[(j-1)*w:][:w]
				for x := range acc {
					acc[x] += add[x] - sub[x]
				}
			}
			out := dst[j*w : (j+1)*w]
			for x, v := range acc {
				out[x] = v * norm
			}
		}
	}
	slide(mid, horiz, h+2*rb)
	res := make([]float32, w*h)
	slide(res, mid, h)
	return res
}

// RenderTexture renders the texture of p as it lies over a w×h image: the result is
// w×h, transparent where the texture does not reach. With Offset and Rotation zero, a
// ModeCover texture is scaled with Catmull-Rom bicubic interpolation (support widened
// when shrinking, as PIL does) to ceil(tw·f)×ceil(th·f), f = max(w/tw, h/th)·Scale, and
// centred with its overhang split evenly (the extra pixel of an odd overhang on the
// right or bottom); a ModeTile texture is resampled periodically so tiles meet without
// seams. Offsets and rotations are then applied with bilinear sampling, or by exact
// pixel copies for whole-pixel offsets without rotation.
func RenderTexture(p Paste, w, h int) *image.NRGBA {
	tex := p.Texture
	tw, th := tex.Rect.Dx(), tex.Rect.Dy()
	s := p.scale()
	var base *image.NRGBA
	var ox, oy float64
	wrap := p.Mode == ModeTile
	if wrap {
		base = resizeWrap(tex, max(1, int(math.Round(float64(tw)*s))), max(1, int(math.Round(float64(th)*s))))
	} else {
		f := math.Max(float64(w)/float64(tw), float64(h)/float64(th)) * s
		// The epsilon keeps an exact fit (f·tw == w up to rounding) from growing a pixel.
		nw := max(1, int(math.Ceil(float64(tw)*f-1e-6)))
		nh := max(1, int(math.Ceil(float64(th)*f-1e-6)))
		if nw == tw && nh == th {
			base = imaging.Clone(tex)
		} else {
			base = imaging.Resize(tex, nw, nh, imaging.CatmullRom)
		}
		ox, oy = float64((w-nw)/2), float64((h-nh)/2)
	}
	ox += p.OffsetX
	oy += p.OffsetY
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	if p.Rotation == 0 && ox == math.Trunc(ox) && oy == math.Trunc(oy) {
		shiftCopy(dst, base, int(ox), int(oy), wrap)
		return dst
	}
	// Map each destination pixel centre back into the texture: undo the rotation about
	// the image centre, then the translation.
	sin, cos := math.Sincos(p.Rotation * math.Pi / 180)
	cx, cy := float64(w)/2, float64(h)/2
	for y := 0; y < h; y++ {
		row := dst.Pix[y*dst.Stride:]
		for x := 0; x < w; x++ {
			px, py := float64(x)+0.5-cx, float64(y)+0.5-cy
			u := cos*px + sin*py + cx - ox - 0.5
			v := -sin*px + cos*py + cy - oy - 0.5
			bilinear(row[4*x:4*x+4], base, u, v, wrap)
		}
	}
	return dst
}

// shiftCopy copies src into dst with src's top-left pixel at (ox, oy), repeating it when
// wrap is set and leaving uncovered pixels transparent otherwise.
func shiftCopy(dst, src *image.NRGBA, ox, oy int, wrap bool) {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	for y := 0; y < h; y++ {
		sy := y - oy
		if wrap {
			sy = mod(sy, sh)
		} else if sy < 0 || sy >= sh {
			continue
		}
		srow := src.Pix[sy*src.Stride:][:4*sw]
		drow := dst.Pix[y*dst.Stride:][:4*w]
		if !wrap {
			x0, x1 := max(0, ox), min(w, ox+sw)
			if x0 < x1 {
				copy(drow[4*x0:4*x1], srow[4*(x0-ox):])
			}
			continue
		}
		for x := 0; x < w; {
			sx := mod(x-ox, sw)
			n := copy(drow[4*x:], srow[4*sx:])
			x += n / 4
		}
	}
}

func mod(a, n int) int {
	a %= n
	if a < 0 {
		a += n
	}
	return a
}

// bilinear samples src at (u, v) in pixel-centre coordinates into o, interpolating
// premultiplied colour; outside src it repeats (wrap) or is transparent.
func bilinear(o []uint8, src *image.NRGBA, u, v float64, wrap bool) {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	fx, fy := math.Floor(u), math.Floor(v)
	x0, y0 := int(fx), int(fy)
	ax, ay := float32(u-fx), float32(v-fy)
	var acc [4]float32
	for k := 0; k < 4; k++ {
		x, y := x0+k&1, y0+k>>1
		wgt := ax
		if k&1 == 0 {
			wgt = 1 - ax
		}
		if k>>1 == 0 {
			wgt *= 1 - ay
		} else {
			wgt *= ay
		}
		if wrap {
			x, y = mod(x, sw), mod(y, sh)
		} else if x < 0 || y < 0 || x >= sw || y >= sh {
			continue
		}
		p := src.Pix[y*src.Stride+4*x:]
		a := wgt * float32(p[3])
		acc[0] += a * float32(p[0])
		acc[1] += a * float32(p[1])
		acc[2] += a * float32(p[2])
		acc[3] += a
	}
	if acc[3] < 1e-3 {
		o[0], o[1], o[2], o[3] = 0, 0, 0, 0
		return
	}
	for k := 0; k < 3; k++ {
		o[k] = uint8(min(acc[k]/acc[3], 255) + 0.5)
	}
	o[3] = uint8(min(acc[3], 255) + 0.5)
}

// resizeWrap resamples a periodic texture to nw×nh with the Catmull-Rom kernel, support
// widened when shrinking, treating the texture as repeating so its tiles stay seamless.
func resizeWrap(src *image.NRGBA, nw, nh int) *image.NRGBA {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	if nw == sw && nh == sh {
		return imaging.Clone(src)
	}
	// Premultiplied float copy of the source.
	pm := make([]float32, 4*sw*sh)
	for y := 0; y < sh; y++ {
		row := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):]
		for x := 0; x < sw; x++ {
			p := row[4*x:]
			a := float32(p[3]) / 255
			i := 4 * (y*sw + x)
			pm[i], pm[i+1], pm[i+2], pm[i+3] = float32(p[0])*a, float32(p[1])*a, float32(p[2])*a, float32(p[3])
		}
	}
	hw := wrapWeights(nw, sw)
	tmp := make([]float32, 4*nw*sh)
	for y := 0; y < sh; y++ {
		for x, ws := range hw {
			var acc [4]float32
			for _, iw := range ws {
				s := pm[4*(y*sw+iw.i):]
				for k := range acc {
					acc[k] += iw.w * s[k]
				}
			}
			copy(tmp[4*(y*nw+x):], acc[:])
		}
	}
	vw := wrapWeights(nh, sh)
	dst := image.NewNRGBA(image.Rect(0, 0, nw, nh))
	for y, ws := range vw {
		for x := 0; x < nw; x++ {
			var acc [4]float32
			for _, iw := range ws {
				s := tmp[4*(iw.i*nw+x):]
				for k := range acc {
					acc[k] += iw.w * s[k]
				}
			}
			o := dst.Pix[y*dst.Stride+4*x:]
			a := min(max(acc[3], 0), 255)
			if a < 0.5 {
				continue
			}
			for k := 0; k < 3; k++ {
				o[k] = uint8(min(max(acc[k]*255/a, 0), 255) + 0.5)
			}
			o[3] = uint8(a + 0.5)
		}
	}
	return dst
}

type indexWeight struct {
	i int
	w float32
}

// wrapWeights returns, for each of dstN output samples, the periodic source indices and
// normalised Catmull-Rom weights, with the same sample positions as imaging.Resize.
func wrapWeights(dstN, srcN int) [][]indexWeight {
	du := float64(srcN) / float64(dstN)
	scale := max(du, 1)
	support := 2 * scale
	out := make([][]indexWeight, dstN)
	for v := range out {
		fu := (float64(v)+0.5)*du - 0.5
		var ws []indexWeight
		var sum float64
		for u := int(math.Ceil(fu - support)); u <= int(math.Floor(fu+support)); u++ {
			k := catmullRom((float64(u) - fu) / scale)
			if k != 0 {
				ws = append(ws, indexWeight{mod(u, srcN), float32(k)})
				sum += k
			}
		}
		for i := range ws {
			ws[i].w /= float32(sum)
		}
		out[v] = ws
	}
	return out
}

// catmullRom is the cubic convolution kernel with a = -0.5.
func catmullRom(x float64) float64 {
	x = math.Abs(x)
	switch {
	case x < 1:
		return (1.5*x-2.5)*x*x + 1
	case x < 2:
		return ((-0.5*x+2.5)*x-4)*x + 2
	}
	return 0
}
