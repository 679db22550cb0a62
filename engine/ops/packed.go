package ops

import "unsafe"

// The packed GEMM multiplies a convolution's filters by its input columns with a
// register-blocked AVX-512 kernel (packed_amd64.s) instead of OpenBLAS. The filters are
// laid out for the kernel once and cached per Workspace, where OpenBLAS would copy them
// into its own layout on every call; the input columns are copied into panels per call.
//
// C (row-major, m×n) += A·B with A the filters [m][k] and B the columns [k][n]: the
// kernel computes a packRows×packCols tile of C, broadcasting one filter weight per row
// and k against two 16-float vectors of one row of B.
const (
	packRows  = 14       // rows of a C tile: 28 accumulator registers with packCols
	packCols  = 32       // columns of a C tile: two vectors
	packDepth = 256      // k per block, so that a B panel (32 KB) stays in L1
	packBlock = 64 << 10 // floats of B packed at a time (256 KB, in L2)
)

// packedFilters are filters [m][k] in panels of packRows rows, each panel [k][packRows]
// with the rows past m zero.
type packedFilters struct {
	m, k    int
	a       []float32
	version uint64 // of the weights they were packed from (see WeightsChanged)
}

// newPackedFilters returns room for m filters of k weights, in whole panels.
func newPackedFilters(m, k int) *packedFilters {
	return &packedFilters{m: m, k: k, a: make([]float32, (m+packRows-1)/packRows*packRows*k)}
}

type packKey struct {
	w         *float32
	off, m, k int
}

// packedFilters returns the filters w[off:off+m*k] ([m][k], one group of the weights w)
// packed, packing them again when w has changed since the last call. It must not run
// concurrently with itself on the same Workspace.
func (ws *Workspace) packedFilters(w []float32, off, m, k int) *packedFilters {
	fc := ws.filters()
	if fc.packs == nil {
		fc.packs = map[packKey]*packedFilters{}
	}
	key := packKey{&w[0], off, m, k}
	version := weightVersion(w)
	pf := fc.packs[key]
	if pf != nil && pf.version == version {
		return pf
	}
	if pf == nil {
		pf = newPackedFilters(m, k)
		fc.packs[key] = pf
	}
	pf.version = version
	packFilters(pf.a, w[off:off+m*k], m, k)
	return pf
}

// packFilters lays w [m][k] out as panels [⌈m/packRows⌉][k][packRows], zero-padded.
func packFilters(a, w []float32, m, k int) {
	for p := 0; p*packRows < m; p++ {
		panel := a[p*packRows*k : (p+1)*packRows*k]
		for i := range packRows {
			row := p*packRows + i
			if row >= m {
				for kk := range k {
					panel[kk*packRows+i] = 0
				}
				continue
			}
			for kk, v := range w[row*k : (row+1)*k] {
				panel[kk*packRows+i] = v
			}
		}
	}
}

// gemmPacked adds A·B to rows [m0, m1) and columns [0, n) of c (row stride ldc), or
// stores it there when add is false, with A rows [m0, m1) of pf (m0 a multiple of
// packRows) and B [pf.k][n] coming from src.
//
// B is laid out in panels a block of packDepth rows and at most packBlock floats at a
// time, so that the block stays in L2 while every panel of A passes over it.
func gemmPacked(c []float32, ldc int, pf *packedFilters, m0, m1 int, src panelSource, n int, add bool, ws *Workspace) {
	if m0 >= m1 || n == 0 {
		return
	}
	if pf.k == 0 && !add {
		for i := m0; i < m1; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	if m0%packRows != 0 || m1 > pf.m || len(c) < (m1-1)*ldc+n {
		panic("ops.gemmPacked: bad arguments")
	}
	K := pf.k
	depth := min(K, packDepth)
	nc := max(packBlock/max(depth, 1)/packCols, 1) * packCols // columns per block
	bp := ws.get(depth * min((n+packCols-1)/packCols*packCols, nc))
	defer ws.put(bp)
	for j0 := 0; j0 < n; j0 += nc {
		cols := min(nc, n-j0)
		panels := (cols + packCols - 1) / packCols
		for k0 := 0; k0 < K; k0 += packDepth {
			kl := min(packDepth, K-k0)
			src.pack(bp, k0, kl, j0, cols)
			for i := m0; i < m1; i += packRows {
				a := &pf.a[i*K+k0*packRows]
				rows := min(packRows, m1-i)
				kernel := kernel14x32
				if rows <= 4 {
					kernel = kernel4x32
				} else if rows <= 8 {
					kernel = kernel8x32
				}
				for j := range panels {
					kernel(kl, a, &bp[j*kl*packCols], &c[i*ldc+j0+j*packCols], ldc, rows, colMask(cols-j*packCols), add || k0 > 0)
				}
			}
		}
	}
}

// A panelSource lays out rows [k0, k0+kl) and columns [j0, j0+cols) of a GEMM's B
// operand in bp as ⌈cols/packCols⌉ panels [kl][packCols], with zeros past cols.
type panelSource interface {
	pack(bp []float32, k0, kl, j0, cols int)
}

// matrixPanels is B stored as a row-major matrix with row stride ld.
type matrixPanels struct {
	b  []float32
	ld int
}

func (m matrixPanels) pack(bp []float32, k0, kl, j0, cols int) {
	if kl > 0 && len(m.b) < (k0+kl-1)*m.ld+j0+cols {
		panic("ops.matrixPanels: matrix too short")
	}
	for j := 0; j*packCols < cols; j++ {
		packPanel32(kl, &m.b[k0*m.ld+j0+j*packCols], m.ld, &bp[j*kl*packCols], colMask(cols-j*packCols))
	}
}

// im2colPanels is the im2col matrix of one image group x (see im2colTile), columns from
// p0 on, unfolded a row at a time into row and from there into the panels, so that the
// matrix itself is never stored.
type im2colPanels struct {
	x   []float32
	s   convShape
	p0  int
	row []float32 // at least as long as the widest block of columns
}

func (q im2colPanels) pack(bp []float32, k0, kl, j0, cols int) {
	row := q.row[:cols]
	for r := range kl {
		im2colTile(row, q.x, q.s, k0+r, k0+r+1, q.p0+j0, q.p0+j0+cols)
		scatterPanels(&row[0], cols, &bp[r*packCols], kl*packCols)
	}
}

// colMask has bit j set for the columns j < left of a packCols-wide panel.
func colMask(left int) uint32 {
	if left >= packCols {
		return 1<<packCols - 1
	}
	return 1<<left - 1
}

// kernel14x32Ref is the reference for kernel14x32 (and its 8- and 4-row variants): it adds the product of a [k][14]
// and b [k][32] to rows [0, rows) of c (row stride ldc), or stores it when add is
// false, in the columns of mask.
func kernel14x32Ref(k int, a, b, c *float32, ldc, rows int, mask uint32, add bool) {
	as, bs := unsafe.Slice(a, k*packRows), unsafe.Slice(b, k*packCols)
	for i := range rows {
		for j := range packCols {
			if mask>>j&1 == 0 {
				continue
			}
			var sum float32
			for p := range k {
				sum += as[p*packRows+i] * bs[p*packCols+j]
			}
			dst := (*float32)(unsafe.Add(unsafe.Pointer(c), 4*(i*ldc+j)))
			if add {
				sum += *dst
			}
			*dst = sum
		}
	}
}

// scatterPanelsRef is the reference for scatterPanels: it copies the row src[0:n] into
// consecutive panels, floats [32j, 32j+32) to dst[j*stride:], with zeros past n.
func scatterPanelsRef(src *float32, n int, dst *float32, stride int) {
	s := unsafe.Slice(src, n)
	for j := 0; j*packCols < n; j++ {
		d := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(dst), 4*j*stride)), packCols)
		for i := range d {
			d[i] = 0
			if j*packCols+i < n {
				d[i] = s[j*packCols+i]
			}
		}
	}
}

// packPanel32Ref is the reference for packPanel32: it copies k rows of the columns of
// mask from src (row stride ld) into dst [k][32], with zeros in the other columns.
func packPanel32Ref(k int, src *float32, ld int, dst *float32, mask uint32) {
	d := unsafe.Slice(dst, k*packCols)
	for r := range k {
		for j := range packCols {
			d[r*packCols+j] = 0
			if mask>>j&1 != 0 {
				d[r*packCols+j] = *(*float32)(unsafe.Add(unsafe.Pointer(src), 4*(r*ld+j)))
			}
		}
	}
}
