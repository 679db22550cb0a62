package rewrite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/imageio"
)

// ExemplarFiles names an exemplar's files. Modified is optional: without it the texture
// is pasted into the mask. Label is the exemplar's true class, used by the fine-tuning
// baselines; without it the model's top-1 class on the original image is used.
type ExemplarFiles struct {
	Image    string `json:"image"`
	Mask     string `json:"mask"`
	Modified string `json:"modified,omitempty"`
	Label    *int   `json:"label,omitempty"`
}

// Request is a serialisable edit request: what `rulebrush edit` and the app's recipes hold.
type Request struct {
	Layer     string          `json:"layer"`
	Exemplars []ExemplarFiles `json:"exemplars"`
	Texture   string          `json:"texture,omitempty"`
	CovData   string          `json:"cov_data"`
	Rank      int             `json:"rank,omitempty"`
	Method    string          `json:"method,omitempty"` // MethodRewrite (default), MethodFinetuneLocal or MethodFinetuneGlobal
	Loss      string          `json:"loss,omitempty"`
	Solver    string          `json:"solver,omitempty"`
	Steps     int             `json:"steps,omitempty"`
	LR        float64         `json:"lr,omitempty"`
	EigFloor  float64         `json:"eig_floor,omitempty"`
}

// Recipe is one or more edit requests applied in order.
type Recipe struct {
	Model string    `json:"model,omitempty"`
	Edits []Request `json:"edits"`
}

// Options returns the rewrite options the request asks for.
func (r *Request) Options() Options {
	return Options{Rank: r.Rank, EigFloor: r.EigFloor,
		SolveOptions: SolveOptions{Loss: r.Loss, Solver: r.Solver, Steps: r.Steps, LR: r.LR}}
}

// FinetuneOptions returns the fine-tuning options the request asks for.
func (r *Request) FinetuneOptions() FinetuneOptions {
	return FinetuneOptions{Global: r.Method == MethodFinetuneGlobal, Steps: r.Steps, LR: r.LR}
}

// CheckMethod reports an unknown method.
func (r *Request) CheckMethod() error {
	switch r.Method {
	case "", MethodRewrite, MethodFinetuneLocal, MethodFinetuneGlobal:
		return nil
	}
	return fmt.Errorf("unknown method %q (want %s, %s or %s)", r.Method, MethodRewrite, MethodFinetuneLocal, MethodFinetuneGlobal)
}

// Labels returns the exemplars' true classes: the request's labels where given, else the
// model's top-1 class on the original image.
func (r *Request) Labels(ctx context.Context, m *engine.Model, ex []Exemplar) ([]int, error) {
	top, err := ExemplarLabels(ctx, m, ex)
	if err != nil {
		return nil, err
	}
	for i, f := range r.Exemplars {
		if f.Label != nil {
			top[i] = *f.Label
		}
	}
	return top, nil
}

// LoadRecipe reads a recipe file: either {"edits": [...]} or a single request. Relative
// paths are resolved against the recipe's folder, then against $RULEBRUSH_DATA.
func LoadRecipe(path string) (*Recipe, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("recipe %s: %w", path, err)
	}
	var rc Recipe
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if _, ok := probe["edits"]; ok {
		err = dec.Decode(&rc)
	} else {
		rc.Edits = make([]Request, 1)
		err = dec.Decode(&rc.Edits[0])
	}
	if err != nil {
		return nil, fmt.Errorf("recipe %s: %w", path, err)
	}
	if len(rc.Edits) == 0 {
		return nil, fmt.Errorf("recipe %s: no edits", path)
	}
	base := filepath.Dir(path)
	for i := range rc.Edits {
		if err := rc.Edits[i].Resolve(base); err != nil {
			return nil, fmt.Errorf("recipe %s, edit %d: %w", path, i+1, err)
		}
	}
	if rc.Model != "" {
		if rc.Model, err = resolve(base, rc.Model); err != nil {
			return nil, fmt.Errorf("recipe %s: %w", path, err)
		}
	}
	return &rc, nil
}

// Save writes the recipe as indented JSON, atomically.
func (rc *Recipe) Save(path string) error {
	return imageio.WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rc)
	})
}

// Resolve makes the request's relative paths point at existing files: first under base,
// then under $RULEBRUSH_DATA.
func (r *Request) Resolve(base string) error {
	var err error
	for _, p := range []*string{&r.Texture, &r.CovData} {
		if *p != "" {
			if *p, err = resolve(base, *p); err != nil {
				return err
			}
		}
	}
	for i := range r.Exemplars {
		e := &r.Exemplars[i]
		for _, p := range []*string{&e.Image, &e.Mask, &e.Modified} {
			if *p != "" {
				if *p, err = resolve(base, *p); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func resolve(base, p string) (string, error) {
	if filepath.IsAbs(p) {
		return p, nil
	}
	tried := []string{filepath.Join(base, p)}
	if d := os.Getenv("RULEBRUSH_DATA"); d != "" {
		tried = append(tried, filepath.Join(d, p))
	}
	for _, t := range tried {
		if _, err := os.Stat(t); err == nil {
			return t, nil
		}
	}
	return "", fmt.Errorf("%s: not found (looked at %v)", p, tried)
}

// LoadExemplars reads the request's images and masks and builds the modified images
// (the given file, or the texture pasted into the mask).
func (r *Request) LoadExemplars() ([]Exemplar, error) {
	if len(r.Exemplars) == 0 {
		return nil, errors.New("no exemplars")
	}
	var tex image.Image
	out := make([]Exemplar, len(r.Exemplars))
	for i, f := range r.Exemplars {
		img, err := imageio.Load(f.Image)
		if err != nil {
			return nil, fmt.Errorf("exemplar %d: %w", i+1, err)
		}
		mask, err := imageio.Load(f.Mask)
		if err != nil {
			return nil, fmt.Errorf("exemplar %d mask: %w", i+1, err)
		}
		if mask.Bounds().Size() != img.Bounds().Size() {
			return nil, fmt.Errorf("exemplar %d: mask %s is %v, image %s is %v: they must be the same size",
				i+1, f.Mask, mask.Bounds().Size(), f.Image, img.Bounds().Size())
		}
		if !nonEmpty(mask) {
			return nil, fmt.Errorf("exemplar %d: mask %s is empty", i+1, f.Mask)
		}
		var mod image.Image
		if f.Modified != "" {
			if mod, err = imageio.Load(f.Modified); err != nil {
				return nil, fmt.Errorf("exemplar %d modified image: %w", i+1, err)
			}
		} else {
			if tex == nil {
				if r.Texture == "" {
					return nil, fmt.Errorf("exemplar %d has no modified image and no texture was given", i+1)
				}
				if tex, err = imageio.Load(r.Texture); err != nil {
					return nil, fmt.Errorf("texture: %w", err)
				}
			}
			if mod, err = Composite(img, mask, tex); err != nil {
				return nil, fmt.Errorf("exemplar %d: %w", i+1, err)
			}
		}
		out[i] = Exemplar{Original: img, Modified: mod, Mask: mask}
	}
	return out, nil
}
