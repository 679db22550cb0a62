package ops

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/rulebrush/rulebrush/engine/internal/gemm"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// convBenches are real layer shapes at batch 1.
var convBenches = []convCase{
	{name: "mobilenetv2-stem-3x3s2-3to32@224", n: 1, c: 3, h: 224, w: 224, o: 32, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{0, 0, 1, 1}, Act: relu6}},
	{name: "mobilenetv2-dw-3x3s1-144@56", n: 1, c: 144, h: 56, w: 56, o: 144, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Group: 144, Act: relu6}},
	{name: "mobilenetv2-dw-3x3s1-384@14", n: 1, c: 384, h: 14, w: 14, o: 384, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Group: 384, Act: relu6}},
	{name: "mobilenetv2-dw-3x3s2-96@112", n: 1, c: 96, h: 112, w: 112, o: 96, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{0, 0, 1, 1}, Group: 96, Act: relu6}},
	{name: "mobilenetv2-dw-3x3s2-576@14", n: 1, c: 576, h: 14, w: 14, o: 576, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{0, 0, 1, 1}, Group: 576, Act: relu6}},
	{name: "mobilenetv2-expand-1x1-24to144@56", n: 1, c: 24, h: 56, w: 56, o: 144, kh: 1, kw: 1, p: ConvParams{Act: relu6}},
	{name: "mobilenetv2-project-1x1-960to320@7", n: 1, c: 960, h: 7, w: 7, o: 320, kh: 1, kw: 1},
	{name: "resnet50-stem-7x7s2-3to64@224", n: 1, c: 3, h: 224, w: 224, o: 64, kh: 7, kw: 7, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{3, 3, 3, 3}, Act: Activation{Kind: ActRelu}}},
	{name: "resnet50-3x3s2-128@56", n: 1, c: 128, h: 56, w: 56, o: 128, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
	{name: "resnet50-1x1s2-256to512@56", n: 1, c: 256, h: 56, w: 56, o: 512, kh: 1, kw: 1, p: ConvParams{Strides: [2]int{2, 2}}},
	{name: "resnet50-3x3-512@7", n: 1, c: 512, h: 7, w: 7, o: 512, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
	{name: "resnet50-3x3-256@14", n: 1, c: 256, h: 14, w: 14, o: 256, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
	{name: "resnet50-1x1-1024to256@14", n: 1, c: 1024, h: 14, w: 14, o: 256, kh: 1, kw: 1, p: ConvParams{Act: Activation{Kind: ActRelu}}},
	{name: "vgg16-3x3-64@224", n: 1, c: 64, h: 224, w: 224, o: 64, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
	{name: "vgg16-3x3-512@14", n: 1, c: 512, h: 14, w: 14, o: 512, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}, Act: Activation{Kind: ActRelu}}},
}

// BenchmarkConv runs each layer with 1 and 2 threads; the gemm backend is logged.
func BenchmarkConv(b *testing.B) {
	b.Logf("gemm backend %s", gemm.Backend())
	defer SetThreads(Threads())
	for _, tc := range convBenches {
		g := max(tc.p.Group, 1)
		x := randTensor(1, tc.n, tc.c, tc.h, tc.w)
		w := randTensor(2, tc.o, tc.c/g, tc.kh, tc.kw)
		bias := randTensor(3, tc.o).Data
		oh, ow := tc.p.OutSize(tc.h, tc.w, tc.kh, tc.kw)
		y := tensor.New(tc.n, tc.o, oh, ow)
		flops := 2 * float64(len(y.Data)*(tc.c/g)*tc.kh*tc.kw)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", tc.name, threads), func(b *testing.B) {
				SetThreads(threads)
				ws := NewWorkspace()
				Conv(y, x, w, bias, tc.p, ws) // size the workspace
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					Conv(y, x, w, bias, tc.p, ws)
				}
				reportSpeed(b, flops, cpu0)
			})
		}
	}
}

// cpuTime is the process's user and system CPU time. On a shared machine wall time
// includes time spent waiting for a core; CPU time per operation does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportSpeed reports GFLOP/s by wall time and CPU microseconds per operation.
func reportSpeed(b *testing.B, flops float64, cpu0 time.Duration) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(b.N), "cpu-µs/op")
}

// BenchmarkPool covers the pooling layers of ResNet and VGG at batch 1.
func BenchmarkPool(b *testing.B) {
	defer SetThreads(Threads())
	for _, tc := range []struct {
		name    string
		c, h, w int
		p       PoolParams
		avg     bool
	}{
		{"resnet-maxpool-3x3s2-64@112", 64, 112, 112, PoolParams{Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}}, false},
		{"vgg-maxpool-2x2s2-64@224", 64, 224, 224, PoolParams{Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}}, false},
		{"avgpool-3x3s1-256@14", 256, 14, 14, PoolParams{Kernel: [2]int{3, 3}, Pads: [4]int{1, 1, 1, 1}}, true},
	} {
		x := randTensor(1, 1, tc.c, tc.h, tc.w)
		oh, ow := tc.p.OutSize(tc.h, tc.w)
		y := tensor.New(1, tc.c, oh, ow)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", tc.name, threads), func(b *testing.B) {
				SetThreads(threads)
				b.ReportAllocs()
				b.SetBytes(int64(4 * (len(x.Data) + len(y.Data))))
				cpu0 := cpuTime()
				for b.Loop() {
					if tc.avg {
						AveragePool(y, x, tc.p)
					} else {
						MaxPool(y, x, tc.p)
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

// BenchmarkBinary covers a residual Add of ResNet-50's first stage at batch 1.
func BenchmarkBinary(b *testing.B) {
	defer SetThreads(Threads())
	x, z := randTensor(1, 1, 256, 56, 56), randTensor(2, 1, 256, 56, 56)
	y := tensor.New(x.Shape...)
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("add-256@56/t%d", threads), func(b *testing.B) {
			SetThreads(threads)
			b.ReportAllocs()
			b.SetBytes(int64(12 * len(y.Data)))
			cpu0 := cpuTime()
			for b.Loop() {
				Binary(Add, y, x, z)
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(b.N), "cpu-µs/op")
		})
	}
}
