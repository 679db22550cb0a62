package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/rulebrush/rulebrush/engine/ops"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

type planKey struct {
	batch int
	keep  string
}

// plan is the model resolved for one batch size: shapes, constants, buffers and steps.
type plan struct {
	batch  int
	steps  []step
	vals   map[string]*tensor.Tensor // runtime values; aliases share their root's data
	consts map[string]*tensor.Tensor // plan-time constants (model constants and folded results)
	ints   map[string][]int64
	shapes map[string][]int
	first  map[string]int // step that defines a runtime value (-1: the graph input)
	last   map[string]int // last step reading it (len(steps) for outputs and kept values)
	ws     ops.Workspace
	input  *tensor.Tensor
	output *tensor.Tensor
}

type step struct {
	node *node
	in   []string // runtime values read
	run  func()
}

// shapeOf returns the shape of any value the plan knows, or nil.
func (p *plan) shapeOf(name string) []int { return p.shapes[name] }

// planner builds a plan node by node.
type planner struct {
	m        *Model
	p        *plan
	keep     map[string]bool
	readers  map[string][]*node
	fused    map[*node]bool
	root     map[string]string // alias -> the value owning the buffer
	cur      *node
	curIn    []string
	curOut   []string
	curRun   func()
	curConst bool
}

// plan returns (building once) the plan for a batch size that keeps the named values.
// Callers hold m.mu, except during load.
func (m *Model) plan(batch int, keep []string) (*plan, error) {
	keep = slices.Clone(keep)
	sort.Strings(keep)
	key := planKey{batch, strings.Join(keep, "\x00")}
	if p, ok := m.plans[key]; ok {
		return p, nil
	}
	p := &plan{
		batch: batch, vals: map[string]*tensor.Tensor{}, consts: map[string]*tensor.Tensor{},
		ints: map[string][]int64{}, shapes: map[string][]int{}, first: map[string]int{}, last: map[string]int{},
	}
	p.ws.Filters = &m.filters
	for k, v := range m.consts {
		p.consts[k] = v
	}
	for k, v := range m.ints {
		p.ints[k] = v
	}
	for k, v := range m.shapes {
		p.shapes[k] = v
	}
	b := &planner{m: m, p: p, keep: map[string]bool{}, readers: map[string][]*node{}, fused: map[*node]bool{}, root: map[string]string{}}
	for _, k := range keep {
		b.keep[k] = true
	}
	for _, n := range m.nodes {
		for _, v := range n.in {
			b.readers[v] = append(b.readers[v], n)
		}
	}
	inShape := []int{batch, m.InputShape[0], m.InputShape[1], m.InputShape[2]}
	p.input = tensor.New(inShape...)
	p.vals[m.Input] = p.input
	p.shapes[m.Input] = inShape
	p.first[m.Input] = -1
	for _, n := range m.nodes {
		if b.fused[n] {
			continue
		}
		if err := b.node(n); err != nil {
			return nil, fmt.Errorf("node %q (%s): %w", n.name, n.op, err)
		}
	}
	out, ok := p.vals[m.Output]
	if !ok {
		if c, isConst := p.consts[m.Output]; isConst {
			out = c
		} else {
			return nil, fmt.Errorf("output %q is never computed", m.Output)
		}
	}
	p.output = out
	for _, k := range keep {
		if _, ok := p.vals[k]; !ok {
			if _, ok := p.consts[k]; !ok {
				return nil, fmt.Errorf("no tensor %q in the graph", k)
			}
		}
	}
	b.allocate()
	m.plans[key] = p
	return p, nil
}

// node plans one graph node: it either becomes a step or, when its inputs are all
// constant, is evaluated now and its outputs become constants.
func (b *planner) node(n *node) error {
	b.cur, b.curIn, b.curOut, b.curRun, b.curConst = n, nil, nil, nil, true
	for _, v := range n.in {
		if v == "" {
			continue
		}
		_, isVal := b.p.vals[v]
		_, isC := b.p.consts[v]
		_, isI := b.p.ints[v]
		if !isVal && !isC && !isI {
			return fmt.Errorf("input %q is not computed before this node", v)
		}
		if isVal {
			b.curConst = false
		}
	}
	if err := builders[n.op](b, n); err != nil {
		return err
	}
	if b.curRun == nil {
		return nil // integer shape arithmetic or an alias: nothing runs
	}
	if b.curConst {
		for _, o := range b.curOut {
			t := b.p.vals[o]
			t.Data = make([]float32, tensor.Numel(t.Shape))
		}
		b.curRun()
		for _, o := range b.curOut {
			b.p.consts[o] = b.p.vals[o]
			delete(b.p.vals, o)
		}
		return nil
	}
	idx := len(b.p.steps)
	for _, v := range b.curIn {
		b.use(v, idx)
	}
	for _, o := range b.curOut {
		b.p.first[o] = idx
	}
	b.p.steps = append(b.p.steps, step{node: n, in: b.curIn, run: b.curRun})
	return nil
}

func (b *planner) use(v string, idx int) {
	if r, ok := b.root[v]; ok {
		v = r
	}
	if idx > b.p.last[v] {
		b.p.last[v] = idx
	}
}

// in returns an input tensor: a constant or a runtime buffer (recorded as read).
func (b *planner) in(name string) *tensor.Tensor {
	if t, ok := b.p.consts[name]; ok {
		return t
	}
	t := b.p.vals[name]
	if t != nil {
		b.curIn = append(b.curIn, name)
	}
	return t
}

func (b *planner) shape(name string) []int { return b.p.shapes[name] }

// out declares a float output; its buffer is assigned after liveness analysis.
func (b *planner) out(name string, shape []int) *tensor.Tensor {
	t := &tensor.Tensor{Shape: slices.Clone(shape)}
	b.curOut = append(b.curOut, name)
	b.p.vals[name] = t
	b.p.shapes[name] = t.Shape
	return t
}

// alias declares an output that shares its input's buffer under another shape.
func (b *planner) alias(dst, src string, shape []int) error {
	if tensor.Numel(shape) != tensor.Numel(b.shape(src)) {
		return fmt.Errorf("cannot view %v as %v", b.shape(src), shape)
	}
	if c, ok := b.p.consts[src]; ok {
		b.p.consts[dst] = &tensor.Tensor{Shape: slices.Clone(shape), Data: c.Data}
		b.p.shapes[dst] = slices.Clone(shape)
		return nil
	}
	if v, ok := b.p.ints[src]; ok {
		b.p.ints[dst] = v
		b.p.shapes[dst] = slices.Clone(shape)
		return nil
	}
	r := src
	if rr, ok := b.root[src]; ok {
		r = rr
	}
	b.root[dst] = r
	b.p.vals[dst] = &tensor.Tensor{Shape: slices.Clone(shape)}
	b.p.shapes[dst] = b.p.vals[dst].Shape
	b.use(r, len(b.p.steps)) // the alias is read no earlier than the next step
	return nil
}

// emit sets the function the current node runs.
func (b *planner) emit(run func()) { b.curRun = run }

// setInts records an integer constant output.
func (b *planner) setInts(name string, v []int64, shape []int) {
	b.p.ints[name] = v
	b.p.shapes[name] = slices.Clone(shape)
}

// soleReader returns the only node reading value v, when v is not kept or an output.
func (b *planner) soleReader(v string) *node {
	r := b.readers[v]
	if len(r) != 1 || b.keep[v] || v == b.m.Output {
		return nil
	}
	return r[0]
}

// allocate assigns buffers: a value's buffer returns to the pool after its last reader,
// so the whole run needs only a few activation-sized buffers.
func (b *planner) allocate() {
	p := b.p
	end := len(p.steps)
	for v := range b.keep {
		if r, ok := b.root[v]; ok {
			v = r
		}
		p.last[v] = end
	}
	outName := b.m.Output
	if r, ok := b.root[outName]; ok {
		outName = r
	}
	p.last[outName] = end
	defs := make([][]string, end)
	frees := make([][]string, end+1)
	for v := range p.vals {
		if _, aliased := b.root[v]; aliased || v == b.m.Input {
			continue
		}
		f := p.first[v]
		if f < 0 {
			continue
		}
		defs[f] = append(defs[f], v)
		l := max(p.last[v], f)
		frees[l] = append(frees[l], v)
	}
	var pool [][]float32
	take := func(n int) []float32 {
		best := -1
		for i, buf := range pool {
			if cap(buf) >= n && (best < 0 || cap(buf) < cap(pool[best])) {
				best = i
			}
		}
		if best < 0 {
			return make([]float32, n)
		}
		buf := pool[best]
		pool = slices.Delete(pool, best, best+1)
		return buf[:n]
	}
	for i := range end {
		sort.Strings(defs[i])
		for _, v := range defs[i] {
			t := p.vals[v]
			t.Data = take(tensor.Numel(t.Shape))
		}
		for _, v := range frees[i] {
			pool = append(pool, p.vals[v].Data)
		}
	}
	for v, r := range b.root {
		if t, ok := p.vals[v]; ok {
			src := p.vals[r]
			if src == nil {
				continue
			}
			t.Data = src.Data[:tensor.Numel(t.Shape)]
		}
	}
	if o, ok := p.vals[b.m.Output]; ok {
		p.output = o
	}
}

// checkInput validates an input batch against the model's image size.
func (m *Model) checkInput(x *tensor.Tensor) error {
	if len(x.Shape) != 4 || x.Shape[1] != m.InputShape[0] || x.Shape[2] != m.InputShape[1] || x.Shape[3] != m.InputShape[2] {
		return fmt.Errorf("input %q: got shape %v, want [N %d %d %d]", m.Input, x.Shape, m.InputShape[0], m.InputShape[1], m.InputShape[2])
	}
	if x.Shape[0] < 1 {
		return fmt.Errorf("input %q: empty batch", m.Input)
	}
	return nil
}

// exec runs steps [from, to) of p, checking for cancellation between steps.
func (p *plan) exec(ctx context.Context, from, to int) error {
	for i := from; i < to; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.steps[i].run()
	}
	return nil
}

// Run computes the model's output (logits) for a batch x [N,C,H,W].
func (m *Model) Run(ctx context.Context, x *tensor.Tensor) (*tensor.Tensor, error) {
	out, _, err := m.RunKeep(ctx, x, nil)
	return out, err
}

// RunKeep runs the model and also returns copies of the named intermediate tensors.
func (m *Model) RunKeep(ctx context.Context, x *tensor.Tensor, keep []string) (*tensor.Tensor, map[string]*tensor.Tensor, error) {
	if err := m.checkInput(x); err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := m.plan(x.Shape[0], keep)
	if err != nil {
		return nil, nil, err
	}
	copy(p.input.Data, x.Data)
	if err := p.exec(ctx, 0, len(p.steps)); err != nil {
		return nil, nil, err
	}
	kept := map[string]*tensor.Tensor{}
	for _, k := range keep {
		kept[k] = p.value(k).Clone()
	}
	return p.output.Clone(), kept, nil
}

func (p *plan) value(name string) *tensor.Tensor {
	if t, ok := p.vals[name]; ok {
		return t
	}
	return p.consts[name]
}

// Cut holds the activations of a batch at the point just before one layer runs: every
// tensor computed earlier that the layer or anything after it still reads. RunFrom
// resumes from it, so an edit of the layer re-runs only the rest of the network.
type Cut struct {
	Layer  string
	Batch  int
	Values map[string]*tensor.Tensor
	step   int
}

// Input returns the tensor entering the cut layer (its keys, for a rewrite).
func (c *Cut) Input(m *Model) *tensor.Tensor { return c.Values[m.convs[c.Layer].Input] }

// RunTo runs the model on x up to (not including) the named conv layer.
func (m *Model) RunTo(ctx context.Context, x *tensor.Tensor, layer string) (*Cut, error) {
	if err := m.checkInput(x); err != nil {
		return nil, err
	}
	if _, err := m.Conv(layer); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := m.plan(x.Shape[0], nil)
	if err != nil {
		return nil, err
	}
	k := p.stepOf(layer)
	copy(p.input.Data, x.Data)
	if err := p.exec(ctx, 0, k); err != nil {
		return nil, err
	}
	c := &Cut{Layer: layer, Batch: x.Shape[0], Values: map[string]*tensor.Tensor{}, step: k}
	for _, v := range p.liveAt(k) {
		c.Values[v] = p.vals[v].Clone()
	}
	return c, nil
}

// RunFrom runs the cut layer and everything after it with the current weights.
func (m *Model) RunFrom(ctx context.Context, c *Cut) (*tensor.Tensor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := m.plan(c.Batch, nil)
	if err != nil {
		return nil, err
	}
	for _, v := range p.liveAt(c.step) {
		t, ok := c.Values[v]
		if !ok {
			return nil, fmt.Errorf("cut at %q lacks tensor %q", c.Layer, v)
		}
		if v == m.Input {
			copy(p.input.Data, t.Data)
			continue
		}
		copy(p.vals[v].Data, t.Data)
	}
	if err := p.exec(ctx, c.step, len(p.steps)); err != nil {
		return nil, err
	}
	return p.output.Clone(), nil
}

func (p *plan) stepOf(layer string) int {
	for i, s := range p.steps {
		if s.node.name == layer {
			return i
		}
	}
	return len(p.steps)
}

// liveAt lists the runtime values defined before step k and read at or after it.
func (p *plan) liveAt(k int) []string {
	var live []string
	for v := range p.vals {
		f, ok := p.first[v]
		if !ok {
			continue // an alias: its root is listed
		}
		if f < k && p.last[v] >= k {
			live = append(live, v)
		}
	}
	sort.Strings(live)
	return live
}
