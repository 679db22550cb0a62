package ops

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

func TestParallelForCoversRangeOnce(t *testing.T) {
	defer SetThreads(Threads())
	for _, threads := range []int{1, 2, 3, 8} {
		SetThreads(threads)
		for _, n := range []int{0, 1, 2, 5, 1000} {
			hits := make([]atomic.Int32, n)
			ParallelFor(n, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			})
			for i := range hits {
				if h := hits[i].Load(); h != 1 {
					t.Fatalf("threads %d n %d: index %d visited %d times", threads, n, i, h)
				}
			}
		}
	}
}

func TestParallelForNested(t *testing.T) {
	defer SetThreads(Threads())
	SetThreads(2)
	var total atomic.Int64
	ParallelFor(8, func(lo, hi int) {
		for range hi - lo {
			ParallelFor(100, func(lo, hi int) { total.Add(int64(hi - lo)) })
		}
	})
	if total.Load() != 800 {
		t.Fatalf("nested total %d, want 800", total.Load())
	}
}

var poolCases = []struct {
	name       string
	n, c, h, w int
	p          PoolParams
}{
	{"resnet-maxpool-3x3s2p1", 2, 4, 16, 16, PoolParams{Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}}},
	{"vgg-2x2s2", 1, 3, 14, 14, PoolParams{Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}}},
	{"odd-2x2s2", 1, 3, 15, 13, PoolParams{Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}}},
	{"ceil-3x3s2", 1, 2, 14, 15, PoolParams{Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, CeilMode: true}},
	{"ceil-pads-drop-last", 1, 2, 5, 5, PoolParams{Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}, CeilMode: true}},
	{"ceil-include-pad", 1, 2, 6, 7, PoolParams{Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}, CeilMode: true, CountIncludePad: true}},
	{"include-pad-asym", 1, 2, 7, 6, PoolParams{Kernel: [2]int{3, 2}, Strides: [2]int{1, 2}, Pads: [4]int{1, 0, 2, 1}, CountIncludePad: true}},
	{"dilation2", 1, 2, 9, 10, PoolParams{Kernel: [2]int{3, 3}, Dilations: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}}},
	{"global-7x7", 2, 5, 7, 7, PoolParams{Kernel: [2]int{7, 7}}},
	{"wide-3x3s2-ceil", 1, 3, 9, 37, PoolParams{Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, CeilMode: true}},
	{"large-kernel-9x9", 1, 2, 12, 12, PoolParams{Kernel: [2]int{9, 9}, Pads: [4]int{4, 4, 4, 4}}},
	{"stride3-generic", 1, 2, 12, 13, PoolParams{Kernel: [2]int{3, 3}, Strides: [2]int{3, 3}}},
}

func TestPoolMatchesReference(t *testing.T) {
	for i, tc := range poolCases {
		t.Run(tc.name, func(t *testing.T) {
			x := randTensor(uint64(i), tc.n, tc.c, tc.h, tc.w)
			wantMax, wantAvg := refMaxPool(x, tc.p), refAveragePool(x, tc.p)
			oh, ow := tc.p.OutSize(tc.h, tc.w)
			if !slices.Equal(wantMax.Shape, []int{tc.n, tc.c, oh, ow}) {
				t.Fatalf("OutSize %dx%d, reference shape %v", oh, ow, wantMax.Shape)
			}
			y := tensor.New(tc.n, tc.c, oh, ow)
			for _, simd := range []bool{hasAVX2FMA, false} {
				func() {
					defer func(v bool) { hasAVX2FMA = v }(hasAVX2FMA)
					hasAVX2FMA = simd
					MaxPool(y, x, tc.p)
				}()
				testutil.AssertClose(t, y.Data, wantMax.Data, 0, 0)
			}
			for _, simd := range []bool{hasAVX2FMA, false} {
				func() {
					defer func(v bool) { hasAVX2FMA = v }(hasAVX2FMA)
					hasAVX2FMA = simd
					AveragePool(y, x, tc.p)
				}()
				testutil.AssertClose(t, y.Data, wantAvg.Data, 1e-6, 1e-5)
			}
		})
	}
}

func TestGlobalAveragePool(t *testing.T) {
	for i, shape := range [][]int{{1, 1280, 7, 7}, {2, 3, 1, 1}, {3, 4, 5}, {2, 64, 56, 56}} {
		x := randTensor(uint64(i), shape...)
		want := refGlobalAveragePool(x)
		y := tensor.New(want.Shape...)
		GlobalAveragePool(y, x)
		testutil.AssertClose(t, y.Data, want.Data, 1e-6, 1e-5)
	}
}

func TestBatchNorm(t *testing.T) {
	for i, shape := range [][]int{{2, 16, 5, 5}, {3, 7}, {1, 4, 2, 3, 2}, {2, 64, 32, 32}} {
		c := shape[1]
		r := testutil.Rand(uint64(i))
		x := randTensor(uint64(i)+100, shape...)
		scale, bias, mean := testutil.RandSlice(r, c), testutil.RandSlice(r, c), testutil.RandSlice(r, c)
		variance := testutil.RandSlice(r, c)
		for j := range variance {
			variance[j] = float32(math.Abs(float64(variance[j])))
		}
		want := refBatchNorm(x, scale, bias, mean, variance, 1e-3)
		y := tensor.New(shape...)
		BatchNorm(y, x, scale, bias, mean, variance, 1e-3)
		testutil.AssertClose(t, y.Data, want.Data, 1e-5, 1e-4)
		BatchNorm(x, x, scale, bias, mean, variance, 1e-3) // in place
		testutil.AssertClose(t, x.Data, want.Data, 1e-5, 1e-4)
	}
}

func TestActivations(t *testing.T) {
	acts := []Activation{
		{Kind: ActNone},
		{Kind: ActRelu},
		{Kind: ActClip, Min: 0, Max: 6},
		{Kind: ActClip, Min: -0.5, Max: 0.25},
		{Kind: ActLeakyRelu, Alpha: 0.01},
	}
	for _, n := range []int{1, 17, 100_000} {
		x := randTensor(uint64(n), n)
		for i := range x.Data {
			x.Data[i] *= 8
		}
		for _, a := range acts {
			t.Run(fmt.Sprintf("%d/%+v", n, a), func(t *testing.T) {
				want := make([]float32, n)
				for i, v := range x.Data {
					want[i] = float32(refAct(float64(v), a))
				}
				y := tensor.New(n)
				Apply(y, x, a)
				testutil.AssertClose(t, y.Data, want, 0, 0)
				z := x.Clone()
				Apply(z, z, a)
				testutil.AssertClose(t, z.Data, want, 0, 0)
			})
		}
		y := tensor.New(n)
		Relu(y, x)
		testutil.AssertClose(t, y.Data, mapRef(x.Data, func(v float64) float64 { return math.Max(v, 0) }), 0, 0)
		Clip(y, x, 0, 6)
		testutil.AssertClose(t, y.Data, mapRef(x.Data, func(v float64) float64 { return math.Min(math.Max(v, 0), 6) }), 0, 0)
		LeakyRelu(y, x, 0.2)
		testutil.AssertClose(t, y.Data, mapRef(x.Data, func(v float64) float64 { return refAct(v, Activation{Kind: ActLeakyRelu, Alpha: 0.2}) }), 1e-7, 1e-6)
		Sigmoid(y, x)
		testutil.AssertClose(t, y.Data, mapRef(x.Data, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }), 1e-6, 1e-5)
	}
}

func mapRef(x []float32, f func(float64) float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(f(float64(v)))
	}
	return y
}

func TestBroadcastShape(t *testing.T) {
	for _, tc := range []struct {
		a, b, want []int
		ok         bool
	}{
		{[]int{2, 3}, []int{2, 3}, []int{2, 3}, true},
		{[]int{8, 1, 6, 1}, []int{7, 1, 5}, []int{8, 7, 6, 5}, true},
		{[]int{}, []int{4, 5}, []int{4, 5}, true},
		{[]int{3}, []int{4}, nil, false},
		{[]int{2, 1}, []int{8, 4, 3}, nil, false},
		{[]int{0, 1}, []int{1, 5}, []int{0, 5}, true},
	} {
		got, err := BroadcastShape(tc.a, tc.b)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("BroadcastShape(%v, %v) = %v, %v; want %v ok=%v", tc.a, tc.b, got, err, tc.want, tc.ok)
		}
	}
}

func TestBinaryMatchesReference(t *testing.T) {
	shapes := [][2][]int{
		{{2, 3, 4, 5}, {2, 3, 4, 5}},       // same shape
		{{2, 3, 4, 5}, {}},                 // scalar
		{{1}, {2, 3, 4, 5}},                // scalar first
		{{2, 16, 7, 7}, {16, 1, 1}},        // per channel
		{{2, 16, 7, 7}, {1, 16, 1, 1}},     // per channel, 4-D
		{{16, 1, 1}, {2, 16, 7, 7}},        // per channel first
		{{8, 1, 6, 1}, {7, 1, 5}},          // both broadcast
		{{3, 4}, {4}},                      // row vector
		{{3, 4}, {3, 1}},                   // column vector
		{{2, 3, 1}, {1, 1, 1}},             // broadcast everything
		{{1, 1000}, {1, 1000}},             // logits
		{{4, 64, 56, 56}, {4, 64, 56, 56}}, // large, parallel
	}
	for i, s := range shapes {
		for _, k := range []BinaryKind{Add, Sub, Mul, Div} {
			t.Run(fmt.Sprintf("%v%s%v", s[0], k, s[1]), func(t *testing.T) {
				a, b := randTensor(uint64(i), s[0]...), randTensor(uint64(i)+50, s[1]...)
				if k == Div {
					for j := range b.Data {
						b.Data[j] += float32(math.Copysign(0.5, float64(b.Data[j])))
					}
				}
				shape, err := BroadcastShape(a.Shape, b.Shape)
				if err != nil {
					t.Fatal(err)
				}
				want := refBinary(k, a, b, shape)
				y := tensor.New(shape...)
				Binary(k, y, a, b)
				testutil.AssertClose(t, y.Data, want.Data, 1e-6, 1e-6)
				if slices.Equal(a.Shape, shape) { // in place
					Binary(k, a, a, b)
					testutil.AssertClose(t, a.Data, want.Data, 1e-6, 1e-6)
				}
			})
		}
	}
}

func TestGemmMatchesReference(t *testing.T) {
	relu := Activation{Kind: ActRelu}
	for i, tc := range []struct {
		m, n, k        int
		transA, transB bool
		cShape         []int // nil: no c
		alpha, beta    float32
		act            Activation
	}{
		{1, 1000, 1280, false, true, []int{1000}, 1, 1, Activation{}}, // classifier head
		{4, 10, 32, false, false, nil, 1, 1, relu},
		{4, 10, 32, true, false, []int{}, 0.5, 2, relu},
		{4, 10, 32, false, true, []int{4, 1}, 1, -1, Activation{}},
		{4, 10, 32, true, true, []int{4, 10}, 2, 0.5, Activation{Kind: ActClip, Min: -1, Max: 1}},
		{3, 1, 5, false, false, []int{1, 1}, 1, 1, Activation{}},
		{3, 7, 5, false, false, []int{1, 7}, 1, 0, Activation{}},
		{5, 3, 0, false, false, []int{3}, 1, 1, Activation{}},
		{70, 50, 40, true, false, []int{50}, 1, 1, relu},                                           // split by rows
		{70, 50, 40, false, true, []int{70, 1}, 1, 1, relu},                                        // split by rows
		{3, 300, 100, true, true, []int{3, 300}, 1, 1, Activation{Kind: ActLeakyRelu, Alpha: 0.1}}, // split by columns
	} {
		t.Run(fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/c%v", tc.m, tc.n, tc.k, tc.transA, tc.transB, tc.cShape), func(t *testing.T) {
			as, bs := []int{tc.m, tc.k}, []int{tc.k, tc.n}
			if tc.transA {
				as = []int{tc.k, tc.m}
			}
			if tc.transB {
				bs = []int{tc.n, tc.k}
			}
			a, b := randTensor(uint64(i), as...), randTensor(uint64(i)+1, bs...)
			var c *tensor.Tensor
			if tc.cShape != nil {
				c = randTensor(uint64(i)+2, tc.cShape...)
			}
			want := refGemm(a, b, c, tc.transA, tc.transB, tc.alpha, tc.beta, tc.act)
			y := tensor.New(tc.m, tc.n)
			Gemm(y, a, b, c, tc.transA, tc.transB, tc.alpha, tc.beta, tc.act)
			testutil.AssertClose(t, y.Data, want.Data, 1e-4, 1e-4)
		})
	}
}

func TestMatMulMatchesReference(t *testing.T) {
	for i, s := range [][2][]int{
		{{3, 4}, {4, 5}},
		{{2, 3, 4}, {4, 5}},          // batch folds into M
		{{2, 3, 4}, {2, 4, 5}},       // batched
		{{1, 3, 4}, {2, 4, 5}},       // broadcast a
		{{6, 40, 30}, {6, 30, 50}},   // batched, in parallel
		{{100, 64}, {64, 70}},        // split among workers
		{{2, 1, 3, 4}, {5, 4, 2}},    // broadcast both
		{{4}, {4, 5}},                // 1-D a
		{{3, 4}, {4}},                // 1-D b
		{{4}, {4}},                   // dot
		{{2, 3, 4}, {4}},             // batched matrix-vector
		{{4}, {2, 4, 5}},             // vector times batch
		{{1, 197, 64}, {1, 64, 197}}, // attention-like
	} {
		t.Run(fmt.Sprintf("%vx%v", s[0], s[1]), func(t *testing.T) {
			a, b := randTensor(uint64(i), s[0]...), randTensor(uint64(i)+1, s[1]...)
			want := refMatMul(a, b)
			y := tensor.New(want.Shape...)
			MatMul(y, a, b)
			testutil.AssertClose(t, y.Data, want.Data, 1e-4, 1e-4)
		})
	}
}

func TestSoftmaxMatchesReference(t *testing.T) {
	for i, tc := range []struct {
		shape []int
		axis  int
	}{
		{[]int{1, 1000}, 1},
		{[]int{1, 1000}, -1},
		{[]int{2, 3, 4}, 1},
		{[]int{2, 3, 4}, 0},
		{[]int{5}, 0},
		{[]int{64, 1000}, -1},
	} {
		x := randTensor(uint64(i), tc.shape...)
		for j := range x.Data {
			x.Data[j] *= 50 // large logits must not overflow
		}
		want := refSoftmax(x, tc.axis)
		y := tensor.New(tc.shape...)
		Softmax(y, x, tc.axis)
		testutil.AssertClose(t, y.Data, want.Data, 1e-6, 1e-5)
		Softmax(x, x, tc.axis)
		testutil.AssertClose(t, x.Data, want.Data, 1e-6, 1e-5)
	}
}

func TestConcatMatchesReference(t *testing.T) {
	for i, tc := range []struct {
		shapes [][]int
		axis   int
	}{
		{[][]int{{1, 64, 7, 7}, {1, 32, 7, 7}, {1, 16, 7, 7}}, 1},
		{[][]int{{2, 3}, {2, 5}}, -1},
		{[][]int{{2, 3}, {4, 3}}, 0},
		{[][]int{{2, 3, 4}, {2, 3, 1}}, 2},
		{[][]int{{2, 0, 4}, {2, 3, 4}}, 1},
	} {
		var xs []*tensor.Tensor
		for j, s := range tc.shapes {
			xs = append(xs, randTensor(uint64(10*i+j), s...))
		}
		want := refConcat(xs, tc.axis)
		y := tensor.New(want.Shape...)
		Concat(y, xs, tc.axis)
		testutil.AssertClose(t, y.Data, want.Data, 0, 0)
	}
}

func TestPadMatchesReference(t *testing.T) {
	for i, tc := range []struct {
		shape []int
		pads  []int
	}{
		{[]int{1, 3, 5, 5}, []int{0, 0, 1, 1, 0, 0, 1, 1}},
		{[]int{1, 3, 5, 5}, []int{0, 0, 0, 0, 0, 0, 1, 1}},
		{[]int{2, 3, 4}, []int{1, 0, 2, 0, 1, 1}},
		{[]int{2, 3, 6}, []int{0, -1, -2, 0, 1, -1}}, // crop
		{[]int{3, 4}, []int{0, -3, 0, 2}},            // crop past the data
		{[]int{5}, []int{2, 3}},
	} {
		x := randTensor(uint64(i), tc.shape...)
		want := refPad(x, tc.pads, 0.5)
		y := tensor.New(want.Shape...)
		Pad(y, x, tc.pads, 0.5)
		testutil.AssertClose(t, y.Data, want.Data, 0, 0)
	}
}
