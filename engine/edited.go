package engine

// EditedBefore returns the conv layers that come before layer in graph order and whose
// weights were replaced with SetWeights. With the model file, their current weights
// determine the layer's input, so caches of anything computed from that input (key
// statistics) must be keyed by them too.
func (m *Model) EditedBefore(layer string) ([]*Conv, error) {
	if _, err := m.Conv(layer); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Conv
	for _, name := range m.order {
		if name == layer {
			break
		}
		if c := m.convs[name]; c.edited {
			out = append(out, c)
		}
	}
	return out, nil
}
