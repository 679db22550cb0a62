package ops

import (
	"fmt"
	"math"
	"testing"

	"github.com/rulebrush/rulebrush/engine/internal/testutil"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

var winoCases = []convCase{
	{name: "same-relu", n: 1, c: 16, h: 12, w: 12, o: 16, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
	{name: "odd-batch2-relu6", n: 2, c: 17, h: 13, w: 11, o: 19, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: relu6}},
	{name: "valid-nobias", n: 1, c: 16, h: 15, w: 14, o: 24, noBias: true},
	{name: "asymmetric-leaky", n: 1, c: 20, h: 10, w: 13, o: 18, p: ConvParams{Pads: [4]int{0, 2, 1, 0}, Act: Activation{Kind: ActLeakyRelu, Alpha: 0.1}}},
	{name: "pads2", n: 2, c: 16, h: 7, w: 9, o: 16, p: ConvParams{Pads: [4]int{2, 1, 2, 2}}},
	{name: "one-tile-row", n: 1, c: 16, h: 3, w: 30, o: 16},
	{name: "narrow", n: 1, c: 16, h: 21, w: 2, o: 32, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
	{name: "blocks-34x41", n: 2, c: 24, h: 34, w: 41, o: 20, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
	{name: "wide-channels", n: 1, c: 96, h: 14, w: 14, o: 80, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
}

// TestWinogradMatchesReference checks both variants against the reference for every
// case, thread count and with and without the vector kernels.
func TestWinogradMatchesReference(t *testing.T) {
	for _, v := range []*winoVariant{wino2, wino4} {
		for i, tc := range winoCases {
			tc.kh, tc.kw = 3, 3
			seed := uint64(7 * i)
			x := randTensor(seed, tc.n, tc.c, tc.h, tc.w)
			w := randTensor(seed+1, tc.o, tc.c, 3, 3)
			var b []float32
			if !tc.noBias {
				b = testutil.RandSlice(testutil.Rand(seed+2), tc.o)
			}
			want := refConv(x, w, b, tc.p)
			for _, mode := range []struct {
				threads int
				simd    bool
			}{{1, true}, {2, true}, {1, false}, {2, false}} {
				if mode.simd && !hasAVX2FMA {
					continue
				}
				t.Run(fmt.Sprintf("F%d/%s/threads%d/simd=%v", v.m, tc.name, mode.threads, mode.simd), func(t *testing.T) {
					defer SetThreads(Threads())
					defer func(v bool) { hasAVX2FMA = v }(hasAVX2FMA)
					SetThreads(mode.threads)
					hasAVX2FMA = mode.simd
					p := tc.p.norm()
					oh, ow := p.OutSize(tc.h, tc.w, 3, 3)
					y := tensor.New(tc.n, tc.o, oh, ow)
					for j := range y.Data {
						y.Data[j] = 99 // every output must be written
					}
					s := newConvShape(y, x, w, b, p)
					ws := NewWorkspace()
					// F(4×4)'s transforms have larger coefficients and round a little more.
					atol := 1e-5 * max(1, math.Sqrt(float64(tc.c*9))/4) * float64(v.m/2)
					convWinograd(y.Data, x.Data, w.Data, b, nil, s, p.Act, ws, v)
					testutil.AssertClose(t, y.Data, want.Data, atol, 1e-4)
					convWinograd(y.Data, x.Data, w.Data, b, nil, s, p.Act, ws, v) // cached filters
					testutil.AssertClose(t, y.Data, want.Data, atol, 1e-4)
				})
			}
		}
	}
}

// TestConvPicksWinograd checks the dispatch: Conv on a wide 3×3 layer matches the
// reference and has transformed filters cached afterwards.
func TestConvPicksWinograd(t *testing.T) {
	p := ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}
	x, w := randTensor(1, 1, 32, 16, 16), randTensor(2, 32, 32, 3, 3)
	b := testutil.RandSlice(testutil.Rand(3), 32)
	y := tensor.New(1, 32, 16, 16)
	ws := NewWorkspace()
	Conv(y, x, w, b, p, ws)
	testutil.AssertClose(t, y.Data, refConv(x, w, b, p).Data, 1e-5*math.Sqrt(32*9)/4, 1e-4)
	if n := len(ws.Filters.wino); n != 1 {
		t.Fatalf("%d cached filter sets, want 1", n)
	}
}

// TestWinogradWeightsEdited checks that weights changed in place and announced with
// WeightsChanged are transformed again.
func TestWinogradWeightsEdited(t *testing.T) {
	p := ConvParams{Pads: [4]int{1, 1, 1, 1}}.norm()
	x, w := randTensor(1, 1, 32, 16, 16), randTensor(2, 32, 32, 3, 3)
	y := tensor.New(1, 32, 16, 16)
	ws := NewWorkspace()
	atol := 1e-5 * math.Sqrt(32*9) / 4
	for _, v := range []*winoVariant{wino2, wino4} {
		s := newConvShape(y, x, w, nil, p)
		convWinograd(y.Data, x.Data, w.Data, nil, nil, s, p.Act, ws, v)
		testutil.AssertClose(t, y.Data, refConv(x, w, nil, p).Data, atol, 1e-4)
		w.Data[5*32*9+7] += 0.5 // one tap of one filter
		WeightsChanged(w.Data)
		convWinograd(y.Data, x.Data, w.Data, nil, nil, s, p.Act, ws, v)
		testutil.AssertClose(t, y.Data, refConv(x, w, nil, p).Data, atol, 1e-4)
		copy(w.Data, randTensor(9, 32, 32, 3, 3).Data) // the whole layer
		WeightsChanged(w.Data)
		convWinograd(y.Data, x.Data, w.Data, nil, nil, s, p.Act, ws, v)
		testutil.AssertClose(t, y.Data, refConv(x, w, nil, p).Data, atol, 1e-4)
	}
}

// BenchmarkConvWinograd compares the GEMM convolution with both Winograd variants on
// the 3×3 layers of VGG16 and ResNet at batch 1.
func BenchmarkConvWinograd(b *testing.B) {
	defer SetThreads(Threads())
	relu := Activation{Kind: ActRelu}
	for _, tc := range []convCase{
		{name: "vgg16-64@224", c: 64, h: 224, o: 64},
		{name: "vgg16-128@112", c: 128, h: 112, o: 128},
		{name: "vgg16-256@56", c: 256, h: 56, o: 256},
		{name: "vgg16-512@28", c: 512, h: 28, o: 512},
		{name: "vgg16-512@14", c: 512, h: 14, o: 512},
		{name: "resnet-64@56", c: 64, h: 56, o: 64},
		{name: "resnet-128@28", c: 128, h: 28, o: 128},
		{name: "resnet-256@14", c: 256, h: 14, o: 256},
		{name: "resnet-512@7", c: 512, h: 7, o: 512},
	} {
		p := ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: relu}.norm()
		x := randTensor(1, 1, tc.c, tc.h, tc.h)
		w := randTensor(2, tc.o, tc.c, 3, 3)
		bias := randTensor(3, tc.o).Data
		y := tensor.New(1, tc.o, tc.h, tc.h)
		s := newConvShape(y, x, w, bias, p)
		flops := 2 * float64(len(y.Data)*tc.c*9)
		for _, path := range []string{"gemm", "F2", "F4"} {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/t%d", tc.name, path, threads), func(b *testing.B) {
					SetThreads(threads)
					ws := NewWorkspace()
					run := func() {
						switch path {
						case "gemm":
							convGemm(y.Data, x.Data, w.Data, bias, nil, s, relu, ws)
						case "F2":
							convWinograd(y.Data, x.Data, w.Data, bias, nil, s, relu, ws, wino2)
						case "F4":
							convWinograd(y.Data, x.Data, w.Data, bias, nil, s, relu, ws, wino4)
						}
					}
					run() // size the workspace and transform the filters
					b.ReportAllocs()
					cpu0 := cpuTime()
					for b.Loop() {
						run()
					}
					reportSpeed(b, flops, cpu0)
				})
			}
		}
	}
}
