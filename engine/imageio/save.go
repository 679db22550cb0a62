package imageio

import (
	"bufio"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
)

// SavePNG encodes img as PNG at path. It writes a temporary file in the same folder,
// syncs it and renames it over path, so readers see either the old file or the complete
// new one, and a failed save leaves any previous file intact.
func SavePNG(path string, img image.Image) error {
	err := WriteFileAtomic(path, func(w io.Writer) error { return png.Encode(w, img) })
	if err != nil {
		return fmt.Errorf("imageio: save %s: %w", path, err)
	}
	return nil
}

// WriteFileAtomic creates or replaces the file at path with what write produces, through
// a synced temporary file in the same folder and a rename. The new file has mode 0644.
func WriteFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
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
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Sync the folder so the rename itself survives a crash; not every system allows it.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
