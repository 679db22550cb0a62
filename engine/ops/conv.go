package ops

import (
	"fmt"
	"slices"
	"sync"

	"github.com/rulebrush/rulebrush/engine/internal/gemm"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// ConvParams are the attributes of a 2-D convolution. Zero strides, dilations and group
// mean 1, so the zero value is a plain stride-1 unpadded convolution.
type ConvParams struct {
	Strides   [2]int // h, w
	Pads      [4]int // top, left, bottom, right (the ONNX order x1_begin, x2_begin, x1_end, x2_end)
	Dilations [2]int // h, w
	Group     int
	Act       Activation // applied after the bias
}

func (p ConvParams) norm() ConvParams {
	for i := range 2 {
		p.Strides[i] = max(p.Strides[i], 1)
		p.Dilations[i] = max(p.Dilations[i], 1)
	}
	p.Group = max(p.Group, 1)
	return p
}

// OutSize is the output height and width for an h×w input and a kh×kw kernel.
func (p ConvParams) OutSize(h, w, kh, kw int) (oh, ow int) {
	p = p.norm()
	oh = (h+p.Pads[0]+p.Pads[2]-(kh-1)*p.Dilations[0]-1)/p.Strides[0] + 1
	ow = (w+p.Pads[1]+p.Pads[3]-(kw-1)*p.Dilations[1]-1)/p.Strides[1] + 1
	return oh, ow
}

// Workspace holds scratch buffers reused across kernel calls so that the hot path does
// not allocate. The zero value is ready to use; a nil *Workspace makes a kernel allocate
// its own scratch. A Workspace must not be used by two calls at the same time.
type Workspace struct {
	col   []float32 // im2col matrix
	phase []float32 // stride-2 input split into phase planes (see phases)
	mu    sync.Mutex
	free  [][]float32 // per-worker buffers, returned after each parallel chunk
	// Filters holds the filters the kernels derive from the weights and keep; nil
	// gives the Workspace its own. Workspaces that never run at the same time (the plans
	// of one model) share one, so that a model's filters are derived and held once.
	Filters *FilterCache
}

// FilterCache holds filters derived from convolution weights: Winograd-transformed and
// laid out for the packed kernel, each remembering the version of the weights it came
// from (see WeightsChanged). The zero value is ready to use.
type FilterCache struct {
	wino  winoCache
	packs map[packKey]*packedFilters
}

// NewWorkspace returns an empty workspace.
func NewWorkspace() *Workspace { return &Workspace{} }

// filters returns the Workspace's filter cache, making one when it has none.
func (ws *Workspace) filters() *FilterCache {
	if ws.Filters == nil {
		ws.Filters = &FilterCache{}
	}
	return ws.Filters
}

// floats returns a scratch slice of length n, growing the buffer if needed.
func (ws *Workspace) floats(n int) []float32 {
	if cap(ws.col) < n {
		ws.col = make([]float32, n)
	}
	return ws.col[:n]
}

// get returns a per-worker scratch slice of length n; put hands it back.
func (ws *Workspace) get(n int) []float32 {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for i, b := range ws.free {
		if cap(b) >= n {
			ws.free[i] = ws.free[len(ws.free)-1]
			ws.free = ws.free[:len(ws.free)-1]
			return b[:n]
		}
	}
	return make([]float32, n)
}

func (ws *Workspace) put(b []float32) {
	ws.mu.Lock()
	ws.free = append(ws.free, b)
	ws.mu.Unlock()
}

// convShape holds the sizes of one convolution, checked against the tensors.
type convShape struct {
	n, c, h, w     int // input
	o, cg, kh, kw  int // weights: o filters over cg = c/group channels
	og             int // filters per group
	oh, ow         int // output
	group          int
	sh, sw, dh, dw int
	pt, pl, pb, pr int
	phased         bool // the input has been split into phase planes (see phases)
}

func newConvShape(y, x, w *tensor.Tensor, b []float32, p ConvParams) convShape {
	if len(x.Shape) != 4 || len(w.Shape) != 4 || len(y.Shape) != 4 {
		panic(fmt.Sprintf("ops.Conv: want 4-D tensors, got x %v w %v y %v", x.Shape, w.Shape, y.Shape))
	}
	s := convShape{
		n: x.Shape[0], c: x.Shape[1], h: x.Shape[2], w: x.Shape[3],
		o: w.Shape[0], cg: w.Shape[1], kh: w.Shape[2], kw: w.Shape[3],
		group: p.Group, sh: p.Strides[0], sw: p.Strides[1], dh: p.Dilations[0], dw: p.Dilations[1],
		pt: p.Pads[0], pl: p.Pads[1], pb: p.Pads[2], pr: p.Pads[3],
	}
	s.oh, s.ow = p.OutSize(s.h, s.w, s.kh, s.kw)
	if s.c != s.cg*s.group || s.o%s.group != 0 {
		panic(fmt.Sprintf("ops.Conv: x %v and w %v do not fit group %d", x.Shape, w.Shape, s.group))
	}
	if b != nil && len(b) != s.o {
		panic(fmt.Sprintf("ops.Conv: %d biases for %d filters", len(b), s.o))
	}
	if !slices.Equal(y.Shape, []int{s.n, s.o, s.oh, s.ow}) {
		panic(fmt.Sprintf("ops.Conv: y %v, want [%d %d %d %d]", y.Shape, s.n, s.o, s.oh, s.ow))
	}
	s.og = s.o / s.group
	return s
}

// Conv computes y = act(conv(x, w) + b) with x [N,C,H,W], w [O,C/group,kh,kw], b of
// length O or nil, and y [N,O,oh,ow]. ws may be nil.
//
// Depthwise convolutions (one input channel per group) run a direct kernel with bias and
// activation fused in; 1×1 stride-1 unpadded convolutions multiply x itself; all others
// unfold the input with im2col and multiply (see convGemm), except that wide 3×3
// stride-1 convolutions use Winograd's algorithm (see convWinograd).
func Conv(y, x, w *tensor.Tensor, b []float32, p ConvParams, ws *Workspace) {
	ConvAdd(y, x, w, b, nil, p, ws)
}

// ConvAdd computes y = act(conv(x, w) + b + r): a convolution followed by a residual
// addition, with r shaped like y (or nil) and not overlapping it. The GEMM and Winograd
// convolutions add r in their epilogues, while the output tile is still in cache.
func ConvAdd(y, x, w *tensor.Tensor, b []float32, r *tensor.Tensor, p ConvParams, ws *Workspace) {
	p = p.norm()
	s := newConvShape(y, x, w, b, p)
	var res []float32
	if r != nil {
		if !slices.Equal(r.Shape, y.Shape) {
			panic(fmt.Sprintf("ops.ConvAdd: r %v, want %v", r.Shape, y.Shape))
		}
		res = r.Data
	}
	if len(y.Data) == 0 {
		return
	}
	if ws == nil {
		ws = &Workspace{}
	}
	if s.cg == 1 && s.group == s.c {
		act := p.Act
		if res != nil {
			act = Activation{}
		}
		switch {
		case depthwise3x3(y.Data, x.Data, w.Data, b, s, act):
		case (s.sh == 1 && s.sw == 1 || s.sh == 2 && s.sw == 2 && s.dh == 1 && s.dw == 1) && s.kh*s.kw <= maxStencilTaps:
			depthwiseStencil(y.Data, x.Data, w.Data, b, s, act, ws)
		default:
			depthwise(y.Data, x.Data, w.Data, b, s, act)
		}
		if res != nil {
			parallelFor(len(y.Data), 1, func(lo, hi int) { addRows(y.Data[lo:hi], res[lo:hi], p.Act) })
		}
		return
	}
	if v := winogradVariant(s); v != nil {
		convWinograd(y.Data, x.Data, w.Data, b, res, s, p.Act, ws, v)
		return
	}
	convGemm(y.Data, x.Data, w.Data, b, res, s, p.Act, ws)
}

// addRows sets y = act(y + r).
func addRows(y, r []float32, act Activation) {
	r = r[:len(y)]
	for i := range y {
		y[i] += r[i]
	}
	act.applyBias(y, 0)
}

// Tile sizes of the GEMM convolution, in floats: the output tile (og×T) stays in the
// core's L2 cache between the GEMM and the epilogue; the im2col tile (K×T) is bounded
// to keep scratch small. Tiles are at least minTile columns wide because every
// OpenBLAS call repacks the whole filter matrix, which narrow tiles of large layers
// would repeat too often (the packed kernel's filters are laid out once).
const (
	outBudget = 128 << 10
	colBudget = 512 << 10
	minTile   = 256
)

// convGemm computes the convolution as GEMMs: per image and group, the filters [og, K]
// times the unfolded input [K, P] (K = cg*kh*kw, P output pixels). For a 1×1 stride-1
// unpadded convolution the input itself is that matrix; otherwise im2col builds it.
//
// The P columns are cut into tiles, and each task computes one tile of the output with
// the bias, residual and activation applied while it is still in cache. On the packed
// kernel (see packed.go) the tiles are whole kernel panels and the unfolded input is
// built a row at a time straight into the kernel's panels; on OpenBLAS (one thread per
// call) each task unfolds its whole tile into per-worker scratch first. When there are
// fewer tasks than workers (small images at batch 1), the rows of the product are split
// among the workers instead.
func convGemm(y, x, w, b, r []float32, s convShape, act Activation, ws *Workspace) {
	hw, P := s.h*s.w, s.oh*s.ow
	K := s.cg * s.kh * s.kw
	pointwise := s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.pt == 0 && s.pl == 0 && s.pb == 0 && s.pr == 0
	// A 1×1 kernel reads one phase only: gathering it directly is cheaper.
	if s.sh == 2 && s.sw == 2 && s.dh == 1 && s.dw == 1 && s.h == 2*s.oh && s.w == 2*s.ow && s.kh*s.kw > 1 {
		if cap(ws.phase) < len(x) {
			ws.phase = make([]float32, len(x))
		}
		ph := ws.phase[:len(x)]
		phases(ph, x, s)
		x, s.phased = ph, true
	}
	// With the packed kernel the filters of each group are laid out once, here, before
	// the workers share them.
	var packed []*packedFilters
	if hasAVX512 && hasAVX2FMA {
		packed = make([]*packedFilters, s.group)
		for g := range packed {
			packed[g] = ws.packedFilters(w, g*s.og*K, s.og, K)
		}
	}
	T := outBudget / s.og
	if !pointwise {
		T = min(T, colBudget/K)
	}
	T = min(P, max(T, minTile))
	tiles := (P + T - 1) / T
	threads := Threads()
	tile := func(t int) (p0, p1 int) { return t * T, min(t*T+T, P) }
	if packed == nil {
		T = min(P, ((P+tiles-1)/tiles+3)&^3) // equal tiles, whole 4-column panels of the GEMM kernel
		tiles = (P + T - 1) / T
	} else {
		// Tiles of whole kernel panels, as many as keeps every worker equally busy.
		panels := (P + packCols - 1) / packCols
		for tiles < panels && s.n*s.group*tiles > threads && s.n*s.group*tiles%threads != 0 {
			tiles++
		}
		tiles = min(tiles, panels)
		T = min(P, (panels+tiles-1)/tiles*packCols)
		tile = func(t int) (p0, p1 int) {
			return min(t*panels/tiles*packCols, P), min((t+1)*panels/tiles*packCols, P)
		}
	}
	tasks := s.n * s.group * tiles
	if tasks >= threads || s.og < 32 {
		parallelFor(tasks, 2*s.og*K*T, func(lo, hi int) {
			var col []float32 // the im2col tile, or one row of it for the packed kernel
			if !pointwise {
				n := K * T
				if packed != nil {
					n = T
				}
				col = ws.get(n)
				defer ws.put(col)
			}
			for task := lo; task < hi; task++ {
				ng := task / tiles
				n, g := ng/s.group, ng%s.group
				p0, p1 := tile(task % tiles)
				xg := x[(n*s.c+g*s.cg)*hw : (n*s.c+(g+1)*s.cg)*hw]
				yg := y[(n*s.o+g*s.og)*P : (n*s.o+(g+1)*s.og)*P]
				rg := residual(r, (n*s.o+g*s.og)*P, s.og*P)
				if packed != nil {
					var src panelSource = matrixPanels{xg[p0:], hw}
					if !pointwise {
						src = im2colPanels{xg, s, p0, col}
					}
					packedEpilogue(yg, rg, b, packed[g], src, g*s.og, 0, s.og, p0, p1, P, act, ws)
					continue
				}
				src, ldb := xg[p0:], hw
				if !pointwise {
					im2colTile(col[:K*(p1-p0)], xg, s, 0, K, p0, p1)
					src, ldb = col, p1-p0
				}
				gemmEpilogue(yg, rg, b, w[g*s.og*K:], src, g*s.og, 0, s.og, p0, p1, P, K, ldb, act, ws)
			}
		})
		return
	}
	// Few large tasks: unfold in parallel, then split the filters among the workers in
	// blocks of whole kernel panels (16 rows for OpenBLAS's).
	var col []float32
	if !pointwise {
		col = ws.floats(K * P)
	}
	align := 16 // rows of OpenBLAS's kernel
	if packed != nil {
		align = packRows
	}
	mb := (s.og/threads + align - 1) / align * align
	blocks := (s.og + mb - 1) / mb
	for n := range s.n {
		for g := range s.group {
			xg := x[(n*s.c+g*s.cg)*hw : (n*s.c+(g+1)*s.cg)*hw]
			yg := y[(n*s.o+g*s.og)*P : (n*s.o+(g+1)*s.og)*P]
			rg := residual(r, (n*s.o+g*s.og)*P, s.og*P)
			src := xg
			if !pointwise {
				im2col(col, xg, s)
				src = col
			}
			wg := w[g*s.og*K:]
			parallelFor(blocks, minParallelWork, func(lo, hi int) {
				m0, m1 := lo*mb, min(hi*mb, s.og)
				if packed != nil {
					packedEpilogue(yg, rg, b, packed[g], matrixPanels{src, P}, g*s.og, m0, m1, 0, P, P, act, ws)
					return
				}
				gemmEpilogue(yg, rg, b, wg, src, g*s.og, m0, m1, 0, P, P, K, P, act, ws)
			})
		}
	}
}

// packedEpilogue is gemmEpilogue on the packed kernel, with the filters pw and the
// unfolded input coming from src. Without a residual the kernel stores the product and
// one pass adds the bias and applies the activation; with one, the output is first set
// to residual plus bias and the kernel adds to it.
func packedEpilogue(y, r, b []float32, pw *packedFilters, src panelSource, o0, m0, m1, p0, p1, ld int, act Activation, ws *Workspace) {
	if r == nil {
		gemmPacked(y[p0:], ld, pw, m0, m1, src, p1-p0, false, ws)
		for m := m0; m < m1; m++ {
			act.applyBias(y[m*ld+p0:m*ld+p1], bias(b, o0+m))
		}
		return
	}
	fillBias(y, r, b, o0, m0, m1, p0, p1, ld)
	gemmPacked(y[p0:], ld, pw, m0, m1, src, p1-p0, true, ws)
	epilogueRows(y, m0, m1, p0, p1, ld, act)
}

// gemmEpilogue sets columns [p0, p1) of rows [m0, m1) of y (row stride ld) to
// act(w·src + bias + r): rows m0.. of the filters w [·, K] times the K×(p1-p0) matrix
// at src (row stride ldb), plus the bias b[o0+m] and the residual r (laid out like y)
// when they are not nil.
//
// A product with few columns (the 7×7 layers of a network at batch 1) and a large
// filter matrix runs faster transposed, yᵀ = srcᵀ·wᵀ, where OpenBLAS streams the
// filters through its cache-blocked operand; the result is then transposed into y.
func gemmEpilogue(y, r, b, w, src []float32, o0, m0, m1, p0, p1, ld, K, ldb int, act Activation, ws *Workspace) {
	rows, cols := m1-m0, p1-p0
	if cols > transposedMaxCols || rows*K < transposedMinWeights {
		fillBias(y, r, b, o0, m0, m1, p0, p1, ld)
		gemm.Sgemm(false, false, rows, cols, K, 1, w[m0*K:], K, src, ldb, 1, y[m0*ld+p0:], ld)
		epilogueRows(y, m0, m1, p0, p1, ld, act)
		return
	}
	t := ws.get(cols * rows)
	defer ws.put(t)
	gemm.Sgemm(true, true, cols, rows, K, 1, src, ldb, w[m0*K:], K, 0, t, rows)
	const blk = 16 // rows of y per pass: one cache line of each row of t
	for mb := m0; mb < m1; mb += blk {
		me := min(mb+blk, m1)
		for p := range cols {
			tp := t[p*rows : (p+1)*rows]
			for m := mb; m < me; m++ {
				y[m*ld+p0+p] = tp[m-m0]
			}
		}
		for m := mb; m < me; m++ {
			row := y[m*ld+p0 : m*ld+p1]
			if r != nil {
				addRows(row, r[m*ld+p0:m*ld+p1], Activation{})
			}
			var bias float32
			if b != nil {
				bias = b[o0+m]
			}
			act.applyBias(row, bias)
		}
	}
}

// Bounds of the transposed product in gemmEpilogue: at most this many columns, at least
// this many filter weights.
const (
	transposedMaxCols    = 64
	transposedMinWeights = 1 << 20
)

// fillBias sets columns [p0, p1) of rows [m0, m1) of y (row stride ld) to the bias
// b[o0+m] of their row, or 0, plus the residual r (laid out like y) when r is not nil,
// so that the GEMM can add its product onto them (beta 1). That is the bias epilogue
// done in advance, and it replaces the pass in which OpenBLAS would first scale the
// output by beta 0.
func fillBias(y, r, b []float32, o0, m0, m1, p0, p1, ld int) {
	for m := m0; m < m1; m++ {
		var bias float32
		if b != nil {
			bias = b[o0+m]
		}
		d := y[m*ld+p0 : m*ld+p1]
		if r == nil {
			fill(d, bias)
			continue
		}
		addBias(d, r[m*ld+p0:m*ld+p1], bias)
	}
}

// residual returns r[off:off+n], or nil when there is no residual.
func residual(r []float32, off, n int) []float32 {
	if r == nil {
		return nil
	}
	return r[off : off+n]
}

// epilogueRows applies the activation to columns [p0, p1) of rows [m0, m1) of y.
func epilogueRows(y []float32, m0, m1, p0, p1, ld int, act Activation) {
	if act.Kind == ActNone {
		return
	}
	for m := m0; m < m1; m++ {
		act.applyBias(y[m*ld+p0:m*ld+p1], 0)
	}
}

// im2col unfolds one image group x [cg,h,w] into col [cg*kh*kw, oh*ow] (see
// im2colTile), splitting the rows among the workers.
func im2col(col, x []float32, s convShape) {
	ohw := s.oh * s.ow
	parallelFor(s.cg*s.kh*s.kw, ohw, func(lo, hi int) { im2colTile(col[lo*ohw:], x, s, lo, hi, 0, ohw) })
}

// phases splits every input plane [h,w] of x, for a stride-2 convolution with h = 2·oh
// and w = 2·ow, into four oh×ow phase planes by row and column parity: plane 2a+b
// holds the pixels (2y+a, 2x+b). Each row of the im2col matrix is then one phase plane
// shifted by whole rows and columns, which im2colFlat copies in one piece instead of
// gathering every other pixel row by row.
func phases(ph, x []float32, s convShape) {
	hw, ohw := s.h*s.w, s.oh*s.ow
	parallelFor(s.n*s.c, hw, func(lo, hi int) {
		for plane := lo; plane < hi; plane++ {
			src, dst := x[plane*hw:(plane+1)*hw], ph[plane*hw:(plane+1)*hw]
			for y := range s.oh {
				for a := range 2 {
					row := src[(2*y+a)*s.w : (2*y+a+1)*s.w]
					deinterleave(dst[2*a*ohw+y*s.ow:][:s.ow], dst[(2*a+1)*ohw+y*s.ow:][:s.ow], row)
				}
			}
		}
	})
}

// im2colTile unfolds rows [r0, r1) and output columns [p0, p1) of the matrix whose row
// (c, i, j) holds, for every output pixel, the input pixel under kernel tap (i, j) of
// channel c, or 0 where the tap falls in the padding. x is one image group [cg,h,w];
// col is row-major with p1-p0 columns, starting at row r0.
func im2colTile(col, x []float32, s convShape, r0, r1, p0, p1 int) {
	cols := p1 - p0
	if s.phased {
		// Tap (i, j) of output (oy, ox) reads input (2oy+i-pt, 2ox+j-pl): phase plane
		// of that parity, at (oy+di, ox+dj).
		ohw := s.oh * s.ow
		ps := s
		ps.h, ps.w = s.oh, s.ow
		for r := r0; r < r1; r++ {
			c, i, j := r/(s.kh*s.kw), r/s.kw%s.kh, r%s.kw
			a, b := (i-s.pt)&1, (j-s.pl)&1
			plane := x[(4*c+2*a+b)*ohw : (4*c+2*a+b+1)*ohw]
			im2colFlat(col[(r-r0)*cols:(r-r0+1)*cols], plane, ps, (i-s.pt-a)/2, (j-s.pl-b)/2, p0, p1)
		}
		return
	}
	flat := s.sh == 1 && s.sw == 1 && s.ow == s.w
	for r := r0; r < r1; r++ {
		c, i, j := r/(s.kh*s.kw), r/s.kw%s.kh, r%s.kw
		xc := x[c*s.h*s.w : (c+1)*s.h*s.w]
		dst := col[(r-r0)*cols : (r-r0+1)*cols]
		if flat {
			im2colFlat(dst, xc, s, i*s.dh-s.pt, j*s.dw-s.pl, p0, p1)
			continue
		}
		// Output columns [ox0, ox1) read inside the image: 0 <= ox*sw - pl + j*dw < w.
		off := j*s.dw - s.pl
		ox0 := min(ceilDiv(max(-off, 0), s.sw), s.ow)
		ox1 := max(min(ceilDiv(s.w-off, s.sw), s.ow), ox0)
		for p := p0; p < p1; {
			oy, oxs := p/s.ow, p%s.ow
			oxe := min(s.ow, oxs+p1-p)
			d := dst[p-p0 : p-p0+oxe-oxs]
			p += oxe - oxs
			iy := oy*s.sh - s.pt + i*s.dh
			if iy < 0 || iy >= s.h {
				clear(d)
				continue
			}
			// Within this row segment [oxs, oxe): zeros, image, zeros.
			a, e := min(max(ox0, oxs), oxe), max(min(ox1, oxe), oxs)
			a = min(a, e)
			clear(d[:a-oxs])
			clear(d[e-oxs:])
			src := xc[iy*s.w:]
			switch {
			case s.sw == 1:
				copy(d[a-oxs:e-oxs], src[a+off:])
			case s.sw == 2 && e > a:
				evens(d[a-oxs:e-oxs], src[2*a+off:])
			default:
				for ox := a; ox < e; ox++ {
					d[ox-oxs] = src[ox*s.sw+off]
				}
			}
		}
	}
}

// im2colFlat is one im2col row for a stride-1 convolution whose output is as wide as
// its input ("same" padding), where the row is the input plane shifted by (di, dj):
// dst[q-p0] = x[q + di*w + dj]. That is one copy for the whole tile, followed by
// zeroing the output rows and the few border columns whose tap falls in the padding.
func im2colFlat(dst, x []float32, s convShape, di, dj, p0, p1 int) {
	ow, hw := s.ow, s.h*s.w
	shift := di*s.w + dj
	qa := max(p0, max(0, -di)*ow)       // first output in a row whose tap row is inside
	qb := min(p1, min(s.oh, s.h-di)*ow) // end of them
	if qa >= qb {
		clear(dst)
		return
	}
	ca := max(qa, -shift)            // where the shifted source exists
	cb := max(min(qb, hw-shift), ca) // (a tile of border columns may have none)
	clear(dst[:ca-p0])
	copy(dst[ca-p0:cb-p0], x[ca+shift:cb+shift])
	clear(dst[cb-p0:])
	if dj == 0 {
		return
	}
	// Columns whose tap falls left (dj < 0) or right (dj > 0) of the image.
	xa, xb := 0, -dj
	if dj > 0 {
		xa, xb = ow-dj, ow
	}
	xa, xb = max(xa, 0), min(xb, ow)
	for rowStart := qa - qa%ow; rowStart < qb; rowStart += ow {
		lo, hi := max(rowStart+xa, qa), min(rowStart+xb, qb)
		if lo < hi {
			clear(dst[lo-p0 : hi-p0])
		}
	}
}

// ceilDiv is ⌈a/b⌉ for b > 0 and any sign of a.
func ceilDiv(a, b int) int {
	if a <= 0 {
		return -(-a / b)
	}
	return (a + b - 1) / b
}

// depthwise is the direct kernel for group == C with one input channel per group; each
// input channel feeds og = O/C output channels.
func depthwise(y, x, w, b []float32, s convShape, act Activation) {
	hw, ohw, kk := s.h*s.w, s.oh*s.ow, s.kh*s.kw
	parallelFor(s.n*s.o, ohw*kk, func(lo, hi int) {
		for plane := lo; plane < hi; plane++ {
			n, o := plane/s.o, plane%s.o
			xc := x[(n*s.c+o/s.og)*hw : (n*s.c+o/s.og+1)*hw]
			wo := w[o*kk : (o+1)*kk]
			yo := y[plane*ohw : (plane+1)*ohw]
			var bias float32
			if b != nil {
				bias = b[o]
			}
			depthwisePlane(yo, xc, wo, s)
			act.applyBias(yo, bias)
		}
	})
}

// depthwisePlane convolves one input plane with one kh×kw filter, bounds-checking
// every tap.
func depthwisePlane(y, x, w []float32, s convShape) {
	for oy := range s.oh {
		for ox := range s.ow {
			var sum float32
			for i := range s.kh {
				iy := oy*s.sh - s.pt + i*s.dh
				if iy < 0 || iy >= s.h {
					continue
				}
				for j := range s.kw {
					ix := ox*s.sw - s.pl + j*s.dw
					if ix < 0 || ix >= s.w {
						continue
					}
					sum += x[iy*s.w+ix] * w[i*s.kw+j]
				}
			}
			y[oy*s.ow+ox] = sum
		}
	}
}
