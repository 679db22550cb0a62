package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/rulebrush/rulebrush/engine/ops"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Grads maps a layer's node name to the gradient of the loss with respect to its
// weights: a Conv's live W (with any BatchNormalization folded in, as Conv.W holds it),
// or the constant weight operand of a Gemm or MatMul, in that operand's own layout.
type Grads map[string]*tensor.Tensor

// Trainer computes the mean cross-entropy of one fixed batch and its gradient with
// respect to the weights of one conv layer (local) or of every Conv, Gemm and MatMul
// layer from that conv to the output in graph order (global): the fine-tuning
// baselines.
//
// It runs a private plan that keeps every value the backward pass reads. The part of
// the network before the layer runs once, on the first call; so while a Trainer is in
// use the layers before it must not change, and the layers from it on may (SGDStep).
// A Trainer is not safe for concurrent use; runs of the model are serialised with it.
type Trainer struct {
	m      *Model
	p      *plan
	k      int             // step of the first trained layer
	nodes  []*node         // nodes from that layer on, in graph order
	head   *node           // a final Softmax whose input serves as the logits, or nil
	logits string          // value the loss reads: the model's output, or head's input
	params map[*node]bool  // layers whose weight gradients are returned
	needs  map[string]bool // values whose gradient the backward pass computes
	labels []int
	ws     ops.Workspace
	ran    bool                // the prefix before step k has run
	free   map[int][][]float32 // spent gradient buffers by length, reused by later steps
}

// LossGrad returns the mean cross-entropy of the batch x [N,C,H,W] against labels (one
// class index per image) and its gradients with respect to the weights of layer from
// (local) or of every layer from it to the output (global). It builds a Trainer for
// one call; to take many steps on one batch, use NewTrainer.
func (m *Model) LossGrad(ctx context.Context, x *tensor.Tensor, labels []int, from string, local bool) (float64, Grads, error) {
	t, err := m.NewTrainer(x, labels, from, local)
	if err != nil {
		return 0, nil, err
	}
	return t.LossGrad(ctx)
}

// NewTrainer prepares gradient computations for the batch x with labels, training the
// conv layer from alone (local) or every layer from it to the output (global). It
// fails for a graph whose ops after the layer have no backward kernel.
func (m *Model) NewTrainer(x *tensor.Tensor, labels []int, from string, local bool) (*Trainer, error) {
	if err := m.checkInput(x); err != nil {
		return nil, err
	}
	if len(labels) != x.Shape[0] {
		return nil, fmt.Errorf("backward: %d labels for a batch of %d", len(labels), x.Shape[0])
	}
	if _, err := m.Conv(from); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	first := slices.IndexFunc(m.nodes, func(n *node) bool { return n.name == from && n.conv != nil })
	t := &Trainer{m: m, nodes: m.nodes[first:], logits: m.Output, labels: slices.Clone(labels)}
	base, err := m.plan(x.Shape[0], nil)
	if err != nil {
		return nil, err
	}
	// Keep every runtime value the trained part reads or writes: keeping a value also
	// stops its producer from fusing the activation after it, so each activation's input
	// is recorded too.
	keepSet := map[string]bool{}
	for _, n := range t.nodes {
		for _, v := range append(slices.Clone(n.in), n.out...) {
			_, c := base.consts[v]
			_, i := base.ints[v]
			if v != "" && !c && !i {
				keepSet[v] = true
			}
		}
	}
	keep := make([]string, 0, len(keepSet))
	for v := range keepSet {
		keep = append(keep, v)
	}
	p, err := m.plan(x.Shape[0], keep)
	if err != nil {
		return nil, err
	}
	// The plan holds the batch's activations: keep it out of the shared cache.
	for key, q := range m.plans {
		if q == p {
			delete(m.plans, key)
		}
	}
	t.p = p
	t.k = p.stepOf(from)
	copy(p.input.Data, x.Data)
	if last := t.nodes[len(t.nodes)-1]; last.op == "Softmax" && last.out[0] == m.Output && len(t.nodes) > 1 {
		// Cross-entropy on probabilities is cross-entropy on the logits before them.
		if a, err := normAxis(last.attrs.Int("axis", -1), len(p.shapes[last.in[0]])); err == nil && a == len(p.shapes[last.in[0]])-1 {
			t.head, t.logits = last, last.in[0]
		}
	}
	ls := p.shapes[t.logits]
	if len(ls) != 2 || ls[0] != x.Shape[0] {
		return nil, fmt.Errorf("backward: output %q has shape %v, want [N, classes]", t.logits, ls)
	}
	for i, l := range labels {
		if l < 0 || l >= ls[1] {
			return nil, fmt.Errorf("backward: label %d of image %d is not a class in [0, %d)", l, i, ls[1])
		}
	}
	t.params = map[*node]bool{}
	for _, n := range t.nodes {
		if n.name == from || (!local && (n.conv != nil || m.linearWeightOf(n) != nil)) {
			t.params[n] = true
		}
	}
	t.needs = map[string]bool{}
	for _, n := range t.nodes {
		if t.params[n] || slices.ContainsFunc(n.in, func(v string) bool { return t.needs[v] }) {
			for _, o := range n.out {
				if _, ok := p.vals[o]; ok { // not shape arithmetic
					t.needs[o] = true
				}
			}
		}
	}
	for _, n := range t.nodes {
		if n != t.head && t.needs[n.out[0]] {
			if err := t.supported(n); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// supported reports whether the backward pass can go through node n.
func (t *Trainer) supported(n *node) error {
	for _, v := range n.in {
		if _, isInt := t.p.ints[v]; v != "" && !isInt && t.p.value(v) == nil {
			return fmt.Errorf("backward: value %q read by node %q was not recorded", v, n.name)
		}
	}
	switch n.op {
	case "Conv", "Sigmoid", "Add", "Sub", "Mul", "Div", "GlobalAveragePool", "MaxPool", "AveragePool",
		"Gemm", "Flatten", "Reshape", "Identity", "Dropout", "Squeeze", "Unsqueeze", "Cast",
		"BatchNormalization", "Softmax", "Concat", "Pad", "Relu", "Clip":
		return nil
	case "LeakyRelu":
		if n.attrs.Float("alpha", 0.01) > 0 {
			return nil
		}
	case "MatMul":
		if len(t.p.shapes[n.in[0]]) >= 2 && len(t.p.shapes[n.in[1]]) == 2 {
			return nil
		}
	}
	return fmt.Errorf("backward: op %q at node %q is not supported", n.op, n.name)
}

// Params lists the layers whose weight gradients LossGrad returns, in graph order.
func (t *Trainer) Params() []string {
	var names []string
	for _, n := range t.nodes {
		if t.params[n] {
			names = append(names, n.name)
		}
	}
	return names
}

// LossGrad runs the batch with the model's current weights and returns the mean
// cross-entropy and the gradients of the trained layers' weights.
func (t *Trainer) LossGrad(ctx context.Context) (float64, Grads, error) {
	m := t.m
	m.mu.Lock()
	defer m.mu.Unlock()
	start := t.k
	if !t.ran {
		start = 0
	}
	if err := t.p.exec(ctx, start, len(t.p.steps)); err != nil {
		return 0, nil, err
	}
	t.ran = true
	loss, dl := ops.SoftmaxCrossEntropy(t.p.value(t.logits), t.labels)
	grads := map[string]*tensor.Tensor{t.logits: dl}
	out := Grads{}
	for i := len(t.nodes) - 1; i >= 0; i-- {
		n := t.nodes[i]
		gy := grads[n.out[0]]
		if n == t.head || gy == nil || !t.needs[n.out[0]] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		if err := t.backward(n, gy, grads, out); err != nil {
			return 0, nil, err
		}
		delete(grads, n.out[0])
		if !viewOps[n.op] { // a view's input gradient owns gy's data now
			t.give(gy)
		}
	}
	return loss, out, nil
}

// backward propagates gy, the gradient of node n's output, to the inputs that need it
// (accumulated in grads) and to n's weights when n is trained (stored in out).
func (t *Trainer) backward(n *node, gy *tensor.Tensor, grads map[string]*tensor.Tensor, out Grads) error {
	p := t.p
	val := func(i int) *tensor.Tensor { return p.value(n.in[i]) }
	// grad allocates the gradient of input i, or returns nil when nothing needs it.
	grad := func(i int) *tensor.Tensor {
		if i >= len(n.in) || !t.needs[n.in[i]] {
			return nil
		}
		return t.take(p.shapes[n.in[i]])
	}
	var dx []*tensor.Tensor // gradients of n's inputs, by position
	switch n.op {
	case "Conv":
		c := n.conv
		dx = []*tensor.Tensor{grad(0)}
		var dw *tensor.Tensor
		if t.params[n] {
			dw = tensor.New(c.W.Shape...)
			out[n.name] = dw
		}
		cp := c.Params
		cp.Act = ops.Activation{} // not fused: the plan keeps the conv's own output
		ops.ConvBackward(dx[0], dw, nil, gy, val(0), c.W, cp, &t.ws)
	case "Relu", "Clip", "LeakyRelu":
		act, _, err := (&planner{m: t.m, p: p}).activation(n)
		if err != nil {
			return fmt.Errorf("backward: node %q: %w", n.name, err)
		}
		dx = []*tensor.Tensor{grad(0)}
		ops.ActivationBackward(dx[0], gy, val(0), act)
	case "Sigmoid":
		dx = []*tensor.Tensor{grad(0)}
		ops.SigmoidBackward(dx[0], gy, p.value(n.out[0]))
	case "Add", "Sub", "Mul", "Div":
		dx = []*tensor.Tensor{grad(0), grad(1)}
		ops.BinaryBackward(binaryKinds[n.op], dx[0], dx[1], gy, val(0), val(1))
	case "GlobalAveragePool":
		dx = []*tensor.Tensor{grad(0)}
		ops.GlobalAveragePoolBackward(dx[0], gy)
	case "MaxPool", "AveragePool":
		pp := poolParams(n)
		dx = []*tensor.Tensor{grad(0)}
		if n.op == "MaxPool" {
			ops.MaxPoolBackward(dx[0], gy, val(0), pp)
		} else {
			ops.AveragePoolBackward(dx[0], gy, pp)
		}
	case "Gemm", "MatMul":
		dx = []*tensor.Tensor{grad(0), grad(1)}
		if t.params[n] { // a constant weight: returned, not propagated
			dx[1] = tensor.New(val(1).Shape...)
			out[n.name] = dx[1]
		}
		if n.op == "MatMul" {
			ops.MatMulBackward(dx[0], dx[1], gy, val(0), val(1))
			break
		}
		a := n.attrs
		ops.GemmBackward(dx[0], dx[1], nil, gy, val(0), val(1), a.Int("transA", 0) != 0, a.Int("transB", 0) != 0,
			a.Float("alpha", 1), a.Float("beta", 1))
	case "Flatten", "Reshape", "Identity", "Dropout", "Squeeze", "Unsqueeze", "Cast":
		// A view of the same data: the gradient is gy under the input's shape, and gy
		// is not used again.
		dx = []*tensor.Tensor{{Shape: slices.Clone(p.shapes[n.in[0]]), Data: gy.Data}}
	case "BatchNormalization":
		dx = []*tensor.Tensor{grad(0)}
		ops.BatchNormBackward(dx[0], gy, p.consts[n.in[1]].Data, p.consts[n.in[4]].Data, n.attrs.Float("epsilon", 1e-5))
	case "Softmax":
		dx = []*tensor.Tensor{grad(0)}
		xs := p.shapes[n.in[0]]
		def := int64(-1)
		if t.m.file.Opset < 13 {
			def = 1
		}
		axis, err := normAxis(n.attrs.Int("axis", def), len(xs))
		if err != nil {
			return fmt.Errorf("backward: node %q: %w", n.name, err)
		}
		y := p.value(n.out[0])
		if t.m.file.Opset < 13 {
			// Before opset 13 Softmax works on the input flattened to 2-D at axis.
			rows := tensor.Numel(xs[:axis])
			flat := func(v *tensor.Tensor) *tensor.Tensor {
				return &tensor.Tensor{Shape: []int{rows, len(v.Data) / rows}, Data: v.Data}
			}
			ops.SoftmaxBackward(flat(dx[0]), flat(gy), flat(y), 1)
			break
		}
		ops.SoftmaxBackward(dx[0], gy, y, axis)
	case "Concat":
		axis, err := normAxis(n.attrs.Int("axis", 0), len(gy.Shape))
		if err != nil {
			return fmt.Errorf("backward: node %q: %w", n.name, err)
		}
		sizes := make([]int, len(n.in))
		dx = make([]*tensor.Tensor, len(n.in))
		for i, v := range n.in {
			sizes[i] = p.shapes[v][axis]
			dx[i] = grad(i)
		}
		ops.ConcatBackward(dx, sizes, gy, axis)
	case "Pad":
		pads, err := t.pads(n)
		if err != nil {
			return err
		}
		dx = []*tensor.Tensor{grad(0)}
		ops.PadBackward(dx[0], gy, pads)
	default:
		return fmt.Errorf("backward: op %q at node %q is not supported", n.op, n.name)
	}
	for i, d := range dx {
		if d != nil && t.needs[n.in[i]] {
			t.accumulate(grads, n.in[i], d)
		}
	}
	return nil
}

// viewOps are the ops whose output is their input's data under another shape.
var viewOps = map[string]bool{
	"Flatten": true, "Reshape": true, "Identity": true, "Dropout": true, "Squeeze": true, "Unsqueeze": true, "Cast": true,
}

// accumulate adds d to the gradient of value v, taking ownership of d when it is the first.
func (t *Trainer) accumulate(grads map[string]*tensor.Tensor, v string, d *tensor.Tensor) {
	g, ok := grads[v]
	if !ok {
		grads[v] = d
		return
	}
	for i, x := range d.Data {
		g.Data[i] += x
	}
	t.give(d)
}

// take returns a gradient tensor of the given shape with unspecified contents: every
// backward kernel overwrites its outputs.
func (t *Trainer) take(shape []int) *tensor.Tensor {
	n := tensor.Numel(shape)
	if bufs := t.free[n]; len(bufs) > 0 {
		t.free[n] = bufs[:len(bufs)-1]
		return &tensor.Tensor{Shape: slices.Clone(shape), Data: bufs[len(bufs)-1]}
	}
	return tensor.New(shape...)
}

// give hands a spent gradient's buffer back for reuse.
func (t *Trainer) give(d *tensor.Tensor) {
	if t.free == nil {
		t.free = map[int][][]float32{}
	}
	t.free[len(d.Data)] = append(t.free[len(d.Data)], d.Data)
}

// pads reads a Pad node's pads as the planner does.
func (t *Trainer) pads(n *node) ([]int, error) {
	var pads []int64
	if t.m.file.Opset < 11 {
		pads = n.attrs.Ints("pads", nil)
	} else if v, ok := t.p.ints[n.in[1]]; ok {
		pads = v
	} else {
		return nil, fmt.Errorf("backward: node %q: pads %q are not constant", n.name, n.in[1])
	}
	out := make([]int, len(pads))
	for i, v := range pads {
		out[i] = int(v)
	}
	return out, nil
}

// SGDStep takes one gradient-descent step, W -= lr·g, for every layer in g: conv layers
// through SetWeights, Gemm and MatMul weights through SetLinearWeights, so Save writes
// both.
func (m *Model) SGDStep(g Grads, lr float32) error {
	names := make([]string, 0, len(g))
	for name := range g {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		d := g[name]
		m.mu.Lock()
		var w []float32
		if c, ok := m.convs[name]; ok {
			w = slices.Clone(c.W.Data)
		} else if wt := m.linearWeight(name); wt != nil {
			w = slices.Clone(wt.Data)
		}
		m.mu.Unlock()
		if w == nil {
			return fmt.Errorf("sgd step: no trainable layer %q", name)
		}
		if len(w) != len(d.Data) {
			return fmt.Errorf("sgd step: layer %q: %d gradient values for %d weights", name, len(d.Data), len(w))
		}
		for i, v := range d.Data {
			w[i] -= lr * v
		}
		var err error
		if _, ok := m.convs[name]; ok {
			err = m.SetWeights(name, w)
		} else {
			err = m.SetLinearWeights(name, w)
		}
		if err != nil {
			return fmt.Errorf("sgd step: %w", err)
		}
	}
	return nil
}

// linearWeight returns the constant weight operand of the Gemm or MatMul node named
// layer, or nil.
func (m *Model) linearWeight(layer string) *tensor.Tensor {
	for _, n := range m.nodes {
		if n.name == layer {
			return m.linearWeightOf(n)
		}
	}
	return nil
}

// linearWeightOf returns the constant 2-D weight operand (input B) of a Gemm or MatMul
// node, or nil.
func (m *Model) linearWeightOf(n *node) *tensor.Tensor {
	if (n.op != "Gemm" && n.op != "MatMul") || len(n.in) < 2 {
		return nil
	}
	if w, ok := m.consts[n.in[1]]; ok && len(w.Shape) == 2 {
		return w
	}
	return nil
}

// SetLinearWeights replaces the constant weight operand (input B) of a Gemm or MatMul
// layer, in its own layout, in the running model and in the file Save writes. Plans
// read the constant in place, so the next run uses it.
func (m *Model) SetLinearWeights(layer string, w []float32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.nodes, func(n *node) bool { return n.name == layer })
	if i < 0 || m.linearWeightOf(m.nodes[i]) == nil {
		return fmt.Errorf("no Gemm or MatMul layer %q with constant 2-D weights", layer)
	}
	name := m.nodes[i].in[1]
	if n := len(m.consts[name].Data); len(w) != n {
		return fmt.Errorf("layer %q: %d weights, want %d", layer, len(w), n)
	}
	init := m.initializerOf(name)
	if init == "" {
		return fmt.Errorf("layer %q: weights %q are not an initializer, so they cannot be set", layer, name)
	}
	// The decoded initializer is the live constant, so this updates both.
	return m.file.SetFloatInitializer(init, w)
}
