// Package testutil holds helpers shared by the engine's tests: where the read-only test
// data lives and how to compare float tensors with a useful failure message.
package testutil

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// DataDir returns the shared test data folder: $RULEBRUSH_DATA, else ../shared/data beside
// the module root. When it is missing the test is skipped with a message, or fails when
// CI is set, because CI must never pass by skipping.
func DataDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("RULEBRUSH_DATA")
	if dir == "" {
		dir = filepath.Join(moduleRoot(), "..", "shared", "data")
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test data missing at %s (set RULEBRUSH_DATA): %v", dir, err)
		}
		t.Skipf("test data missing at %s (set RULEBRUSH_DATA); skipped", dir)
	}
	return dir
}

func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// Rand returns a deterministic generator for a test case seed.
func Rand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// RandSlice fills a new slice with values uniform in [-1, 1).
func RandSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}

// AssertClose fails unless |got-want| <= atol + rtol*|want| everywhere, reporting the
// worst element, its index and the normalised mean squared error.
func AssertClose(t testing.TB, got, want []float32, atol, rtol float64) {
	t.Helper()
	if msg := Compare(got, want, atol, rtol); msg != "" {
		t.Fatal(msg)
	}
}

// Compare returns "" when got and want agree within tolerance, else a description.
func Compare(got, want []float32, atol, rtol float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("length %d, want %d", len(got), len(want))
	}
	worst, at, bad := 0.0, -1, 0
	var se, sw float64
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		d := math.Abs(g - w)
		if math.IsNaN(g) != math.IsNaN(w) {
			d = math.Inf(1)
		}
		se += (g - w) * (g - w)
		sw += w * w
		if d > atol+rtol*math.Abs(w) {
			bad++
		}
		if d > worst || at < 0 {
			worst, at = d, i
		}
	}
	if bad == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d values differ: max |got-want| = %.3g at %d (got %g, want %g), NMSE %.3g",
		bad, len(got), worst, at, got[at], want[at], se/math.Max(sw, 1e-30))
}
