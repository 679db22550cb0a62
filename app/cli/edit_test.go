package cli

import (
	"encoding/json"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/imageio"
)

// editFixture is the shared data plus a small folder for key statistics (20 photos,
// linked) and a private statistics cache.
type editFixture struct {
	data, model, cov, dir string
}

func newEditFixture(t *testing.T) editFixture {
	t.Helper()
	data := sharedData(t)
	f := editFixture{data: data, model: filepath.Join(data, "models", "mobilenetv2", "model.onnx"),
		dir: t.TempDir()}
	f.cov = filepath.Join(f.dir, "cov")
	if err := os.Mkdir(f.cov, 0o755); err != nil {
		t.Fatal(err)
	}
	photos, err := filepath.Glob(filepath.Join(data, "imagenet-samples", "*.JPEG"))
	if err != nil || len(photos) < 20 {
		t.Fatalf("imagenet-samples: %d photos, %v", len(photos), err)
	}
	slices.Sort(photos)
	for _, p := range photos[:20] {
		if err := os.Symlink(p, filepath.Join(f.cov, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("RULEBRUSH_STATS_CACHE", filepath.Join(f.dir, "stats"))
	return f
}

func (f editFixture) exemplar(name string) string {
	return filepath.Join(f.data, "exemplars", name)
}

// args is an edit of Conv_1 from the police-van exemplar, with extra flags appended.
func (f editFixture) args(out string, extra ...string) []string {
	a := []string{"edit", "--json", "--model", f.model, "--layer", "Conv_1",
		"--exemplar", f.exemplar("police_van.jpg"), "--mask", f.exemplar("police_van_mask.png"),
		"--texture", filepath.Join(f.data, "textures", "snow.jpg"), "--cov-data", f.cov, "--out", out}
	return append(a, extra...)
}

type editJSON struct {
	Layer        string  `json:"layer"`
	LossBefore   float64 `json:"loss_before"`
	LossAfter    float64 `json:"loss_after"`
	StatsSeconds float64 `json:"stats_seconds"`
	SolveSeconds float64 `json:"solve_seconds"`
	Seconds      float64 `json:"seconds"`
	Out          string  `json:"out"`
	Edits        []struct {
		Seconds float64 `json:"seconds"`
	} `json:"edits"`
}

func runEditJSON(t *testing.T, args []string) editJSON {
	t.Helper()
	code, stdout, stderr := runCLI(args...)
	if code != 0 {
		t.Fatalf("edit: exit %d: %s", code, stderr)
	}
	var r editJSON
	decodeJSON(t, stdout, &r)
	return r
}

func TestEditWritesLayerOnly(t *testing.T) {
	f := newEditFixture(t)
	out := filepath.Join(f.dir, "edited", "model.onnx")
	first := runEditJSON(t, f.args(out))
	if first.Layer != "Conv_1" || first.Out != out || first.StatsSeconds <= 0 || len(first.Edits) != 1 ||
		first.Edits[0].Seconds <= 0 || first.Edits[0].Seconds > first.Seconds {
		t.Errorf("first edit: %+v (want layer Conv_1, out %s, statistics computed)", first, out)
	}
	if !(first.LossAfter < first.LossBefore) || first.LossAfter < 0 {
		t.Errorf("loss %g -> %g, want a decrease", first.LossBefore, first.LossAfter)
	}
	again := runEditJSON(t, f.args(out))
	if again.StatsSeconds != 0 {
		t.Errorf("second edit computed statistics again (%gs), want the cache", again.StatsSeconds)
	}
	if again.LossAfter != first.LossAfter {
		t.Errorf("cached statistics give loss %g, computed %g", again.LossAfter, first.LossAfter)
	}

	orig, err := engine.Load(f.model)
	if err != nil {
		t.Fatal(err)
	}
	edited, err := engine.Load(out)
	if err != nil {
		t.Fatalf("edited model does not load: %v", err)
	}
	layers, err := orig.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		a, _ := orig.Conv(l.Name)
		b, err := edited.Conv(l.Name)
		if err != nil {
			t.Fatalf("edited model: %v", err)
		}
		same := slices.Equal(a.W.Data, b.W.Data) && slices.Equal(a.B, b.B)
		if l.Name == "Conv_1" && same {
			t.Errorf("Conv_1 is unchanged")
		}
		if l.Name != "Conv_1" && !same {
			t.Errorf("layer %s changed; only Conv_1 should", l.Name)
		}
	}
}

func TestEditRecipeMatchesFlags(t *testing.T) {
	f := newEditFixture(t)
	flags := runEditJSON(t, f.args(filepath.Join(f.dir, "a.onnx")))
	recipe := map[string]any{"layer": "Conv_1", "cov_data": f.cov,
		"texture":   filepath.Join(f.data, "textures", "snow.jpg"),
		"exemplars": []map[string]string{{"image": f.exemplar("police_van.jpg"), "mask": f.exemplar("police_van_mask.png")}}}
	b, err := json.Marshal(recipe)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.dir, "edit.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rc := runEditJSON(t, []string{"edit", "--json", "--model", f.model, "--recipe", path, "--out", filepath.Join(f.dir, "b.onnx")})
	if rc.LossBefore != flags.LossBefore || rc.LossAfter != flags.LossAfter {
		t.Errorf("recipe loss %g -> %g, flags %g -> %g", rc.LossBefore, rc.LossAfter, flags.LossBefore, flags.LossAfter)
	}
}

func TestEditErrors(t *testing.T) {
	f := newEditFixture(t)
	photo, err := imageio.Load(f.exemplar("police_van.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(f.dir, "empty.png")
	writePNG(t, empty, image.NewGray(photo.Bounds()))
	small := filepath.Join(f.dir, "small.png")
	writePNG(t, small, fillNRGBA(10, 10, color.NRGBA{255, 255, 255, 255}))
	out := filepath.Join(f.dir, "out.onnx")
	with := func(flag, value string) []string {
		a := f.args(out)
		i := slices.Index(a, flag)
		a[i+1] = value
		return a
	}
	without := func(flag string) []string {
		a := f.args(out)
		i := slices.Index(a, flag)
		return slices.Delete(a, i, i+2)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"empty mask", with("--mask", empty), []string{"mask", "empty"}},
		{"mask of another size", with("--mask", small), []string{"mask", "same size"}},
		{"non-editable layer", with("--layer", "expanded_conv_1/depthwise"),
			[]string{"not an editable conv", "Conv_1", "expanded_conv_16/project"}},
		{"unknown layer", with("--layer", "nope"), []string{`"nope"`, "editable layers", "Conv_1"}},
		{"missing texture", with("--texture", filepath.Join(f.dir, "no-such-texture.jpg")),
			[]string{"texture", "no-such-texture.jpg", "no such file"}},
		{"no texture", without("--texture"), []string{"no texture"}},
		{"unknown method", append(f.args(out), "--method", "magic"), []string{"magic"}},
		{"mask count", append(f.args(out), "--exemplar", f.exemplar("minivan.jpg")), []string{"2 --exemplar but 1 --mask"}},
		{"bad label", append(f.args(out), "--label", "van"), []string{`--label "van"`}},
		{"label out of range", append(f.args(out), "--method", "finetune-local", "--label", "5000"), []string{"label 5000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const keep = "an earlier model"
			if err := os.WriteFile(out, []byte(keep), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCLI(tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, want an error; stdout %s", stdout)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing on error", stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %q", stderr, w)
				}
			}
			if b, err := os.ReadFile(out); err != nil || string(b) != keep {
				t.Errorf("--out was overwritten or removed (%q, %v)", b, err)
			}
			if ents, _ := os.ReadDir(f.dir); slices.ContainsFunc(ents, func(e os.DirEntry) bool {
				return strings.HasPrefix(e.Name(), "out.onnx") && e.Name() != "out.onnx"
			}) {
				t.Errorf("a temporary output file was left in %s", f.dir)
			}
		})
	}
}

func TestEditFinetuneLocal(t *testing.T) {
	f := newEditFixture(t)
	out := filepath.Join(f.dir, "ft.onnx")
	a := f.args(out, "--method", "finetune-local", "--steps", "5", "--lr", "0.01", "--label", "734")
	i := slices.Index(a, "--cov-data")
	r := runEditJSON(t, slices.Delete(a, i, i+2)) // fine-tuning needs no key statistics
	if !(r.LossAfter < r.LossBefore) || r.StatsSeconds != 0 {
		t.Errorf("fine-tuning: %+v, want a lower cross-entropy and no statistics", r)
	}
	orig, err := engine.Load(f.model)
	if err != nil {
		t.Fatal(err)
	}
	edited, err := engine.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range orig.EditableNames() {
		a, _ := orig.Conv(l)
		b, _ := edited.Conv(l)
		if changed := !slices.Equal(a.W.Data, b.W.Data); changed != (l == "Conv_1") {
			t.Errorf("layer %s changed: %v", l, changed)
		}
	}
}
