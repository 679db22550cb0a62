package canvas

import (
	"archive/zip"
	"bytes"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sampleDoc(t *testing.T) *Document {
	t.Helper()
	doc := pasteDoc(t)
	sky, err := doc.NewMask("sky")
	if err != nil {
		t.Fatal(err)
	}
	Polygon{Points: []Point{{0, 0}, {64, 0}, {64, 10}, {0, 14}}}.Fill(sky)
	tex := stripes(12, 10)
	p := doc.NewPaste(tex, "road")
	p.Rotation, p.Feather, p.Opacity = 12, 2, 0.8
	q := doc.NewPaste(tex, "sky") // shares the texture
	q.Mode, q.OffsetX, q.Scale = ModeTile, 2.5, 0.5
	for _, x := range []Paste{p, q} {
		if err := doc.InsertPaste(len(doc.Pastes()), x); err != nil {
			t.Fatal(err)
		}
	}
	return doc
}

func sameDocument(t *testing.T, got, want *Document) {
	t.Helper()
	if !bytes.Equal(got.Image().Pix, want.Image().Pix) {
		t.Fatal("image differs")
	}
	gm, wm := got.Masks(), want.Masks()
	if len(gm) != len(wm) {
		t.Fatalf("%d masks, want %d", len(gm), len(wm))
	}
	for i := range wm {
		if gm[i].Name != wm[i].Name || !bytes.Equal(gm[i].Alpha.Pix, wm[i].Alpha.Pix) {
			t.Fatalf("mask %d (%s) differs", i, wm[i].Name)
		}
	}
	gp, wp := got.Pastes(), want.Pastes()
	if len(gp) != len(wp) {
		t.Fatalf("%d pastes, want %d", len(gp), len(wp))
	}
	for i := range wp {
		g, w := gp[i], wp[i]
		if !bytes.Equal(g.Texture.Pix, w.Texture.Pix) {
			t.Fatalf("paste %d texture differs", i)
		}
		g.Texture, w.Texture = nil, nil
		if g != w {
			t.Fatalf("paste %d: %+v, want %+v", i, g, w)
		}
	}
	if !bytes.Equal(got.Composite().Pix, want.Composite().Pix) {
		t.Fatal("composite differs")
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	doc := sampleDoc(t)
	for _, name := range []string{"doc.rbdoc", "docfolder"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			if err := doc.Save(path); err != nil {
				t.Fatal(err)
			}
			// Saving again replaces the previous document.
			if err := doc.Save(path); err != nil {
				t.Fatal(err)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			sameDocument(t, got, doc)
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("%d entries beside the document, want none left over", len(entries)-1)
			}
			if p := got.NewPaste(stripes(2, 2), "road"); p.ID <= doc.Pastes()[1].ID {
				t.Errorf("new paste ID %d reuses a loaded one", p.ID)
			}
		})
	}
}

func TestFolderLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc")
	if err := sampleDoc(t).Save(path); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"manifest.json", "image.png", "masks/road.png", "masks/sky.png", "textures/1.png"} {
		if _, err := os.Stat(filepath.Join(path, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	m, err := ReadMask(filepath.Join(path, "masks", "road.png"), image.Pt(64, 48))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(filepath.Join(path, "masks", "road.png"))
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := img.(*image.Gray); !ok {
		t.Errorf("mask saved as %T, want 8-bit greyscale", img)
	}
	if Coverage(m) == 0 {
		t.Error("saved mask is empty")
	}
}

func TestFailedSaveKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	doc := sampleDoc(t)
	for _, name := range []string{"doc.rbdoc", "folder"} {
		path := filepath.Join(dir, name)
		if err := doc.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	// A paste whose texture cannot be encoded makes the next save fail.
	broken := sampleDoc(t)
	broken.pastes[0].Texture = image.NewNRGBA(image.Rect(0, 0, 0, 0))
	for _, name := range []string{"doc.rbdoc", "folder"} {
		path := filepath.Join(dir, name)
		if err := broken.Save(path); err == nil || !strings.Contains(err.Error(), name) {
			t.Fatalf("save of a broken document: %v", err)
		}
		got, err := Load(path)
		if err != nil {
			t.Fatalf("previous %s unreadable after a failed save: %v", name, err)
		}
		sameDocument(t, got, doc)
	}
	// Failures while writing, after some members are out.
	failing := func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("disk full")
	}
	if err := writeFileAtomic(filepath.Join(dir, "doc.rbdoc"), failing); err == nil {
		t.Fatal("failing write reported success")
	}
	if _, err := broken.files(); err == nil {
		t.Fatal("broken document encoded")
	}
	files, _ := doc.files()
	files = append(files, file{"masks/\x00bad.png", []byte("x")})
	if err := writeFolderAtomic(filepath.Join(dir, "folder"), files); err == nil {
		t.Fatal("folder write with a bad member name reported success")
	}
	for _, name := range []string{"doc.rbdoc", "folder"} {
		got, err := Load(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("previous %s unreadable after a failed write: %v", name, err)
		}
		sameDocument(t, got, doc)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d entries after failed saves, want 2", len(entries))
	}
}

// corrupt returns a zip document built from the sample's files with one member changed.
func corrupt(t *testing.T, member string, change func([]byte) []byte) string {
	t.Helper()
	files, err := sampleDoc(t).files()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		data := f.data
		if f.name == member {
			if data = change(data); data == nil {
				continue
			}
		}
		w, _ := zw.Create(f.name)
		w.Write(data)
	}
	zw.Close()
	path := filepath.Join(t.TempDir(), "bad.rbdoc")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadCorrupt(t *testing.T) {
	replace := func(old, new string) func([]byte) []byte {
		return func(b []byte) []byte { return []byte(strings.Replace(string(b), old, new, 1)) }
	}
	otherMask := func([]byte) []byte {
		var buf bytes.Buffer
		EncodeMask(&buf, image.NewAlpha(image.Rect(0, 0, 30, 30)))
		return buf.Bytes()
	}
	emptyTex := func([]byte) []byte {
		var buf bytes.Buffer
		png.Encode(&buf, image.NewNRGBA(image.Rect(0, 0, 1, 1)))
		return buf.Bytes()[:20]
	}
	cases := []struct {
		name, member string
		change       func([]byte) []byte
		want         string
	}{
		{"no-manifest", "manifest.json", func([]byte) []byte { return nil }, "manifest.json: file does not exist"},
		{"bad-json", "manifest.json", func(b []byte) []byte { return b[:len(b)/2] }, "manifest.json: unexpected EOF"},
		{"format", "manifest.json", replace(`"rulebrush-document"`, `"other"`), `manifest.json: format: "other"`},
		{"version", "manifest.json", replace(`"version": 1`, `"version": 9`), "manifest.json: version: 9 is not supported"},
		{"size", "manifest.json", replace(`"width": 64`, `"width": 65`), "image.png: image is 64x48, manifest says 65x48"},
		{"unknown-field", "manifest.json", replace(`"version"`, `"colour": 1, "version"`), `unknown field "colour"`},
		{"mode", "manifest.json", replace(`"tile"`, `"stretch"`), `manifest.json: pastes[1].mode: unknown mode "stretch"`},
		{"paste-mask", "manifest.json", replace(`"mask": "sky"`, `"mask": "sea"`), `manifest.json: pastes[1]: paste 2: no mask "sea"`},
		{"opacity", "manifest.json", replace(`"opacity": 0.8`, `"opacity": 3`), "manifest.json: pastes[0]: paste 1: opacity 3 is outside 0..1"},
		{"mask-name", "manifest.json", replace(`"name": "sky"`, `"name": "../sky"`), `manifest.json: masks[1].name: invalid mask name "../sky"`},
		{"mask-size", "masks/road.png", otherMask, `masks/road.png: mask "road" is 30x30, image is 64x48`},
		{"image", "image.png", func(b []byte) []byte { return b[:100] }, "image.png: png: invalid format"},
		{"texture", "textures/1.png", emptyTex, "pastes[0].texture: textures/1.png: unexpected EOF"},
		{"escape", "manifest.json", replace(`"textures/1.png"`, `"../3.png"`), `"../3.png" is not a PNG member name`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(corrupt(t, tc.member, tc.change))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.rbdoc") {
				t.Fatalf("error %v, want it to name bad.rbdoc and contain %q", err, tc.want)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "junk.rbdoc")
	os.WriteFile(path, []byte("not a zip"), 0o644)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "junk.rbdoc: not a document") {
		t.Errorf("junk file: %v", err)
	}
}

func TestReadMaskSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.png")
	m := image.NewAlpha(image.Rect(0, 0, 6, 4))
	m.Pix[5] = 255
	if err := WriteMask(path, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadMask(path, image.Pt(6, 4))
	if err != nil || !bytes.Equal(got.Pix, m.Pix) {
		t.Fatalf("round trip: %v", err)
	}
	_, err = ReadMask(path, image.Pt(5, 4))
	if !errors.Is(err, ErrSize) || !strings.Contains(err.Error(), "mask is 6x4, image is 5x4") {
		t.Errorf("wrong size: %v", err)
	}
}
