package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/rulebrush/rulebrush/engine/onnx"
	"github.com/rulebrush/rulebrush/engine/ops"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Model is a loaded classifier. Its methods are safe for concurrent use: runs are
// serialised because a plan's activation buffers are shared.
type Model struct {
	Path   string
	Hash   string // sha256 of the ONNX file, for caches keyed by model
	Input  string // graph input name
	Output string // graph output name (the logits)
	// InputShape is [C, H, W]; the batch dimension is free.
	InputShape [3]int
	Pre        Preprocess

	file   *onnx.Model
	nodes  []*node
	consts map[string]*tensor.Tensor // float constants: initializers, Constant nodes, folded weights
	ints   map[string][]int64        // integer constants (shapes, axes, indices)
	shapes map[string][]int          // shapes of the constants in consts and ints
	convs  map[string]*Conv          // by node name
	order  []string                  // conv node names in graph order

	mu    sync.Mutex
	plans map[planKey]*plan
	// filters are the kernels' derived filters, shared by all plans: they run one at a
	// time, under mu.
	filters ops.FilterCache
}

// node is one graph operation after load-time rewriting.
type node struct {
	index   int
	name    string
	op      string
	in, out []string
	attrs   onnx.Node
	conv    *Conv
}

// LoadOptions adjust how a model is prepared.
type LoadOptions struct {
	// KeepBatchNorm leaves BatchNormalization as its own node instead of folding it into
	// the preceding Conv, so the Conv's own output stays observable.
	KeepBatchNorm bool
}

// Load reads an ONNX classifier from a file.
func Load(path string) (*Model, error) { return LoadWith(path, LoadOptions{}) }

// LoadWith reads an ONNX classifier from a file with options.
func LoadWith(path string, opt LoadOptions) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	om, err := onnx.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := fromONNX(om, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.Path = path
	m.Hash = hex.EncodeToString(h.Sum(nil))
	return m, nil
}

func fromONNX(om *onnx.Model, opt LoadOptions) (*Model, error) {
	g := om.Graph
	if len(g.Inputs) != 1 {
		return nil, fmt.Errorf("model has %d inputs, want one image input", len(g.Inputs))
	}
	if len(g.Outputs) < 1 {
		return nil, fmt.Errorf("model has no outputs")
	}
	in := g.Inputs[0]
	if len(in.Dims) != 4 {
		return nil, fmt.Errorf("input %q has shape %v, want [N,C,H,W]", in.Name, in.Dims)
	}
	m := &Model{
		Input:  in.Name,
		Output: g.Outputs[0].Name,
		file:   om,
		consts: map[string]*tensor.Tensor{},
		ints:   map[string][]int64{},
		shapes: map[string][]int{},
		convs:  map[string]*Conv{},
		plans:  map[planKey]*plan{},
	}
	for i := range 3 {
		m.InputShape[i] = int(in.Dims[i+1])
	}
	for name, t := range g.Initializers {
		if err := m.addConst(name, t); err != nil {
			return nil, fmt.Errorf("initializer %q: %w", name, err)
		}
	}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.Domain != "" {
			return nil, fmt.Errorf("node %q: unsupported op %s:%s (custom domain)", n.Name, n.Domain, n.OpType)
		}
		if _, ok := builders[n.OpType]; !ok {
			return nil, fmt.Errorf("node %q: unsupported op %q", n.Name, n.OpType)
		}
		m.nodes = append(m.nodes, &node{name: n.Name, op: n.OpType, in: n.Inputs, out: n.Outputs, attrs: *n})
	}
	if err := m.foldConstants(); err != nil {
		return nil, err
	}
	if err := m.bindConvs(); err != nil {
		return nil, err
	}
	if !opt.KeepBatchNorm {
		m.foldBatchNorm()
	}
	for i, n := range m.nodes {
		n.index = i
	}
	var err error
	if m.Pre, err = preprocessFromMetadata(om.Metadata, m.InputShape); err != nil {
		return nil, err
	}
	// Resolve shapes once now so a broken graph fails at load, not at the first run.
	if m.InputShape[0] <= 0 || m.InputShape[1] <= 0 || m.InputShape[2] <= 0 {
		return nil, fmt.Errorf("input %q has no fixed C,H,W in %v", in.Name, in.Dims)
	}
	if _, err := m.plan(1, nil); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Model) addConst(name string, t *onnx.Tensor) error {
	shape := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		shape[i] = int(d)
	}
	switch {
	case t.DataType.IsFloat():
		if len(t.Float) != tensor.Numel(shape) {
			return fmt.Errorf("%d values for shape %v", len(t.Float), shape)
		}
		m.consts[name] = &tensor.Tensor{Shape: shape, Data: t.Float}
	case t.DataType.IsInt():
		m.ints[name] = t.Int
	default:
		// Kept in the file; an op that uses it as a number reports it.
		return nil
	}
	m.shapes[name] = shape
	return nil
}

// foldConstants evaluates Constant nodes and Identity/Dropout on constants at load, so
// exporters' shared initializers and Constant-fed Clip bounds become plain constants.
func (m *Model) foldConstants() error {
	kept := m.nodes[:0]
	for _, n := range m.nodes {
		switch {
		case n.op == "Constant":
			a, ok := n.attrs.Attrs["value"]
			if !ok || a.T == nil {
				v, err := constantScalar(n)
				if err != nil {
					return err
				}
				a.T = v
			}
			if err := m.addConst(n.out[0], a.T); err != nil {
				return fmt.Errorf("node %q (Constant): %w", n.name, err)
			}
			continue
		case (n.op == "Identity" || n.op == "Dropout") && m.isConst(n.in[0]):
			m.alias(n.out[0], n.in[0])
			continue
		}
		kept = append(kept, n)
	}
	m.nodes = kept
	return nil
}

func constantScalar(n *node) (*onnx.Tensor, error) {
	if a, ok := n.attrs.Attrs["value_float"]; ok {
		return &onnx.Tensor{DataType: onnx.Float, Float: []float32{a.F}}, nil
	}
	if a, ok := n.attrs.Attrs["value_floats"]; ok {
		return &onnx.Tensor{DataType: onnx.Float, Dims: []int64{int64(len(a.Floats))}, Float: a.Floats}, nil
	}
	if a, ok := n.attrs.Attrs["value_int"]; ok {
		return &onnx.Tensor{DataType: onnx.Int64, Int: []int64{a.I}}, nil
	}
	if a, ok := n.attrs.Attrs["value_ints"]; ok {
		return &onnx.Tensor{DataType: onnx.Int64, Dims: []int64{int64(len(a.Ints))}, Int: a.Ints}, nil
	}
	return nil, fmt.Errorf("node %q (Constant): no supported value attribute", n.name)
}

func (m *Model) isConst(name string) bool {
	_, f := m.consts[name]
	_, i := m.ints[name]
	return f || i
}

func (m *Model) alias(dst, src string) {
	if t, ok := m.consts[src]; ok {
		m.consts[dst] = t
	}
	if v, ok := m.ints[src]; ok {
		m.ints[dst] = v
	}
	m.shapes[dst] = m.shapes[src]
}

// consumers counts, for each value, the nodes reading it (graph outputs count as one).
func (m *Model) consumers() map[string]int {
	c := map[string]int{}
	for _, n := range m.nodes {
		for _, v := range n.in {
			c[v]++
		}
	}
	for _, o := range m.file.Graph.Outputs {
		c[o.Name]++
	}
	return c
}

// foldBatchNorm merges BatchNormalization into the Conv feeding it when the Conv's output
// has no other reader: w' = w*s, b' = (b-mean)*s + beta with s = gamma/sqrt(var+eps).
func (m *Model) foldBatchNorm() {
	producer := map[string]*node{}
	for _, n := range m.nodes {
		for _, o := range n.out {
			producer[o] = n
		}
	}
	uses := m.consumers()
	kept := m.nodes[:0]
	for _, n := range m.nodes {
		if n.op == "BatchNormalization" && len(n.in) == 5 {
			c := producer[n.in[0]]
			if c != nil && c.conv != nil && uses[n.in[0]] == 1 && c.conv.bnScale == nil && m.allConst(n.in[1:]) {
				c.conv.foldBN(m.consts[n.in[1]].Data, m.consts[n.in[2]].Data, m.consts[n.in[3]].Data,
					m.consts[n.in[4]].Data, n.attrs.Float("epsilon", 1e-5))
				c.conv.Output = n.out[0]
				c.out = []string{n.out[0]}
				continue
			}
		}
		kept = append(kept, n)
	}
	m.nodes = kept
}

func (m *Model) allConst(names []string) bool {
	for _, v := range names {
		if _, ok := m.consts[v]; !ok {
			return false
		}
	}
	return true
}

// Save writes the model, with every edited layer's current weights, to path atomically.
func (m *Model) Save(path string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range m.order {
		c := m.convs[name]
		if !c.edited {
			continue
		}
		if err := m.file.SetFloatInitializer(c.weightInit, c.exportWeights()); err != nil {
			return fmt.Errorf("save layer %q: %w", name, err)
		}
	}
	if err := onnx.WriteFile(path, m.file); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// Labels returns the class names, or nil when the model carries none.
func (m *Model) Labels() []string { return m.Pre.Labels }

// Label returns the name of class i, or "class i".
func (m *Model) Label(i int) string {
	if i >= 0 && i < len(m.Pre.Labels) {
		return m.Pre.Labels[i]
	}
	return fmt.Sprintf("class %d", i)
}

// OpCounts returns how many nodes of each op type the loaded graph runs.
func (m *Model) OpCounts() map[string]int {
	c := map[string]int{}
	for _, n := range m.nodes {
		c[n.op]++
	}
	return c
}
