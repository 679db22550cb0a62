package rewrite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rulebrush/rulebrush/engine"
)

// Statistics cached on the pristine model are not reused after an earlier layer is
// edited in the session, nor statistics of the edited model after it is restored;
// editing a later layer keeps the cache.
func TestStatsCacheFollowsEarlierEdits(t *testing.T) {
	m, dir := mobilenet(t)
	files, err := ImageFiles(filepath.Join(dir, "imagenet-samples"))
	if err != nil {
		t.Fatal(err)
	}
	files = files[:4]
	const layer, earlier = "expanded_conv_16/project", "expanded_conv_16/expand"
	opt := StatsOptions{CacheDir: t.TempDir()}
	stats := func(step string, wantComputed bool) []float64 {
		t.Helper()
		sts, computed, err := ComputeStats(context.Background(), m, []string{layer}, files, opt)
		if err != nil {
			t.Fatal(err)
		}
		if computed != wantComputed {
			t.Fatalf("%s: computed %v, want %v", step, computed, wantComputed)
		}
		return sts[layer].C
	}
	setW := func(name string, w []float32) {
		t.Helper()
		if err := m.SetWeights(name, w); err != nil {
			t.Fatal(err)
		}
	}
	conv := func(name string) *engine.Conv {
		c, err := m.Conv(name)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	pristine := stats("pristine", true)
	stats("pristine again", false)

	w0 := slices.Clone(conv(earlier).W.Data)
	scaled := slices.Clone(w0)
	for i := range scaled {
		scaled[i] *= 1.5
	}
	setW(earlier, scaled)
	edited := stats("earlier layer edited", true)
	if slices.Equal(edited, pristine) {
		t.Fatal("statistics did not change with the earlier layer's weights")
	}
	stats("edited again", false)

	later := slices.Clone(conv("Conv_1").W.Data)
	later[0] += 1
	setW("Conv_1", later)
	stats("later layer edited", false)

	setW(earlier, w0)
	if restored := stats("earlier layer restored", true); !slices.Equal(restored, pristine) {
		t.Error("statistics with the restored weights differ from the pristine ones")
	}
	setW(earlier, scaled)
	if again := stats("earlier layer edited the same way", false); !slices.Equal(again, edited) {
		t.Error("cached statistics of the edited model differ from the computed ones")
	}
}
