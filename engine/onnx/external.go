package onnx

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rulebrush/rulebrush/engine/onnx/pb"
)

// inlineExternal loads every initializer stored as external data into its raw_data and
// marks it inline, so the rest of the package sees only inline tensors and a saved model
// is self-contained. Locations are opened through an os.Root on dir, so neither "../"
// nor a symbolic link can reach outside the model's folder.
func inlineExternal(g *pb.GraphProto, dir string) error {
	var root *os.Root
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
		if root != nil {
			root.Close()
		}
	}()
	for _, tp := range g.GetInitializer() {
		if tp.GetDataLocation() != pb.TensorProto_EXTERNAL {
			continue
		}
		ref, err := parseExternal(tp)
		if err != nil {
			return fmt.Errorf("initializer %q: %w", tp.GetName(), err)
		}
		if dir == "" {
			return fmt.Errorf("initializer %q: data is in external file %q; read the model with ReadFile", tp.GetName(), ref.location)
		}
		if root == nil {
			if root, err = os.OpenRoot(dir); err != nil {
				return fmt.Errorf("initializer %q: external data: %w", tp.GetName(), err)
			}
		}
		f := files[ref.location]
		if f == nil {
			if f, err = root.Open(ref.location); err != nil {
				return fmt.Errorf("initializer %q: external data file %q: %w", tp.GetName(), ref.location, openErr(err))
			}
			files[ref.location] = f
		}
		data, err := ref.read(f)
		if err != nil {
			return fmt.Errorf("initializer %q: external data file %q: %w", tp.GetName(), ref.location, err)
		}
		tp.RawData = data
		tp.ExternalData = nil
		tp.DataLocation = nil
	}
	return nil
}

// openErr makes a missing file's error say where it was looked for.
func openErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("file not found in the model's folder")
	}
	return err
}

type externalRef struct {
	location       string
	offset, length int64 // length -1: to the end of the file
}

func parseExternal(tp *pb.TensorProto) (externalRef, error) {
	ref := externalRef{length: -1}
	for _, kv := range tp.GetExternalData() {
		var err error
		switch kv.GetKey() {
		case "location":
			ref.location = kv.GetValue()
		case "offset":
			ref.offset, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		case "length":
			ref.length, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		}
		if err != nil || ref.offset < 0 || (kv.GetKey() == "length" && ref.length < 0) {
			return ref, fmt.Errorf("external data: bad %s %q", kv.GetKey(), kv.GetValue())
		}
	}
	if ref.location == "" {
		return ref, errors.New("external data has no location")
	}
	if !filepath.IsLocal(ref.location) {
		return ref, fmt.Errorf("external data location %q leaves the model's folder", ref.location)
	}
	return ref, nil
}

// read returns the referenced bytes, checking the file is long enough before allocating.
func (r externalRef) read(f *os.File) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	size := st.Size()
	if r.offset > size {
		return nil, fmt.Errorf("file is %d bytes, data starts at offset %d", size, r.offset)
	}
	n := r.length
	if n < 0 {
		n = size - r.offset
	}
	if n > size-r.offset {
		return nil, fmt.Errorf("file is %d bytes, want %d bytes at offset %d (file short)", size, n, r.offset)
	}
	buf := rawBuffer(int(n))
	if _, err := f.ReadAt(buf, r.offset); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return nil, err
	}
	return buf, nil
}
