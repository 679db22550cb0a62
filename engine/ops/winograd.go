package ops

import (
	"sync"
	"unsafe"

	"github.com/rulebrush/rulebrush/engine/internal/gemm"
)

// Winograd convolution F(m×m, 3×3) for 3×3 stride-1 undilated ungrouped convolutions.
// The output is cut into m×m tiles, each computed from an a×a input tile (a = m+2) as
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// summed over the input channels. The element-wise products summed over channels are
// a² independent GEMMs U_ξ [O×C] · V_ξ [C×tiles], which do (a/m)²/9 of the multiplies
// of the direct convolution: 4/9 for F(2×2) and 1/4 for F(4×4). The transformed
// filters U are computed once per weight tensor and kept in the Workspace.

// winoVariant holds the transform matrices of F(m×m, 3×3), row-major.
type winoVariant struct {
	m, a int
	bt   []float32 // Bᵀ, a×a
	g    []float64 // G, a×3
	at   []float32 // Aᵀ, m×a
}

var wino2 = &winoVariant{
	m: 2, a: 4,
	bt: []float32{
		1, 0, -1, 0,
		0, 1, 1, 0,
		0, -1, 1, 0,
		0, 1, 0, -1,
	},
	g: []float64{
		1, 0, 0,
		0.5, 0.5, 0.5,
		0.5, -0.5, 0.5,
		0, 0, 1,
	},
	at: []float32{
		1, 1, 1, 0,
		0, 1, -1, -1,
	},
}

var wino4 = &winoVariant{
	m: 4, a: 6,
	bt: []float32{
		4, 0, -5, 0, 1, 0,
		0, -4, -4, 1, 1, 0,
		0, 4, -4, -1, 1, 0,
		0, -2, -1, 2, 1, 0,
		0, 2, -1, -2, 1, 0,
		0, 4, 0, -5, 0, 1,
	},
	g: []float64{
		1.0 / 4, 0, 0,
		-1.0 / 6, -1.0 / 6, -1.0 / 6,
		-1.0 / 6, 1.0 / 6, -1.0 / 6,
		1.0 / 24, 1.0 / 12, 1.0 / 6,
		1.0 / 24, -1.0 / 12, 1.0 / 6,
		0, 0, 1,
	},
	at: []float32{
		1, 1, 1, 1, 1, 0,
		0, 1, -1, 2, -2, 0,
		0, 1, 1, 4, 4, 0,
		0, 1, -1, 8, -8, 1,
	},
}

// winogradVariant picks the Winograd variant for a convolution, or nil when the GEMM
// convolution should run: the layer must be a 3×3 stride-1 undilated ungrouped
// convolution, wide enough in channels for the transforms to be cheap next to the
// GEMMs, and with enough tiles for the GEMMs to be efficient.
func winogradVariant(s convShape) *winoVariant {
	if s.kh != 3 || s.kw != 3 || s.sh != 1 || s.sw != 1 || s.dh != 1 || s.dw != 1 || s.group != 1 {
		return nil
	}
	if s.c < 16 || s.o < 16 || s.oh*s.ow < 14*14 {
		return nil
	}
	return wino2
}

// winoCache holds transformed filters keyed by the weights' storage. Each entry
// remembers the version of the weights it came from (see WeightsChanged).
type winoCache map[winoKey]*winoFilters

type winoKey struct {
	w      *float32
	n, m   int
	packed bool
}

// winoFilters hold U [a²][O][C] for OpenBLAS, or each U_ξ laid out for the packed
// kernel instead.
type winoFilters struct {
	version uint64
	u       []float32
	packed  []*packedFilters
}

// weightVersions counts, per weight storage address, the changes announced with
// WeightsChanged. Checking a counter instead of the weights themselves keeps the cache
// check free; a checksum of a 512×512 layer took about a millisecond per call.
var (
	versionsMu     sync.Mutex
	weightVersions = map[uintptr]uint64{}
)

// WeightsChanged tells the kernels that the convolution weights stored in w were
// modified in place, so that filters they derived and cached from them (in any
// Workspace) are computed again. Weights passed to Conv are otherwise taken to be
// read-only.
func WeightsChanged(w []float32) {
	if len(w) == 0 {
		return
	}
	versionsMu.Lock()
	weightVersions[uintptr(unsafe.Pointer(&w[0]))]++
	versionsMu.Unlock()
}

func weightVersion(w []float32) uint64 {
	versionsMu.Lock()
	defer versionsMu.Unlock()
	return weightVersions[uintptr(unsafe.Pointer(&w[0]))]
}

// winoFilters returns the transformed filters of w [O,C,3,3], packed when packed is
// set, transforming them again when the weights have changed since the last call.
func (ws *Workspace) winoFilters(w []float32, s convShape, v *winoVariant, packed bool) *winoFilters {
	fc := ws.filters()
	if fc.wino == nil {
		fc.wino = winoCache{}
	}
	key := winoKey{&w[0], len(w), v.m, packed}
	version := weightVersion(w)
	f := fc.wino[key]
	if f != nil && f.version == version {
		return f
	}
	if f == nil {
		f = &winoFilters{}
		fc.wino[key] = f
	}
	f.version = version
	aa := v.a * v.a
	if !packed {
		if f.u == nil {
			f.u = make([]float32, aa*s.o*s.c)
		}
		winoFilterTransform(f.u, w, s.o, s.c, v)
		return f
	}
	if f.packed == nil {
		f.packed = make([]*packedFilters, aa)
		for xi := range f.packed {
			f.packed[xi] = newPackedFilters(s.o, s.c)
		}
	}
	// One panel of filters at a time, so that no unpacked copy of U is ever whole.
	u := make([]float32, aa*packRows*s.c)
	for o0 := 0; o0 < s.o; o0 += packRows {
		rows := min(packRows, s.o-o0)
		winoFilterTransform(u, w[o0*s.c*9:(o0+rows)*s.c*9], rows, s.c, v)
		for xi, pf := range f.packed {
			packFilters(pf.a[o0*s.c:(o0+packRows)*s.c], u[xi*rows*s.c:(xi+1)*rows*s.c], rows, s.c)
		}
	}
	return f
}

// winoFilterTransform sets u[ξ][o][c] = (G g Gᵀ)_ξ for every 3×3 filter g = w[o][c],
// computed in float64.
func winoFilterTransform(u, w []float32, o, c int, v *winoVariant) {
	a, plane := v.a, o*c
	parallelFor(o, c*a*a*12, func(lo, hi int) {
		var gg [6 * 3]float64
		for oc := lo * c; oc < hi*c; oc++ {
			g := w[oc*9 : oc*9+9]
			for k := range a { // gg = G g
				for j := range 3 {
					gg[k*3+j] = v.g[k*3]*float64(g[j]) + v.g[k*3+1]*float64(g[3+j]) + v.g[k*3+2]*float64(g[6+j])
				}
			}
			for k := range a { // (G g) Gᵀ
				for l := range a {
					r := gg[k*3]*v.g[l*3] + gg[k*3+1]*v.g[l*3+1] + gg[k*3+2]*v.g[l*3+2]
					u[(k*a+l)*plane+oc] = float32(r)
				}
			}
		}
	})
}

// winoBudget bounds, in floats, the transformed input of one block of tiles, so that
// the transformed input and the GEMM output of a block (1 MB each) are still in cache
// for the transforms (ResNet-50's 56×56 layers: 1.15 -> 0.78 ms each); blocks are at
// least winoMinTiles tiles (or the whole image) because every OpenBLAS call repacks
// its filter matrix.
const (
	winoBudget   = 256 << 10
	winoMinTiles = 256
)

// winoPackedMinC is the fewest input channels for which the Winograd GEMMs run on the
// packed kernel: over fewer, each kernel call's short sum does not pay for storing its
// tile (ResNet-50's 64-channel layers: 0.72 ms on OpenBLAS, 0.79 ms packed).
const winoPackedMinC = 128

// winoPlan is the tiling of one Winograd convolution.
type winoPlan struct {
	s              convShape
	v              *winoVariant
	tilesH, tilesW int
	rows           int // tile rows per block
	blocks         int // blocks per image
	planeLen       int // floats per phase plane row: tiles plus the overlap plus vector slack
}

func newWinoPlan(s convShape, v *winoVariant) winoPlan {
	p := winoPlan{s: s, v: v, tilesH: (s.oh + v.m - 1) / v.m, tilesW: (s.ow + v.m - 1) / v.m}
	per := v.a * v.a * max(s.c, s.o)
	tiles := max(winoBudget/per, winoMinTiles)
	p.rows = min(p.tilesH, max(1, tiles/p.tilesW))
	p.blocks = (p.tilesH + p.rows - 1) / p.rows
	p.rows = (p.tilesH + p.blocks - 1) / p.blocks // equal blocks
	p.planeLen = p.tilesW + (v.a-1)/v.m + 8
	return p
}

// planesSize is the scratch of one channel's phase planes for a block.
func (p *winoPlan) planesSize() int { return (p.v.m*p.rows + p.v.a - p.v.m) * p.v.m * p.planeLen }

// convWinograd computes y = act(conv(x, w) + b) for a 3×3 stride-1 convolution.
//
// Per image, the tile rows are cut into blocks; a block's input transform V [a²][C][T]
// (T tiles), the a² GEMMs into M [a²][O][T] and the output transform with the bias and
// activation run back to back so that V and M stay in cache. Blocks are spread over
// the workers; when there are fewer blocks than workers, each stage of a block is split
// among them instead (channels, GEMMs and filters).
func convWinograd(y, x, w, b, r []float32, s convShape, act Activation, ws *Workspace, v *winoVariant) {
	u := ws.winoFilters(w, s, v, hasAVX512 && hasAVX2FMA && s.c >= winoPackedMinC)
	p := newWinoPlan(s, v)
	aa := v.a * v.a
	maxT := p.rows*p.tilesW + winoSlack
	tasks := s.n * p.blocks
	if threads := Threads(); tasks >= threads {
		parallelFor(tasks, 2*aa*s.c*s.o*maxT, func(lo, hi int) {
			vb, mb, pl := ws.get(aa*s.c*maxT), ws.get(aa*s.o*maxT), ws.get(p.planesSize())
			defer func() { ws.put(vb); ws.put(mb); ws.put(pl) }()
			for task := lo; task < hi; task++ {
				n, blk := task/p.blocks, task%p.blocks
				ty0, ty1 := blk*p.rows, min(blk*p.rows+p.rows, p.tilesH)
				for c := range s.c {
					p.inputTransform(vb, pl, x[(n*s.c+c)*s.h*s.w:], c, ty0, ty1)
				}
				p.gemms(mb, u, vb, ty0, ty1, 0, aa*s.o, ws)
				for o := range s.o {
					p.outputTransform(y[(n*s.o+o)*s.oh*s.ow:], residual(r, (n*s.o+o)*s.oh*s.ow, s.oh*s.ow), mb, o, ty0, ty1, bias(b, o), act)
				}
			}
		})
		return
	}
	vb, mb := ws.get(aa*s.c*maxT), ws.get(aa*s.o*maxT)
	defer func() { ws.put(vb); ws.put(mb) }()
	// GEMMs are split into blocks of filters, a multiple of the kernel's rows.
	ob := min(s.o, 64)
	if u.packed != nil {
		ob = min(s.o, 4*packRows)
	}
	oBlocks := (s.o + ob - 1) / ob
	for n := range s.n {
		for blk := range p.blocks {
			ty0, ty1 := blk*p.rows, min(blk*p.rows+p.rows, p.tilesH)
			T := (ty1 - ty0) * p.tilesW
			parallelFor(s.c, aa*T*4, func(lo, hi int) {
				pl := ws.get(p.planesSize())
				defer ws.put(pl)
				for c := lo; c < hi; c++ {
					p.inputTransform(vb, pl, x[(n*s.c+c)*s.h*s.w:], c, ty0, ty1)
				}
			})
			parallelFor(aa*oBlocks, 2*ob*s.c*T, func(lo, hi int) {
				for t := lo; t < hi; t++ {
					xi, o0 := t/oBlocks, t%oBlocks*ob
					p.gemm(mb, u, vb, ty0, ty1, xi, o0, min(o0+ob, s.o), ws)
				}
			})
			parallelFor(s.o, aa*T*4, func(lo, hi int) {
				for o := lo; o < hi; o++ {
					p.outputTransform(y[(n*s.o+o)*s.oh*s.ow:], residual(r, (n*s.o+o)*s.oh*s.ow, s.oh*s.ow), mb, o, ty0, ty1, bias(b, o), act)
				}
			})
		}
	}
}

func bias(b []float32, o int) float32 {
	if b == nil {
		return 0
	}
	return b[o]
}

// gemms runs the products for rows [r0, r1) of the stacked outputs [a²·O] of the block
// of tile rows [ty0, ty1).
func (p *winoPlan) gemms(m []float32, u *winoFilters, v []float32, ty0, ty1, r0, r1 int, ws *Workspace) {
	o := p.s.o
	for xi := r0 / o; xi*o < r1; xi++ {
		p.gemm(m, u, v, ty0, ty1, xi, max(r0-xi*o, 0), min(r1-xi*o, o), ws)
	}
}

// gemm sets rows [o0, o1) of M_ξ = U_ξ V_ξ; o0 is a multiple of packRows when the
// filters are packed.
func (p *winoPlan) gemm(m []float32, u *winoFilters, v []float32, ty0, ty1, xi, o0, o1 int, ws *Workspace) {
	c, o := p.s.c, p.s.o
	T, ld := p.tiles(ty0, ty1)
	if u.packed != nil {
		gemmPacked(m[xi*o*ld:], ld, u.packed[xi], o0, o1, matrixPanels{v[xi*c*ld:], ld}, T, false, ws)
		return
	}
	gemm.Sgemm(false, false, o1-o0, T, c, 1, u.u[(xi*o+o0)*c:], c, v[xi*c*ld:], ld, 0, m[(xi*o+o0)*ld:], ld)
}

// winoSlack is the padding after each row of V and M, so that the vector kernels can
// run over whole vectors of 8 tiles.
const winoSlack = 8

// tiles returns the number of tiles in the block of tile rows [ty0, ty1) and the row
// stride of its V and M.
func (p *winoPlan) tiles(ty0, ty1 int) (T, ld int) {
	T = (ty1 - ty0) * p.tilesW
	return T, T + winoSlack
}

// inputTransform writes V[ξ][c][t] = (Bᵀ d B)_ξ for the tiles t of tile rows [ty0, ty1)
// of input channel xc [h,w], using pl as scratch.
//
// The input rows of the block are first laid out, zero-padded, as m phase planes:
// plane q of row r holds columns q, q+m, q+2m, … of the padded row, so column j of tile
// tx is element tx + j/m of plane j%m. Every tile's values then sit at the same offset
// from its index, and runs of tiles are plain vectors.
func (p *winoPlan) inputTransform(vb, pl, xc []float32, c, ty0, ty1 int) {
	s, v := &p.s, p.v
	m, a, L := v.m, v.a, p.planeLen
	rows := m*(ty1-ty0) + a - m
	_, ld := p.tiles(ty0, ty1)
	for r := range rows {
		iy := m*ty0 - s.pt + r
		planes := pl[r*m*L : (r+1)*m*L]
		if iy < 0 || iy >= s.h {
			clear(planes)
			continue
		}
		src := xc[iy*s.w : (iy+1)*s.w]
		if m == 2 {
			// Column ix sits at padded position ix+pl: plane (ix+pl)%2, index (ix+pl)/2.
			clear(planes)
			q, e, o := s.pl%2, s.pl/2, (s.pl+1)/2
			deinterleave(planes[q*L+e:q*L+e+(s.w+1)/2], planes[(1-q)*L+o:(1-q)*L+o+s.w/2], src)
			continue
		}
		for k := range L {
			for q := range m {
				ix := m*k + q - s.pl
				var val float32
				if ix >= 0 && ix < s.w {
					val = src[ix]
				}
				planes[q*L+k] = val
			}
		}
	}
	stride := s.c * ld
	out := vb[c*ld:]
	var d, t [36]float32
	for ty := ty0; ty < ty1; ty++ {
		base := (ty - ty0) * p.tilesW
		rowPl := pl[m*(ty-ty0)*m*L:]
		tx0 := 0
		if m == 2 && hasAVX2FMA {
			// Whole vectors: the last one spills into the next tile row or the slack.
			winoIn2AVX(&rowPl[0], L, &out[base], stride, (p.tilesW+7)&^7)
			tx0 = p.tilesW
		}
		for tx := tx0; tx < p.tilesW; tx++ {
			for i := range a {
				for j := range a {
					d[i*a+j] = rowPl[(i*m+j%m)*L+tx+j/m]
				}
			}
			for k := range a { // t = Bᵀ d
				for j := range a {
					var sum float32
					for i := range a {
						sum += v.bt[k*a+i] * d[i*a+j]
					}
					t[k*a+j] = sum
				}
			}
			for k := range a { // t B
				for l := range a {
					var sum float32
					for j := range a {
						sum += t[k*a+j] * v.bt[l*a+j]
					}
					out[(k*a+l)*stride+base+tx] = sum
				}
			}
		}
	}
}

// outputTransform writes act(Aᵀ M A + bias + ro) for filter o and tile rows [ty0, ty1)
// into the output plane yo [oh,ow], dropping the parts of edge tiles outside the image.
// ro is the residual plane, or nil.
func (p *winoPlan) outputTransform(yo, ro, mb []float32, o, ty0, ty1 int, bias float32, act Activation) {
	s, v := &p.s, p.v
	m, a := v.m, v.a
	_, ld := p.tiles(ty0, ty1)
	stride := s.o * ld
	in := mb[o*ld:]
	var mm [36]float32
	var t [24]float32
	for ty := ty0; ty < ty1; ty++ {
		base := (ty - ty0) * p.tilesW
		if m == 2 && hasAVX2FMA {
			p.outputRow2(yo, in[base:], stride, ty)
			continue
		}
		for tx := range p.tilesW {
			for xi := range a * a {
				mm[xi] = in[xi*stride+base+tx]
			}
			for i := range m { // t = Aᵀ M
				for l := range a {
					var sum float32
					for k := range a {
						sum += v.at[i*a+k] * mm[k*a+l]
					}
					t[i*a+l] = sum
				}
			}
			for i := range min(m, s.oh-m*ty) { // t A
				row := yo[(m*ty+i)*s.ow:]
				for j := range min(m, s.ow-m*tx) {
					var sum float32
					for l := range a {
						sum += t[i*a+l] * v.at[j*a+l]
					}
					row[m*tx+j] = sum
				}
			}
		}
	}
	r0, r1 := m*ty0*s.ow, min(m*ty1, s.oh)*s.ow
	if ro != nil {
		addRows(yo[r0:r1], ro[r0:r1], Activation{})
	}
	act.applyBias(yo[r0:r1], bias)
}

// outputRow2 is the vector output transform of F(2×2) for tile row ty, whose first
// tile's values are at in[ξ*stride]. The vectors of 8 tiles that lie inside the image
// are written in place, the last partial one through a buffer.
func (p *winoPlan) outputRow2(yo, in []float32, stride, ty int) {
	s := &p.s
	y0 := yo[2*ty*s.ow : (2*ty+1)*s.ow]
	y1 := y0
	if 2*ty+1 < s.oh {
		y1 = yo[(2*ty+1)*s.ow : (2*ty+2)*s.ow]
	}
	n8 := s.ow / 2 &^ 7
	if n8 > 0 {
		winoOut2AVX(&in[0], stride, &y0[0], &y1[0], n8)
	}
	if n8 == p.tilesW {
		return
	}
	var buf [2][16]float32
	winoOut2AVX(&in[n8], stride, &buf[0][0], &buf[1][0], 8)
	copy(y1[2*n8:], buf[1][:]) // first, as y1 may be y0
	copy(y0[2*n8:], buf[0][:])
}
