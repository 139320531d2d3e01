package ffmpeg

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/facegate/facegate/internal/imgio"
)

// DefaultMaxPixels is the largest frame ReadFrame accepts when maxPixels is 0: 8192x8192.
const DefaultMaxPixels = 8192 * 8192

// Errors of ReadFrame, besides io.EOF (clean end of the stream before a frame) and io.ErrUnexpectedEOF (the
// stream ended inside a frame).
var (
	// ErrBadFrame: the bytes are not a binary 8-bit PPM (P6) frame.
	ErrBadFrame = errors.New("ffmpeg: malformed PPM frame")
	// ErrFrameTooLarge: the header announces more pixels than allowed.
	ErrFrameTooLarge = errors.New("ffmpeg: frame too large")
)

// maxDigits bounds a header number: 9 digits keep width*height far from overflowing.
const maxDigits = 9

// ReadFrame reads one binary PPM (P6) frame from r: the header
//
//	P6 <whitespace> width <whitespace> height <whitespace> maxval <one whitespace byte>
//
// where whitespace is any run of blanks, tabs, CRs, LFs, VTs and FFs and may hold comments from '#' to the end
// of the line, then exactly width*height*3 bytes of pixels, which are read with io.ReadFull straight into the
// returned image. Whitespace before the magic number is skipped. maxval must be 1..255 (samples are scaled to
// 0..255 when it is not 255). Frames of more than maxPixels pixels (DefaultMaxPixels when maxPixels <= 0) are
// rejected with ErrFrameTooLarge before any pixel memory is allocated.
//
// ReadFrame returns io.EOF, unwrapped, when r ends before the first byte of a frame; an end inside a frame is
// an error wrapping io.ErrUnexpectedEOF. Malformed headers wrap ErrBadFrame. After an error other than io.EOF
// the position of r inside the stream is undefined.
func ReadFrame(r *bufio.Reader, maxPixels int) (*imgio.Image, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	// Magic number, after optional whitespace.
	c, err := r.ReadByte()
	for err == nil && isSpace(c) {
		c, err = r.ReadByte()
	}
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("ffmpeg: reading PPM header: %w", err)
	}
	c2, err := r.ReadByte()
	if err != nil {
		return nil, headerErr(err)
	}
	if c != 'P' || c2 != '6' {
		return nil, fmt.Errorf("%w: bad magic number %q (want \"P6\")", ErrBadFrame, []byte{c, c2})
	}
	// The magic number must be followed by whitespace or a comment.
	c, err = r.ReadByte()
	if err != nil {
		return nil, headerErr(err)
	}
	if !isSpace(c) && c != '#' {
		return nil, fmt.Errorf("%w: no whitespace after the magic number (got %q)", ErrBadFrame, c)
	}
	if err := r.UnreadByte(); err != nil {
		return nil, fmt.Errorf("ffmpeg: reading PPM header: %w", err)
	}

	w, err := readNumber(r, "width")
	if err != nil {
		return nil, err
	}
	h, err := readNumber(r, "height")
	if err != nil {
		return nil, err
	}
	maxval, err := readNumber(r, "maxval")
	if err != nil {
		return nil, err
	}
	// Exactly one whitespace byte ends the header.
	c, err = r.ReadByte()
	if err != nil {
		return nil, headerErr(err)
	}
	if !isSpace(c) {
		return nil, fmt.Errorf("%w: maxval not followed by whitespace (got %q)", ErrBadFrame, c)
	}
	switch {
	case w == 0 || h == 0:
		return nil, fmt.Errorf("%w: empty frame %dx%d", ErrBadFrame, w, h)
	case maxval == 0 || maxval > 255:
		return nil, fmt.Errorf("%w: maxval %d unsupported (want 1..255)", ErrBadFrame, maxval)
	case w*h > maxPixels: // w, h < 1e9: no overflow
		return nil, fmt.Errorf("%w: %dx%d is more than %d pixels", ErrFrameTooLarge, w, h, maxPixels)
	}

	img := imgio.NewImage(w, h)
	if _, err := io.ReadFull(r, img.Pix); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("ffmpeg: reading %dx%d PPM pixels: %w", w, h, err)
	}
	if maxval != 255 {
		var lut [256]uint8
		for v := 0; v <= maxval; v++ {
			lut[v] = uint8((v*255 + maxval/2) / maxval)
		}
		for i, v := range img.Pix {
			if int(v) > maxval {
				return nil, fmt.Errorf("%w: sample %d at byte %d exceeds maxval %d", ErrBadFrame, v, i, maxval)
			}
			img.Pix[i] = lut[v]
		}
	}
	return img, nil
}

// readNumber skips whitespace and comments (at least one separator is guaranteed by the caller's previous
// token: a digit run ends at a non-digit, the magic number is checked) and reads a decimal number.
func readNumber(r *bufio.Reader, name string) (int, error) {
	c, err := r.ReadByte()
	for {
		if err != nil {
			return 0, headerErr(err)
		}
		if c == '#' {
			for err == nil && c != '\n' && c != '\r' {
				c, err = r.ReadByte()
			}
			continue
		}
		if !isSpace(c) {
			break
		}
		c, err = r.ReadByte()
	}
	if c < '0' || c > '9' {
		return 0, fmt.Errorf("%w: %s: expected a digit, got %q", ErrBadFrame, name, c)
	}
	n, digits := 0, 0
	for {
		if digits++; digits > maxDigits {
			return 0, fmt.Errorf("%w: %s: number too long", ErrBadFrame, name)
		}
		n = n*10 + int(c-'0')
		c, err = r.ReadByte()
		if err != nil {
			return 0, headerErr(err)
		}
		if c < '0' || c > '9' {
			break
		}
	}
	if !isSpace(c) && c != '#' {
		return 0, fmt.Errorf("%w: %s: unexpected %q after %d", ErrBadFrame, name, c, n)
	}
	if err := r.UnreadByte(); err != nil {
		return 0, fmt.Errorf("ffmpeg: reading PPM header: %w", err)
	}
	return n, nil
}

// headerErr wraps a read error inside a header; an end of stream there is unexpected.
func headerErr(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("ffmpeg: reading PPM header: %w", err)
}

// isSpace reports whether c is Netpbm header whitespace (C isspace).
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}
