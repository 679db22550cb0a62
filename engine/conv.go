package engine

import (
	"fmt"
	"math"
	"slices"

	"github.com/rulebrush/rulebrush/engine/ops"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Conv is a convolution layer of a loaded model: the unit a rewrite edits. W and B are
// the live parameters the model runs with (BatchNormalization folded in where it was);
// treat them as read-only and change weights through Model.SetWeights.
type Conv struct {
	Name          string // ONNX node name
	Input, Output string // tensor names: the layer's input, and its output after any folded BN
	W             *tensor.Tensor
	B             []float32
	Params        ops.ConvParams

	weightInit string    // initializer that holds W in the file
	bnScale    []float32 // per output channel factor folded in from BN; nil if none
	edited     bool      // set by SetWeights: Save writes only edited layers
}

// Editable reports whether a rank-one rewrite applies: an ordinary (ungrouped) conv.
func (c *Conv) Editable() bool { return c.Params.Group == 1 }

// LayerInfo describes a conv layer for listings and pickers.
type LayerInfo struct {
	Name     string `json:"name"`
	Input    string `json:"input"`
	Output   string `json:"output"`
	InShape  []int  `json:"in_shape"`  // [C,H,W] at the model's input size
	OutShape []int  `json:"out_shape"` // [O,H',W']
	Kernel   [2]int `json:"kernel"`
	Stride   [2]int `json:"stride"`
	Group    int    `json:"group"`
	Editable bool   `json:"editable"`
}

// bindConvs gives every Conv node its own weight tensors, resolved from constants.
func (m *Model) bindConvs() error {
	for _, n := range m.nodes {
		if n.op != "Conv" {
			continue
		}
		c, err := m.newConv(n)
		if err != nil {
			return fmt.Errorf("conv %q: %w", n.name, err)
		}
		n.conv = c
		m.convs[n.name] = c
		m.order = append(m.order, n.name)
	}
	return nil
}

func (m *Model) newConv(n *node) (*Conv, error) {
	if len(n.in) < 2 {
		return nil, fmt.Errorf("needs input and weights")
	}
	w, ok := m.consts[n.in[1]]
	if !ok {
		return nil, fmt.Errorf("weights %q are not constant", n.in[1])
	}
	if len(w.Shape) != 4 {
		return nil, fmt.Errorf("weights %q have shape %v; only 2-D convolutions are supported", n.in[1], w.Shape)
	}
	p, err := convParams(n, w.Shape)
	if err != nil {
		return nil, err
	}
	c := &Conv{
		Name: n.name, Input: n.in[0], Output: n.out[0],
		// W shares the decoded initializer: no copy of large weights at load.
		W:          &tensor.Tensor{Shape: slices.Clone(w.Shape), Data: w.Data},
		B:          make([]float32, w.Shape[0]),
		Params:     p,
		weightInit: m.initializerOf(n.in[1]),
	}
	if len(n.in) > 2 && n.in[2] != "" {
		b, ok := m.consts[n.in[2]]
		if !ok || len(b.Data) != w.Shape[0] {
			return nil, fmt.Errorf("bias %q is not a constant of length %d", n.in[2], w.Shape[0])
		}
		copy(c.B, b.Data)
	}
	return c, nil
}

// initializerOf follows Identity aliases back to the initializer holding a constant.
func (m *Model) initializerOf(name string) string {
	t := m.consts[name]
	for init := range m.file.Graph.Initializers {
		if m.consts[init] == t {
			return init
		}
	}
	return ""
}

func convParams(n *node, wshape []int) (ops.ConvParams, error) {
	a := n.attrs
	p := ops.ConvParams{
		Strides:   [2]int{1, 1},
		Dilations: [2]int{1, 1},
		Group:     int(a.Int("group", 1)),
	}
	if ap := a.String("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID" {
		return p, fmt.Errorf("auto_pad %s is not supported; re-export with explicit pads", ap)
	}
	if k := a.Ints("kernel_shape", nil); k != nil && (len(k) != 2 || int(k[0]) != wshape[2] || int(k[1]) != wshape[3]) {
		return p, fmt.Errorf("kernel_shape %v disagrees with weights %v", k, wshape)
	}
	if s := a.Ints("strides", nil); s != nil {
		if len(s) != 2 {
			return p, fmt.Errorf("strides %v: want 2 values", s)
		}
		p.Strides = [2]int{int(s[0]), int(s[1])}
	}
	if d := a.Ints("dilations", nil); d != nil {
		if len(d) != 2 {
			return p, fmt.Errorf("dilations %v: want 2 values", d)
		}
		p.Dilations = [2]int{int(d[0]), int(d[1])}
	}
	if pd := a.Ints("pads", nil); pd != nil {
		if len(pd) != 4 {
			return p, fmt.Errorf("pads %v: want 4 values", pd)
		}
		p.Pads = [4]int{int(pd[0]), int(pd[1]), int(pd[2]), int(pd[3])}
	}
	if p.Group < 1 || wshape[0]%p.Group != 0 {
		return p, fmt.Errorf("group %d does not divide %d output channels", p.Group, wshape[0])
	}
	return p, nil
}

func (c *Conv) foldBN(gamma, beta, mean, variance []float32, eps float32) {
	o := c.W.Shape[0]
	per := len(c.W.Data) / o
	c.W.Data = slices.Clone(c.W.Data) // the file keeps the unfolded weights
	c.bnScale = make([]float32, o)
	for i := range o {
		s := float32(float64(gamma[i]) / math.Sqrt(float64(variance[i])+float64(eps)))
		c.bnScale[i] = s
		w := c.W.Data[i*per : (i+1)*per]
		for j := range w {
			w[j] *= s
		}
		c.B[i] = (c.B[i]-mean[i])*s + beta[i]
	}
}

// exportWeights returns W in the file's terms, undoing a folded BatchNormalization.
func (c *Conv) exportWeights() []float32 {
	w := slices.Clone(c.W.Data)
	if c.bnScale != nil {
		per := len(w) / len(c.bnScale)
		for i, s := range c.bnScale {
			for j := i * per; j < (i+1)*per; j++ {
				w[j] /= s
			}
		}
	}
	return w
}

// Conv returns the conv layer with the given node name.
func (m *Model) Conv(name string) (*Conv, error) {
	if c, ok := m.convs[name]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("no conv layer %q (editable layers: %v)", name, m.EditableNames())
}

// EditableNames lists the layers a rank-one rewrite can edit, in graph order.
func (m *Model) EditableNames() []string {
	var names []string
	for _, n := range m.order {
		if m.convs[n].Editable() {
			names = append(names, n)
		}
	}
	return names
}

// Layers describes every conv layer at the model's input size, in graph order.
func (m *Model) Layers() ([]LayerInfo, error) {
	p, err := m.plan(1, nil)
	if err != nil {
		return nil, err
	}
	var out []LayerInfo
	for _, name := range m.order {
		c := m.convs[name]
		info := LayerInfo{
			Name: name, Input: c.Input, Output: c.Output,
			Kernel: [2]int{c.W.Shape[2], c.W.Shape[3]}, Stride: c.Params.Strides,
			Group: c.Params.Group, Editable: c.Editable(),
		}
		if s := p.shapeOf(c.Input); s != nil {
			info.InShape = s[1:]
		}
		if s := p.shapeOf(c.Output); s != nil {
			info.OutShape = s[1:]
		}
		out = append(out, info)
	}
	return out, nil
}

// SetWeights replaces a conv layer's live weights (same shape) and marks the layer edited
// so Save writes it. Plans read the weights in place, so the next run uses them.
func (m *Model) SetWeights(layer string, w []float32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.convs[layer]
	if !ok {
		return fmt.Errorf("no conv layer %q", layer)
	}
	if len(w) != len(c.W.Data) {
		return fmt.Errorf("layer %q: %d weights, want %d", layer, len(w), len(c.W.Data))
	}
	copy(c.W.Data, w)
	ops.WeightsChanged(c.W.Data)
	c.edited = true
	if c.weightInit == "" {
		return fmt.Errorf("layer %q: weights are not an initializer, so the edit could not be saved", layer)
	}
	return nil
}
