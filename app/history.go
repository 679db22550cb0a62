package app

import "errors"

// Command is one undoable step of a session.
type Command interface {
	Apply(*Session) error
	Revert(*Session) error
	Label() string
}

// History is a linear undo stack: items[:index] are done, items[index:] undone. Pushing
// drops the undone tail.
type History struct {
	items []Command
	index int
}

// ErrNothing is returned by Undo or Redo when there is nothing to undo or redo.
var ErrNothing = errors.New("nothing to undo or redo")

// push records a command that has already been applied.
func (h *History) push(c Command) {
	clear(h.items[h.index:])
	h.items = append(h.items[:h.index], c)
	h.index++
}

// CanUndo reports whether there is a step to undo.
func (h *History) CanUndo() bool { return h.index > 0 }

// CanRedo reports whether there is a step to redo.
func (h *History) CanRedo() bool { return h.index < len(h.items) }

// Len is the number of steps, done or undone.
func (h *History) Len() int { return len(h.items) }

// Index is the number of done steps.
func (h *History) Index() int { return h.index }

// Labels returns every step's label, oldest first.
func (h *History) Labels() []string {
	out := make([]string, len(h.items))
	for i, c := range h.items {
		out[i] = c.Label()
	}
	return out
}
