package ops

import (
	"math"
	"testing"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

var convBackwardCases = []convCase{
	{name: "3x3p1", n: 2, c: 3, h: 6, w: 5, o: 4, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}}},
	{name: "3x3s2-asym-pads", n: 1, c: 3, h: 7, w: 6, o: 5, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{0, 0, 1, 1}}},
	{name: "pointwise", n: 2, c: 6, h: 4, w: 3, o: 5, kh: 1, kw: 1},
	{name: "1x1s2", n: 2, c: 4, h: 5, w: 5, o: 3, kh: 1, kw: 1, p: ConvParams{Strides: [2]int{2, 2}}},
	{name: "5x3-mixed", n: 1, c: 2, h: 9, w: 8, o: 3, kh: 5, kw: 3, p: ConvParams{Strides: [2]int{2, 1}, Pads: [4]int{2, 1, 1, 0}, Dilations: [2]int{1, 2}}},
	{name: "group2-dilation2", n: 2, c: 4, h: 7, w: 7, o: 6, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{2, 2, 2, 2}, Dilations: [2]int{2, 2}, Group: 2}},
	{name: "group2-pointwise", n: 1, c: 4, h: 3, w: 4, o: 6, kh: 1, kw: 1, p: ConvParams{Group: 2}},
	{name: "depthwise-3x3s2", n: 2, c: 4, h: 7, w: 6, o: 4, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{0, 0, 1, 1}, Group: 4}},
	{name: "depthwise-multiplier2", n: 1, c: 3, h: 5, w: 6, o: 6, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Group: 3}},
	{name: "depthwise-dilation2", n: 1, c: 2, h: 8, w: 7, o: 2, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{2, 1, 2, 1}, Dilations: [2]int{2, 2}, Group: 2}},
	{name: "relu", n: 1, c: 3, h: 5, w: 5, o: 4, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
	{name: "relu6-depthwise", n: 1, c: 4, h: 5, w: 5, o: 4, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Group: 4, Act: Activation{Kind: ActClip, Min: 0, Max: 0.5}}},
}

// A fused activation is undone by ActivationBackward before ConvBackward, as callers do.
func TestConvBackwardFiniteDifferences(t *testing.T) {
	for i, tc := range convBackwardCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seed := uint64(100 + 10*i)
			g := max(tc.p.Group, 1)
			x := randTensor(seed, tc.n, tc.c, tc.h, tc.w)
			w := randTensor(seed+1, tc.o, tc.c/g, tc.kh, tc.kw)
			b := randTensor(seed+2, tc.o)
			oh, ow := tc.p.OutSize(tc.h, tc.w, tc.kh, tc.kw)
			r := randTensor(seed+3, tc.n, tc.o, oh, ow)
			y := tensor.New(tc.n, tc.o, oh, ow)
			ws := NewWorkspace()
			loss := func() float64 {
				WeightsChanged(w.Data) // numGrad perturbs w in place
				Conv(y, x, w, b.Data, tc.p, ws)
				return dot(r.Data, y.Data)
			}
			// Linear layers are exact for any step; activations need steps inside a linear piece.
			h := float32(0.5)
			if tc.p.Act.Kind != ActNone {
				h = 1e-3
			}
			if tc.p.Act.Kind != ActNone {
				// Outputs whose pre-activation lies within reach of a kink (each
				// perturbation moves it by at most h·k, k being the taps per output)
				// are left out of the loss, so no difference crosses a kink.
				z := tensor.New(y.Shape...)
				lin := tc.p
				lin.Act = Activation{}
				Conv(z, x, w, b.Data, lin, nil)
				reach := float64(h) * float64(tc.c/g*tc.kh*tc.kw)
				for j, v := range z.Data {
					for _, k := range []float32{0, tc.p.Act.Min, tc.p.Act.Max} {
						if math.Abs(float64(v-k)) < reach {
							r.Data[j] = 0
						}
					}
				}
			}
			loss()
			dy := r
			if tc.p.Act.Kind != ActNone {
				dy = tensor.New(r.Shape...)
				ActivationBackward(dy, r, y, tc.p.Act)
			}
			dx, dw, db := tensor.New(x.Shape...), tensor.New(w.Shape...), tensor.New(tc.o)
			// Start from garbage: the kernel must overwrite, not accumulate.
			for _, d := range []*tensor.Tensor{dx, dw, db} {
				fill(d.Data, 7)
			}
			ConvBackward(dx, dw, db, dy, x, w, tc.p, ws)
			assertGrad(t, "dx", dx.Data, numGrad(x.Data, h, loss))
			assertGrad(t, "dw", dw.Data, numGrad(w.Data, h, loss))
			assertGrad(t, "db", db.Data, numGrad(b.Data, h, loss))

			// Each gradient alone matches the one computed with the others.
			only := tensor.New(w.Shape...)
			ConvBackward(nil, only, nil, dy, x, w, tc.p, nil)
			assertGrad(t, "dw alone", only.Data, dw.Data)
			onlyX := tensor.New(x.Shape...)
			ConvBackward(onlyX, nil, nil, dy, x, w, tc.p, nil)
			assertGrad(t, "dx alone", onlyX.Data, dx.Data)
		})
	}
}

// BenchmarkConvBackward computes dx, dw and db for the layers of BenchmarkConv: twice a
// forward pass's multiply-adds.
func BenchmarkConvBackward(b *testing.B) {
	for _, tc := range convBenches {
		g := max(tc.p.Group, 1)
		x := randTensor(1, tc.n, tc.c, tc.h, tc.w)
		w := randTensor(2, tc.o, tc.c/g, tc.kh, tc.kw)
		oh, ow := tc.p.OutSize(tc.h, tc.w, tc.kh, tc.kw)
		dy := randTensor(3, tc.n, tc.o, oh, ow)
		dx, dw, db := tensor.New(x.Shape...), tensor.New(w.Shape...), tensor.New(tc.o)
		flops := 4 * float64(len(dy.Data)*(tc.c/g)*tc.kh*tc.kw)
		b.Run(tc.name, func(b *testing.B) {
			ws := NewWorkspace()
			ConvBackward(dx, dw, db, dy, x, w, tc.p, ws) // size the workspace
			b.ReportAllocs()
			for b.Loop() {
				ConvBackward(dx, dw, db, dy, x, w, tc.p, ws)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
