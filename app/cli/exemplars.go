package cli

import (
	"context"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rulebrush/rulebrush/engine"
	"github.com/rulebrush/rulebrush/engine/imageio"
	"github.com/rulebrush/rulebrush/engine/rewrite"
)

func init() {
	register("exemplars", "find where an exemplar's concept fires in other photos; write masks and composites", runExemplars)
}

type foundExemplar struct {
	Image    string  `json:"image"`
	Mask     string  `json:"mask"`
	Modified string  `json:"modified"`
	Fraction float64 `json:"fraction"` // share of the image's pixels in the mask
}

func runExemplars(ctx context.Context, args []string, out io.Writer) error {
	fs, asJSON := newFlags("exemplars")
	model := fs.String("model", "", "model `M.onnx`")
	layer := fs.String("layer", "", "conv node whose input carries the concept")
	from := fs.String("from", "", "exemplar image showing the concept")
	maskPath := fs.String("mask", "", "the concept region in --from")
	images := fs.String("images", "", "folder of photos to search")
	texture := fs.String("texture", "", "texture pasted into the found regions")
	cov := fs.String("cov-data", "", "folder for the key statistics (default: --images)")
	quantile := fs.Float64("quantile", 0.9, "heatmap quantile, over all photos, above which the concept is said to fire")
	rank := fs.Int("rank", 1, "rank of the concept direction")
	outDir := fs.String("out", "", "output folder")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *layer == "" || *from == "" || *maskPath == "" || *images == "" || *texture == "" || *outDir == "" {
		return usagef("--model, --layer, --from, --mask, --images, --texture and --out are required")
	}
	if *cov == "" {
		*cov = *images
	}
	m, err := engine.Load(*model)
	if err != nil {
		return err
	}
	if _, err := m.Block(*layer); err != nil {
		return err
	}
	req := rewrite.Request{Texture: *texture, Exemplars: []rewrite.ExemplarFiles{{Image: *from, Mask: *maskPath}}}
	ex, err := req.LoadExemplars()
	if err != nil {
		return err
	}
	tex, err := imageio.Load(*texture)
	if err != nil {
		return fmt.Errorf("texture: %w", err)
	}
	covFiles, err := rewrite.ImageFiles(*cov)
	if err != nil {
		return err
	}
	sts, _, err := rewrite.ComputeStats(ctx, m, []string{*layer}, covFiles, rewrite.StatsOptions{})
	if err != nil {
		return err
	}
	d, err := rewrite.ConceptDirection(ctx, m, *layer, sts[*layer], ex, *rank, 0)
	if err != nil {
		return err
	}
	files, err := rewrite.ImageFiles(*images)
	if err != nil {
		return err
	}
	imgs := make([]image.Image, len(files))
	for i, f := range files {
		if imgs[i], err = imageio.Load(f); err != nil {
			return err
		}
	}
	masks, thr, err := rewrite.Search(ctx, m, *layer, d, *rank, imgs, *quantile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	found := []foundExemplar{}
	for i, mk := range masks {
		var on int
		for _, v := range mk.Pix {
			if v > 0 {
				on++
			}
		}
		if on == 0 {
			continue
		}
		comp, err := rewrite.Composite(imgs[i], mk, tex)
		if err != nil {
			return err
		}
		base := strings.TrimSuffix(filepath.Base(files[i]), filepath.Ext(files[i]))
		f := foundExemplar{Image: files[i], Mask: filepath.Join(*outDir, base+"_mask.png"),
			Modified: filepath.Join(*outDir, base+"_modified.png"), Fraction: float64(on) / float64(len(mk.Pix))}
		if err := imageio.SavePNG(f.Mask, mk); err != nil {
			return err
		}
		if err := imageio.SavePNG(f.Modified, comp); err != nil {
			return err
		}
		found = append(found, f)
	}
	if *asJSON {
		return writeJSON(out, map[string]any{"threshold": thr, "quantile": *quantile, "exemplars": found})
	}
	fmt.Fprintf(out, "concept fires above %.4g in %d of %d photos; masks and composites in %s\n", thr, len(found), len(files), *outDir)
	return nil
}
