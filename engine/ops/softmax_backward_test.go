package ops

import (
	"fmt"
	"math"
	"testing"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

func TestSoftmaxBackwardFiniteDifferences(t *testing.T) {
	for i, tc := range []struct {
		shape []int
		axis  int
	}{{[]int{2, 5}, 1}, {[]int{2, 5, 3}, 1}, {[]int{2, 5, 3}, -1}, {[]int{4, 2, 3}, 0}} {
		t.Run(fmt.Sprintf("%v/axis%d", tc.shape, tc.axis), func(t *testing.T) {
			x, r := randTensor(uint64(900+i), tc.shape...), randTensor(uint64(910+i), tc.shape...)
			for j := range x.Data {
				x.Data[j] *= 3
			}
			y := tensor.New(tc.shape...)
			Softmax(y, x, tc.axis)
			dx := tensor.New(tc.shape...)
			SoftmaxBackward(dx, r, y, tc.axis)
			assertGrad(t, "dx", dx.Data, numGrad(x.Data, 1e-3, func() float64 {
				Softmax(y, x, tc.axis)
				return dot(r.Data, y.Data)
			}))
		})
	}
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	logits := randTensor(930, 3, 7)
	for j := range logits.Data {
		logits.Data[j] *= 20 // large logits: the log-sum-exp must not overflow
	}
	labels := []int{2, 0, 6}
	want := func() float64 {
		var sum float64
		for i, l := range labels {
			row := logits.Data[i*7 : (i+1)*7]
			var z float64
			for _, v := range row {
				z += math.Exp(float64(v) - 20)
			}
			sum += -(float64(row[l]) - 20 - math.Log(z))
		}
		return sum / float64(len(labels))
	}
	loss, d := SoftmaxCrossEntropy(logits, labels)
	if w := want(); math.Abs(loss-w) > 1e-9*math.Abs(w) {
		t.Fatalf("loss %g, want %g", loss, w)
	}
	assertGrad(t, "dlogits", d.Data, numGrad(logits.Data, 1e-3, func() float64 {
		l, _ := SoftmaxCrossEntropy(logits, labels)
		return l
	}))
	var rows [3]float64
	for j, v := range d.Data {
		rows[j/7] += float64(v)
	}
	for i, s := range rows {
		if math.Abs(s) > 1e-6 {
			t.Errorf("row %d of dlogits sums to %g, want 0", i, s)
		}
	}
}
