package app

import (
	"encoding/json"
	"io"

	"github.com/rulebrush/rulebrush/engine/imageio"
)

// Status is a machine-readable summary of what the app shows, for end-to-end tests.
type Status struct {
	History   []string           `json:"history"`
	Index     int                `json:"index"`
	Layer     string             `json:"layer"`
	Exemplars int                `json:"exemplars"`
	Pastes    int                `json:"pastes"`
	MaskPx    int                `json:"mask_pixels"`
	Edits     int                `json:"edits"`
	Top       map[string][]Pred  `json:"top,omitempty"`
	PreviewMS float64            `json:"preview_ms,omitempty"`
	Timings   map[string]float64 `json:"timings_ms,omitempty"`
	// View places the exemplar on screen: window coordinates of its top-left corner and
	// screen pixels per image pixel, so a test can point at image positions.
	View *View `json:"view,omitempty"`
	// Dialog is the title of a question the app is asking, if any.
	Dialog string `json:"dialog,omitempty"`
	// Stats says the layer's key statistics are at hand; Heat is where the shown heatmap's
	// direction comes from: "live" (the painted masks), "rewrite", or "" (none).
	Stats bool   `json:"stats"`
	Heat  string `json:"heat,omitempty"`
}

// View is where the exemplar is drawn in the window.
type View struct {
	X, Y, Scale float64
}

// Status summarises the session and the latest preview r (may be nil).
func (s *Session) Status(r *Result) Status {
	st := Status{History: s.history.Labels(), Index: s.history.index, Layer: s.Layer,
		Exemplars: len(s.Exemplars), Edits: len(s.Edits()), Stats: s.HasStats()}
	if ex := s.Exemplar(); ex != nil {
		st.Pastes = len(ex.Doc.Pastes())
		for _, v := range ex.Mask().Pix {
			if v >= 128 {
				st.MaskPx++
			}
		}
	}
	if r != nil {
		st.Top = map[string][]Pred{
			"original_before": r.Top[0][0], "original_after": r.Top[0][1],
			"modified_before": r.Top[1][0], "modified_after": r.Top[1][1],
		}
		st.PreviewMS = float64(r.Elapsed.Microseconds()) / 1000
		switch {
		case r.Heat != nil && r.HeatLive:
			st.Heat = "live"
		case r.Heat != nil:
			st.Heat = "rewrite"
		}
	}
	return st
}

// WriteStatus writes st as JSON to path, atomically.
func WriteStatus(path string, st Status) error {
	return imageio.WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	})
}
