package engine

import (
	"fmt"
	"math"

	"github.com/rulebrush/rulebrush/engine/ops"
)

// Block is a conv layer with the element-wise tail that follows it: the unit whose output
// a rewrite matches. The tail is out = Post(Pre(conv) + residual), where Pre and Post
// may be the identity (ops.ActNone) and Residual may be empty.
type Block struct {
	Conv     *Conv
	Pre      ops.Activation // activation applied to the conv's output (BN is already folded)
	Residual string         // tensor added after Pre, computed from the same image; "" if none
	Post     ops.Activation // activation after the residual Add
	Output   string         // the block's output tensor
}

// Block describes the element-wise tail after an editable conv layer.
func (m *Model) Block(layer string) (*Block, error) {
	c, ok := m.convs[layer]
	if !ok || !c.Editable() {
		return nil, fmt.Errorf("layer %q is not an editable conv (editable layers: %v)", layer, m.EditableNames())
	}
	readers := map[string][]*node{}
	for _, n := range m.nodes {
		for _, v := range n.in {
			readers[v] = append(readers[v], n)
		}
	}
	b := &Block{Conv: c, Output: c.Output}
	// next returns the sole reader of the current output, if the output is not a graph output.
	next := func() *node {
		r := readers[b.Output]
		if len(r) != 1 || b.Output == m.Output {
			return nil
		}
		return r[0]
	}
	n := next()
	if act, ok := m.elementwiseAct(n); ok {
		b.Pre, b.Output = act, n.out[0]
		n = next()
	}
	if n != nil && n.op == "Add" && len(n.in) == 2 {
		other := n.in[0]
		if other == b.Output {
			other = n.in[1]
		}
		if !m.isConst(other) && other != b.Output {
			b.Residual, b.Output = other, n.out[0]
			n = next()
			if act, ok := m.elementwiseAct(n); ok {
				b.Post, b.Output = act, n.out[0]
			}
		}
	}
	return b, nil
}

// elementwiseAct returns the activation a Relu, LeakyRelu or Clip node with constant
// bounds computes.
func (m *Model) elementwiseAct(n *node) (ops.Activation, bool) {
	if n == nil {
		return ops.Activation{}, false
	}
	switch n.op {
	case "Relu":
		return ops.Activation{Kind: ops.ActRelu}, true
	case "LeakyRelu":
		return ops.Activation{Kind: ops.ActLeakyRelu, Alpha: n.attrs.Float("alpha", 0.01)}, true
	case "Clip":
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		if m.file.Opset < 11 {
			lo, hi = n.attrs.Float("min", lo), n.attrs.Float("max", hi)
		} else {
			for i, dst := range []*float32{&lo, &hi} {
				if len(n.in) <= i+1 || n.in[i+1] == "" {
					continue
				}
				c, ok := m.consts[n.in[i+1]]
				if !ok || len(c.Data) != 1 {
					return ops.Activation{}, false
				}
				*dst = c.Data[0]
			}
		}
		return ops.Activation{Kind: ops.ActClip, Min: lo, Max: hi}, true
	}
	return ops.Activation{}, false
}
