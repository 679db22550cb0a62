package cli

import (
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rulebrush/rulebrush/engine/imageio"
)

// exemplarsArgs searches the police van's road concept at Conv_1 in the fixture's 20
// statistics photos plus the other three exemplars.
func exemplarsArgs(t *testing.T, f editFixture, out string) []string {
	t.Helper()
	images := filepath.Join(f.dir, "search")
	if err := os.MkdirAll(images, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"minivan.jpg", "pickup.jpg", "limousine.jpg"} {
		if err := os.Symlink(f.exemplar(n), filepath.Join(images, n)); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	return []string{"exemplars", "--json", "--model", f.model, "--layer", "Conv_1",
		"--from", f.exemplar("police_van.jpg"), "--mask", f.exemplar("police_van_mask.png"),
		"--images", images, "--cov-data", f.cov, "--texture", filepath.Join(f.data, "textures", "snow.jpg"),
		"--quantile", "0.8", "--out", out}
}

func TestExemplarsJSON(t *testing.T) {
	f := newEditFixture(t)
	out := filepath.Join(f.dir, "found")
	code, stdout, stderr := runCLI(exemplarsArgs(t, f, out)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Threshold float64 `json:"threshold"`
		Quantile  float64 `json:"quantile"`
		Exemplars []struct {
			Image, Mask, Modified string
			Fraction              float64
		} `json:"exemplars"`
	}
	decodeJSON(t, stdout, &r)
	if r.Quantile != 0.8 || len(r.Exemplars) == 0 {
		t.Fatalf("result %+v: want quantile 0.8 and some exemplars", r)
	}
	var total float64
	for _, e := range r.Exemplars {
		total += e.Fraction
		if e.Fraction <= 0 || e.Fraction > 1 {
			t.Errorf("%s: mask fraction %g", e.Image, e.Fraction)
		}
		photo, err := imageio.Load(e.Image)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{e.Mask, e.Modified} {
			if filepath.Dir(p) != out {
				t.Errorf("%s is not in --out %s", p, out)
			}
			img, err := imageio.Load(p)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if img.Bounds().Size() != photo.Bounds().Size() {
				t.Errorf("%s is %v, photo %v", p, img.Bounds().Size(), photo.Bounds().Size())
			}
		}
	}
	// The quantile is over all pixels of all photos, so on average about 20% fire.
	if mean := total / float64(len(r.Exemplars)); mean > 0.9 {
		t.Errorf("mean mask fraction %g: the concept fires almost everywhere", mean)
	}
}

func TestExemplarsErrors(t *testing.T) {
	f := newEditFixture(t)
	small := filepath.Join(f.dir, "small.png")
	writePNG(t, small, image.NewGray(image.Rect(0, 0, 10, 10)))
	out := filepath.Join(f.dir, "found")
	with := func(flag, value string) []string {
		a := exemplarsArgs(t, f, out)
		i := slices.Index(a, flag)
		a[i+1] = value
		return a
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"non-editable layer", with("--layer", "expanded_conv_1/depthwise"), 1, []string{"not an editable conv", "Conv_1"}},
		{"mask of another size", with("--mask", small), 1, []string{"mask", "same size"}},
		{"missing texture", with("--texture", filepath.Join(f.dir, "none.jpg")), 1, []string{"none.jpg"}},
		{"no images", with("--images", ""), 2, []string{"--images"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing on error", stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %q", stderr, w)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("--out %s was created", out)
			}
		})
	}
}
