package engine

import (
	"fmt"
	"math"
	"slices"

	"github.com/rulebrush/rulebrush/engine/ops"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// builders maps an ONNX op type to the code that plans it. Load rejects any other op.
var builders map[string]func(b *planner, n *node) error

func init() {
	builders = map[string]func(b *planner, n *node) error{
		"Conv": buildConv, "BatchNormalization": buildBatchNorm,
		"Relu": buildActivation, "Clip": buildActivation, "LeakyRelu": buildActivation, "Sigmoid": buildSigmoid,
		"MaxPool": buildPool, "AveragePool": buildPool, "GlobalAveragePool": buildGlobalAveragePool,
		"Add": buildBinary, "Sub": buildBinary, "Mul": buildBinary, "Div": buildBinary,
		"Gemm": buildGemm, "MatMul": buildMatMul, "Softmax": buildSoftmax, "Concat": buildConcat,
		"Flatten": buildFlatten, "Reshape": buildReshape, "Identity": buildIdentity, "Dropout": buildIdentity,
		"Unsqueeze": buildUnsqueeze, "Squeeze": buildSqueeze, "Shape": buildShape, "Gather": buildGather,
		"Cast": buildCast, "Slice": buildSlice, "Pad": buildPad,
		"Constant": func(*planner, *node) error { return nil }, // folded at load
	}
}

var binaryKinds = map[string]ops.BinaryKind{"Add": ops.Add, "Sub": ops.Sub, "Mul": ops.Mul, "Div": ops.Div}

// activation returns the element-wise activation a node computes, if it is one whose
// parameters are constant (so it can fuse into the producer's epilogue).
func (b *planner) activation(n *node) (ops.Activation, bool, error) {
	switch n.op {
	case "Relu":
		return ops.Activation{Kind: ops.ActRelu}, true, nil
	case "LeakyRelu":
		return ops.Activation{Kind: ops.ActLeakyRelu, Alpha: n.attrs.Float("alpha", 0.01)}, true, nil
	case "Clip":
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		if b.m.file.Opset < 11 {
			lo, hi = n.attrs.Float("min", lo), n.attrs.Float("max", hi)
		} else {
			for i, dst := range []*float32{&lo, &hi} {
				if len(n.in) <= i+1 || n.in[i+1] == "" {
					continue
				}
				c, ok := b.p.consts[n.in[i+1]]
				if !ok || len(c.Data) != 1 {
					return ops.Activation{}, false, fmt.Errorf("bound %q must be a constant scalar", n.in[i+1])
				}
				*dst = c.Data[0]
			}
		}
		return ops.Activation{Kind: ops.ActClip, Min: lo, Max: hi}, true, nil
	}
	return ops.Activation{}, false, nil
}

// fuseActivation looks at the only reader of a value: when it is an activation, the
// producer applies it and writes the activation's output directly.
func (b *planner) fuseActivation(v string) (ops.Activation, string, error) {
	r := b.soleReader(v)
	if r == nil {
		return ops.Activation{}, v, nil
	}
	act, ok, err := b.activation(r)
	if err != nil {
		return act, v, fmt.Errorf("node %q: %w", r.name, err)
	}
	if !ok {
		return act, v, nil
	}
	b.fused[r] = true
	return act, r.out[0], nil
}

func buildConv(b *planner, n *node) error {
	c := n.conv
	x := b.in(n.in[0])
	xs := b.shape(n.in[0])
	if len(xs) != 4 {
		return fmt.Errorf("input %q has shape %v, want 4-D", n.in[0], xs)
	}
	if xs[1] != c.W.Shape[1]*c.Params.Group {
		return fmt.Errorf("input %q has %d channels, weights %v with group %d want %d",
			n.in[0], xs[1], c.W.Shape, c.Params.Group, c.W.Shape[1]*c.Params.Group)
	}
	oh, ow := c.Params.OutSize(xs[2], xs[3], c.W.Shape[2], c.W.Shape[3])
	if oh <= 0 || ow <= 0 {
		return fmt.Errorf("input %v is too small for kernel %v", xs, c.W.Shape)
	}
	shape := []int{xs[0], c.W.Shape[0], oh, ow}
	act, dst, err := b.fuseActivation(c.Output)
	if err != nil {
		return err
	}
	var res *tensor.Tensor
	if dst == c.Output {
		if add, other := b.residualAdd(c.Output, shape); add != nil {
			res = b.in(other)
			b.fused[add] = true
			b.p.shapes[add.out[0]] = shape
			if act, dst, err = b.fuseActivation(add.out[0]); err != nil {
				return err
			}
		}
	}
	y := b.out(dst, shape)
	b.p.shapes[c.Output] = y.Shape // still known by name when the activation is fused
	p := c.Params
	p.Act = act
	ws := &b.p.ws
	b.emit(func() { ops.ConvAdd(y, x, c.W, c.B, res, p, ws) })
	return nil
}

// residualAdd finds a residual connection after a conv: when the only reader of its
// output v is an Add of v and another runtime value of the same shape that is already
// computed, it returns the Add and that operand, and the conv adds it in its epilogue.
func (b *planner) residualAdd(v string, shape []int) (*node, string) {
	r := b.soleReader(v)
	if r == nil || r.op != "Add" || len(r.in) != 2 || r.in[0] == r.in[1] {
		return nil, ""
	}
	other := r.in[0]
	if other == v {
		other = r.in[1]
	}
	if _, ok := b.p.vals[other]; !ok || !slices.Equal(b.shape(other), shape) {
		return nil, ""
	}
	return r, other
}

func buildBatchNorm(b *planner, n *node) error {
	if len(n.in) != 5 || !b.m.allConst(n.in[1:]) {
		return fmt.Errorf("needs constant scale, bias, mean and variance")
	}
	x := b.in(n.in[0])
	c := b.shape(n.in[0])
	if len(c) < 2 {
		return fmt.Errorf("input %q has shape %v", n.in[0], c)
	}
	cs := b.p.consts
	for _, v := range n.in[1:] {
		if len(cs[v].Data) != c[1] {
			return fmt.Errorf("%q has %d values for %d channels", v, len(cs[v].Data), c[1])
		}
	}
	y := b.out(n.out[0], c)
	eps := n.attrs.Float("epsilon", 1e-5)
	b.emit(func() {
		ops.BatchNorm(y, x, cs[n.in[1]].Data, cs[n.in[2]].Data, cs[n.in[3]].Data, cs[n.in[4]].Data, eps)
	})
	return nil
}

func buildActivation(b *planner, n *node) error {
	act, _, err := b.activation(n)
	if err != nil {
		return err
	}
	x := b.in(n.in[0])
	y := b.out(n.out[0], b.shape(n.in[0]))
	b.emit(func() { ops.Apply(y, x, act) })
	return nil
}

func buildSigmoid(b *planner, n *node) error {
	x := b.in(n.in[0])
	y := b.out(n.out[0], b.shape(n.in[0]))
	b.emit(func() { ops.Sigmoid(y, x) })
	return nil
}

func buildPool(b *planner, n *node) error {
	a := n.attrs
	xs := b.shape(n.in[0])
	if len(xs) != 4 {
		return fmt.Errorf("input %q has shape %v, want 4-D", n.in[0], xs)
	}
	if ap := a.String("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID" {
		return fmt.Errorf("auto_pad %s is not supported", ap)
	}
	if k := a.Ints("kernel_shape", nil); len(k) != 2 {
		return fmt.Errorf("kernel_shape %v: want 2 values", k)
	}
	p := poolParams(n)
	if len(n.out) > 1 && n.out[1] != "" {
		return fmt.Errorf("the Indices output is not supported")
	}
	oh, ow := p.OutSize(xs[2], xs[3])
	if oh <= 0 || ow <= 0 {
		return fmt.Errorf("input %v is too small for kernel %v", xs, p.Kernel)
	}
	x := b.in(n.in[0])
	y := b.out(n.out[0], []int{xs[0], xs[1], oh, ow})
	if n.op == "MaxPool" {
		b.emit(func() { ops.MaxPool(y, x, p) })
	} else {
		b.emit(func() { ops.AveragePool(y, x, p) })
	}
	return nil
}

// poolParams reads MaxPool and AveragePool attributes; the planner has checked that
// kernel_shape has two values.
func poolParams(n *node) ops.PoolParams {
	a := n.attrs
	k := a.Ints("kernel_shape", nil)
	p := ops.PoolParams{
		Kernel: [2]int{int(k[0]), int(k[1])}, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1},
		CeilMode: a.Int("ceil_mode", 0) != 0, CountIncludePad: a.Int("count_include_pad", 0) != 0,
	}
	if s := a.Ints("strides", nil); len(s) == 2 {
		p.Strides = [2]int{int(s[0]), int(s[1])}
	}
	if d := a.Ints("dilations", nil); len(d) == 2 {
		p.Dilations = [2]int{int(d[0]), int(d[1])}
	}
	if pd := a.Ints("pads", nil); len(pd) == 4 {
		p.Pads = [4]int{int(pd[0]), int(pd[1]), int(pd[2]), int(pd[3])}
	}
	return p
}

func buildGlobalAveragePool(b *planner, n *node) error {
	xs := b.shape(n.in[0])
	if len(xs) != 4 {
		return fmt.Errorf("input %q has shape %v, want 4-D", n.in[0], xs)
	}
	x := b.in(n.in[0])
	y := b.out(n.out[0], []int{xs[0], xs[1], 1, 1})
	b.emit(func() { ops.GlobalAveragePool(y, x) })
	return nil
}

func buildBinary(b *planner, n *node) error {
	ia, aInt := b.p.ints[n.in[0]]
	ib, bInt := b.p.ints[n.in[1]]
	if aInt && bInt {
		return b.intBinary(n, ia, ib)
	}
	shape, err := ops.BroadcastShape(b.shape(n.in[0]), b.shape(n.in[1]))
	if err != nil {
		return err
	}
	x, z := b.in(n.in[0]), b.in(n.in[1])
	if x == nil || z == nil {
		return fmt.Errorf("mixes integer and float operands")
	}
	y := b.out(n.out[0], shape)
	k := binaryKinds[n.op]
	b.emit(func() { ops.Binary(k, y, x, z) })
	return nil
}

// intBinary does shape arithmetic on integer constants (same length or a scalar).
func (b *planner) intBinary(n *node, x, z []int64) error {
	ln := max(len(x), len(z))
	if len(x) != len(z) && len(x) != 1 && len(z) != 1 {
		return fmt.Errorf("integer operands of lengths %d and %d", len(x), len(z))
	}
	r := make([]int64, ln)
	for i := range r {
		u, v := x[min(i, len(x)-1)], z[min(i, len(z)-1)]
		switch n.op {
		case "Add":
			r[i] = u + v
		case "Sub":
			r[i] = u - v
		case "Mul":
			r[i] = u * v
		case "Div":
			if v == 0 {
				return fmt.Errorf("integer division by zero")
			}
			r[i] = u / v
		}
	}
	shape := b.shape(n.in[0])
	if len(z) > len(x) {
		shape = b.shape(n.in[1])
	}
	b.setInts(n.out[0], r, shape)
	return nil
}

func buildGemm(b *planner, n *node) error {
	a := n.attrs
	as, bs := b.shape(n.in[0]), b.shape(n.in[1])
	if len(as) != 2 || len(bs) != 2 {
		return fmt.Errorf("inputs %v and %v must be 2-D", as, bs)
	}
	ta, tb := a.Int("transA", 0) != 0, a.Int("transB", 0) != 0
	m, k := as[0], as[1]
	if ta {
		m, k = k, m
	}
	k2, nn := bs[0], bs[1]
	if tb {
		k2, nn = nn, k2
	}
	if k != k2 {
		return fmt.Errorf("inner dimensions differ: %v x %v (transA %v, transB %v)", as, bs, ta, tb)
	}
	x, w := b.in(n.in[0]), b.in(n.in[1])
	var c *tensor.Tensor
	if len(n.in) > 2 && n.in[2] != "" {
		c = b.in(n.in[2])
	}
	act, dst, err := b.fuseActivation(n.out[0])
	if err != nil {
		return err
	}
	y := b.out(dst, []int{m, nn})
	alpha, beta := a.Float("alpha", 1), a.Float("beta", 1)
	b.emit(func() { ops.Gemm(y, x, w, c, ta, tb, alpha, beta, act) })
	return nil
}

func buildMatMul(b *planner, n *node) error {
	as, bs := b.shape(n.in[0]), b.shape(n.in[1])
	shape, err := matMulShape(as, bs)
	if err != nil {
		return err
	}
	x, w := b.in(n.in[0]), b.in(n.in[1])
	y := b.out(n.out[0], shape)
	b.emit(func() { ops.MatMul(y, x, w) })
	return nil
}

func matMulShape(a, b []int) ([]int, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, fmt.Errorf("scalar operand")
	}
	a1, b1 := len(a) == 1, len(b) == 1
	if a1 {
		a = []int{1, a[0]}
	}
	if b1 {
		b = []int{b[0], 1}
	}
	if a[len(a)-1] != b[len(b)-2] {
		return nil, fmt.Errorf("inner dimensions differ: %v x %v", a, b)
	}
	batch, err := ops.BroadcastShape(a[:len(a)-2], b[:len(b)-2])
	if err != nil {
		return nil, err
	}
	out := append(batch, a[len(a)-2], b[len(b)-1])
	if a1 {
		out = slices.Delete(out, len(out)-2, len(out)-1)
	}
	if b1 {
		out = out[:len(out)-1]
	}
	return out, nil
}

func buildSoftmax(b *planner, n *node) error {
	xs := b.shape(n.in[0])
	def := int64(-1)
	if b.m.file.Opset < 13 {
		def = 1
	}
	axis, err := normAxis(n.attrs.Int("axis", def), len(xs))
	if err != nil {
		return err
	}
	x := b.in(n.in[0])
	y := b.out(n.out[0], xs)
	if b.m.file.Opset < 13 && axis != len(xs)-1 {
		// Before opset 13 Softmax works on the input flattened to 2-D at axis.
		rows := tensor.Numel(xs[:axis])
		b.emit(func() {
			ops.Softmax(&tensor.Tensor{Shape: []int{rows, len(y.Data) / rows}, Data: y.Data},
				&tensor.Tensor{Shape: []int{rows, len(x.Data) / rows}, Data: x.Data}, 1)
		})
		return nil
	}
	b.emit(func() { ops.Softmax(y, x, axis) })
	return nil
}

func normAxis(axis int64, rank int) (int, error) {
	a := int(axis)
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= max(rank, 1) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return a, nil
}

func buildConcat(b *planner, n *node) error {
	first := b.shape(n.in[0])
	axis, err := normAxis(n.attrs.Int("axis", 0), len(first))
	if err != nil {
		return err
	}
	if _, isInt := b.p.ints[n.in[0]]; isInt {
		var r []int64
		for _, v := range n.in {
			iv, ok := b.p.ints[v]
			if !ok {
				return fmt.Errorf("mixes integer and float inputs")
			}
			r = append(r, iv...)
		}
		b.setInts(n.out[0], r, []int{len(r)})
		return nil
	}
	shape := slices.Clone(first)
	shape[axis] = 0
	var xs []*tensor.Tensor
	for _, v := range n.in {
		s := b.shape(v)
		if len(s) != len(first) {
			return fmt.Errorf("input %q has rank %d, want %d", v, len(s), len(first))
		}
		for i := range s {
			if i != axis && s[i] != first[i] {
				return fmt.Errorf("input %q has shape %v, incompatible with %v on axis %d", v, s, first, axis)
			}
		}
		shape[axis] += s[axis]
		xs = append(xs, b.in(v))
	}
	y := b.out(n.out[0], shape)
	b.emit(func() { ops.Concat(y, xs, axis) })
	return nil
}

func buildFlatten(b *planner, n *node) error {
	xs := b.shape(n.in[0])
	axis := int(n.attrs.Int("axis", 1))
	if axis < 0 {
		axis += len(xs)
	}
	if axis < 0 || axis > len(xs) {
		return fmt.Errorf("axis %d out of range for rank %d", axis, len(xs))
	}
	return b.alias(n.out[0], n.in[0], []int{tensor.Numel(xs[:axis]), tensor.Numel(xs[axis:])})
}

func buildIdentity(b *planner, n *node) error {
	if n.op == "Dropout" && len(n.out) > 1 && n.out[1] != "" {
		return fmt.Errorf("the mask output is not supported")
	}
	return b.alias(n.out[0], n.in[0], b.shape(n.in[0]))
}

func buildReshape(b *planner, n *node) error {
	target, ok := b.p.ints[n.in[1]]
	if !ok {
		return fmt.Errorf("shape %q must be constant", n.in[1])
	}
	xs := b.shape(n.in[0])
	shape := make([]int, len(target))
	infer := -1
	allowZero := n.attrs.Int("allowzero", 0) != 0
	for i, d := range target {
		switch {
		case d == 0 && !allowZero:
			if i >= len(xs) {
				return fmt.Errorf("shape %v copies dimension %d of %v", target, i, xs)
			}
			shape[i] = xs[i]
		case d == -1:
			if infer >= 0 {
				return fmt.Errorf("shape %v has two -1", target)
			}
			infer = i
		case d < 0:
			return fmt.Errorf("shape %v has a negative dimension", target)
		default:
			shape[i] = int(d)
		}
	}
	if infer >= 0 {
		shape[infer] = 1
		rest := tensor.Numel(shape)
		if rest == 0 || tensor.Numel(xs)%rest != 0 {
			return fmt.Errorf("cannot reshape %v to %v", xs, target)
		}
		shape[infer] = tensor.Numel(xs) / rest
	}
	return b.alias(n.out[0], n.in[0], shape)
}

// axes reads the axes of Squeeze/Unsqueeze: an attribute before opset 13, an input after.
func (b *planner) axes(n *node) ([]int64, error) {
	if len(n.in) > 1 && n.in[1] != "" {
		v, ok := b.p.ints[n.in[1]]
		if !ok {
			return nil, fmt.Errorf("axes %q must be constant", n.in[1])
		}
		return v, nil
	}
	return n.attrs.Ints("axes", nil), nil
}

func buildUnsqueeze(b *planner, n *node) error {
	ax, err := b.axes(n)
	if err != nil {
		return err
	}
	xs := b.shape(n.in[0])
	rank := len(xs) + len(ax)
	ones := map[int]bool{}
	for _, a := range ax {
		i, err := normAxis(a, rank)
		if err != nil {
			return err
		}
		ones[i] = true
	}
	shape := make([]int, 0, rank)
	j := 0
	for i := range rank {
		if ones[i] {
			shape = append(shape, 1)
		} else {
			shape = append(shape, xs[j])
			j++
		}
	}
	return b.alias(n.out[0], n.in[0], shape)
}

func buildSqueeze(b *planner, n *node) error {
	ax, err := b.axes(n)
	if err != nil {
		return err
	}
	xs := b.shape(n.in[0])
	drop := map[int]bool{}
	for _, a := range ax {
		i, err := normAxis(a, len(xs))
		if err != nil {
			return err
		}
		if xs[i] != 1 {
			return fmt.Errorf("cannot squeeze axis %d of %v", a, xs)
		}
		drop[i] = true
	}
	var shape []int
	for i, d := range xs {
		if (len(ax) == 0 && d == 1) || drop[i] {
			continue
		}
		shape = append(shape, d)
	}
	return b.alias(n.out[0], n.in[0], shape)
}

func buildShape(b *planner, n *node) error {
	xs := b.shape(n.in[0])
	start, end := int(n.attrs.Int("start", 0)), int(n.attrs.Int("end", int64(len(xs))))
	start, end = clampRange(start, len(xs)), clampRange(end, len(xs))
	var r []int64
	for _, d := range xs[start:max(start, end)] {
		r = append(r, int64(d))
	}
	b.setInts(n.out[0], r, []int{len(r)})
	return nil
}

func clampRange(i, n int) int {
	if i < 0 {
		i += n
	}
	return min(max(i, 0), n)
}

func buildGather(b *planner, n *node) error {
	data, ok := b.p.ints[n.in[0]]
	idx, ok2 := b.p.ints[n.in[1]]
	if !ok || !ok2 {
		return fmt.Errorf("only constant integer data is supported (shape arithmetic)")
	}
	ds := b.shape(n.in[0])
	if len(ds) > 1 || n.attrs.Int("axis", 0) != 0 {
		return fmt.Errorf("only 1-D data on axis 0 is supported")
	}
	r := make([]int64, len(idx))
	for i, j := range idx {
		if j < 0 {
			j += int64(len(data))
		}
		if j < 0 || int(j) >= len(data) {
			return fmt.Errorf("index %d out of range for %d values", idx[i], len(data))
		}
		r[i] = data[j]
	}
	b.setInts(n.out[0], r, b.shape(n.in[1]))
	return nil
}

func buildCast(b *planner, n *node) error {
	to := n.attrs.Int("to", 0)
	const onnxFloat, onnxInt64, onnxInt32 = 1, 7, 6
	if v, ok := b.p.ints[n.in[0]]; ok {
		switch to {
		case onnxInt64, onnxInt32:
			b.setInts(n.out[0], v, b.shape(n.in[0]))
			return nil
		case onnxFloat:
			t := tensor.New(b.shape(n.in[0])...)
			for i, x := range v {
				t.Data[i] = float32(x)
			}
			b.p.consts[n.out[0]] = t
			b.p.shapes[n.out[0]] = t.Shape
			return nil
		}
	} else if to == onnxFloat {
		return b.alias(n.out[0], n.in[0], b.shape(n.in[0]))
	}
	return fmt.Errorf("cast to type %d is not supported", to)
}

func buildSlice(b *planner, n *node) error {
	data, ok := b.p.ints[n.in[0]]
	if !ok || len(b.shape(n.in[0])) != 1 {
		return fmt.Errorf("only 1-D constant integer data is supported (shape arithmetic)")
	}
	get := func(i int, def int64) (int64, error) {
		if len(n.in) <= i || n.in[i] == "" {
			return def, nil
		}
		v, ok := b.p.ints[n.in[i]]
		if !ok || len(v) != 1 {
			return 0, fmt.Errorf("input %q must be a constant of one value", n.in[i])
		}
		return v[0], nil
	}
	starts, err := get(1, 0)
	if err != nil {
		return err
	}
	ends, err := get(2, int64(len(data)))
	if err != nil {
		return err
	}
	if step, err := get(4, 1); err != nil || step != 1 {
		return fmt.Errorf("only step 1 is supported")
	}
	s, e := clampRange(int(max(min(starts, math.MaxInt32), math.MinInt32)), len(data)), clampRange(int(max(min(ends, math.MaxInt32), math.MinInt32)), len(data))
	r := slices.Clone(data[s:max(s, e)])
	b.setInts(n.out[0], r, []int{len(r)})
	return nil
}

func buildPad(b *planner, n *node) error {
	if mode := n.attrs.String("mode", "constant"); mode != "constant" {
		return fmt.Errorf("mode %q is not supported", mode)
	}
	var pads []int64
	value := float32(0)
	if b.m.file.Opset < 11 {
		pads, value = n.attrs.Ints("pads", nil), n.attrs.Float("value", 0)
	} else {
		v, ok := b.p.ints[n.in[1]]
		if !ok {
			return fmt.Errorf("pads %q must be constant", n.in[1])
		}
		pads = v
		if len(n.in) > 2 && n.in[2] != "" {
			c, ok := b.p.consts[n.in[2]]
			if !ok || len(c.Data) != 1 {
				return fmt.Errorf("constant_value %q must be a constant scalar", n.in[2])
			}
			value = c.Data[0]
		}
		if len(n.in) > 3 && n.in[3] != "" {
			return fmt.Errorf("the axes input is not supported")
		}
	}
	xs := b.shape(n.in[0])
	if len(pads) != 2*len(xs) {
		return fmt.Errorf("pads %v: want %d values for rank %d", pads, 2*len(xs), len(xs))
	}
	shape := slices.Clone(xs)
	p := make([]int, len(pads))
	for i := range xs {
		p[i], p[i+len(xs)] = int(pads[i]), int(pads[i+len(xs)])
		shape[i] += p[i] + p[i+len(xs)]
		if shape[i] <= 0 {
			return fmt.Errorf("pads %v empty dimension %d of %v", pads, i, xs)
		}
	}
	x := b.in(n.in[0])
	y := b.out(n.out[0], shape)
	b.emit(func() { ops.Pad(y, x, p, value) })
	return nil
}
