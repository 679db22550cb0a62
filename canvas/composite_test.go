package canvas

import (
	"bytes"
	"image"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulebrush/rulebrush/engine/imageio"
)

// TestExemplarSnowy reproduces <name>_snowy.png = image × (1 − mask) + snow × mask from
// the photo, its road mask and textures/snow.jpg with a default ModeCover paste.
func TestExemplarSnowy(t *testing.T) {
	data := dataDir(t)
	snow, err := imageio.Load(filepath.Join(data, "textures", "snow.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"police_van", "minivan", "pickup", "limousine"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(data, "exemplars")
			// imageio decodes JPEG as libjpeg does (fancy chroma upsampling), as PIL did
			// when the reference was made.
			photo, err := imageio.Load(filepath.Join(dir, name+".jpg"))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := NewDocument(photo)
			if err != nil {
				t.Fatal(err)
			}
			mask, err := ReadMask(filepath.Join(dir, name+"_mask.png"), doc.Bounds().Size())
			if err != nil {
				t.Fatal(err)
			}
			Threshold(mask, 128) // the convention reads the mask as 0 or 1
			if err := doc.InsertMask(0, Mask{"road", mask}); err != nil {
				t.Fatal(err)
			}
			if err := doc.InsertPaste(0, doc.NewPaste(snow, "road")); err != nil {
				t.Fatal(err)
			}
			got := doc.Composite()
			want := toNRGBA(readImage(t, filepath.Join(dir, name+"_snowy.png")))
			if got.Rect != want.Rect {
				t.Fatalf("bounds %v, want %v", got.Rect, want.Rect)
			}
			var sum [3]float64
			for i := 0; i < len(got.Pix); i += 4 {
				for k := 0; k < 3; k++ {
					sum[k] += math.Abs(float64(got.Pix[i+k]) - float64(want.Pix[i+k]))
				}
			}
			n := float64(len(got.Pix) / 4)
			for k, c := range "RGB" {
				mad := sum[k] / n
				t.Logf("%s: mean absolute difference %s = %.3f/255", name, string(c), mad)
				if mad >= 0.25 {
					t.Errorf("%s: mean absolute difference in %c is %.3f/255, want < 0.25/255", name, c, mad)
				}
			}
		})
	}
}

func pasteDoc(t *testing.T) *Document {
	t.Helper()
	doc, err := NewDocument(checker(64, 48))
	if err != nil {
		t.Fatal(err)
	}
	m, err := doc.NewMask("road")
	if err != nil {
		t.Fatal(err)
	}
	Polygon{Points: []Point{{4, 44}, {30, 20}, {60, 44}}, Antialias: true}.Fill(m)
	Brush{Size: 10, Hardness: 0.3}.Segment(m, Point{8, 8}, Point{56, 12})
	return doc
}

func TestPasteGolden(t *testing.T) {
	tex := stripes(20, 14)
	cases := []struct {
		name string
		edit func(*Paste)
	}{
		{"paste_cover", func(p *Paste) {}},
		{"paste_cover_rotated", func(p *Paste) { p.Rotation = 30; p.Scale = 1.5; p.OffsetX = 3.5 }},
		{"paste_tile", func(p *Paste) { p.Mode = ModeTile; p.OffsetX, p.OffsetY = 5, -3 }},
		{"paste_tile_scaled", func(p *Paste) { p.Mode = ModeTile; p.Scale = 0.7; p.Rotation = -20 }},
		{"paste_feather_opacity", func(p *Paste) { p.Feather = 6; p.Opacity = 0.6 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := pasteDoc(t)
			p := doc.NewPaste(tex, "road")
			tc.edit(&p)
			if err := doc.InsertPaste(0, p); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, doc.Composite())
		})
	}
}

func TestCompositeRectMatchesComposite(t *testing.T) {
	doc := pasteDoc(t)
	p := doc.NewPaste(stripes(20, 14), "road")
	p.Feather = 4
	q := doc.NewPaste(stripes(9, 9), "road")
	q.Mode, q.Opacity = ModeTile, 0.5
	for _, x := range []Paste{p, q} {
		if err := doc.InsertPaste(len(doc.Pastes()), x); err != nil {
			t.Fatal(err)
		}
	}
	dst := doc.Composite()
	stroke := &Stroke{Brush: Brush{Size: 9, Hardness: 0.8}}
	for i, pt := range []Point{{5, 30}, {20, 25}, {40, 35}, {62, 20}} {
		stroke.Add(pt)
		dirty := stroke.RasterizeLast(doc.Mask("road"))
		doc.CompositeRect(dst, doc.Spread(dirty))
		if want := doc.Composite(); !bytes.Equal(dst.Pix, want.Pix) {
			t.Fatalf("after segment %d the incremental composite differs from a full one", i)
		}
	}
}

func TestCompositeOutsideMaskIsOriginal(t *testing.T) {
	doc := pasteDoc(t)
	p := doc.NewPaste(stripes(20, 14), "road")
	p.Mode, p.Rotation = ModeTile, 45
	if err := doc.InsertPaste(0, p); err != nil {
		t.Fatal(err)
	}
	out, m, img := doc.Composite(), doc.Mask("road"), doc.Image()
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			if v := m.AlphaAt(x, y).A; v == 0 && out.NRGBAAt(x, y) != img.NRGBAAt(x, y) {
				t.Fatalf("(%d,%d) outside the mask changed", x, y)
			}
			if v := m.AlphaAt(x, y).A; v == 255 && out.NRGBAAt(x, y) == img.NRGBAAt(x, y) {
				t.Fatalf("(%d,%d) inside the mask kept the photo", x, y)
			}
		}
	}
}

// TestTileSeamless checks that a tile resampled to a new size still wraps smoothly:
// neighbours across the wrap differ no more than neighbours inside the tile.
func TestTileSeamless(t *testing.T) {
	tex := stripes(40, 40)
	for _, s := range []float64{0.55, 1.7} {
		p := Paste{ID: 1, Texture: tex, Mode: ModeTile, Scale: s, Opacity: 1}
		n := int(math.Round(40 * s))
		img := RenderTexture(p, 2*n, 2*n)
		maxStep := func(x0, x1 int) int {
			worst := 0
			for y := 0; y < n; y++ {
				a, b := img.NRGBAAt(x0, y), img.NRGBAAt(x1, y)
				worst = max(worst, absDiff(a.R, b.R), absDiff(a.B, b.B))
			}
			return worst
		}
		inside, across := 0, maxStep(n-1, n)
		for x := 1; x < n-1; x++ {
			inside = max(inside, maxStep(x-1, x))
		}
		if across > inside+2 {
			t.Errorf("scale %g: step across the tile seam %d, inside the tile at most %d", s, across, inside)
		}
	}
}

func absDiff(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }

func TestPasteValidation(t *testing.T) {
	doc := pasteDoc(t)
	good := doc.NewPaste(stripes(4, 4), "road")
	cases := []struct {
		name string
		edit func(*Paste)
		want string
	}{
		{"nil-texture", func(p *Paste) { p.Texture = nil }, "texture is empty (0x0)"},
		{"zero-texture", func(p *Paste) { p.Texture = image.NewNRGBA(image.Rect(0, 0, 0, 5)) }, "texture is empty (0x5)"},
		{"no-mask", func(p *Paste) { p.Mask = "sky" }, `no mask "sky"`},
		{"mode", func(p *Paste) { p.Mode = 7 }, "unknown mode 7"},
		{"scale", func(p *Paste) { p.Scale = -1 }, "scale -1"},
		{"opacity", func(p *Paste) { p.Opacity = 1.5 }, "opacity 1.5"},
		{"feather", func(p *Paste) { p.Feather = math.NaN() }, "feather NaN"},
		{"rotation", func(p *Paste) { p.Rotation = math.Inf(1) }, "rotation +Inf"},
	}
	for _, tc := range cases {
		p := good
		tc.edit(&p)
		err := doc.InsertPaste(0, p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if len(doc.Pastes()) != 0 {
		t.Fatal("an invalid paste was added")
	}
	if err := doc.InsertPaste(0, good); err != nil {
		t.Fatal(err)
	}
	if err := doc.InsertPaste(1, good); err == nil {
		t.Error("a duplicate paste ID was accepted")
	}
	if _, _, err := doc.DeleteMask("road"); err == nil {
		t.Error("deleted a mask a paste still uses")
	}
}

func TestDocumentMasks(t *testing.T) {
	doc, err := NewDocument(checker(10, 8))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewDocument(image.NewNRGBA(image.Rect(0, 0, 0, 3))); err == nil {
		t.Error("empty image accepted")
	}
	if _, err := doc.NewMask("road"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"road", "", "../x", ".hidden", "a b"} {
		if _, err := doc.NewMask(name); err == nil {
			t.Errorf("mask name %q accepted", name)
		}
	}
	err = doc.InsertMask(1, Mask{"sky", image.NewAlpha(image.Rect(0, 0, 11, 8))})
	if err == nil || !strings.Contains(err.Error(), "mask \"sky\" is 11x8, image is 10x8") {
		t.Errorf("wrong-size mask: error %v", err)
	}
	big := image.NewAlpha(image.Rect(0, 0, 20, 16))
	Fill(big)
	if err := doc.InsertMask(1, Mask{"sky", ResizeMask(big, 10, 8)}); err != nil {
		t.Fatal(err)
	}
	if got := Coverage(doc.Mask("sky")); got != 1 {
		t.Errorf("resized full mask covers %g", got)
	}
	if _, _, err := doc.DeleteMask("sky"); err != nil || doc.Mask("sky") != nil {
		t.Errorf("DeleteMask: %v", err)
	}
}

func TestMixRounding(t *testing.T) {
	o := []uint8{100, 0, 255, 255}
	mix(o, []uint8{200, 255, 0, 255}, 127.5)
	if want := []uint8{150, 128, 128, 255}; !bytes.Equal(o, want) {
		t.Errorf("half blend %v, want %v", o, want)
	}
	o = []uint8{1, 2, 3, 40}
	mix(o, []uint8{9, 8, 7, 255}, 255)
	if want := []uint8{9, 8, 7, 255}; !bytes.Equal(o, want) {
		t.Errorf("full blend %v, want %v", o, want)
	}
	o = []uint8{1, 2, 3, 40}
	mix(o, []uint8{9, 8, 7, 0}, 255)
	if want := []uint8{1, 2, 3, 40}; !bytes.Equal(o, want) {
		t.Errorf("transparent texture changed the pixel: %v", o)
	}
}

// A large feathered blend is split into bands over the cores; the bands give the pixels
// one pass over the whole region gives, up to the rounding of the blur's running sums
// (one level).
func TestFeatheredBandsMatchOnePass(t *testing.T) {
	const w, h = 700, 600
	mask := image.NewAlpha(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			if (x-350)*(x-350)+(y-300)*(y-300) < 250*250 || (x/37+y/53)%3 == 0 {
				mask.Pix[y*mask.Stride+x] = 255
			}
		}
	}
	tex := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range tex.Pix {
		tex.Pix[i] = uint8(i * 13)
	}
	base := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range base.Pix {
		base.Pix[i] = uint8(i * 7)
	}
	banded, whole := clone(base), clone(base)
	r := image.Rect(3, 5, w-2, h-1)
	blendFeathered(banded, tex, mask, r, 0.8, 6)
	blendFeatheredBand(whole, tex, mask, r, 0.8, 6)
	differ := 0
	for i, v := range banded.Pix {
		d := int(v) - int(whole.Pix[i])
		if d < -1 || d > 1 {
			t.Fatalf("byte %d: banded %d, one pass %d", i, v, whole.Pix[i])
		}
		if d != 0 {
			differ++
		}
	}
	t.Logf("%d of %d bytes differ by one level", differ, len(banded.Pix))
	if bytes.Equal(banded.Pix, base.Pix) {
		t.Fatal("the blend changed nothing")
	}
}

func clone(m *image.NRGBA) *image.NRGBA {
	c := *m
	c.Pix = append([]uint8(nil), m.Pix...)
	return &c
}
