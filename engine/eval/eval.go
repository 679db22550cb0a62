// Package eval measures classifiers on labelled image folders: top-1 and top-5 accuracy
// overall and per class, and, between two models, which images an edit fixed or broke.
package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/imageio"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Item is one labelled image.
type Item struct {
	Path  string `json:"path"`
	Class int    `json:"class"` // class index in the model's output
	Group string `json:"group"` // folder name or class name, for per-class tables
}

// Dataset is a list of labelled images.
type Dataset struct {
	Dir   string
	Items []Item
}

var imageExt = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".bmp": true, ".gif": true, ".webp": true, ".tif": true, ".tiff": true}

func isImage(name string) bool { return imageExt[strings.ToLower(filepath.Ext(name))] }

// Open reads a dataset. The layout is found from what is there:
//   - classes is a .tsv file, or dir holds classes.tsv: a flat folder; each line is
//     "file<TAB>class index";
//   - otherwise one subfolder per class; classes (or dir/classes.json) maps folder name to
//     {"index": i}; without it the folder names must be class indices.
func Open(dir, classes string) (*Dataset, error) {
	if classes == "" {
		for _, name := range []string{"classes.tsv", "classes.json"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				classes = filepath.Join(dir, name)
				break
			}
		}
	}
	if strings.HasSuffix(classes, ".tsv") {
		return openFlat(dir, classes)
	}
	return openFolders(dir, classes)
}

func openFolders(dir, classesPath string) (*Dataset, error) {
	index := map[string]int{}
	if classesPath != "" {
		b, err := os.ReadFile(classesPath)
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		var doc struct {
			Classes map[string]struct {
				Index *int `json:"index"`
			} `json:"classes"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("dataset: %s: %w", classesPath, err)
		}
		if len(doc.Classes) == 0 {
			// Also accept a bare {"folder": {"index": i}} map.
			if err := json.Unmarshal(b, &doc.Classes); err != nil {
				return nil, fmt.Errorf("dataset: %s: want {\"classes\": {folder: {\"index\": i}}}: %w", classesPath, err)
			}
		}
		for k, v := range doc.Classes {
			if v.Index == nil {
				return nil, fmt.Errorf("dataset: %s: class %q has no \"index\"", classesPath, k)
			}
			index[k] = *v.Index
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	ds := &Dataset{Dir: dir}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		class, ok := index[e.Name()]
		if !ok {
			if classesPath != "" {
				return nil, fmt.Errorf("dataset: folder %q is not in %s", e.Name(), classesPath)
			}
			class, err = strconv.Atoi(e.Name())
			if err != nil {
				return nil, fmt.Errorf("dataset: folder %q is not a class index; give --classes classes.json", e.Name())
			}
		}
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		for _, f := range files {
			if !f.IsDir() && isImage(f.Name()) {
				ds.Items = append(ds.Items, Item{Path: filepath.Join(dir, e.Name(), f.Name()), Class: class, Group: e.Name()})
			}
		}
	}
	if len(ds.Items) == 0 {
		return nil, fmt.Errorf("dataset: no images in class folders under %s", dir)
	}
	return ds, nil
}

func openFlat(dir, tsv string) (*Dataset, error) {
	b, err := os.ReadFile(tsv)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	ds := &Dataset{Dir: dir}
	fileCol, classCol, groupCol := 0, 1, -1
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if i == 0 && slices.Contains(f, "file") {
			// A header names the columns: file, class_index (or class), label.
			fileCol, classCol = slices.Index(f, "file"), slices.Index(f, "class_index")
			if classCol < 0 {
				classCol = slices.Index(f, "class")
			}
			groupCol = slices.Index(f, "label")
			if classCol < 0 {
				return nil, fmt.Errorf("dataset: %s: header has no class_index column", tsv)
			}
			continue
		}
		if len(f) <= max(fileCol, classCol, groupCol) {
			return nil, fmt.Errorf("dataset: %s line %d: want \"file<TAB>class index\" or a header naming the columns", tsv, i+1)
		}
		class, err := strconv.Atoi(strings.TrimSpace(f[classCol]))
		if err != nil {
			return nil, fmt.Errorf("dataset: %s line %d: class %q is not a number", tsv, i+1, f[classCol])
		}
		group := strconv.Itoa(class)
		if groupCol >= 0 {
			group = f[groupCol]
		}
		ds.Items = append(ds.Items, Item{Path: filepath.Join(dir, f[fileCol]), Class: class, Group: group})
	}
	if len(ds.Items) == 0 {
		return nil, fmt.Errorf("dataset: %s lists no images", tsv)
	}
	return ds, nil
}

// Prediction is a model's answer for one item.
type Prediction struct {
	Top5 []int `json:"top5"`
}

// Report is one model's results on a dataset; Preds follows the dataset's item order.
type Report struct {
	Model    string                `json:"model"`
	N        int                   `json:"n"`
	Top1     float64               `json:"top1"`
	Top5     float64               `json:"top5"`
	PerClass map[string]ClassScore `json:"per_class"`
	Preds    []Prediction          `json:"-"`
}

// ClassScore is accuracy on one class.
type ClassScore struct {
	N    int     `json:"n"`
	Top1 float64 `json:"top1"`
	Top5 float64 `json:"top5"`
}

// Correct reports whether item i was right at top-1.
func (r *Report) Correct(ds *Dataset, i int) bool { return r.Preds[i].Top5[0] == ds.Items[i].Class }

// Options tune an evaluation run.
type Options struct {
	Batch    int                   // images per forward pass (default 16)
	Progress func(done, total int) // called after each batch
}

// Images decodes a dataset's images once, in parallel, so several models can share them.
func Images(ctx context.Context, ds *Dataset) ([]image.Image, error) {
	imgs := make([]image.Image, len(ds.Items))
	errs := make([]error, len(ds.Items))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 2 {
		wg.Go(func() {
			for i := range next {
				imgs[i], errs[i] = imageio.Load(ds.Items[i].Path)
			}
		})
	}
	for i := range ds.Items {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return imgs, nil
}

// Run classifies every image with m and scores the answers. Batches are preprocessed on
// one goroutine while the model runs the previous batch on all cores.
func Run(ctx context.Context, m *engine.Model, ds *Dataset, imgs []image.Image, opt Options) (*Report, error) {
	bs := opt.Batch
	if bs <= 0 {
		bs = 16
	}
	n := len(ds.Items)
	type batch struct {
		lo int
		x  *tensor.Tensor
	}
	batches := make(chan batch, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		for lo := 0; lo < n; lo += bs {
			hi := min(lo+bs, n)
			x := tensor.New(hi-lo, 3, m.Pre.Size, m.Pre.Size)
			for i := lo; i < hi; i++ {
				m.Pre.Into(x, i-lo, imgs[i])
			}
			select {
			case batches <- batch{lo, x}:
			case <-ctx.Done():
				return
			}
		}
	}()
	rep := &Report{Model: m.Path, N: n, Preds: make([]Prediction, n)}
	for b := range batches {
		logits, err := m.Run(ctx, b.x)
		if err != nil {
			return nil, err
		}
		k := logits.Shape[1]
		for i := range b.x.Shape[0] {
			rep.Preds[b.lo+i] = Prediction{Top5: TopK(logits.Data[i*k:(i+1)*k], 5)}
		}
		if opt.Progress != nil {
			opt.Progress(min(b.lo+b.x.Shape[0], n), n)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep.score(ds)
	return rep, nil
}

func (r *Report) score(ds *Dataset) {
	r.PerClass = map[string]ClassScore{}
	var t1, t5 int
	for i, it := range ds.Items {
		c := r.PerClass[it.Group]
		c.N++
		if r.Preds[i].Top5[0] == it.Class {
			t1++
			c.Top1++
		}
		if slices.Contains(r.Preds[i].Top5, it.Class) {
			t5++
			c.Top5++
		}
		r.PerClass[it.Group] = c
	}
	for g, c := range r.PerClass {
		c.Top1 /= float64(c.N)
		c.Top5 /= float64(c.N)
		r.PerClass[g] = c
	}
	r.Top1 = float64(t1) / float64(r.N)
	r.Top5 = float64(t5) / float64(r.N)
}

// Flips lists the images that were wrong (top-1) under before and right under after
// (fixed), and the reverse (broken).
type Flips struct {
	Fixed  []string `json:"fixed"`
	Broken []string `json:"broken"`
}

// Compare returns the flips from one report to another on the same dataset.
func Compare(ds *Dataset, before, after *Report) Flips {
	f := Flips{Fixed: []string{}, Broken: []string{}}
	for i, it := range ds.Items {
		b, a := before.Correct(ds, i), after.Correct(ds, i)
		switch {
		case !b && a:
			f.Fixed = append(f.Fixed, it.Path)
		case b && !a:
			f.Broken = append(f.Broken, it.Path)
		}
	}
	return f
}

// TopK returns the indices of the k largest values, largest first.
func TopK(x []float32, k int) []int {
	k = min(k, len(x))
	top := make([]int, 0, k+1)
	for i, v := range x {
		if len(top) == k && v <= x[top[k-1]] {
			continue
		}
		j := sort.Search(len(top), func(j int) bool { return x[top[j]] < v })
		top = slices.Insert(top, j, i)
		if len(top) > k {
			top = top[:k]
		}
	}
	return top
}
