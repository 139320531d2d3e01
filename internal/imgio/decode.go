package imgio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/bits"
	"os"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// Format names an image container format recognised by its magic bytes.
type Format string

// Supported formats.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	GIF  Format = "gif"
	WebP Format = "webp"
	BMP  Format = "bmp"
	// PNM is binary Netpbm: PGM (P5, greyscale) and PPM (P6, RGB).
	PNM Format = "pnm"
)

// Info describes a decoded image.
type Info struct {
	// Format is the container format detected from the content.
	Format Format
	// W and H are the dimensions of the returned (upright) image, i.e.
	// after the EXIF orientation has been applied.
	W, H int
	// Orientation is the EXIF orientation (1..8) that was applied; 1 when
	// the file carries none or an invalid one.
	Orientation int
}

// Limits bounds the resources a single Decode may use. A zero (or
// negative) field means the corresponding DefaultLimits value.
type Limits struct {
	// MaxBytes is the largest accepted encoded size in bytes.
	MaxBytes int64
	// MaxPixels is the largest accepted width*height, checked against the
	// file header before pixel memory is allocated.
	MaxPixels int64
	// MaxMemory is the most memory in bytes one image may need at once,
	// estimated from its header before pixel memory is allocated: the
	// decoder's output and working memory, the packed RGB Image, its upright
	// copy and the engine's pyramid (footprint.go has the model). What a
	// pixel costs depends on the header: 4.5 bytes for a 4:2:0 baseline
	// JPEG, 7 for an 8-bit RGB PNG, 11 for a 16-bit RGBA one.
	MaxMemory int64
}

// DefaultLimits are the limits used for zero Limits fields: 32 MiB of
// encoded data, 40 megapixels and 320 MiB of decoded memory, which admits
// every 8-bit non-interlaced PNG, baseline YCbCr JPEG and progressive 4:2:0
// JPEG of 40 megapixels, but a 16-bit RGBA PNG of at most 30 megapixels, a
// progressive 4:4:4 JPEG of at most 20 and a lossless WebP of at most 18.
var DefaultLimits = Limits{MaxBytes: 32 << 20, MaxPixels: 40_000_000, MaxMemory: 320 << 20}

// Sentinel errors. Errors returned by Decode and DecodeFile wrap exactly one
// of them (file-system errors from DecodeFile excepted) together with a
// message giving the detail, and, where there is one, the underlying
// decoder error.
var (
	// ErrEmpty reports zero bytes of input.
	ErrEmpty = errors.New("imgio: empty input")
	// ErrUnsupported reports content that is not a recognised image format
	// (e.g. text, TIFF, HEIC), or a recognised format using a feature the
	// decoder does not implement (e.g. arithmetic-coded JPEG, RLE BMP,
	// ASCII Netpbm P1/P2/P3, PBM P4, PAM P7).
	ErrUnsupported = errors.New("imgio: unsupported image format")
	// ErrTruncated reports a recognised image whose data ends early.
	ErrTruncated = errors.New("imgio: truncated image data")
	// ErrCorrupt reports a recognised image with invalid data (bad
	// markers, checksums, Huffman codes, zero dimensions, ...).
	ErrCorrupt = errors.New("imgio: corrupt image data")
	// ErrTooLarge reports input over Limits.MaxBytes, an image whose
	// header dimensions exceed Limits.MaxPixels, or one whose header says
	// it would need more than Limits.MaxMemory to decode.
	ErrTooLarge = errors.New("imgio: image too large")
)

// normalize replaces unset limits with the defaults.
func (l Limits) normalize() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultLimits.MaxPixels
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = DefaultLimits.MaxMemory
	}
	return l
}

// detect identifies the container format from the leading bytes.
func detect(b []byte) (Format, bool) {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return JPEG, true
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, true
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return GIF, true
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return WebP, true
	case isBMP(b):
		return BMP, true
	case isPNM(b):
		return PNM, true
	}
	return "", false
}

// isBMP checks the "BM" signature plus the four reserved header bytes,
// which must be zero; the two-byte signature alone would match ordinary
// text starting with "BM".
func isBMP(b []byte) bool {
	if len(b) < 2 || b[0] != 'B' || b[1] != 'M' {
		return false
	}
	for i := 6; i < 10 && i < len(b); i++ {
		if b[i] != 0 {
			return false
		}
	}
	return true
}

// codec bundles the header and full decoders of one format. A codec is
// either a pair of image-package decoders (config and decode), or a native
// decoder producing an *Image directly from the whole input.
type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
	// native, when set, replaces config and decode. It must check the
	// header dimensions with checkDims against lim.MaxPixels and its
	// footprint against lim.MaxMemory before allocating pixel memory,
	// never allocate more than the input can fill, and return errors that
	// already wrap exactly one package sentinel.
	native func(data []byte, lim Limits) (*Image, error)
}

var codecs = map[Format]codec{
	JPEG: {config: jpeg.DecodeConfig, decode: jpeg.Decode},
	PNG:  {config: png.DecodeConfig, decode: png.Decode},
	GIF:  {config: gif.DecodeConfig, decode: gif.Decode}, // gif.Decode returns the first frame
	WebP: {config: webp.DecodeConfig, decode: webp.Decode},
	BMP:  {config: bmp.DecodeConfig, decode: bmp.Decode},
	PNM:  {native: decodePNM},
}

// Decode decodes an encoded JPEG, PNG, GIF (first frame), WebP, BMP or
// binary Netpbm (PGM P5 / PPM P6) image into upright packed RGB.
//
// The format is detected from the content. len(data) is checked against
// lim.MaxBytes and the header's width*height against lim.MaxPixels before
// any pixel memory is allocated, and so is the memory the image would need
// (decoder, conversion, orientation, the engine's pyramid) against
// lim.MaxMemory; zero limits mean DefaultLimits. The EXIF
// orientation of JPEG, WebP and PNG (eXIf) files is applied, so Info.W and
// Info.H are the upright dimensions. A GIF whose first frame does not cover
// the whole logical screen yields just that frame's rectangle. Netpbm files
// carry no EXIF (Orientation is 1); greyscale PGM is replicated to R=G=B,
// and samples of any maxval (1..65535, 8- or 16-bit) are scaled to 0..255
// with rounding. ASCII Netpbm (P1, P2, P3), PBM P4 and PAM P7 are
// ErrUnsupported.
//
// Errors wrap ErrEmpty, ErrUnsupported, ErrTruncated, ErrCorrupt or
// ErrTooLarge.
func Decode(data []byte, lim Limits) (*Image, Info, error) {
	lim = lim.normalize()
	if len(data) == 0 {
		return nil, Info{}, ErrEmpty
	}
	if n := int64(len(data)); n > lim.MaxBytes {
		return nil, Info{}, withPlain(fmt.Errorf("imgio: input is %d bytes, limit %d: %w", n, lim.MaxBytes, ErrTooLarge),
			"the image is %s; the limit is %s", byteSize(n), byteSize(lim.MaxBytes))
	}
	f, ok := detect(data)
	if !ok {
		return nil, Info{}, fmt.Errorf("imgio: unrecognised content starting %q: %w", prefix(data, 8), ErrUnsupported)
	}
	c := codecs[f]
	if c.native != nil {
		m, err := c.native(data, lim)
		if err != nil {
			return nil, Info{}, err
		}
		return m, Info{Format: f, W: m.W, H: m.H, Orientation: 1}, nil
	}

	cfg, err := c.config(bytes.NewReader(data))
	if err != nil {
		return nil, Info{}, classify(f, "header", err)
	}
	if err := checkDims(cfg.Width, cfg.Height, lim.MaxPixels); err != nil {
		return nil, Info{}, err
	}
	if f == BMP {
		if err := checkBMPSize(data, cfg.Width, cfg.Height); err != nil {
			return nil, Info{}, err
		}
	}
	o := exifOrientation(f, data)
	fp, err := footprintOf(f, data, cfg, o)
	if err != nil {
		return nil, Info{}, err
	}
	if err := fp.check(lim.MaxMemory); err != nil {
		return nil, Info{}, err
	}

	if f == JPEG && fastJPEG != nil {
		if m, ok := fastJPEG(data, cfg.Width, cfg.Height); ok {
			m = Orient(m, o)
			return m, Info{Format: f, W: m.W, H: m.H, Orientation: o}, nil
		}
	}

	std, err := c.decode(bytes.NewReader(data))
	if err != nil {
		return nil, Info{}, classify(f, "data", err)
	}
	// Defensive: the decoders should never return more than the header
	// announced, but the limits must hold whatever they do.
	b := std.Bounds()
	if err := checkDims(b.Dx(), b.Dy(), lim.MaxPixels); err != nil {
		return nil, Info{}, err
	}

	m := FromStd(std)
	m = Orient(m, o)
	return m, Info{Format: f, W: m.W, H: m.H, Orientation: o}, nil
}

// DecodeFile reads the file at path, reading at most lim.MaxBytes+1 bytes,
// and decodes it with Decode. File-system errors are returned wrapped (so
// errors.Is(err, fs.ErrNotExist) works); a file over lim.MaxBytes yields
// ErrTooLarge.
func DecodeFile(path string, lim Limits) (*Image, Info, error) {
	lim = lim.normalize()
	f, err := os.Open(path)
	if err != nil {
		return nil, Info{}, fmt.Errorf("imgio: %w", err)
	}
	defer f.Close()

	var hint int64
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		if st.Size() > lim.MaxBytes {
			return nil, Info{}, withPlain(fmt.Errorf("imgio: %s is %d bytes, limit %d: %w", path, st.Size(), lim.MaxBytes, ErrTooLarge),
				"the file is %s; the limit is %s", byteSize(st.Size()), byteSize(lim.MaxBytes))
		}
		hint = st.Size()
	}
	data, err := readLimited(f, lim.MaxBytes, hint)
	if err != nil {
		return nil, Info{}, fmt.Errorf("imgio: reading %s: %w", path, err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, Info{}, withPlain(fmt.Errorf("imgio: %s exceeds %d bytes: %w", path, lim.MaxBytes, ErrTooLarge),
			"the file is larger than the limit of %s", byteSize(lim.MaxBytes))
	}
	m, info, err := Decode(data, lim)
	if err != nil {
		return nil, Info{}, fmt.Errorf("imgio: %s: %w", path, err)
	}
	return m, info, nil
}

// readLimited reads r to EOF but at most limit+1 bytes, starting with a
// buffer sized from hint so a regular file is read without reallocation.
func readLimited(r io.Reader, limit, hint int64) ([]byte, error) {
	buf := make([]byte, 0, min(max(hint, 511), limit)+1)
	lr := io.LimitReader(r, limit+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// checkDims rejects non-positive dimensions and images over maxPixels.
func checkDims(w, h int, maxPixels int64) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("imgio: invalid dimensions %dx%d: %w", w, h, ErrCorrupt)
	}
	hi, lo := bits.Mul64(uint64(w), uint64(h))
	if hi != 0 || lo > math.MaxInt64 || int64(lo) > maxPixels {
		return withPlain(fmt.Errorf("imgio: image %dx%d is %d pixels, limit %d: %w", w, h, lo, maxPixels, ErrTooLarge),
			"the image is %dx%d pixels; the limit is %s megapixels", w, h, megapixels(maxPixels))
	}
	return nil
}

// checkBMPSize verifies that an uncompressed BMP holds all the pixel rows
// its header announces, so a tiny file cannot make the decoder allocate a
// large image before discovering the truncation. It relies on the header
// fields bmp.DecodeConfig has already validated (offset, bit depth).
func checkBMPSize(data []byte, w, h int) error {
	if len(data) < 30 {
		return fmt.Errorf("imgio: bmp header: %w", ErrTruncated)
	}
	offset := uint64(binary.LittleEndian.Uint32(data[10:14]))
	bpp := uint64(binary.LittleEndian.Uint16(data[28:30]))
	stride := (uint64(w)*bpp + 31) / 32 * 4
	need := offset + stride*uint64(h) // w*h <= MaxPixels, so no overflow
	if uint64(len(data)) < need {
		return fmt.Errorf("imgio: bmp pixel data is %d bytes short: %w", need-uint64(len(data)), ErrTruncated)
	}
	return nil
}

// classify maps a decoder error onto the package sentinels, keeping the
// original error in the chain.
func classify(f Format, stage string, err error) error {
	var sentinel error
	var jpegUnsupported jpeg.UnsupportedError
	var pngUnsupported png.UnsupportedError
	switch {
	case isTruncation(err):
		sentinel = ErrTruncated
	case strings.Contains(err.Error(), "dimension overflow"): // image/png
		sentinel = ErrTooLarge
	case isCorruptionReportedAsUnsupported(err):
		sentinel = ErrCorrupt
	case errors.As(err, &jpegUnsupported), errors.As(err, &pngUnsupported), errors.Is(err, bmp.ErrUnsupported):
		sentinel = ErrUnsupported
	default:
		sentinel = ErrCorrupt
	}
	err = fmt.Errorf("imgio: decoding %s %s: %w: %w", f, stage, err, sentinel)
	switch sentinel {
	case ErrTruncated:
		return withPlain(err, "the %s image is truncated", formatName(f))
	case ErrTooLarge:
		return withPlain(err, "the %s image is too large", formatName(f))
	case ErrUnsupported:
		return withPlain(err, "the %s image uses a feature facegate cannot decode (such as arithmetic coding or RLE compression)", formatName(f))
	}
	return withPlain(err, "the %s image data is corrupt", formatName(f))
}

// isTruncation reports whether a decoder error means the input ended early.
// Several decoders (image/gif, x/image/riff) format the underlying io error
// with %v, so the message is inspected as well.
func isTruncation(err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{
		"unexpected EOF",
		"short Huffman data",    // image/jpeg: entropy-coded data ended early
		"not enough pixel data", // image/png: IDAT stream ended early
		"not enough image data", // image/gif
		"short chunk",           // x/image/riff: short chunk header / data
		"missing padding byte",  // x/image/riff
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return msg == "EOF" || strings.HasSuffix(msg, ": EOF")
}

// isCorruptionReportedAsUnsupported recognises the few "unsupported"
// errors of image/jpeg and image/png that are really produced by invalid
// data rather than by a legitimate but unimplemented feature.
func isCorruptionReportedAsUnsupported(err error) bool {
	msg := err.Error()
	for _, s := range []string{
		"excessive DC component", // image/jpeg: DC coefficient out of range
		"too many components",    // image/jpeg: SOS lists more components than SOF
		"chunk length overflow",  // image/png: absurd IDAT length
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// prefix returns at most n leading bytes of b for error messages.
func prefix(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
