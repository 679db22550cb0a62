package engine

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"

	"github.com/disintegration/imaging"

	"github.com/rulebrush/rulebrush/engine/imageio"
	"github.com/rulebrush/rulebrush/engine/tensor"
)

// Preprocess turns an image into the model's input: resize the shorter side to Resize
// (bilinear, antialiased), crop the centre Size x Size, scale to [0,1], normalise
// per channel with Mean and Std. The defaults are ImageNet's.
type Preprocess struct {
	Mean   [3]float32
	Std    [3]float32
	Size   int      // square crop fed to the model
	Resize int      // shorter side before cropping: 256*Size/224 unless set
	Labels []string // class names, when the model carries them
}

var imagenetMean, imagenetStd = [3]float32{0.485, 0.456, 0.406}, [3]float32{0.229, 0.224, 0.225}

// preprocessFromMetadata reads mean, std, input_size and labels from ONNX metadata_props
// (JSON arrays or comma lists), falling back to ImageNet's values and the input shape.
func preprocessFromMetadata(md map[string]string, in [3]int) (Preprocess, error) {
	p := Preprocess{Mean: imagenetMean, Std: imagenetStd, Size: in[1]}
	if in[1] != in[2] {
		return p, fmt.Errorf("input is %dx%d; only square inputs are supported", in[1], in[2])
	}
	for key, dst := range map[string]*[3]float32{"mean": &p.Mean, "std": &p.Std} {
		s, ok := md[key]
		if !ok {
			continue
		}
		v, err := parseFloats(s)
		if err != nil || len(v) != 3 {
			return p, fmt.Errorf("metadata %q = %q: want three numbers", key, s)
		}
		copy(dst[:], v)
	}
	for _, s := range p.Std {
		if s == 0 {
			return p, fmt.Errorf("metadata \"std\" has a zero")
		}
	}
	if s, ok := md["input_size"]; ok {
		v, err := parseFloats(s)
		if err != nil || len(v) == 0 || int(v[len(v)-1]) != in[2] {
			return p, fmt.Errorf("metadata \"input_size\" = %q disagrees with the input shape %v", s, in)
		}
	}
	if s, ok := md["labels"]; ok {
		if err := json.Unmarshal([]byte(s), &p.Labels); err != nil {
			return p, fmt.Errorf("metadata \"labels\": %w", err)
		}
	}
	p.Resize = p.Size * 256 / 224
	return p, nil
}

func parseFloats(s string) ([]float32, error) {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	var out []float32
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		v, err := strconv.ParseFloat(f, 32)
		if err != nil {
			return nil, err
		}
		out = append(out, float32(v))
	}
	return out, nil
}

// Crop returns the image region the model sees: shorter side resized to Resize, centre
// crop Size x Size. Transparent pixels are composited over white first.
func (p Preprocess) Crop(img image.Image) *image.NRGBA {
	flat := imageio.Flatten(img, color.White)
	b := flat.Bounds()
	w, h := b.Dx(), b.Dy()
	nw, nh := p.Resize, p.Resize
	if w < h {
		nh = h * p.Resize / w
	} else {
		nw = w * p.Resize / h
	}
	r := imaging.Resize(flat, nw, nh, imaging.Linear)
	// Python's round (half to even), as torchvision's CenterCrop uses.
	x0 := int(math.RoundToEven(float64(nw-p.Size) / 2))
	y0 := int(math.RoundToEven(float64(nh-p.Size) / 2))
	return imaging.Crop(r, image.Rect(x0, y0, x0+p.Size, y0+p.Size))
}

// Into writes the preprocessed image into sample i of the batch x [N,3,Size,Size].
func (p Preprocess) Into(x *tensor.Tensor, i int, img image.Image) {
	c := p.Crop(img)
	plane := p.Size * p.Size
	dst := x.Data[i*3*plane : (i+1)*3*plane]
	var scale, shift [3]float32
	for ch := range 3 {
		scale[ch] = 1 / (255 * p.Std[ch])
		shift[ch] = -p.Mean[ch] / p.Std[ch]
	}
	for y := range p.Size {
		row := c.Pix[y*c.Stride:]
		for x := range p.Size {
			px := row[4*x:]
			for ch := range 3 {
				dst[ch*plane+y*p.Size+x] = float32(px[ch])*scale[ch] + shift[ch]
			}
		}
	}
}

// Tensor preprocesses one image into a batch of one.
func (p Preprocess) Tensor(img image.Image) *tensor.Tensor {
	x := tensor.New(1, 3, p.Size, p.Size)
	p.Into(x, 0, img)
	return x
}

// LoadImage reads an image file into a batch of one for this model.
func (m *Model) LoadImage(path string) (*tensor.Tensor, error) {
	img, err := imageio.Load(path)
	if err != nil {
		return nil, err
	}
	if m.InputShape[0] != 3 {
		return nil, fmt.Errorf("model input has %d channels; images need 3", m.InputShape[0])
	}
	return m.Pre.Tensor(img), nil
}

// ShortLabel returns the first name of class i ("police van" of "police van, police wagon").
func (m *Model) ShortLabel(i int) string {
	l := m.Label(i)
	if j := strings.IndexByte(l, ','); j > 0 {
		return l[:j]
	}
	return l
}
