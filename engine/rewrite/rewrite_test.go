package rewrite

import (
	"context"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/ops"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// synthetic builds keyData for a conv with weights w [o, in, k, k] on n random key maps
// [in, h, h] (stride 1, "same" padding), masks all ones, and values from vals(o, p).
func synthetic(r *rand.Rand, n, in, o, k, h int, pre ops.Activation, vals []float32) *keyData {
	pad := k / 2
	c := &engine.Conv{
		W: tensor.From(testutil.RandSlice(r, o*in*k*k), o, in, k, k), B: testutil.RandSlice(r, o),
		Params: ops.ConvParams{Pads: [4]int{pad, pad, pad, pad}},
	}
	kd := &keyData{
		blk: &engine.Block{Conv: c, Pre: pre}, n: n, in: in, o: o, kh: k, kw: k, h: h, w: h, oh: h, ow: h,
		keys: testutil.RandSlice(r, n*in*h*h), vals: vals,
	}
	if kd.vals == nil {
		kd.vals = testutil.RandSlice(r, n*o*h*h)
	}
	for range n * h * h {
		kd.maskKey = append(kd.maskKey, 1)
		kd.maskOut = append(kd.maskOut, 1)
	}
	return kd
}

func unit(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / math.Sqrt(s))
	}
	return out
}

// A 2×3 dense layer (1×1 conv on one position): the rewrite maps k* to v* exactly, and
// keys orthogonal to d keep their outputs.
func TestDenseRankOne(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  SolveOptions
		pre  ops.Activation
	}{
		{"l2-closed-form", SolveOptions{Loss: LossL2}, ops.Activation{}},
		{"l1-structured", SolveOptions{}, ops.Activation{}},
		{"l1-relu6", SolveOptions{}, ops.Activation{Kind: ops.ActClip, Min: 0, Max: 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kd := &keyData{
				blk: &engine.Block{Conv: &engine.Conv{
					W: tensor.From([]float32{1, 2, 0, 0, 1, -1}, 2, 3, 1, 1), B: []float32{0.5, 0},
				}, Pre: tc.pre},
				n: 1, in: 3, o: 2, kh: 1, kw: 1, h: 1, w: 1, oh: 1, ow: 1,
				keys: []float32{1, 1, 2}, vals: []float32{4, 2}, maskKey: []float32{1}, maskOut: []float32{1},
			}
			d := unit(kd.keys)
			pr := newProblem(kd, d, 1)
			lam, err := pr.solve(context.Background(), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if l := pr.loss(lam); l > 1e-6 {
				t.Fatalf("loss %g after the edit, want 0", l)
			}
			e := &Edit{Rank: 1, WShape: [4]int{2, 3, 1, 1}, D: d, Lambda: []float32{float32(lam[0]), float32(lam[1])}}
			w := slices.Clone(kd.blk.Conv.W.Data)
			e.AddTo(w)
			dense := func(w []float32, k []float32) []float64 {
				out := make([]float64, 2)
				for o := range 2 {
					out[o] = float64(kd.blk.Conv.B[o])
					for i := range 3 {
						out[o] += float64(w[o*3+i] * k[i])
					}
					out[o] = act(tc.pre, out[o])
				}
				return out
			}
			got := dense(w, kd.keys)
			for o, v := range []float64{4, 2} {
				if math.Abs(got[o]-v) > 1e-5 {
					t.Errorf("edited key maps to %v, want [4 2]", got)
				}
			}
			ortho := []float32{1, 1, -1} // dᵀk = 0
			before, after := dense(kd.blk.Conv.W.Data, ortho), dense(w, ortho)
			for o := range 2 {
				if math.Abs(before[o]-after[o]) > 1e-6 {
					t.Errorf("key with dᵀk = 0 changed: %v -> %v", before, after)
				}
			}
		})
	}
}

// The exact line search finds the minimum of a piecewise-linear objective on a fine grid.
func TestLineSearchExact(t *testing.T) {
	r := testutil.Rand(3)
	for _, tl := range []tail{
		{}, {pre: ops.Activation{Kind: ops.ActClip, Min: 0, Max: 6}}, {pre: ops.Activation{Kind: ops.ActRelu}, post: ops.Activation{Kind: ops.ActRelu}},
	} {
		np := 40
		z, s, rs, v, w := make([]float64, np), make([]float64, np), make([]float64, np), make([]float64, np), make([]float64, np)
		for p := range np {
			z[p], s[p], rs[p], v[p], w[p] = 4*r.Float64()-2, 2*r.Float64()-1, r.Float64()-0.5, 4*r.Float64(), r.Float64()
		}
		f := func(t float64) float64 {
			var sum float64
			for p := range np {
				sum += w[p] * math.Abs(tl.f(z[p]+t*s[p], rs[p])-v[p])
			}
			return sum
		}
		tb, fb := newLineSearch(np).search(tl, z, s, rs, v, w)
		if math.Abs(f(tb)-fb) > 1e-9 {
			t.Fatalf("%+v: reported %g at t=%g, objective there %g", tl, fb, tb, f(tb))
		}
		for g := -20.0; g <= 20; g += 1e-3 {
			if f(g) < fb-1e-9 {
				t.Fatalf("%+v: grid t=%g gives %g < %g at t=%g", tl, g, f(g), fb, tb)
			}
		}
	}
}

// dLoss/dΛ (used by the Adam solvers) matches central finite differences.
func TestGradLambda(t *testing.T) {
	r := testutil.Rand(5)
	for _, pre := range []ops.Activation{{}, {Kind: ops.ActClip, Min: -0.5, Max: 0.5}} {
		kd := synthetic(r, 2, 4, 3, 3, 5, pre, nil)
		d := unit(testutil.RandSlice(r, 4*2))
		pr := newProblem(kd, d[:8], 2)
		lam := make([]float64, pr.o*pr.n)
		for i := range lam {
			lam[i] = 0.3 * r.NormFloat64()
		}
		grad := make([]float64, len(lam))
		pr.gradLambda(lam, grad, 0, pr.o)
		for i := range lam {
			const h = 1e-7
			l0 := lam[i]
			lam[i] = l0 + h
			fp := pr.loss(lam)
			lam[i] = l0 - h
			fm := pr.loss(lam)
			lam[i] = l0
			if fd := (fp - fm) / (2 * h); math.Abs(fd-grad[i]) > 1e-6*max(1, math.Abs(fd)) {
				t.Errorf("pre %v: dL/dλ[%d] = %g, finite difference %g", pre.Kind, i, grad[i], fd)
			}
		}
	}
}

// With one parameter per channel (1×1 conv, rank 1) the structured solver is exact: no
// higher loss than the paper's loop or Adam on Λ.
func TestStructuredBeatsIterative(t *testing.T) {
	r := testutil.Rand(7)
	kd := synthetic(r, 2, 6, 5, 1, 4, ops.Activation{Kind: ops.ActRelu}, nil)
	d := unit(testutil.RandSlice(r, 6))
	pr := newProblem(kd, d, 1)
	ctx := context.Background()
	best, err := pr.solve(ctx, SolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{SolverAdam, SolverPaper} {
		lam, err := pr.solve(ctx, SolveOptions{Solver: s, Steps: 2000, LR: 1e-2})
		if err != nil {
			t.Fatal(err)
		}
		if pr.loss(best) > pr.loss(lam)*(1+1e-6) {
			t.Errorf("structured loss %g > %s loss %g", pr.loss(best), s, pr.loss(lam))
		}
	}
}

func TestDirectionOrthonormal(t *testing.T) {
	r := testutil.Rand(9)
	in, hw := 5, 12
	keys := testutil.RandSlice(r, in*hw)
	mask := make([]float32, hw)
	for i := range 6 {
		mask[i] = 1
	}
	st := &Stats{Layer: "x", I: in, C: make([]float64, in*in)}
	for i := range in {
		st.C[i*in+i] = 1 + float64(i)
	}
	z, floor, err := st.Whitening(1e-6)
	if err != nil || floor <= 0 {
		t.Fatal(err, floor)
	}
	d, err := Direction(keys, mask, 1, in, hw, z, 2)
	if err != nil {
		t.Fatal(err)
	}
	for a := range 2 {
		for b := range 2 {
			var dot float64
			for i := range in {
				dot += float64(d[i*2+a] * d[i*2+b])
			}
			if want := map[bool]float64{true: 1, false: 0}[a == b]; math.Abs(dot-want) > 1e-5 {
				t.Errorf("dᵀd[%d,%d] = %g", a, b, dot)
			}
		}
	}
	h := Heatmap(keys, in, hw, d, 2)
	var mean float64
	for p := range 6 {
		mean += float64(h[p])
	}
	if mean <= 0 {
		t.Errorf("mean heatmap on the mask is %g, want > 0", mean)
	}
}

func TestWhiteningRejectsNaN(t *testing.T) {
	st := &Stats{Layer: "L", I: 2, C: []float64{1, 0, 0, math.NaN()}}
	if _, _, err := st.Whitening(1e-6); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("got %v, want a NaN error", err)
	}
}

func TestRecipeRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.jpg", "a_mask.png", "snow.jpg"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "cov"), 0o755); err != nil {
		t.Fatal(err)
	}
	rc := &Recipe{Edits: []Request{{
		Layer: "Conv_1", Exemplars: []ExemplarFiles{{Image: "a.jpg", Mask: "a_mask.png"}},
		Texture: "snow.jpg", CovData: "cov", Rank: 2, Loss: LossL1, Solver: SolverStructured, EigFloor: 1e-5,
	}}}
	path := filepath.Join(dir, "edit.json")
	if err := rc.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadRecipe(path)
	if err != nil {
		t.Fatal(err)
	}
	want := rc.Edits[0]
	if err := want.Resolve(dir); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Edits[0], want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got.Edits[0], want)
	}
	rc.Edits[0].Texture = "missing.jpg"
	if err := rc.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRecipe(path); err == nil || !strings.Contains(err.Error(), "missing.jpg") {
		t.Fatalf("missing texture: got %v", err)
	}
}

func TestStatsCacheRoundTrip(t *testing.T) {
	s := &Stats{Layer: "L", I: 2, C: []float64{1, 0.5, 0.5, 2}, Positions: 7, Images: 3}
	p := filepath.Join(t.TempDir(), "s.bin")
	if err := s.save(p); err != nil {
		t.Fatal(err)
	}
	got, err := loadStats(p)
	if err != nil {
		t.Fatal(err)
	}
	got.Layer = "L"
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("got %+v, want %+v", got, s)
	}
}

func mobilenet(t testing.TB) (*engine.Model, string) {
	dir := testutil.DataDir(t)
	m, err := engine.Load(filepath.Join(dir, "models", "mobilenetv2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return m, dir
}

func exemplars(t testing.TB, dir string, names ...string) []Exemplar {
	req := Request{Texture: filepath.Join(dir, "textures", "snow.jpg")}
	for _, n := range names {
		req.Exemplars = append(req.Exemplars, ExemplarFiles{
			Image: filepath.Join(dir, "exemplars", n+".jpg"), Mask: filepath.Join(dir, "exemplars", n+"_mask.png")})
	}
	ex, err := req.LoadExemplars()
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// Applying edits and undoing them all restores every layer bit for bit; redo re-applies.
func TestHistoryExactUndo(t *testing.T) {
	m, _ := mobilenet(t)
	r := testutil.Rand(11)
	layers := []string{"Conv_1", "expanded_conv_16/project", "Conv_1"}
	orig := map[string][]float32{}
	h := NewHistory(m)
	var after []float32
	for _, l := range layers {
		c, _ := m.Conv(l)
		if _, ok := orig[l]; !ok {
			orig[l] = slices.Clone(c.W.Data)
		}
		s := c.W.Shape
		e := &Edit{Layer: l, Rank: 1, WShape: [4]int(s), D: unit(testutil.RandSlice(r, s[1])), Lambda: testutil.RandSlice(r, s[0]*s[2]*s[3])}
		if err := h.Push(e); err != nil {
			t.Fatal(err)
		}
	}
	c1, _ := m.Conv("Conv_1")
	after = slices.Clone(c1.W.Data)
	for h.Index() > 0 {
		if _, err := h.Undo(); err != nil {
			t.Fatal(err)
		}
	}
	for l, w := range orig {
		c, _ := m.Conv(l)
		if !slices.Equal(c.W.Data, w) {
			t.Errorf("%s: weights differ from the originals after undoing every edit", l)
		}
	}
	for range layers {
		if _, err := h.Redo(); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(c1.W.Data, after) {
		t.Errorf("redo did not restore the edited weights exactly")
	}
}

// A real rewrite at Conv_1: the loss drops, the edit changes only Conv_1, and bad input
// gives clear errors.
func TestRewriteMobileNetV2(t *testing.T) {
	m, dir := mobilenet(t)
	ctx := context.Background()
	files, err := ImageFiles(filepath.Join(dir, "imagenet-samples"))
	if err != nil {
		t.Fatal(err)
	}
	sts, _, err := ComputeStats(ctx, m, []string{"Conv_1"}, files[:48], StatsOptions{CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	ex := exemplars(t, dir, "police_van", "minivan")
	e, err := Rewrite(ctx, m, "Conv_1", sts["Conv_1"], ex, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !(e.LossAfter < 0.8*e.LossBefore) {
		t.Errorf("loss %g -> %g: want a clear drop", e.LossBefore, e.LossAfter)
	}

	gray := func(w, h int, v uint8) *image.Gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = v
		}
		return g
	}
	b := ex[0].Original.Bounds()
	for _, tc := range []struct {
		name, layer, want string
		ex                Exemplar
	}{
		{"empty mask", "Conv_1", "empty", Exemplar{ex[0].Original, ex[0].Modified, gray(b.Dx(), b.Dy(), 0)}},
		{"mask size", "Conv_1", "same size", Exemplar{ex[0].Original, ex[0].Modified, gray(10, 10, 255)}},
		{"depthwise", "expanded_conv_16/depthwise", "editable layers", ex[0]},
		{"no layer", "nope", "editable layers", ex[0]},
	} {
		if _, err := Rewrite(ctx, m, tc.layer, sts["Conv_1"], []Exemplar{tc.ex}, Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
	if _, err := Composite(ex[0].Original, gray(3, 3, 255), image.NewNRGBA(image.Rect(0, 0, 4, 4))); err == nil {
		t.Errorf("composite with a mask of another size: no error")
	}
}

// Cancelling key statistics stops the work with the context's error.
func TestStatsCancel(t *testing.T) {
	m, dir := mobilenet(t)
	files, err := ImageFiles(filepath.Join(dir, "imagenet-samples"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, _, err = ComputeStats(ctx, m, []string{"Conv_1"}, files[:64], StatsOptions{CacheDir: "-", Batch: 8,
		Progress: func(done, total int) { cancel() }})
	if err == nil {
		t.Fatal("no error after cancel")
	}
}
