package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedData finds the read-only test data: $RULEBRUSH_DATA or ../shared/data beside the
// module; missing data skips, or fails under CI.
func sharedData(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RULEBRUSH_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	dir, err := filepath.Abs(dir) // tests link to files in it from temporary folders
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test data missing at %s: %v", dir, err)
		}
		t.Skipf("test data missing at %s; skipped", dir)
	}
	return dir
}

func decodeJSON(t *testing.T, stdout string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON document:\n%s", stdout)
	}
}

func TestPredictLayersEvalBench(t *testing.T) {
	data := sharedData(t)
	model := filepath.Join(data, "models", "mobilenetv2", "model.onnx")

	code, out, errOut := runCLI("predict", "--json", "--model", model, "--top", "3",
		filepath.Join(data, "exemplars", "police_van.jpg"), filepath.Join(data, "exemplars", "minivan.jpg"))
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, errOut)
	}
	var pred struct {
		Results []struct {
			Image string
			Top   []struct {
				Index int
				Label string
				Prob  float64
			}
		}
	}
	decodeJSON(t, out, &pred)
	if len(pred.Results) != 2 || len(pred.Results[0].Top) != 3 || pred.Results[0].Top[0].Index != 734 ||
		pred.Results[0].Top[0].Label != "police van" || pred.Results[1].Top[0].Index != 656 {
		t.Errorf("predict: %+v", pred)
	}

	code, out, errOut = runCLI("layers", "--json", "--model", model)
	if code != 0 {
		t.Fatalf("layers: exit %d: %s", code, errOut)
	}
	var layers struct {
		Layers []struct {
			Name     string
			InShape  []int `json:"in_shape"`
			OutShape []int `json:"out_shape"`
			Editable bool
		}
	}
	decodeJSON(t, out, &layers)
	last := layers.Layers[len(layers.Layers)-1]
	if last.Name != "Conv_1" || len(last.OutShape) != 3 || last.OutShape[0] != 1280 || last.InShape[0] != 320 {
		t.Errorf("layers: last %+v", last)
	}

	// The same model twice: identical accuracy, no flips.
	snow := filepath.Join(data, "snow-dev")
	code, out, errOut = runCLI("eval", "--json", "--model", model, "--model", model, "--data", snow)
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, errOut)
	}
	var ev struct {
		Models []struct {
			N        int
			Top1     float64
			PerClass map[string]struct{ N int } `json:"per_class"`
		}
		Flips map[string]struct{ Fixed, Broken []string }
	}
	decodeJSON(t, out, &ev)
	if len(ev.Models) != 2 || ev.Models[0].N != 29 || ev.Models[0].PerClass["racingcar"].N != 20 ||
		ev.Models[0].Top1 != ev.Models[1].Top1 {
		t.Errorf("eval: %+v", ev)
	}
	if f := ev.Flips[model]; len(f.Fixed) != 0 || len(f.Broken) != 0 {
		t.Errorf("eval: flips between a model and itself: %+v", f)
	}

	code, out, errOut = runCLI("bench", "--json", "--model", model, "--runs", "2", "--threads", "1")
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, errOut)
	}
	var b struct {
		Median float64 `json:"median_ms"`
		Blas   string
	}
	decodeJSON(t, out, &b)
	if b.Median <= 0 || b.Blas == "" {
		t.Errorf("bench: %+v", b)
	}
}

func TestCommandErrors(t *testing.T) {
	data := sharedData(t)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{[]string{"predict", "--json", "--bogus"}, 2, "bogus"},
		{[]string{"predict", "--model", "x.onnx"}, 2, "at least one image"},
		{[]string{"predict", "--model", filepath.Join(data, "exemplars", "police_van.jpg"), "a.jpg"}, 1, "not an ONNX model"},
		{[]string{"eval", "--model", filepath.Join(data, "models", "mobilenetv2", "model.onnx"), "--data", t.TempDir()}, 1, "no images"},
		{[]string{"predict", "--model", filepath.Join(data, "models", "mobilenetv2", "model.onnx"), "--mean", "1,2", "a.jpg"}, 2, "--mean"},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, errOut, c.code, c.want)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout on error: %q", c.args, out)
		}
	}
}
