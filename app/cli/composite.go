package cli

import (
	"context"
	"fmt"
	"image"
	"io"
	"strings"

	"github.com/rulebrush/rulebrush/assets"
	"github.com/rulebrush/rulebrush/canvas"
	"github.com/rulebrush/rulebrush/engine/imageio"
)

func init() {
	register("composite", "paste a texture into a masked region of an image", runComposite)
}

// builtinPrefix names a procedural texture from package assets instead of a file.
const builtinPrefix = "builtin:"

func runComposite(ctx context.Context, args []string, out io.Writer) error {
	fs, asJSON := newFlags("composite")
	imagePath := fs.String("image", "", "photo to edit (JPEG, PNG, GIF, BMP, TIFF or WebP)")
	maskPath := fs.String("mask", "", "8-bit greyscale PNG mask the size of the image, 255 = region to fill")
	texPath := fs.String("texture", "", "texture image, or "+builtinPrefix+"NAME for a generated one ("+builtinNames()+")")
	modeName := fs.String("mode", "cover", "cover: scale the texture to cover the image; tile: repeat it at its own size")
	outPath := fs.String("out", "", "output PNG")
	opacity := fs.Float64("opacity", 1, "texture opacity, 0..1")
	feather := fs.Float64("feather", 0, "soften the mask edge over this many pixels")
	hard := fs.Bool("hard", false, "read the mask as 0 or 1 (threshold 128), as the exemplar composites do")
	seed := fs.Uint64("seed", 1, "seed for a "+builtinPrefix+" texture")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *imagePath == "" || *maskPath == "" || *texPath == "" || *outPath == "" {
		return usagef("need --image, --mask, --texture and --out")
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	mode, err := canvas.ParseMode(*modeName)
	if err != nil {
		return usagef("--mode %q: want cover or tile", *modeName)
	}
	if !(*opacity >= 0 && *opacity <= 1) {
		return usagef("--opacity %g: want a number in 0..1", *opacity)
	}
	if !(*feather >= 0) {
		return usagef("--feather %g: want a number of pixels >= 0", *feather)
	}

	photo, err := imageio.Load(*imagePath)
	if err != nil {
		return err
	}
	mask, err := canvas.ReadMask(*maskPath, photo.Rect.Size())
	if err != nil {
		return err
	}
	if *hard {
		canvas.Threshold(mask, 128)
	}
	tex, err := loadTexture(*texPath, photo.Rect.Size(), *seed)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	doc, err := canvas.NewDocument(photo)
	if err != nil {
		return err
	}
	if err := doc.InsertMask(0, canvas.Mask{Name: "mask", Alpha: mask}); err != nil {
		return err
	}
	p := doc.NewPaste(tex, "mask")
	p.Mode, p.Opacity, p.Feather = mode, *opacity, *feather
	if err := doc.InsertPaste(0, p); err != nil {
		return err
	}
	if err := imageio.SavePNG(*outPath, doc.Composite()); err != nil {
		return err
	}

	w, h := photo.Rect.Dx(), photo.Rect.Dy()
	frac := canvas.Coverage(mask)
	if *asJSON {
		return writeJSON(out, struct {
			Out          string  `json:"out"`
			Width        int     `json:"width"`
			Height       int     `json:"height"`
			MaskFraction float64 `json:"mask_fraction"`
		}{*outPath, w, h, frac})
	}
	_, err = fmt.Fprintf(out, "wrote %s (%dx%d, mask covers %.1f%% of the image)\n", *outPath, w, h, 100*frac)
	return err
}

// loadTexture reads a texture file, or generates a builtin texture large enough that a
// tile of it is not stretched over the image.
func loadTexture(path string, size image.Point, seed uint64) (*image.NRGBA, error) {
	name, ok := strings.CutPrefix(path, builtinPrefix)
	if !ok {
		return imageio.Load(path)
	}
	for _, t := range assets.Textures {
		if t.Name == name {
			edge := min(max(size.X, size.Y), 1024)
			return t.Make(edge, edge, seed), nil
		}
	}
	return nil, usagef("--texture %q: no builtin texture %q (have %s)", path, name, builtinNames())
}

func builtinNames() string {
	var names []string
	for _, t := range assets.Textures {
		names = append(names, t.Name)
	}
	return strings.Join(names, ", ")
}
