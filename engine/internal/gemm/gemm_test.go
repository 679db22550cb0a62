package gemm

import (
	"fmt"
	"math"
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
)

// refSgemm is C = alpha*op(A)*op(B) + beta*C straight from the definition, in float64.
func refSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			old := float64(0)
			if beta != 0 {
				old = float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(float64(alpha)*s + old)
		}
	}
}

func TestSgemmMatchesReference(t *testing.T) {
	t.Logf("backend %s", Backend())
	type tc struct {
		m, n, k        int
		transA, transB bool
		pad            int // extra leading-dimension padding of every matrix
		alpha, beta    float32
	}
	var cases []tc
	for _, s := range [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 1, 33}, {1, 64, 9}, {1, 100, 300}, {300, 1, 100}, {1, 7, 0}, {6, 1, 0}, {64, 49, 576}, {130, 70, 3}, {5, 4, 0}} {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}} {
				for _, pad := range []int{0, 3} {
					cases = append(cases, tc{s[0], s[1], s[2], tr[0], tr[1], pad, ab[0], ab[1]})
				}
			}
		}
	}
	for i, c := range cases {
		name := fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/pad%d/a%g/b%g", c.m, c.n, c.k, c.transA, c.transB, c.pad, c.alpha, c.beta)
		t.Run(name, func(t *testing.T) {
			r := testutil.Rand(uint64(i))
			ar, ac := c.m, c.k
			if c.transA {
				ar, ac = c.k, c.m
			}
			br, bc := c.k, c.n
			if c.transB {
				br, bc = c.n, c.k
			}
			lda, ldb, ldc := max(ac, 1)+c.pad, max(bc, 1)+c.pad, c.n+c.pad
			a := testutil.RandSlice(r, max(ar*lda, 1))
			b := testutil.RandSlice(r, max(br*ldb, 1))
			got := testutil.RandSlice(r, c.m*ldc)
			want := append([]float32(nil), got...)
			Sgemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, got, ldc)
			refSgemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, want, ldc)
			// float32 rounding grows with the length of the dot products.
			atol := 1e-5 * (1 + math.Sqrt(float64(c.k))*math.Abs(float64(c.alpha)))
			testutil.AssertClose(t, got, want, atol, 1e-4)
		})
	}
}

func TestSgemmBetaZeroIgnoresNaN(t *testing.T) {
	a := []float32{1, 2, 3, 4}
	nan := float32(math.NaN())
	for _, s := range [][3]int{{2, 2, 2}, {1, 2, 2}, {2, 1, 2}, {1, 1, 4}} {
		m, n, k := s[0], s[1], s[2]
		c := []float32{nan, nan, nan, nan}[:m*n]
		want := make([]float32, m*n)
		refSgemm(false, false, m, n, k, 1, a, k, a, n, 0, want, n)
		Sgemm(false, false, m, n, k, 1, a, k, a, n, 0, c, n)
		testutil.AssertClose(t, c, want, 0, 0)
	}
}

// BenchmarkSgemm runs real layer shapes, as (out channels) x (pixels) x (in channels *
// kernel taps), with the thread count pinned and named.
func BenchmarkSgemm(b *testing.B) {
	b.Logf("backend %s", Backend())
	defer SetThreads(1)
	for _, s := range [][3]int{{64, 3136, 576}, {256, 196, 2304}, {256, 196, 1024}, {144, 3136, 24}, {512, 196, 4608}, {1000, 1, 2048}, {1024, 1024, 1024}} {
		m, n, k := s[0], s[1], s[2]
		r := testutil.Rand(1)
		a, bb, c := testutil.RandSlice(r, m*k), testutil.RandSlice(r, k*n), make([]float32, m*n)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%dx%d/t%d", m, n, k, threads), func(b *testing.B) {
				SetThreads(threads)
				b.ReportAllocs()
				for b.Loop() {
					Sgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
				}
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
