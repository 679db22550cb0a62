package ops

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/gemm"
	"github.com/rulebrush/rulebrush/engine/internal/testutil"
)

func TestPackedKernelsMatchReference(t *testing.T) {
	for _, tc := range []struct {
		k, ldc, rows, cols int
	}{
		{0, 32, 14, 32}, {1, 32, 14, 32}, {7, 40, 14, 32}, {64, 33, 1, 32},
		{5, 32, 13, 17}, {9, 50, 6, 16}, {3, 32, 14, 1}, {300, 70, 2, 31},
		{11, 40, 8, 32}, {4, 33, 7, 20}, {6, 32, 4, 32}, {2, 36, 3, 9},
	} {
		t.Run(fmt.Sprintf("k%d-rows%d-cols%d", tc.k, tc.rows, tc.cols), func(t *testing.T) {
			rng := testutil.Rand(uint64(tc.k*131 + tc.rows))
			a := testutil.RandSlice(rng, tc.k*packRows+1)
			b := testutil.RandSlice(rng, tc.k*packCols+1)
			c := testutil.RandSlice(rng, packRows*tc.ldc)
			want := append([]float32(nil), c...)
			mask := colMask(tc.cols)
			kernels := []struct {
				name    string
				maxRows int
				f       func(k int, a, b, c *float32, ldc, rows int, mask uint32, add bool)
			}{{"14", 14, kernel14x32}, {"8", 8, kernel8x32}, {"4", 4, kernel4x32}}
			for _, kern := range kernels {
				if tc.rows > kern.maxRows {
					continue
				}
				for _, add := range []bool{true, false} {
					kern.f(tc.k, &a[0], &b[0], &c[0], tc.ldc, tc.rows, mask, add)
					kernel14x32Ref(tc.k, &a[0], &b[0], &want[0], tc.ldc, tc.rows, mask, add)
					assertNear(t, c, want, 1e-5)
				}
			}

			src := testutil.RandSlice(rng, (tc.k+1)*tc.ldc)
			got, ref := make([]float32, tc.k*packCols+1), make([]float32, tc.k*packCols+1)
			for i := range got {
				got[i], ref[i] = -1, -1
			}
			packPanel32(tc.k, &src[0], tc.ldc, &got[0], mask)
			packPanel32Ref(tc.k, &src[0], tc.ldc, &ref[0], mask)
			assertNear(t, got, ref, 0)

			// The same row scattered into panels tc.ldc+32 floats apart.
			n := tc.k + tc.cols
			stride := tc.ldc + packCols
			got, ref = make([]float32, (n/packCols+1)*stride), make([]float32, (n/packCols+1)*stride)
			for i := range got {
				got[i], ref[i] = -1, -1
			}
			scatterPanels(&src[0], n, &got[0], stride)
			scatterPanelsRef(&src[0], n, &ref[0], stride)
			assertNear(t, got, ref, 0)
		})
	}
}

// packed_amd64.s is what gen_packed.go writes.
func TestPackedAssemblyIsGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	path := filepath.Join(t.TempDir(), "packed_amd64.s")
	if out, err := exec.Command("go", "run", "gen_packed.go", "-o", path).CombinedOutput(); err != nil {
		t.Fatalf("go run gen_packed.go: %v\n%s", err, out)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("packed_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("packed_amd64.s differs from what gen_packed.go writes: run go generate ./engine/ops")
	}
}

func TestGemmPackedMatchesNaive(t *testing.T) {
	for _, tc := range []struct{ m, n, k, m0, m1 int }{
		{1, 1, 1, 0, 1}, {14, 32, 8, 0, 14}, {15, 33, 257, 0, 15}, {64, 49, 600, 14, 50},
		{30, 100, 3, 28, 30}, {512, 7, 513, 0, 512}, {20, 0, 4, 0, 20}, {8, 5, 0, 0, 8},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d-rows%d-%d", tc.m, tc.n, tc.k, tc.m0, tc.m1), func(t *testing.T) {
			rng := testutil.Rand(uint64(tc.m*7 + tc.n*3 + tc.k))
			ldb, ldc := tc.n+3, tc.n+5
			w := testutil.RandSlice(rng, max(tc.m*tc.k, 1))
			b := testutil.RandSlice(rng, max(tc.k*ldb, 1))
			ws := NewWorkspace()
			pf := ws.packedFilters(w, 0, tc.m, tc.k)
			for _, add := range []bool{true, false} {
				c := testutil.RandSlice(rng, tc.m*ldc)
				want := append([]float32(nil), c...)
				for i := tc.m0; i < tc.m1; i++ {
					for j := range tc.n {
						var s float64
						if add {
							s = float64(want[i*ldc+j])
						}
						for p := range tc.k {
							s += float64(w[i*tc.k+p]) * float64(b[p*ldb+j])
						}
						want[i*ldc+j] = float32(s)
					}
				}
				gemmPacked(c, ldc, pf, tc.m0, tc.m1, matrixPanels{b, ldb}, tc.n, add, ws)
				assertNear(t, c, want, 1e-4*math.Sqrt(float64(tc.k+1)))
			}
		})
	}
}

// assertNear fails when a and b differ anywhere by more than tol.
func assertNear(t *testing.T, a, b []float32, tol float64) {
	t.Helper()
	for i := range a {
		if d := math.Abs(float64(a[i] - b[i])); !(d <= tol) {
			t.Fatalf("element %d: %v, want %v (tolerance %g)", i, a[i], b[i], tol)
		}
	}
}

func BenchmarkPackedKernel(b *testing.B) {
	const k = packDepth
	a := make([]float32, k*packRows)
	bp := make([]float32, k*packCols)
	c := make([]float32, packRows*packCols)
	for b.Loop() {
		kernel14x32(k, &a[0], &bp[0], &c[0], packCols, packRows, colMask(packCols), true)
	}
	b.ReportMetric(2*packRows*packCols*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkGemmPacked compares the packed GEMM with OpenBLAS on layer shapes of
// ResNet-50 (filters × columns × depth), cycling through 64 MB of filters so that they
// come from memory, as in a network.
func BenchmarkGemmPacked(b *testing.B) {
	for _, sh := range []struct{ m, n, k int }{{512, 49, 4608}, {2048, 49, 512}, {1024, 196, 256}, {512, 784, 128}, {256, 3136, 64}, {64, 12544, 147}} {
		rng := testutil.Rand(1)
		copies := max(1, (64<<20)/(sh.m*sh.k*4))
		ws := NewWorkspace()
		var packed []*packedFilters
		var filters [][]float32
		for range copies {
			w := testutil.RandSlice(rng, sh.m*sh.k)
			filters = append(filters, w)
			packed = append(packed, ws.packedFilters(w, 0, sh.m, sh.k))
		}
		x := testutil.RandSlice(rng, sh.k*sh.n)
		c := make([]float32, sh.m*sh.n)
		flop := 2 * float64(sh.m*sh.n*sh.k)
		b.Run(fmt.Sprintf("packed/%dx%dx%d", sh.m, sh.n, sh.k), func(b *testing.B) {
			i := 0
			for b.Loop() {
				gemmPacked(c, sh.n, packed[i%copies], 0, sh.m, matrixPanels{x, sh.n}, sh.n, true, ws)
				i++
			}
			b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("blas/%dx%dx%d", sh.m, sh.n, sh.k), func(b *testing.B) {
			i := 0
			for b.Loop() {
				gemm.Sgemm(false, false, sh.m, sh.n, sh.k, 1, filters[i%copies], sh.k, x, sh.n, 1, c, sh.n)
				i++
			}
			b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
