package cli

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/facegate/facegate"
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

// problem says in plain words what is wrong with an input file, without package prefixes or the file's name
// (the caller puts that first, once): "not an image", "the JPEG image is truncated", "no such file".
func problem(err error) string {
	if msg, ok := imgio.Describe(err); ok {
		return msg
	}
	if msg, ok := facegate.UserMessage(err); ok {
		return msg
	}
	switch {
	case errors.Is(err, engine.ErrNoFace):
		return "no face found"
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, syscall.EISDIR):
		return "is a folder, not an image file"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error() // the path is the file's name, which the caller prints
	}
	return err.Error()
}

// fileError is a failure of one input file. It prints as "FILE: problem", naming the file once and the problem in
// plain words, and unwraps to the cause (for errorCode and errors.Is).
type fileError struct {
	file string
	err  error
}

func (e *fileError) Error() string { return e.file + ": " + problem(e.err) }
func (e *fileError) Unwrap() error { return e.err }

// fileErr ties err to file; nil stays nil.
func fileErr(file string, err error) error {
	if err == nil {
		return nil
	}
	return &fileError{file: file, err: err}
}

// sourceError is a video source that cannot be opened, said once: "clip.mp4: no such file", or the video layer's
// sentence ("unsupported scheme "ftp" in the source ...").
func sourceError(src string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return fileErr(src, err)
	}
	if msg, ok := facegate.UserMessage(err); ok {
		return errors.New(msg)
	}
	return err
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
