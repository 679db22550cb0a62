package app

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/rulebrush/rulebrush/canvas"
	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/imageio"
	"github.com/rulebrush/rulebrush/engine/rewrite"
)

// SessionExt is the extension of session files: a zip of a manifest, the exemplar
// documents, the texture and the rewrites with the images they were computed from.
const SessionExt = ".rbsession"

const sessionFormat = 1

type manifest struct {
	Format      int            `json:"format"`
	Model       string         `json:"model"`
	ModelHash   string         `json:"model_hash"`
	Layer       string         `json:"layer"`
	CovData     string         `json:"cov_data,omitempty"`
	Current     int            `json:"current"`
	TextureName string         `json:"texture_name,omitempty"`
	Exemplars   []manifestEx   `json:"exemplars"`
	Edits       []manifestEdit `json:"edits"`
}

type manifestEx struct {
	Name string `json:"name"`
	File string `json:"file"`
}

type manifestEdit struct {
	File   string                  `json:"file"`
	Inputs []rewrite.ExemplarFiles `json:"inputs"`
}

// Snapshot is a private copy of a session's saved state, taken on the UI goroutine and
// written on any other.
type Snapshot struct {
	man     manifest
	docs    []*canvas.Document
	texture *image.NRGBA
	edits   []*RewriteLayer
}

// Snapshot copies what a session file holds. The copy is cheap: pixels are copied once,
// textures and edits (which never change) are shared.
func (s *Session) Snapshot() *Snapshot {
	sn := &Snapshot{texture: s.Texture, man: manifest{Format: sessionFormat, Model: s.Model.Path,
		ModelHash: s.Base.Hash, Layer: s.Layer, CovData: s.CovData, Current: s.Current, TextureName: s.TextureName}}
	for i, ex := range s.Exemplars {
		sn.docs = append(sn.docs, cloneDoc(ex.Doc))
		sn.man.Exemplars = append(sn.man.Exemplars, manifestEx{Name: ex.Name, File: fmt.Sprintf("exemplars/%d%s", i, canvas.Ext)})
	}
	for _, c := range s.history.items[:s.history.index] {
		if rw, ok := c.(*RewriteLayer); ok {
			sn.edits = append(sn.edits, rw)
		}
	}
	return sn
}

// cloneDoc deep-copies a document's image and masks; pastes share their textures.
func cloneDoc(d *canvas.Document) *canvas.Document {
	c, err := canvas.NewDocument(d.Image())
	if err != nil {
		panic(err) // the source document's image is valid
	}
	for i, m := range d.Masks() {
		a := image.NewAlpha(m.Alpha.Rect)
		copy(a.Pix, m.Alpha.Pix)
		if err := c.InsertMask(i, canvas.Mask{Name: m.Name, Alpha: a}); err != nil {
			panic(err)
		}
	}
	for i, p := range d.Pastes() {
		if err := c.InsertPaste(i, p); err != nil {
			panic(err)
		}
	}
	return c
}

// Write saves the snapshot to path atomically: a failed write leaves an earlier file
// intact.
func (sn *Snapshot) Write(path string) error {
	err := imageio.WriteFileAtomic(path, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		add := func(name string, data []byte) error {
			f, err := zw.Create(name)
			if err != nil {
				return err
			}
			_, err = f.Write(data)
			return err
		}
		addPNG := func(name string, img image.Image) error {
			var b bytes.Buffer
			if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			return add(name, b.Bytes())
		}
		for i, d := range sn.docs {
			data, err := docBytes(d)
			if err != nil {
				return fmt.Errorf("exemplar %d: %w", i+1, err)
			}
			if err := add(sn.man.Exemplars[i].File, data); err != nil {
				return err
			}
		}
		if sn.texture != nil {
			if err := addPNG("texture.png", sn.texture); err != nil {
				return err
			}
		}
		man := sn.man
		man.Edits = nil
		for i, rw := range sn.edits {
			dir := fmt.Sprintf("edits/%d/", i)
			js, err := json.Marshal(rw.Edit)
			if err != nil {
				return err
			}
			me := manifestEdit{File: dir + "edit.json"}
			if err := add(me.File, js); err != nil {
				return err
			}
			for j, in := range rw.Inputs {
				f := rewrite.ExemplarFiles{
					Image:    fmt.Sprintf("%sex%d.png", dir, j),
					Mask:     fmt.Sprintf("%sex%d_mask.png", dir, j),
					Modified: fmt.Sprintf("%sex%d_modified.png", dir, j),
				}
				for _, p := range []struct {
					name string
					img  image.Image
				}{{f.Image, in.Original}, {f.Mask, in.Mask}, {f.Modified, in.Modified}} {
					if err := addPNG(p.name, p.img); err != nil {
						return err
					}
				}
				me.Inputs = append(me.Inputs, f)
			}
			man.Edits = append(man.Edits, me)
		}
		js, err := json.MarshalIndent(man, "", "  ")
		if err != nil {
			return err
		}
		if err := add("session.json", js); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return fmt.Errorf("save session %s: %w", path, err)
	}
	return nil
}

// docBytes returns a document in its single-file form.
func docBytes(d *canvas.Document) ([]byte, error) {
	dir, err := os.MkdirTemp("", "rulebrush-doc-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "doc"+canvas.Ext)
	if err := d.Save(p); err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// Save writes the session to path (atomically) and marks it clean.
func (s *Session) Save(path string) error {
	if err := s.Snapshot().Write(path); err != nil {
		return err
	}
	s.Path = path
	s.saved = s.version
	slog.Info("session saved", "path", path)
	return nil
}

// ModelLoader loads a model file as an edited and a pristine model.
type ModelLoader func(path string) (edited, base *engine.Model, err error)

// OpenSession reads a session file. The model it names is loaded with load unless
// current already holds that file (same hash), in which case current's models are
// reused after its edits are undone.
func OpenSession(path string, load ModelLoader, opt Options) (*Session, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("open session %s: %w", path, err)
	}
	defer zr.Close()
	s, err := readSession(zr, load, opt)
	if err != nil {
		return nil, fmt.Errorf("open session %s: %w", path, err)
	}
	s.Path = path
	return s, nil
}

func readSession(fsys fs.FS, load ModelLoader, opt Options) (*Session, error) {
	raw, err := fs.ReadFile(fsys, "session.json")
	if err != nil {
		return nil, err
	}
	var man manifest
	if err := json.Unmarshal(raw, &man); err != nil {
		return nil, fmt.Errorf("session.json: %w", err)
	}
	if man.Format != sessionFormat {
		return nil, fmt.Errorf("session.json: format %d, this build reads %d", man.Format, sessionFormat)
	}
	edited, base, err := load(man.Model)
	if err != nil {
		return nil, err
	}
	if man.ModelHash != "" && base.Hash != man.ModelHash {
		slog.Warn("session model changed since the session was saved", "model", man.Model)
	}
	opt.Layer, opt.CovData = man.Layer, man.CovData
	s, err := NewSession(edited, base, opt)
	if err != nil {
		return nil, err
	}
	for _, me := range man.Exemplars {
		data, err := fs.ReadFile(fsys, me.File)
		if err != nil {
			return nil, err
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", me.File, err)
		}
		d, err := canvas.LoadFS(zr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", me.File, err)
		}
		s.Exemplars = append(s.Exemplars, exemplarOf(me.Name, d))
	}
	s.Current = min(max(man.Current, 0), len(s.Exemplars)-1)
	if data, err := fs.ReadFile(fsys, "texture.png"); err == nil {
		if s.Texture, _, err = imageio.DecodeBytes(data); err != nil {
			return nil, fmt.Errorf("texture.png: %w", err)
		}
		s.TextureName = man.TextureName
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, me := range man.Edits {
		raw, err := fs.ReadFile(fsys, me.File)
		if err != nil {
			return nil, err
		}
		var e rewrite.Edit
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", me.File, err)
		}
		rw := &RewriteLayer{Edit: &e}
		for _, f := range me.Inputs {
			var imgs [3]*image.NRGBA
			for k, name := range []string{f.Image, f.Mask, f.Modified} {
				data, err := fs.ReadFile(fsys, name)
				if err != nil {
					return nil, err
				}
				if imgs[k], _, err = imageio.DecodeBytes(data); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
			}
			rw.Inputs = append(rw.Inputs, rewrite.Exemplar{Original: imgs[0], Mask: grayOf(imgs[1]), Modified: imgs[2]})
		}
		if err := s.Do(rw); err != nil {
			return nil, fmt.Errorf("%s: %w", me.File, err)
		}
		s.direction[e.Layer] = concept{d: e.D, rank: e.Rank}
	}
	s.saved, s.autosaved = s.version, s.version
	return s, nil
}

// grayOf converts a decoded mask back to grey levels.
func grayOf(m *image.NRGBA) *image.Gray {
	g := image.NewGray(m.Rect)
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
			g.Pix[g.PixOffset(x, y)] = m.Pix[m.PixOffset(x, y)]
		}
	}
	return g
}

// ExportModel writes the edited model as ONNX, atomically.
func (s *Session) ExportModel(path string) error {
	if err := s.Model.Save(path); err != nil {
		return fmt.Errorf("export model %s: %w", path, err)
	}
	slog.Info("model exported", "path", path, "edits", len(s.Edits()))
	return nil
}

// ExportRecipe writes the applied rewrites as a recipe for `rulebrush edit --recipe`,
// with their exemplar images in a folder beside it (<recipe>_files). The recipe is
// written last and atomically, so a failed export leaves an earlier recipe intact.
func (s *Session) ExportRecipe(path string) error {
	var rws []*RewriteLayer
	for _, c := range s.history.items[:s.history.index] {
		if rw, ok := c.(*RewriteLayer); ok {
			rws = append(rws, rw)
		}
	}
	if len(rws) == 0 {
		return fmt.Errorf("export recipe: there is no rewrite to export")
	}
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + "_files"
	dir := filepath.Join(filepath.Dir(path), base)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export recipe: %w", err)
	}
	rc := &rewrite.Recipe{Model: s.Base.Path}
	for i, rw := range rws {
		req := rewrite.Request{Layer: rw.Edit.Layer, Rank: rw.Edit.Rank}
		if rw.Edit.Request != nil {
			req.CovData, req.Rank = rw.Edit.Request.CovData, max(rw.Edit.Request.Rank, 1)
		}
		for j, in := range rw.Inputs {
			stem := fmt.Sprintf("edit%d_ex%d", i+1, j+1)
			f := rewrite.ExemplarFiles{
				Image:    filepath.Join(base, stem+".png"),
				Mask:     filepath.Join(base, stem+"_mask.png"),
				Modified: filepath.Join(base, stem+"_modified.png"),
			}
			for _, p := range []struct {
				name string
				img  image.Image
			}{{f.Image, in.Original}, {f.Mask, in.Mask}, {f.Modified, in.Modified}} {
				if err := imageio.SavePNG(filepath.Join(filepath.Dir(path), p.name), p.img); err != nil {
					return fmt.Errorf("export recipe: %w", err)
				}
			}
			req.Exemplars = append(req.Exemplars, f)
		}
		rc.Edits = append(rc.Edits, req)
	}
	if err := rc.Save(path); err != nil {
		return fmt.Errorf("export recipe %s: %w", path, err)
	}
	return nil
}
