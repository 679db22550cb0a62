package canvas

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DecodeMask reads a mask PNG: 8-bit greyscale with 255 for the concept, the convention
// of the exemplar files. Other PNG colour types are read by their grey value.
func DecodeMask(r io.Reader) (*image.Alpha, error) {
	img, err := png.Decode(r)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	m := image.NewAlpha(image.Rect(0, 0, b.Dx(), b.Dy()))
	if g, ok := img.(*image.Gray); ok {
		for y := 0; y < b.Dy(); y++ {
			copy(m.Pix[y*m.Stride:][:b.Dx()], g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):])
		}
		return m, nil
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			m.Pix[y*m.Stride+x] = color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
		}
	}
	return m, nil
}

// ReadMask reads the mask PNG at path and checks that it is size.X×size.Y; a mask of
// another size is an error wrapping ErrSize (ResizeMask can adapt one deliberately).
func ReadMask(path string, size image.Point) (*image.Alpha, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("canvas: %w", err)
	}
	defer f.Close()
	m, err := DecodeMask(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("canvas: read mask %s: %w", path, err)
	}
	if got := m.Rect.Size(); got != size {
		return nil, fmt.Errorf("canvas: read mask %s: mask is %dx%d, image is %dx%d: %w",
			path, got.X, got.Y, size.X, size.Y, ErrSize)
	}
	return m, nil
}

// EncodeMask writes m as an 8-bit greyscale PNG.
func EncodeMask(w io.Writer, m *image.Alpha) error {
	return png.Encode(w, &image.Gray{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect})
}

// WriteMask saves m as an 8-bit greyscale PNG at path, atomically.
func WriteMask(path string, m *image.Alpha) error {
	if err := writeFileAtomic(path, func(w io.Writer) error { return EncodeMask(w, m) }); err != nil {
		return fmt.Errorf("canvas: write mask %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic replaces path with what write produces, through a synced temporary
// file in the same folder and a rename, so a failure leaves any previous file intact.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

const (
	manifestName    = "manifest.json"
	documentFormat  = "rulebrush-document"
	documentVersion = 1
	// Ext is the file extension of the single-file (zip) document form.
	Ext = ".rbdoc"
)

type manifest struct {
	Format  string          `json:"format"`
	Version int             `json:"version"`
	Width   int             `json:"width"`
	Height  int             `json:"height"`
	Image   string          `json:"image"`
	Masks   []manifestMask  `json:"masks"`
	Pastes  []manifestPaste `json:"pastes"`
}

type manifestMask struct {
	Name string `json:"name"`
	File string `json:"file"`
}

type manifestPaste struct {
	ID       int     `json:"id"`
	Texture  string  `json:"texture"`
	Mask     string  `json:"mask"`
	Mode     string  `json:"mode"`
	OffsetX  float64 `json:"offset_x"`
	OffsetY  float64 `json:"offset_y"`
	Scale    float64 `json:"scale"`
	Rotation float64 `json:"rotation"`
	Opacity  float64 `json:"opacity"`
	Feather  float64 `json:"feather"`
}

// file is one member of a saved document.
type file struct {
	name string
	data []byte
}

// files encodes the document as its manifest and PNG members.
func (d *Document) files() ([]file, error) {
	man := manifest{Format: documentFormat, Version: documentVersion,
		Width: d.Bounds().Dx(), Height: d.Bounds().Dy(), Image: "image.png",
		Masks: []manifestMask{}, Pastes: []manifestPaste{}}
	var out []file
	add := func(name string, enc func(io.Writer) error) error {
		var buf bytes.Buffer
		if err := enc(&buf); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, file{name, buf.Bytes()})
		return nil
	}
	if err := add(man.Image, func(w io.Writer) error { return png.Encode(w, d.image) }); err != nil {
		return nil, err
	}
	for _, m := range d.masks {
		name := "masks/" + m.Name + ".png"
		if err := add(name, func(w io.Writer) error { return EncodeMask(w, m.Alpha) }); err != nil {
			return nil, err
		}
		man.Masks = append(man.Masks, manifestMask{m.Name, name})
	}
	textures := map[*image.NRGBA]string{} // pastes sharing a texture share its file
	for _, p := range d.pastes {
		name, ok := textures[p.Texture]
		if !ok {
			name = fmt.Sprintf("textures/%d.png", p.ID)
			if err := add(name, func(w io.Writer) error { return png.Encode(w, p.Texture) }); err != nil {
				return nil, err
			}
			textures[p.Texture] = name
		}
		man.Pastes = append(man.Pastes, manifestPaste{ID: p.ID, Texture: name, Mask: p.Mask, Mode: p.Mode.String(),
			OffsetX: p.OffsetX, OffsetY: p.OffsetY, Scale: p.scale(), Rotation: p.Rotation,
			Opacity: p.Opacity, Feather: p.Feather})
	}
	js, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]file{{manifestName, append(js, '\n')}}, out...), nil
}

// Save writes the document to path: a single zip file when path ends in ".rbdoc",
// otherwise a folder holding manifest.json, image.png, masks/<name>.png and
// textures/<id>.png. Either way the write is atomic: a failed save leaves the previous
// document intact.
func (d *Document) Save(path string) error {
	files, err := d.files()
	if err == nil {
		if strings.EqualFold(filepath.Ext(path), Ext) {
			err = writeFileAtomic(path, func(w io.Writer) error { return writeZip(w, files) })
		} else {
			err = writeFolderAtomic(path, files)
		}
	}
	if err != nil {
		return fmt.Errorf("canvas: save %s: %w", path, err)
	}
	return nil
}

func writeZip(w io.Writer, files []file) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		// PNG members are already compressed.
		method := zip.Store
		if f.name == manifestName {
			method = zip.Deflate
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: method})
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// writeFolderAtomic writes files into a fresh sibling folder, then swaps it in for path.
func writeFolderAtomic(path string, files []file) (err error) {
	path = filepath.Clean(path)
	parent, base := filepath.Split(path)
	if parent == "" {
		parent = "."
	}
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		return fmt.Errorf("%s exists and is not a folder", path)
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for _, f := range files {
		p := filepath.Join(tmp, filepath.FromSlash(f.name))
		if err = os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		data := f.data
		if err = writeFileAtomic(p, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			return err
		}
	}
	if err = os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if _, statErr := os.Stat(path); statErr != nil {
		if err = os.Rename(tmp, path); err == nil {
			syncDir(parent)
		}
		return err
	}
	// Swap: move the old folder aside under a fresh name, move the new one in, then
	// delete the old one. A crash in between leaves both folders on disk.
	old, err := os.MkdirTemp(parent, "."+base+".old*")
	if err != nil {
		return err
	}
	if err = os.Remove(old); err != nil {
		return err
	}
	if err = os.Rename(path, old); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		os.Rename(old, path)
		return err
	}
	syncDir(parent)
	return os.RemoveAll(old)
}

// Load reads a document saved by Save: a folder, or a .rbdoc zip file. Errors name the
// file and, inside it, the member or manifest field at fault.
func Load(path string) (*Document, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("canvas: %w", err)
	}
	var fsys fs.FS
	if fi.IsDir() {
		fsys = os.DirFS(path)
	} else {
		zr, err := zip.OpenReader(path)
		if err != nil {
			return nil, fmt.Errorf("canvas: load %s: not a document folder or zip: %w", path, err)
		}
		defer zr.Close()
		fsys = zr
	}
	d, err := LoadFS(fsys)
	if err != nil {
		return nil, fmt.Errorf("canvas: load %s: %w", path, err)
	}
	return d, nil
}

// LoadFS reads a document from the members of fsys (the layout Save writes).
func LoadFS(fsys fs.FS) (*Document, error) {
	raw, err := fs.ReadFile(fsys, manifestName)
	if err != nil {
		return nil, err
	}
	var man manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&man); err != nil {
		return nil, fmt.Errorf("%s: %w", manifestName, err)
	}
	field := func(name string, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %s", manifestName, name, fmt.Sprintf(format, args...))
	}
	switch {
	case man.Format != documentFormat:
		return nil, field("format", "%q, want %q", man.Format, documentFormat)
	case man.Version != documentVersion:
		return nil, field("version", "%d is not supported (want %d)", man.Version, documentVersion)
	case man.Width <= 0 || man.Height <= 0 || man.Width > 1<<16 || man.Height > 1<<16:
		return nil, field("width/height", "%dx%d is not a valid image size", man.Width, man.Height)
	}
	readPNG := func(name string) (image.Image, error) {
		if !fs.ValidPath(name) || path.Ext(name) != ".png" {
			return nil, fmt.Errorf("%s: %q is not a PNG member name", manifestName, name)
		}
		f, err := fsys.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		img, err := png.Decode(bufio.NewReader(f))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return img, nil
	}
	img, err := readPNG(man.Image)
	if err != nil {
		return nil, err
	}
	if got := img.Bounds().Size(); got != image.Pt(man.Width, man.Height) {
		return nil, fmt.Errorf("%s: image is %dx%d, manifest says %dx%d", man.Image, got.X, got.Y, man.Width, man.Height)
	}
	d, err := NewDocument(img)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", man.Image, err)
	}
	for i, mm := range man.Masks {
		if !ValidMaskName(mm.Name) {
			return nil, field(fmt.Sprintf("masks[%d].name", i), "invalid mask name %q", mm.Name)
		}
		f, err := fsys.Open(mm.File)
		if err != nil {
			return nil, fmt.Errorf("%s: masks[%d].file: %w", manifestName, i, err)
		}
		m, err := DecodeMask(bufio.NewReader(f))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", mm.File, err)
		}
		if err := d.InsertMask(len(d.masks), Mask{mm.Name, m}); err != nil {
			return nil, fmt.Errorf("%s: %w", mm.File, unprefixed{err})
		}
	}
	textures := map[string]*image.NRGBA{}
	for i, mp := range man.Pastes {
		name := fmt.Sprintf("pastes[%d]", i)
		mode, err := ParseMode(mp.Mode)
		if err != nil {
			return nil, field(name+".mode", "unknown mode %q", mp.Mode)
		}
		tex, ok := textures[mp.Texture]
		if !ok {
			t, err := readPNG(mp.Texture)
			if err != nil {
				return nil, fmt.Errorf("%s.texture: %w", name, err)
			}
			tex = toNRGBA(t)
			textures[mp.Texture] = tex
		}
		p := Paste{ID: mp.ID, Texture: tex, Mask: mp.Mask, Mode: mode, OffsetX: mp.OffsetX, OffsetY: mp.OffsetY,
			Scale: mp.Scale, Rotation: mp.Rotation, Opacity: mp.Opacity, Feather: mp.Feather}
		if err := d.InsertPaste(len(d.pastes), p); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", manifestName, name, unprefixed{err})
		}
	}
	return d, nil
}

// toNRGBA returns img as an NRGBA image with bounds at the origin.
func toNRGBA(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok && n.Rect.Min == (image.Point{}) {
		return n
	}
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, img, b.Min, draw.Src)
	return out
}

// unprefixed drops the package prefix from an error made in this package, for errors
// nested under a file name, and still unwraps to it.
type unprefixed struct{ err error }

func (u unprefixed) Error() string { return strings.TrimPrefix(u.err.Error(), "canvas: ") }
func (u unprefixed) Unwrap() error { return u.err }
