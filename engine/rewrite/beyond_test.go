package rewrite

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"github.com/rulebrush/rulebrush/assets"
	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/eval"
	"github.com/rulebrush/rulebrush/engine/imageio"
	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// evalSet is a labelled data set cut at some layers, with the unedited model's answers.
type evalSet struct {
	name  string
	ds    *eval.Dataset
	imgs  []image.Image
	cuts  map[string][]*engine.Cut
	right []bool
	base  []int
	n     int
}

type score struct {
	correct, fixed, broken int
	even                   [3]int // the same over the even-indexed images only
	brokenNames            []string
}

func (s score) String() string { return fmt.Sprintf("%d (+%d/-%d)", s.correct, s.fixed, s.broken) }

// bench evaluates edits of a model on snow-dev and imagenet-samples, re-running only
// the layers from the earliest edited one.
type bench struct {
	t     testing.TB
	m     *engine.Model
	dir   string
	sets  []*evalSet
	order []string
}

const cutBatch = 32

func newBench(t testing.TB) *bench {
	m, dir := mobilenet(t)
	b := &bench{t: t, m: m, dir: dir, order: m.EditableNames()}
	for _, name := range []string{"snow-dev", "imagenet-samples"} {
		ds, err := eval.Open(filepath.Join(dir, name), "")
		if err != nil {
			t.Fatal(err)
		}
		imgs, err := eval.Images(context.Background(), ds)
		if err != nil {
			t.Fatal(err)
		}
		b.sets = append(b.sets, &evalSet{name: name, ds: ds, imgs: imgs, cuts: map[string][]*engine.Cut{}, n: len(imgs)})
	}
	return b
}

func (b *bench) cut(s *evalSet, layer string) []*engine.Cut {
	if c, ok := s.cuts[layer]; ok {
		return c
	}
	var cuts []*engine.Cut
	for lo := 0; lo < s.n; lo += cutBatch {
		hi := min(lo+cutBatch, s.n)
		x := tensor.New(hi-lo, 3, b.m.Pre.Size, b.m.Pre.Size)
		for i := lo; i < hi; i++ {
			b.m.Pre.Into(x, i-lo, s.imgs[i])
		}
		c, err := b.m.RunTo(context.Background(), x, layer)
		if err != nil {
			b.t.Fatal(err)
		}
		cuts = append(cuts, c)
	}
	s.cuts[layer] = cuts
	return cuts
}

// answers returns the top-1 answer for every image, running from layer.
func (b *bench) answers(s *evalSet, layer string) []int {
	var out []int
	for _, c := range b.cut(s, layer) {
		logits, err := b.m.RunFrom(context.Background(), c)
		if err != nil {
			b.t.Fatal(err)
		}
		k := logits.Shape[1]
		for i := range logits.Shape[0] {
			out = append(out, eval.TopK(logits.Data[i*k:(i+1)*k], 1)[0])
		}
	}
	return out
}

func (b *bench) score(s *evalSet, layer string) score {
	ans := b.answers(s, layer)
	if s.right == nil {
		panic("no baseline")
	}
	var sc score
	for i, a := range ans {
		ok := a == s.ds.Items[i].Class
		var f [3]int
		if ok {
			f[0] = 1
		}
		switch {
		case ok && !s.right[i]:
			f[1] = 1
		case !ok && s.right[i]:
			f[2] = 1
			sc.brokenNames = append(sc.brokenNames, strings.TrimSuffix(filepath.Base(s.ds.Items[i].Path), ".JPEG"))
		}
		sc.correct += f[0]
		sc.fixed += f[1]
		sc.broken += f[2]
		if i%2 == 0 {
			for k := range f {
				sc.even[k] += f[k]
			}
		}
	}
	return sc
}

func (b *bench) baseline() {
	for _, s := range b.sets {
		ans := b.answers(s, "Conv_1")
		s.base = ans
		s.right = make([]bool, s.n)
		var c int
		for i, a := range ans {
			s.right[i] = a == s.ds.Items[i].Class
			if s.right[i] {
				c++
			}
		}
		b.t.Logf("baseline %s: %d/%d", s.name, c, s.n)
	}
}

func (b *bench) stats(layer string) *Stats {
	files, err := ImageFiles(filepath.Join(b.dir, "imagenet-samples"))
	if err != nil {
		b.t.Fatal(err)
	}
	sts, _, err := ComputeStats(context.Background(), b.m, []string{layer}, files, StatsOptions{})
	if err != nil {
		b.t.Fatal(err)
	}
	return sts[layer]
}

// run applies the edits an experiment returns, scores them and undoes them.
func (b *bench) run(name string, f func(h *History) error) {
	start := time.Now()
	h := NewHistory(b.m)
	if err := f(h); err != nil {
		b.t.Errorf("%s: %v", name, err)
		return
	}
	solve := time.Since(start)
	first := len(b.order)
	var losses []string
	for _, e := range h.Applied() {
		first = min(first, slices.Index(b.order, e.Layer))
		losses = append(losses, fmt.Sprintf("%s %.5f->%.5f", e.Layer, e.LossBefore, e.LossAfter))
	}
	layer := b.order[first]
	sn, cl := b.score(b.sets[0], layer), b.score(b.sets[1], layer)
	b.t.Logf("RESULT | %s | %s/29 | %s/1000 | even %d (+%d/-%d)/500 | %.1f s edit, %.1f s total | %s | broken %v", name, sn, cl,
		cl.even[0], cl.even[1], cl.even[2], solve.Seconds(), time.Since(start).Seconds(), strings.Join(losses, "; "), cl.brokenNames)
	for h.Index() > 0 {
		if _, err := h.Undo(); err != nil {
			b.t.Fatal(err)
		}
	}
}

func (b *bench) exemplars(tex func(i int, w, h int) image.Image) []Exemplar {
	return b.exemplarsMask(tex, func(m image.Image) image.Image { return m })
}

// morph grows (thr low) or shrinks (thr high) a mask: blur it and threshold.
func morph(sigma float64, thr uint8) func(image.Image) image.Image {
	return func(m image.Image) image.Image { return GrowMask(m, sigma, thr) }
}

func (b *bench) exemplarsMask(tex func(i int, w, h int) image.Image, mk func(image.Image) image.Image) []Exemplar {
	var ex []Exemplar
	for i, n := range []string{"police_van", "minivan", "pickup", "limousine"} {
		img, err := imageio.Load(filepath.Join(b.dir, "exemplars", n+".jpg"))
		if err != nil {
			b.t.Fatal(err)
		}
		raw, err := imageio.Load(filepath.Join(b.dir, "exemplars", n+"_mask.png"))
		if err != nil {
			b.t.Fatal(err)
		}
		mask := mk(raw)
		sz := img.Bounds().Size()
		mod, err := Composite(img, mask, tex(i, sz.X, sz.Y))
		if err != nil {
			b.t.Fatal(err)
		}
		ex = append(ex, Exemplar{Original: img, Modified: mod, Mask: mask})
	}
	return ex
}

// autoExemplars finds where direction d fires in imagenet-samples (heatmap at layer above
// the quantile q over all images) and pastes texture there; images whose mask covers less
// than minFrac of the model's view are skipped.
func (b *bench) autoExemplars(layer string, d []float32, q, minFrac float64, tex func(i int, w, h int) image.Image, skip func(i int) bool) []Exemplar {
	s := b.sets[1]
	c, _ := b.m.Conv(layer)
	in := c.W.Shape[1]
	var heats [][]float32
	var hh, ww int
	for _, cut := range b.cut(s, layer) {
		k := cut.Input(b.m)
		hh, ww = k.Shape[2], k.Shape[3]
		for j := range k.Shape[0] {
			heats = append(heats, Heatmap(k.Data[j*in*hh*ww:(j+1)*in*hh*ww], in, hh*ww, d, 1))
		}
	}
	var all []float32
	for _, hm := range heats {
		all = append(all, hm...)
	}
	slices.Sort(all)
	thr := all[min(len(all)-1, int(math.Floor(q*float64(len(all)))))]
	var ex []Exemplar
	for i, hm := range heats {
		if skip != nil && skip(i) {
			continue
		}
		var on int
		for _, v := range hm {
			if v > thr {
				on++
			}
		}
		if float64(on) < minFrac*float64(len(hm)) {
			continue
		}
		img := s.imgs[i]
		mask := gridToImage(b.m.Pre, img.Bounds(), hm, hh, ww, thr)
		sz := img.Bounds().Size()
		mod, err := Composite(img, mask, tex(i, sz.X, sz.Y))
		if err != nil {
			b.t.Fatal(err)
		}
		ex = append(ex, Exemplar{Original: img, Modified: mod, Mask: mask})
	}
	return ex
}

// TestBeyondPaper runs the experiments of engine/rewrite/beyond-paper.md when
// RULEBRUSH_BEYOND names them (comma-separated prefixes, or "all"). Slow: minutes.
func TestBeyondPaper(t *testing.T) {
	sel := os.Getenv("RULEBRUSH_BEYOND")
	if sel == "" {
		t.Skip("set RULEBRUSH_BEYOND to run the experiments")
	}
	ctx := context.Background()
	b := newBench(t)
	b.baseline()
	st := map[string]*Stats{}
	stats := func(l string) *Stats {
		if st[l] == nil {
			st[l] = b.stats(l)
		}
		return st[l]
	}
	snowJPG, err := imageio.Load(filepath.Join(b.dir, "textures", "snow.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	jpg := func(int, int, int) image.Image { return snowJPG }
	proc := func(i, w, h int) image.Image { return assets.Snow(w, h, uint64(i+1)) }
	paper := b.exemplars(jpg)
	one := func(layer string, ex []Exemplar, opt ManyOptions, scale float64) func(h *History) error {
		return func(h *History) error {
			e, err := RewriteMany(ctx, b.m, layer, stats(layer), ex, opt)
			if err != nil {
				return err
			}
			return h.Push(scaled(e, scale))
		}
	}
	want := func(name string) bool {
		if sel == "all" {
			return true
		}
		for _, p := range strings.Split(sel, ",") {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	}
	exp := func(name string, f func(h *History) error) {
		if want(name) {
			b.run(name, f)
		}
	}
	// scales runs one edit and scores it at each scale.
	scales := func(name, layer string, ex []Exemplar, opt ManyOptions, factors ...float64) {
		var e *Edit
		for _, sc := range factors {
			n := fmt.Sprintf("%s x%g", name, sc)
			if !want(n) {
				continue
			}
			b.run(n, func(h *History) error {
				if e == nil {
					var err error
					if e, err = RewriteMany(ctx, b.m, layer, stats(layer), ex, opt); err != nil {
						return err
					}
				}
				return h.Push(scaled(e, sc))
			})
		}
	}
	var odd []image.Image
	for i, img := range b.sets[1].imgs {
		if i%2 == 1 {
			odd = append(odd, img)
		}
	}
	// Λ refined on the classifier's cross-entropy: snowy exemplars (true classes, repeated
	// rep times) plus clean odd-indexed photos with the unedited model's answers.
	if want("logits") {
		exLabels := []int{734, 656, 717, 627}
		grown := b.exemplarsMask(jpg, morph(12, 10))
		for _, cfg := range []struct {
			clean, rep, steps int
			lr                float64
			ex                []Exemplar
			tag               string
		}{{0, 1, 100, 0.01, paper, ""}, {0, 1, 30, 0.01, paper, ""}, {0, 1, 300, 0.01, paper, ""}, {0, 1, 100, 0.003, paper, ""},
			{0, 1, 30, 0.01, grown, " grow12>10"}, {0, 1, 100, 0.01, grown, " grow12>10"}, {0, 1, 100, 0.003, grown, " grow12>10"},
			{32, 4, 100, 0.01, paper, ""}, {64, 4, 200, 0.003, paper, ""}} {
			name := fmt.Sprintf("logits%s clean%d rep%d steps%d lr%g", cfg.tag, cfg.clean, cfg.rep, cfg.steps, cfg.lr)
			if !want(name) {
				continue
			}
			var imgs []image.Image
			var labels []int
			for range cfg.rep {
				for i, e := range cfg.ex {
					imgs = append(imgs, e.Modified)
					labels = append(labels, exLabels[i])
				}
			}
			for i := 1; i < 2*cfg.clean; i += 2 {
				imgs = append(imgs, b.sets[1].imgs[i])
				labels = append(labels, b.sets[1].base[i])
			}
			var e *Edit
			for _, sc := range []float64{1, 1.5, 2} {
				b.run(fmt.Sprintf("%s x%g", name, sc), func(h *History) error {
					if e == nil {
						var err error
						if e, err = RewriteMany(ctx, b.m, "Conv_1", stats("Conv_1"), cfg.ex, ManyOptions{}); err != nil {
							return err
						}
						if err := RefineLogits(ctx, b.m, e, imgs, labels, cfg.steps, cfg.lr); err != nil {
							return err
						}
					}
					return h.Push(scaled(e, sc))
				})
			}
		}
	}
	for _, sg := range []float64{8, 10, 12, 14, 16, 18, 20, 24} {
		for _, thr := range []uint8{5, 10, 20, 35, 60, 100} {
			scales(fmt.Sprintf("surface grow %g>%d", sg, thr), "Conv_1", b.exemplarsMask(jpg, morph(sg, thr)), ManyOptions{}, 1)
		}
	}
	for _, sg := range []float64{12, 16, 18, 20, 24} {
		for _, thr := range []uint8{10, 20, 35, 60} {
			ex := b.exemplarsMask(jpg, morph(sg, thr))
			exp(fmt.Sprintf("stack-surface grow %g>%d x2", sg, thr), func(h *History) error {
				for range 2 {
					if err := one("Conv_1", ex, ManyOptions{}, 1)(h); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	// L2 has a closed form only where the block's tail is linear (project convs).
	for _, l := range []string{"expanded_conv_13/project", "expanded_conv_16/project"} {
		l2 := ManyOptions{Options: Options{SolveOptions: SolveOptions{Loss: LossL2}}}
		scales("l2 paper "+l, l, paper, l2, 1, 1.5)
		scales("l2 grow 20>35 "+l, l, b.exemplarsMask(jpg, morph(20, 35)), l2, 1, 1.5)
		scales("l1 grow 20>35 "+l, l, b.exemplarsMask(jpg, morph(20, 35)), ManyOptions{}, 1, 1.5)
	}
	// Jackknife: leave one exemplar out, paper masks against grown ones.
	for k := range 4 {
		drop := func(ex []Exemplar) []Exemplar { return append(slices.Clone(ex[:k]), ex[k+1:]...) }
		grown := drop(b.exemplarsMask(jpg, morph(20, 35)))
		exp(fmt.Sprintf("jackknife -%d paper", k), one("Conv_1", drop(paper), ManyOptions{}, 1))
		exp(fmt.Sprintf("jackknife -%d grow 20>35", k), one("Conv_1", grown, ManyOptions{}, 1))
		exp(fmt.Sprintf("jackknife -%d grow 20>35 stack x2", k), func(h *History) error {
			for range 2 {
				if err := one("Conv_1", grown, ManyOptions{}, 1)(h); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, g := range [][2]float64{{12, 10}, {16, 35}, {20, 35}} {
		ex := b.exemplarsMask(jpg, morph(g[0], uint8(g[1])))
		for n := 2; n <= 3; n++ {
			exp(fmt.Sprintf("grow-stack %g>%g Conv_1 x%d", g[0], g[1], n), func(h *History) error {
				for range n {
					if err := one("Conv_1", ex, ManyOptions{}, 1)(h); err != nil {
						return err
					}
				}
				return nil
			})
		}
		for _, l := range []string{"expanded_conv_16/project", "expanded_conv_13/project"} {
			exp(fmt.Sprintf("grow-stack %g>%g %s+Conv_1", g[0], g[1], l), func(h *History) error {
				if err := one(l, ex, ManyOptions{}, 1)(h); err != nil {
					return err
				}
				return one("Conv_1", ex, ManyOptions{}, 1)(h)
			})
			scales(fmt.Sprintf("grow-only %g>%g %s", g[0], g[1], l), l, ex, ManyOptions{}, 1, 1.5)
		}
		scales(fmt.Sprintf("grow-rank2 %g>%g", g[0], g[1]), "Conv_1", ex, ManyOptions{Options: Options{Rank: 2}}, 1, 1.5)
	}
	for _, sg := range []float64{12, 16, 20, 24, 32, 48} {
		for _, thr := range []uint8{35, 10} {
			scales(fmt.Sprintf("mask grow %g>%d", sg, thr), "Conv_1", b.exemplarsMask(jpg, morph(sg, thr)), ManyOptions{}, 1, 1.25, 1.5, 1.75)
		}
	}
	for _, sg := range []float64{4, 8, 16} {
		scales(fmt.Sprintf("mask erode %g", sg), "Conv_1", b.exemplarsMask(jpg, morph(sg, 220)), ManyOptions{}, 1, 1.5, 2, 2.5)
		scales(fmt.Sprintf("mask dilate %g", sg), "Conv_1", b.exemplarsMask(jpg, morph(sg, 35)), ManyOptions{}, 1, 1.5, 2, 2.5)
	}
	var aug []Exemplar
	for _, br := range []float64{-30, -15, 0} {
		for _, tile := range []int{1, 2} {
			t := imaging.AdjustBrightness(snowJPG, br)
			if tile == 2 {
				big := imaging.New(2*t.Bounds().Dx(), 2*t.Bounds().Dy(), color.White)
				for k := range 4 {
					big = imaging.Paste(big, imaging.FlipH(t), image.Pt((k%2)*t.Bounds().Dx(), (k/2)*t.Bounds().Dy()))
				}
				t = big
			}
			ex := b.exemplars(func(int, int, int) image.Image { return t })
			scales(fmt.Sprintf("texture brightness %g tile %d", br, tile), "Conv_1", ex, ManyOptions{}, 1, 2)
			aug = append(aug, ex...)
		}
	}
	scales("texture augmented x6", "Conv_1", aug, ManyOptions{}, 1, 1.5, 2, 2.5, 3)
	for _, w := range []float64{0.0003, 0.001, 0.003, 0.01, 0.03, 0.1} {
		scales(fmt.Sprintf("clean-odd w%g", w), "Conv_1", paper, ManyOptions{Clean: odd, CleanWeight: w}, 1, 1.5, 2, 2.5, 3)
	}
	exp("paper", one("Conv_1", paper, ManyOptions{}, 1))
	for _, s := range []float64{1.5, 1.6, 1.7, 1.8, 1.9, 2, 2.2, 2.5, 3} {
		exp(fmt.Sprintf("scale %g", s), one("Conv_1", paper, ManyOptions{}, s))
	}
	for _, f := range []float64{1e-5, 1e-4, 1e-3, 1e-2} {
		exp(fmt.Sprintf("floor %g", f), one("Conv_1", paper, ManyOptions{Options: Options{EigFloor: f}}, 1))
	}
	for _, r := range []int{2, 3} {
		exp(fmt.Sprintf("rank %d", r), one("Conv_1", paper, ManyOptions{Options: Options{Rank: r}}, 1))
	}
	for _, k := range []float64{0.05, 0.2, 1} {
		exp(fmt.Sprintf("keep %g", k), one("Conv_1", paper, ManyOptions{Keep: k}, 1))
	}
	exp("texture procedural", one("Conv_1", b.exemplars(proc), ManyOptions{}, 1))
	exp("texture both", one("Conv_1", append(slices.Clone(paper), b.exemplars(proc)...), ManyOptions{}, 1))
	for _, l := range []string{"expanded_conv_16/project", "expanded_conv_15/project", "expanded_conv_13/project"} {
		exp("stack Conv_1+"+l, func(h *History) error {
			if err := one(l, paper, ManyOptions{}, 1)(h); err != nil {
				return err
			}
			return one("Conv_1", paper, ManyOptions{}, 1)(h)
		})
	}
	for n := 2; n <= 5; n++ {
		exp(fmt.Sprintf("stack Conv_1 x%d", n), func(h *History) error {
			for range n {
				if err := one("Conv_1", paper, ManyOptions{}, 1)(h); err != nil {
					return err
				}
			}
			return nil
		})
	}
	// Exemplars found by the concept search over imagenet-samples.
	if sel == "all" || strings.Contains(sel, "auto") {
		d, err := ConceptDirection(ctx, b.m, "Conv_1", stats("Conv_1"), paper, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		items := b.sets[1].ds.Items
		notVehicle := func(i int) bool { return !vehicleScene(items[i].Class) }
		// Masks from a finer grid: the concept at expanded_conv_12/project's input (14x14).
		const fine = "expanded_conv_12/project"
		df, err := ConceptDirection(ctx, b.m, fine, stats(fine), paper, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []float64{0.8, 0.9, 0.95} {
			for _, mf := range []float64{0.05, 0.15} {
				all := append(slices.Clone(paper), b.autoExemplars(fine, df, q, mf, jpg, nil)...)
				veh := append(slices.Clone(paper), b.autoExemplars(fine, df, q, mf, jpg, notVehicle)...)
				scales(fmt.Sprintf("auto14-all q%g min%g n%d own-d", q, mf, len(all)), "Conv_1", all, ManyOptions{}, 1, 1.5, 2)
				scales(fmt.Sprintf("auto14-all q%g min%g n%d hand-d", q, mf, len(all)), "Conv_1", all, ManyOptions{DirectionFrom: 4}, 1, 1.5, 2)
				scales(fmt.Sprintf("auto14-vehicle q%g min%g n%d own-d", q, mf, len(veh)), "Conv_1", veh, ManyOptions{}, 1, 1.5, 2)
				scales(fmt.Sprintf("auto14-vehicle q%g min%g n%d hand-d", q, mf, len(veh)), "Conv_1", veh, ManyOptions{DirectionFrom: 4}, 1, 1.5, 2)
			}
		}
		for _, q := range []float64{0.9, 0.95} {
			for _, mf := range []float64{0.1, 0.25} {
				all := append(slices.Clone(paper), b.autoExemplars("Conv_1", d, q, mf, jpg, nil)...)
				veh := append(slices.Clone(paper), b.autoExemplars("Conv_1", d, q, mf, jpg, notVehicle)...)
				for _, sc := range []float64{1, 1.5, 2} {
					exp(fmt.Sprintf("auto-all q%g min%g n%d own-d x%g", q, mf, len(all), sc), one("Conv_1", all, ManyOptions{}, sc))
					exp(fmt.Sprintf("auto-all q%g min%g n%d hand-d x%g", q, mf, len(all), sc), one("Conv_1", all, ManyOptions{DirectionFrom: 4}, sc))
					exp(fmt.Sprintf("auto-vehicle q%g min%g n%d own-d x%g", q, mf, len(veh), sc), one("Conv_1", veh, ManyOptions{}, sc))
					exp(fmt.Sprintf("auto-vehicle q%g min%g n%d hand-d x%g", q, mf, len(veh), sc), one("Conv_1", veh, ManyOptions{DirectionFrom: 4}, sc))
				}
			}
		}
	}
}

// vehicleScene reports whether an ImageNet class is a road vehicle or street object, the
// photos where a road is likely. The four hand exemplars' classes (police van, minivan,
// pickup, limousine) and the snow-dev classes (racer, traffic light) are left out.
func vehicleScene(c int) bool {
	switch c {
	case 407, 436, 444, 468, 475, 479, 511, 555, 565, 569, 573, 575, 581, 586, 603, 609, 654,
		661, 665, 670, 671, 675, 705, 757, 779, 803, 817, 829, 864, 866, 867, 874, 880, 919:
		return true
	}
	return false
}

// TestWriteGrownMasks writes the snow exemplars' masks grown with GrowMask into the
// folder RULEBRUSH_GROW_MASKS names (the committed recipe's masks come from here), with
// RULEBRUSH_GROW="sigma,thr" (default 20,35).
func TestWriteGrownMasks(t *testing.T) {
	out := os.Getenv("RULEBRUSH_GROW_MASKS")
	if out == "" {
		t.Skip("set RULEBRUSH_GROW_MASKS to a folder to write the grown masks")
	}
	sigma, thr := 20.0, 35
	if g := os.Getenv("RULEBRUSH_GROW"); g != "" {
		if _, err := fmt.Sscanf(g, "%g,%d", &sigma, &thr); err != nil {
			t.Fatal(err)
		}
	}
	dir := testutil.DataDir(t)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"police_van", "minivan", "pickup", "limousine"} {
		m, err := imageio.Load(filepath.Join(dir, "exemplars", n+"_mask.png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := imageio.SavePNG(filepath.Join(out, n+"_mask.png"), GrowMask(m, sigma, uint8(thr))); err != nil {
			t.Fatal(err)
		}
	}
}

// The committed snow recipe fixes clearly more snow-dev photos than the paper's edit
// (3 fixed) and breaks none.
func TestSnowRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("needs key statistics over imagenet-samples (cached after the first run)")
	}
	ctx := context.Background()
	m, dir := mobilenet(t)
	if os.Getenv("RULEBRUSH_DATA") == "" {
		t.Setenv("RULEBRUSH_DATA", dir)
	}
	rc, err := LoadRecipe(filepath.Join("..", "..", "testdata", "recipes", "mobilenetv2-snow.json"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := eval.Open(filepath.Join(dir, "snow-dev"), "")
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := eval.Images(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	before, err := eval.Run(ctx, m, ds, imgs, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHistory(m)
	for _, req := range rc.Edits {
		ex, err := req.LoadExemplars()
		if err != nil {
			t.Fatal(err)
		}
		files, err := ImageFiles(req.CovData)
		if err != nil {
			t.Fatal(err)
		}
		sts, _, err := ComputeStats(ctx, m, []string{req.Layer}, files, StatsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e, err := Rewrite(ctx, m, req.Layer, sts[req.Layer], ex, req.Options())
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Push(e); err != nil {
			t.Fatal(err)
		}
	}
	after, err := eval.Run(ctx, m, ds, imgs, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := eval.Compare(ds, before, after)
	if len(f.Fixed) < 6 || len(f.Broken) > 0 {
		t.Errorf("snow-dev: %d fixed, %d broken; want at least 6 fixed and none broken", len(f.Fixed), len(f.Broken))
	}
}

// GrowMask fills small holes and widens a region without moving far from it.
func TestGrowMask(t *testing.T) {
	m := image.NewGray(image.Rect(10, 20, 110, 120))
	for y := 60; y < 100; y++ {
		for x := 30; x < 90; x++ {
			if x != 60 { // a one-pixel hole
				m.SetGray(x, y, color.Gray{Y: 255})
			}
		}
	}
	g := GrowMask(m, 3, 35)
	if g.Bounds() != image.Rect(0, 0, 100, 100) {
		t.Fatalf("bounds %v, want the mask's size at the origin", g.Bounds())
	}
	at := func(x, y int) uint8 { return g.GrayAt(x-10, y-20).Y }
	if at(60, 80) != 255 || at(28, 80) != 255 || at(60, 58) != 255 {
		t.Errorf("the hole or the edges were not filled")
	}
	if at(15, 80) != 0 || at(60, 30) != 0 {
		t.Errorf("the mask grew too far")
	}
}

// RewriteMany in chunks gives the edit Rewrite gives, up to the rounding of other batch
// sizes.
func TestRewriteManyMatches(t *testing.T) {
	m, dir := mobilenet(t)
	ctx := context.Background()
	files, err := ImageFiles(filepath.Join(dir, "imagenet-samples"))
	if err != nil {
		t.Fatal(err)
	}
	sts, _, err := ComputeStats(ctx, m, []string{"Conv_1"}, files[:16], StatsOptions{CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	ex := exemplars(t, dir, "police_van", "minivan", "pickup")
	want, err := Rewrite(ctx, m, "Conv_1", sts["Conv_1"], ex, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := RewriteMany(ctx, m, "Conv_1", sts["Conv_1"], ex, ManyOptions{Chunk: 2})
	if err != nil {
		t.Fatal(err)
	}
	var dd float64
	for i := range want.D {
		dd = max(dd, math.Abs(float64(got.D[i]-want.D[i])))
	}
	if dd > 1e-4 || math.Abs(got.LossAfter-want.LossAfter) > 1e-5*want.LossAfter {
		t.Errorf("chunked rewrite differs: direction by %g, loss %g vs %g", dd, got.LossAfter, want.LossAfter)
	}
}
