//go:build ignore

// gen_icon writes icon.png from assets.Icon; run it with `go generate ./assets`.
package main

import (
	"bytes"
	"image/png"
	"log"
	"os"

	"github.com/rulebrush/rulebrush/assets"
)

func main() {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, assets.Icon()); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("icon.png", buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
