package imgio

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
)

// plainError attaches the plain-words description Describe returns to an error of the package; its Error text is
// the wrapped error's, so the technical chain (for logs) is unchanged.
type plainError struct {
	err   error
	plain string
}

func (e *plainError) Error() string { return e.err.Error() }
func (e *plainError) Unwrap() error { return e.err }

// withPlain wraps err with a plain-words description.
func withPlain(err error, format string, args ...any) error {
	return &plainError{err: err, plain: fmt.Sprintf(format, args...)}
}

// Describe says in plain words, without package prefixes or decoder detail, what is wrong with the input behind
// an error of Decode or DecodeFile: "not an image", "the JPEG image is truncated", "the image is 50000x50000
// pixels; the limit is 40 megapixels", "the file does not exist". It is what a command line prints after the
// file name and what an API puts before its advice. ok is false for errors that are not the package's.
func Describe(err error) (msg string, ok bool) {
	var pe *plainError
	switch {
	case err == nil:
		return "", false
	case errors.As(err, &pe):
		return pe.plain, true
	case errors.Is(err, ErrEmpty):
		return "the image is empty (0 bytes)", true
	case errors.Is(err, ErrUnsupported):
		return "not an image", true
	case errors.Is(err, ErrTruncated):
		return "the image is truncated", true
	case errors.Is(err, ErrCorrupt):
		return "the image data is corrupt", true
	case errors.Is(err, ErrTooLarge):
		return "the image is too large", true
	case errors.Is(err, fs.ErrNotExist):
		return "no such file", true
	case errors.Is(err, fs.ErrPermission):
		return "permission denied", true
	case errors.Is(err, syscall.EISDIR):
		return "is a folder, not an image file", true
	}
	return "", false
}

// formatName is a format as people write it: JPEG, PNG, GIF, WebP, BMP, PNM.
func formatName(f Format) string {
	if f == WebP {
		return "WebP"
	}
	return strings.ToUpper(string(f))
}

// megapixels writes a pixel count in megapixels without needless decimals (40, 2.5, 0.003).
func megapixels(n int64) string {
	return fmt.Sprintf("%g", float64(n)/1e6)
}

// byteSize writes a byte count as people read it: 512 bytes, 37 KiB, 2.5 MiB, 32 MiB.
func byteSize(n int64) string {
	v := float64(n)
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.0f KiB", v/(1<<10))
	case n < 10<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	}
	return fmt.Sprintf("%.0f MiB", v/(1<<20))
}
