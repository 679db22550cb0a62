package ops

import (
	"fmt"
	"math"
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

func randTensor(seed uint64, shape ...int) *tensor.Tensor {
	return tensor.From(testutil.RandSlice(testutil.Rand(seed), tensor.Numel(shape)), shape...)
}

type convCase struct {
	name       string
	n, c, h, w int
	o, kh, kw  int
	p          ConvParams
	noBias     bool
}

var relu6 = Activation{Kind: ActClip, Min: 0, Max: 6}

var convCases = []convCase{
	{name: "mobilenetv2-stem-3x3s2", n: 1, c: 3, h: 32, w: 32, o: 32, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{0, 0, 1, 1}, Act: relu6}},
	{name: "mobilenetv2-dw-3x3s1", n: 2, c: 32, h: 14, w: 14, o: 32, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Group: 32, Act: relu6}},
	{name: "mobilenetv2-dw-3x3s2", n: 2, c: 24, h: 15, w: 14, o: 24, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{0, 0, 1, 1}, Group: 24, Act: relu6}},
	{name: "mobilenetv2-dw-3x3s2-even", n: 1, c: 16, h: 14, w: 14, o: 16, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{0, 0, 1, 1}, Group: 16}},
	{name: "depthwise-3x3s1-wide-rows", n: 1, c: 3, h: 5, w: 33, o: 3, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Group: 3, Act: relu6}},
	{name: "depthwise-3x3s1-unpadded-16", n: 1, c: 2, h: 4, w: 18, o: 2, kh: 3, kw: 3, p: ConvParams{Group: 2}},
	{name: "depthwise-3x3s2-wide-rows", n: 2, c: 2, h: 7, w: 69, o: 4, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}, Group: 2, Act: Activation{Kind: ActLeakyRelu, Alpha: 0.1}}},
	{name: "depthwise-3x3s2-asymmetric-34", n: 1, c: 2, h: 6, w: 34, o: 2, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{0, 0, 1, 1}, Group: 2}},
	{name: "mobilenetv2-dw-3x3-narrow", n: 1, c: 8, h: 2, w: 1, o: 8, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Group: 8}},
	{name: "mobilenetv2-expand-1x1", n: 2, c: 24, h: 14, w: 14, o: 144, kh: 1, kw: 1, p: ConvParams{Act: relu6}},
	{name: "mobilenetv2-project-1x1", n: 1, c: 144, h: 14, w: 14, o: 24, kh: 1, kw: 1, noBias: true},
	{name: "resnet-stem-7x7s2p3", n: 1, c: 3, h: 40, w: 36, o: 16, kh: 7, kw: 7, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{3, 3, 3, 3}, Act: Activation{Kind: ActRelu}}},
	{name: "resnet-3x3p1", n: 2, c: 32, h: 14, w: 14, o: 32, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
	{name: "resnet-3x3s2p1", n: 1, c: 16, h: 15, w: 15, o: 32, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}}},
	{name: "resnet-3x3s2p1-even", n: 2, c: 16, h: 14, w: 12, o: 32, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
	{name: "resnet-1x1s2", n: 2, c: 32, h: 14, w: 14, o: 64, kh: 1, kw: 1, p: ConvParams{Strides: [2]int{2, 2}}},
	{name: "vgg-3x3p1", n: 1, c: 16, h: 24, w: 24, o: 16, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
	{name: "dilation2", n: 1, c: 8, h: 17, w: 19, o: 12, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{2, 2, 2, 2}, Dilations: [2]int{2, 2}}},
	{name: "dilation2-depthwise", n: 1, c: 8, h: 17, w: 19, o: 8, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{2, 2, 2, 2}, Dilations: [2]int{2, 2}, Group: 8}},
	{name: "group2", n: 2, c: 8, h: 9, w: 9, o: 12, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Group: 2, Act: Activation{Kind: ActLeakyRelu, Alpha: 0.1}}},
	{name: "group2-1x1", n: 1, c: 8, h: 5, w: 5, o: 6, kh: 1, kw: 1, p: ConvParams{Group: 2}},
	{name: "depthwise-multiplier2", n: 1, c: 6, h: 10, w: 11, o: 12, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Group: 6}},
	{name: "depthwise-7x7s1", n: 2, c: 4, h: 9, w: 10, o: 4, kh: 7, kw: 7, p: ConvParams{Pads: [4]int{3, 3, 3, 3}, Group: 4, Act: Activation{Kind: ActRelu}}},
	{name: "depthwise-1x1", n: 1, c: 5, h: 6, w: 7, o: 5, kh: 1, kw: 1, p: ConvParams{Group: 5}},
	{name: "depthwise-3x3s3-direct", n: 1, c: 3, h: 11, w: 10, o: 3, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{3, 3}, Pads: [4]int{1, 1, 1, 1}, Group: 3}},
	{name: "depthwise-3x3s2-dilated-direct", n: 1, c: 3, h: 11, w: 10, o: 3, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Dilations: [2]int{2, 2}, Pads: [4]int{2, 2, 2, 2}, Group: 3}},
	{name: "depthwise-5x5s2", n: 1, c: 6, h: 13, w: 12, o: 6, kh: 5, kw: 5, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{2, 2, 2, 2}, Group: 6}},
	{name: "asymmetric-pads-strides", n: 1, c: 5, h: 11, w: 13, o: 7, kh: 3, kw: 2, p: ConvParams{Strides: [2]int{2, 3}, Pads: [4]int{0, 2, 1, 0}}},
	{name: "kernel-larger-than-input", n: 1, c: 2, h: 3, w: 3, o: 3, kh: 5, kw: 5, p: ConvParams{Pads: [4]int{2, 2, 2, 2}}},
	{name: "depthwise-kernel-larger-than-input", n: 1, c: 3, h: 2, w: 2, o: 3, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{2, 2, 2, 2}, Group: 3}},
	{name: "1x1-padded", n: 1, c: 4, h: 3, w: 3, o: 2, kh: 1, kw: 1, p: ConvParams{Pads: [4]int{1, 0, 0, 1}}},
	{name: "pointwise-wide", n: 1, c: 3, h: 1, w: 50, o: 5, kh: 1, kw: 1},
	{name: "tiled-3x3-256@14", n: 1, c: 256, h: 14, w: 14, o: 32, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: relu6}},
	{name: "tiled-pointwise-2100", n: 1, c: 8, h: 10, w: 10, o: 2100, kh: 1, kw: 1},
	{name: "rows-split-3x3s2", n: 1, c: 16, h: 6, w: 6, o: 64, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}, Act: relu6}},
	{name: "group2-3x3s2", n: 2, c: 8, h: 10, w: 12, o: 12, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}, Group: 2}},
	{name: "5x5s2-asymmetric-pads", n: 1, c: 3, h: 12, w: 10, o: 5, kh: 5, kw: 5, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{1, 2, 2, 1}}},
	{name: "rows-split-3x3", n: 1, c: 16, h: 10, w: 10, o: 64, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}}},
	{name: "transposed-3x3-256to1024@7", n: 1, c: 256, h: 7, w: 7, o: 1024, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
	{name: "same-5x5-asymmetric", n: 1, c: 3, h: 9, w: 8, o: 4, kh: 5, kw: 4, p: ConvParams{Pads: [4]int{2, 1, 2, 2}}},
}

func TestConvMatchesReference(t *testing.T) {
	for i, tc := range convCases {
		for _, mode := range []struct {
			threads int
			simd    bool
		}{{1, true}, {2, true}, {1, false}, {2, false}} {
			if mode.simd && !hasAVX2FMA {
				continue
			}
			t.Run(fmt.Sprintf("%s/threads%d/simd=%v", tc.name, mode.threads, mode.simd), func(t *testing.T) {
				defer SetThreads(Threads())
				defer func(v bool) { hasAVX2FMA = v }(hasAVX2FMA)
				SetThreads(mode.threads)
				hasAVX2FMA = mode.simd
				seed := uint64(3 * i)
				g := max(tc.p.Group, 1)
				x := randTensor(seed, tc.n, tc.c, tc.h, tc.w)
				w := randTensor(seed+1, tc.o, tc.c/g, tc.kh, tc.kw)
				var b []float32
				if !tc.noBias {
					b = testutil.RandSlice(testutil.Rand(seed+2), tc.o)
				}
				want := refConv(x, w, b, tc.p)
				oh, ow := tc.p.OutSize(tc.h, tc.w, tc.kh, tc.kw)
				y := tensor.New(tc.n, tc.o, oh, ow)
				for j := range y.Data {
					y.Data[j] = 99 // every output must be written
				}
				// float32 rounding grows with the number of terms in each output.
				atol := 1e-5 * max(1, math.Sqrt(float64(tc.c/g*tc.kh*tc.kw))/4)
				ws := NewWorkspace()
				Conv(y, x, w, b, tc.p, ws)
				testutil.AssertClose(t, y.Data, want.Data, atol, 1e-4)
				Conv(y, x, w, b, tc.p, ws) // reusing the workspace gives the same result
				testutil.AssertClose(t, y.Data, want.Data, atol, 1e-4)
			})
		}
	}
}

// Random shapes through every convolution path, on one and two threads: tile and panel
// edges, filter counts that are not multiples of the kernel's rows, deep sums split
// into blocks, groups, strides, padding and the depthwise rows.
func TestConvRandomShapesMatchReference(t *testing.T) {
	rng := testutil.Rand(42)
	pick := func(vals ...int) int { return vals[rng.IntN(len(vals))] }
	cases := 60
	if testing.Short() {
		cases = 15
	}
	for i := range cases {
		k := pick(1, 1, 3, 3, 5, 7)
		stride := pick(1, 1, 2)
		group := pick(1, 1, 1, 2, 0) // 0: depthwise
		c := pick(1, 3, 8, 16, 30, 64, 300)
		if group == 2 && c%2 == 1 {
			c++
		}
		o := pick(1, 5, 14, 15, 29, 64, 70)
		if group == 0 {
			group, o = c, c*pick(1, 1, 2)
		}
		if group == 2 && o%2 == 1 {
			o++
		}
		pad := [4]int{rng.IntN(k/2 + 1), rng.IntN(k/2 + 1), rng.IntN(k/2 + 1), rng.IntN(k/2 + 1)}
		if rng.IntN(2) == 0 {
			pad = [4]int{k / 2, k / 2, k / 2, k / 2}
		}
		tc := convCase{
			name: fmt.Sprintf("%d", i), n: pick(1, 1, 2), c: c, h: pick(k, 7, 14, 17, 34), w: pick(k, 6, 13, 33, 40), o: o, kh: k, kw: k,
			p: ConvParams{Strides: [2]int{stride, stride}, Pads: pad, Group: group, Act: []Activation{{}, {Kind: ActRelu}, relu6}[rng.IntN(3)]},
		}
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/%dx%dx%dx%d-o%d-k%d-s%d-g%d-pads%v/threads%d", tc.name, tc.n, tc.c, tc.h, tc.w, tc.o, k, stride, group, pad, threads), func(t *testing.T) {
				defer SetThreads(Threads())
				SetThreads(threads)
				x := randTensor(uint64(7*i), tc.n, tc.c, tc.h, tc.w)
				w := randTensor(uint64(7*i+1), tc.o, tc.c/group, k, k)
				b := testutil.RandSlice(testutil.Rand(uint64(7*i+2)), tc.o)
				want := refConv(x, w, b, tc.p)
				y := tensor.New(want.Shape...)
				Conv(y, x, w, b, tc.p, NewWorkspace())
				atol := 1e-5 * max(1, math.Sqrt(float64(tc.c/group*k*k))/4)
				testutil.AssertClose(t, y.Data, want.Data, atol, 1e-4)
			})
		}
	}
}

// ConvAdd adds the residual before the activation on every convolution path.
func TestConvAddMatchesReference(t *testing.T) {
	cases := append(convCases,
		convCase{name: "winograd-3x3-32@16", n: 1, c: 32, h: 16, w: 16, o: 32, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
		convCase{name: "winograd-3x3-32@15", n: 2, c: 32, h: 15, w: 15, o: 16, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: relu6}})
	for i, tc := range cases {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads%d", tc.name, threads), func(t *testing.T) {
				defer SetThreads(Threads())
				SetThreads(threads)
				seed := uint64(3 * i)
				g := max(tc.p.Group, 1)
				x := randTensor(seed, tc.n, tc.c, tc.h, tc.w)
				w := randTensor(seed+1, tc.o, tc.c/g, tc.kh, tc.kw)
				b := testutil.RandSlice(testutil.Rand(seed+2), tc.o)
				noAct := tc.p
				noAct.Act = Activation{}
				want := refConv(x, w, b, noAct)
				r := randTensor(seed+3, want.Shape...)
				for j, v := range want.Data {
					want.Data[j] = float32(refAct(float64(v)+float64(r.Data[j]), tc.p.Act))
				}
				y := tensor.New(want.Shape...)
				atol := 1e-5 * max(1, math.Sqrt(float64(tc.c/g*tc.kh*tc.kw))/4)
				ConvAdd(y, x, w, b, r, tc.p, NewWorkspace())
				testutil.AssertClose(t, y.Data, want.Data, atol, 1e-4)
			})
		}
	}
}

func TestConvOutSize(t *testing.T) {
	for _, tc := range []struct {
		p            ConvParams
		h, w, kh, kw int
		wantH, wantW int
	}{
		{ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{0, 0, 1, 1}}, 224, 224, 3, 3, 112, 112},
		{ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{3, 3, 3, 3}}, 224, 224, 7, 7, 112, 112},
		{ConvParams{Pads: [4]int{2, 2, 2, 2}, Dilations: [2]int{2, 2}}, 14, 14, 3, 3, 14, 14},
		{ConvParams{Strides: [2]int{2, 2}}, 56, 56, 1, 1, 28, 28},
		{ConvParams{}, 7, 5, 7, 5, 1, 1},
	} {
		if h, w := tc.p.OutSize(tc.h, tc.w, tc.kh, tc.kw); h != tc.wantH || w != tc.wantW {
			t.Errorf("%+v on %dx%d kernel %dx%d: %dx%d, want %dx%d", tc.p, tc.h, tc.w, tc.kh, tc.kw, h, w, tc.wantH, tc.wantW)
		}
	}
}
