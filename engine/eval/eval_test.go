package eval_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/eval"
	"github.com/rulebrush/rulebrush/engine/internal/testutil"
)

func TestTopK(t *testing.T) {
	cases := []struct {
		x    []float32
		k    int
		want []int
	}{
		{[]float32{1, 5, 3, 4, 2}, 3, []int{1, 3, 2}},
		{[]float32{1, 2}, 5, []int{1, 0}},
		{[]float32{-1, -1, 0}, 1, []int{2}},
		{[]float32{3, 3, 3}, 2, []int{0, 1}},
	}
	for _, c := range cases {
		if got := eval.TopK(c.x, c.k); !slices.Equal(got, c.want) {
			t.Errorf("TopK(%v, %d) = %v, want %v", c.x, c.k, got, c.want)
		}
	}
}

func TestOpenLayouts(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"3/a.jpg", "3/b.PNG", "7/c.jpeg", "7/notes.txt"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), nil, 0o644)
	}
	ds, err := eval.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Items) != 3 || ds.Items[0].Class != 3 || ds.Items[2].Class != 7 {
		t.Errorf("class-index folders: %+v", ds.Items)
	}
	classes := filepath.Join(t.TempDir(), "classes.json")
	os.WriteFile(classes, []byte(`{"classes": {"3": {"index": 30}}}`), 0o644)
	if _, err := eval.Open(dir, classes); err == nil || !strings.Contains(err.Error(), `"7"`) {
		t.Errorf("a folder missing from classes.json: %v", err)
	}
	named := t.TempDir()
	os.MkdirAll(filepath.Join(named, "cats"), 0o755)
	os.WriteFile(filepath.Join(named, "cats", "x.jpg"), nil, 0o644)
	if _, err := eval.Open(named, ""); err == nil || !strings.Contains(err.Error(), "cats") {
		t.Errorf("a named folder without classes.json: %v", err)
	}
	flat := t.TempDir()
	os.WriteFile(filepath.Join(flat, "classes.tsv"), []byte("# file\tclass\na.jpg\t5\nb.jpg\t9\n"), 0o644)
	ds, err = eval.Open(flat, "")
	if err != nil || len(ds.Items) != 2 || ds.Items[1].Class != 9 {
		t.Errorf("flat folder: %+v, %v", ds, err)
	}
	os.WriteFile(filepath.Join(flat, "classes.tsv"), []byte("class_index\twnid\tfile\tlabel\n4\tn1\ta.jpg\tcat\n"), 0o644)
	ds, err = eval.Open(flat, "")
	if err != nil || len(ds.Items) != 1 || ds.Items[0].Class != 4 || ds.Items[0].Group != "cat" || filepath.Base(ds.Items[0].Path) != "a.jpg" {
		t.Errorf("flat folder with a header: %+v, %v", ds, err)
	}
	os.WriteFile(filepath.Join(flat, "classes.tsv"), []byte("a.jpg five\n"), 0o644)
	if _, err := eval.Open(flat, ""); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a bad classes.tsv line: %v", err)
	}
}

// The real model's accuracy on the shared photos matches ONNX Runtime's measurement
// (89.2% top-1, 98.2% top-5) within 0.2 points, and snow-dev's 16 of 29.
func TestMobileNetV2Accuracy(t *testing.T) {
	data := testutil.DataDir(t)
	m, err := engine.Load(filepath.Join(data, "models", "mobilenetv2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	samples := filepath.Join(data, "imagenet-samples") // a flat folder with classes.tsv
	if testing.Short() {
		t.Skip("-short: 1000-photo accuracy run skipped")
	}
	for _, c := range []struct {
		dir, classes    string
		top1, top5, tol float64
	}{
		{samples, "", 0.892, 0.982, 0.002},
		{filepath.Join(data, "snow-dev"), "", 16.0 / 29, 27.0 / 29, 1e-9},
	} {
		ds, err := eval.Open(c.dir, c.classes)
		if err != nil {
			t.Fatal(err)
		}
		imgs, err := eval.Images(context.Background(), ds)
		if err != nil {
			t.Fatal(err)
		}
		r, err := eval.Run(context.Background(), m, ds, imgs, eval.Options{Batch: 16})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d images, top-1 %.3f, top-5 %.3f", filepath.Base(c.dir), r.N, r.Top1, r.Top5)
		if d := r.Top1 - c.top1; d < -c.tol-1e-9 || d > c.tol+1e-9 {
			t.Errorf("%s: top-1 %.3f, want %.3f", c.dir, r.Top1, c.top1)
		}
		if d := r.Top5 - c.top5; d < -c.tol-1e-9 || d > c.tol+1e-9 {
			t.Errorf("%s: top-5 %.3f, want %.3f", c.dir, r.Top5, c.top5)
		}
		if f := eval.Compare(ds, r, r); len(f.Fixed)+len(f.Broken) != 0 {
			t.Errorf("a report compared with itself has flips: %+v", f)
		}
	}
}
