package canvas_test

import (
	"fmt"
	"image"

	"github.com/rulebrush/rulebrush/canvas"
)

// A drag paints a road mask segment by segment, the composite follows the dirty
// rectangles, and the finished stroke becomes one undoable edit.
func Example() {
	photo := image.NewNRGBA(image.Rect(0, 0, 200, 100))
	doc, _ := canvas.NewDocument(photo)
	doc.NewMask("road")
	snow := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	for i := 0; i < len(snow.Pix); i += 4 {
		snow.Pix[i], snow.Pix[i+1], snow.Pix[i+2], snow.Pix[i+3] = 250, 250, 250, 255
	}
	doc.InsertPaste(0, doc.NewPaste(snow, "road"))
	view := doc.Composite()

	rec, _ := doc.Record("road")
	stroke := &canvas.Stroke{Brush: canvas.Brush{Size: 20, Hardness: 0.8}}
	for _, p := range []canvas.Point{{10, 80}, {90, 70}, {190, 85}} {
		stroke.Add(p)
		doc.CompositeRect(view, doc.Spread(rec.Stroke(stroke)))
	}
	history := canvas.NewHistory(doc)
	history.Push(rec.Finish("Brush"))
	fmt.Printf("painted: %.2f of the image, pixel %v\n", canvas.Coverage(doc.Mask("road")), view.At(100, 75))

	history.Undo()
	fmt.Printf("undone: %.2f of the image\n", canvas.Coverage(doc.Mask("road")))
	// Output:
	// painted: 0.18 of the image, pixel {250 250 250 255}
	// undone: 0.00 of the image
}
