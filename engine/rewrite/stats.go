package rewrite

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/imageio"
	"github.com/rulebrush/rulebrush/engine/internal/gemm"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Stats is the uncentred second moment of a conv layer's input: C = (1/P) Σ k kᵀ over the
// P spatial positions of every image in a folder.
type Stats struct {
	Layer     string
	I         int       // input channels
	C         []float64 // [I, I] row-major
	Positions int64     // P
	Images    int
}

// StatsOptions tune ComputeStats.
type StatsOptions struct {
	Batch    int                   // images per forward run; 0 means 16
	CacheDir string                // where C is cached; "" means $RULEBRUSH_STATS_CACHE, else os.UserCacheDir()/rulebrush/stats; "-" disables the cache
	Progress func(done, total int) // called after each batch; may be nil
}

// ImageFiles lists the image files under dir (recursively), sorted.
func ImageFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp":
			if !d.IsDir() {
				files = append(files, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list images in %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no images in %s", dir)
	}
	slices.Sort(files)
	return files, nil
}

// ComputeStats returns the key statistics of each named layer over the images in files,
// from the cache when present. Images are decoded once, in parallel, for all layers.
// The second return value reports whether anything was computed (false: all cached).
func ComputeStats(ctx context.Context, m *engine.Model, layers []string, files []string, opt StatsOptions) (map[string]*Stats, bool, error) {
	if len(files) == 0 {
		return nil, false, errors.New("key statistics: no images")
	}
	dataHash := hashFiles(files)
	out := map[string]*Stats{}
	var todo []string
	var keep []string
	paths := map[string]string{}
	for _, l := range layers {
		c, err := m.Conv(l)
		if err != nil {
			return nil, false, err
		}
		if paths[l], err = opt.cachePath(m, l, dataHash); err != nil {
			return nil, false, err
		}
		if s, err := loadStats(paths[l]); err == nil && s.I == c.W.Shape[1] {
			out[l] = s
			continue
		}
		todo = append(todo, l)
		keep = append(keep, c.Input)
	}
	if len(todo) == 0 {
		return out, false, nil
	}
	acc := make([][]float64, len(todo))
	var chans []int
	for i, l := range todo {
		c, _ := m.Conv(l)
		chans = append(chans, c.W.Shape[1])
		acc[i] = make([]float64, chans[i]*chans[i])
	}
	var positions = make([]int64, len(todo))
	batch := opt.Batch
	if batch <= 0 {
		batch = 16
	}
	imgs := decodeAll(ctx, m, files)
	x := tensor.New(batch, 3, m.Pre.Size, m.Pre.Size)
	var scratch []float32
	done := 0
	for done < len(files) {
		n := min(batch, len(files)-done)
		if n < batch {
			x = tensor.New(n, 3, m.Pre.Size, m.Pre.Size)
		}
		for range n {
			r, ok := <-imgs
			if !ok {
				return nil, false, ctx.Err()
			}
			if r.err != nil {
				return nil, false, fmt.Errorf("key statistics: %w", r.err)
			}
			copy(x.Data[(r.i-done)*len(r.x):], r.x)
		}
		_, kept, err := m.RunKeep(ctx, x, keep)
		if err != nil {
			return nil, false, fmt.Errorf("key statistics: %w", err)
		}
		for li, name := range keep {
			k := kept[name]
			ch := chans[li]
			hw := len(k.Data) / (n * ch)
			if cap(scratch) < ch*ch {
				scratch = make([]float32, ch*ch)
			}
			s := scratch[:ch*ch]
			clear(s)
			for j := range n {
				xs := k.Data[j*ch*hw : (j+1)*ch*hw]
				gemm.Sgemm(false, true, ch, ch, hw, 1, xs, hw, xs, hw, 1, s, ch)
			}
			for i, v := range s {
				acc[li][i] += float64(v)
			}
			positions[li] += int64(n * hw)
		}
		done += n
		if opt.Progress != nil {
			opt.Progress(done, len(files))
		}
	}
	for i, l := range todo {
		s := &Stats{Layer: l, I: chans[i], C: acc[i], Positions: positions[i], Images: len(files)}
		for j := range s.C {
			s.C[j] /= float64(s.Positions)
		}
		if err := s.check(); err != nil {
			return nil, false, err
		}
		if p := paths[l]; p != "" {
			if err := s.save(p); err != nil {
				return nil, false, err
			}
		}
		out[l] = s
	}
	return out, true, nil
}

type decoded struct {
	i   int
	x   []float32
	err error
}

// decodeAll decodes and preprocesses files on all cores, delivering them in order.
func decodeAll(ctx context.Context, m *engine.Model, files []string) <-chan decoded {
	out := make(chan decoded, 64)
	workers := runtime.NumCPU()
	results := make([]chan decoded, len(files))
	for i := range results {
		results[i] = make(chan decoded, 1)
	}
	var next sync.Mutex
	idx := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				i := idx
				idx++
				next.Unlock()
				if i >= len(files) || ctx.Err() != nil {
					return
				}
				img, err := imageio.Load(files[i])
				var x []float32
				if err == nil {
					t := m.Pre.Tensor(img)
					x = t.Data
				}
				results[i] <- decoded{i, x, err}
			}
		}()
	}
	go func() {
		defer close(out)
		for i := range files {
			select {
			case r := <-results[i]:
				out <- r
			case <-ctx.Done():
				wg.Wait()
				return
			}
		}
	}()
	return out
}

// Whitening returns Z = C^(-1/2) [I, I] and the eigenvalue floor used: eigenvalues below
// floor = rel * λmax are raised to it so that C stays positive definite.
func (s *Stats) Whitening(rel float64) (*mat.Dense, float64, error) {
	if err := s.check(); err != nil {
		return nil, 0, err
	}
	var eig mat.EigenSym
	if !eig.Factorize(mat.NewSymDense(s.I, slices.Clone(s.C)), true) {
		return nil, 0, fmt.Errorf("layer %q: eigendecomposition of the key statistics failed", s.Layer)
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	top := slices.Max(vals)
	if top <= 0 {
		return nil, 0, fmt.Errorf("layer %q: key statistics are zero", s.Layer)
	}
	floor := rel * top
	var b mat.Dense
	b.CloneFrom(&vecs)
	for k, l := range vals {
		col := 1 / math.Sqrt(max(l, floor))
		for i := range s.I {
			b.Set(i, k, b.At(i, k)*col)
		}
	}
	z := mat.NewDense(s.I, s.I, nil)
	z.Mul(&b, vecs.T())
	return z, floor, nil
}

func (s *Stats) check() error {
	if len(s.C) != s.I*s.I || s.I == 0 {
		return fmt.Errorf("layer %q: key statistics have %d values for %d channels", s.Layer, len(s.C), s.I)
	}
	for _, v := range s.C {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("layer %q: key statistics contain NaN or Inf (a layer input overflowed, or the cache is corrupt)", s.Layer)
		}
	}
	return nil
}

// cachePath names the cache file of layer's statistics over a data set. The key holds
// the model file's hash and, when layers before this one were edited in this session,
// a hash of their current weights: statistics of the pristine model are not reused
// after an earlier layer changed, nor the other way round.
func (o StatsOptions) cachePath(m *engine.Model, layer, dataHash string) (string, error) {
	dir := o.CacheDir
	if dir == "" {
		dir = os.Getenv("RULEBRUSH_STATS_CACHE")
	}
	if dir == "-" {
		return "", nil
	}
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", nil
		}
		dir = filepath.Join(base, "rulebrush", "stats")
	}
	safe := strings.NewReplacer("/", "_", ":", "_", "\\", "_").Replace(layer)
	h := m.Hash
	if len(h) > 16 {
		h = h[:16]
	}
	edited, err := m.EditedBefore(layer)
	if err != nil {
		return "", err
	}
	if len(edited) > 0 {
		h += "-w" + weightsHash(edited)
	}
	return filepath.Join(dir, fmt.Sprintf("%s-%s-%s.bin", h, safe, dataHash)), nil
}

// weightsHash identifies the current weights and biases of convs.
func weightsHash(convs []*engine.Conv) string {
	h := sha256.New()
	buf := make([]byte, 0, 1<<16)
	put := func(v []float32) {
		for _, x := range v {
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		}
	}
	for _, c := range convs {
		fmt.Fprintf(h, "%s\x00%v\x00", c.Name, c.W.Shape)
		put(c.W.Data)
		put(c.B)
		h.Write(buf)
		buf = buf[:0]
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// hashFiles identifies a data set by its file names, sizes and modification times.
func hashFiles(files []string) string {
	h := sha256.New()
	for _, f := range files {
		fi, err := os.Stat(f)
		if err == nil {
			fmt.Fprintf(h, "%s\x00%d\x00%d\n", f, fi.Size(), fi.ModTime().UnixNano())
		} else {
			fmt.Fprintf(h, "%s\n", f)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

const statsMagic = "RBSTATS1"

func (s *Stats) save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cache key statistics: %w", err)
	}
	err := imageio.WriteFileAtomic(path, func(w io.Writer) error {
		hdr := make([]byte, 0, 64)
		hdr = append(hdr, statsMagic...)
		hdr = binary.LittleEndian.AppendUint64(hdr, uint64(s.I))
		hdr = binary.LittleEndian.AppendUint64(hdr, uint64(s.Positions))
		hdr = binary.LittleEndian.AppendUint64(hdr, uint64(s.Images))
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		return binary.Write(w, binary.LittleEndian, s.C)
	})
	if err != nil {
		return fmt.Errorf("cache key statistics of %q: %w", s.Layer, err)
	}
	return nil
}

func loadStats(path string) (*Stats, error) {
	if path == "" {
		return nil, errors.New("no cache")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 32 || string(b[:8]) != statsMagic {
		return nil, fmt.Errorf("%s: not a statistics file", path)
	}
	s := &Stats{
		I:         int(binary.LittleEndian.Uint64(b[8:])),
		Positions: int64(binary.LittleEndian.Uint64(b[16:])),
		Images:    int(binary.LittleEndian.Uint64(b[24:])),
	}
	if len(b) != 32+8*s.I*s.I {
		return nil, fmt.Errorf("%s: truncated", path)
	}
	s.C = make([]float64, s.I*s.I)
	for i := range s.C {
		s.C[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[32+8*i:]))
	}
	return s, nil
}
