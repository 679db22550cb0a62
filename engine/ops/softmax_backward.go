package ops

import (
	"fmt"
	"math"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

// SoftmaxBackward computes dx = y ⊙ (dy - Σ dy⊙y) along axis from Softmax's output y.
// dx may alias dy.
func SoftmaxBackward(dx, dy, y *tensor.Tensor, axis int) {
	sameLen("SoftmaxBackward", dx, dy)
	sameLen("SoftmaxBackward", dx, y)
	r := len(y.Shape)
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		panic(fmt.Sprintf("ops.SoftmaxBackward: axis out of range for %v", y.Shape))
	}
	d := y.Shape[axis]
	inner := tensor.Numel(y.Shape[axis+1:])
	outer := tensor.Numel(y.Shape[:axis])
	if len(y.Data) == 0 {
		return
	}
	parallelFor(outer*inner, 4*d, func(lo, hi int) {
		for l := lo; l < hi; l++ {
			base := l/inner*d*inner + l%inner
			var dot float64
			for i := range d {
				dot += float64(dy.Data[base+i*inner]) * float64(y.Data[base+i*inner])
			}
			for i := range d {
				j := base + i*inner
				dx.Data[j] = y.Data[j] * (dy.Data[j] - float32(dot))
			}
		}
	})
}

// SoftmaxCrossEntropy returns the mean over the batch of the cross-entropy between
// softmax(logits) and the labels, for logits [N,K] and N labels in [0, K), together with
// its gradient with respect to the logits, (softmax(logits) - onehot(labels)) / N. The
// loss is accumulated in float64.
func SoftmaxCrossEntropy(logits *tensor.Tensor, labels []int) (float64, *tensor.Tensor) {
	if len(logits.Shape) != 2 || logits.Shape[0] != len(labels) {
		panic(fmt.Sprintf("ops.SoftmaxCrossEntropy: logits %v for %d labels", logits.Shape, len(labels)))
	}
	n, k := logits.Shape[0], logits.Shape[1]
	d := tensor.New(n, k)
	var loss float64
	for i, l := range labels {
		if l < 0 || l >= k {
			panic(fmt.Sprintf("ops.SoftmaxCrossEntropy: label %d out of range [0, %d)", l, k))
		}
		row := logits.Data[i*k : (i+1)*k]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, float64(v))
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - m)
		}
		lse := m + math.Log(sum)
		loss += lse - float64(row[l])
		drow := d.Data[i*k : (i+1)*k]
		for j, v := range row {
			drow[j] = float32(math.Exp(float64(v)-lse) / float64(n))
		}
		drow[l] -= float32(1 / float64(n))
	}
	return loss / float64(max(n, 1)), d
}
