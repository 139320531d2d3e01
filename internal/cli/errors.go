package cli

import (
	"errors"
	"io/fs"
	"os"

	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/internal/modelpack"
)

// errorCode maps an error to the machine-readable code used in JSON output (and, later, the HTTP API).
func errorCode(err error) string {
	switch {
	case errors.Is(err, imgio.ErrEmpty):
		return "empty_image"
	case errors.Is(err, imgio.ErrUnsupported):
		return "unsupported_format"
	case errors.Is(err, imgio.ErrTruncated):
		return "truncated_image"
	case errors.Is(err, imgio.ErrCorrupt):
		return "corrupt_image"
	case errors.Is(err, imgio.ErrTooLarge):
		return "image_too_large"
	case errors.Is(err, fs.ErrNotExist):
		return "not_found"
	case errors.Is(err, engine.ErrNoFace):
		return "no_face"
	case errors.Is(err, modelpack.ErrNotFound):
		return "models_not_found"
	case errors.Is(err, modelpack.ErrChecksum):
		return "models_corrupt"
	}
	return "internal"
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
