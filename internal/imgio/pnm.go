package imgio

import (
	"fmt"
	"math"
)

// Binary Netpbm (PGM "P5" and PPM "P6") decoding.
//
// The header is
//
//	magic  whitespace  width  whitespace  height  whitespace  maxval  one-whitespace-byte
//
// where "whitespace" between the fields is any run of blanks, TABs, CRs,
// LFs, VTs and FFs, and may contain comments running from '#' to the end of
// the line. The raster that follows holds width*height samples (P5) or
// sample triples (P6), one byte each when maxval < 256 and two bytes,
// most significant first, otherwise. Bytes after the raster (for example
// further images of a multi-image stream) are ignored.

// pnmKinds names every Netpbm magic number for error messages.
var pnmKinds = [...]string{
	'1': "plain (ASCII) PBM bitmap",
	'2': "plain (ASCII) PGM greymap",
	'3': "plain (ASCII) PPM pixmap",
	'4': "raw PBM bitmap",
	'5': "raw PGM greymap",
	'6': "raw PPM pixmap",
	'7': "PAM",
}

// isPNM reports whether b starts with a Netpbm magic number (P1..P7)
// followed by whitespace or a comment, as every Netpbm header does.
func isPNM(b []byte) bool {
	return len(b) >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7' && (isPNMSpace(b[2]) || b[2] == '#')
}

// isPNMSpace reports whether c is Netpbm header whitespace (C isspace).
func isPNMSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

// pnmHeader is a parsed P5/P6 header.
type pnmHeader struct {
	w, h     int
	maxval   int
	channels int // 1 for P5, 3 for P6
	size     int // header length in bytes: the raster starts at data[size]
}

// decodePNM decodes a binary PGM (P5) or PPM (P6) image into packed RGB.
// Every returned error wraps exactly one package sentinel. Pixel memory is
// allocated only once the dimensions have passed checkDims and the input
// is known to hold the whole raster, so the allocation is bounded by both
// lim.MaxPixels, lim.MaxMemory and three times len(data).
func decodePNM(data []byte, lim Limits) (*Image, error) {
	hd, err := parsePNMHeader(data)
	if err != nil {
		return nil, err
	}
	if err := checkDims(hd.w, hd.h, lim.MaxPixels); err != nil {
		return nil, err
	}
	if err := pnmFootprint(hd).check(lim.MaxMemory); err != nil {
		return nil, err
	}
	bps := 1 // bytes per sample
	if hd.maxval > 255 {
		bps = 2
	}
	// w*h fits in int64 (checkDims), and the comparison is done against
	// the available bytes divided by the bytes per pixel so nothing can
	// overflow.
	pixels := uint64(hd.w) * uint64(hd.h)
	avail := uint64(len(data) - hd.size)
	perPixel := uint64(hd.channels * bps)
	if pixels > avail/perPixel {
		return nil, fmt.Errorf("imgio: pnm %dx%d raster needs %d bytes, have %d: %w",
			hd.w, hd.h, pixels*perPixel, avail, ErrTruncated)
	}
	n := int(pixels) // <= len(data)
	raster := data[hd.size : hd.size+n*int(perPixel)]

	m := NewImage(hd.w, hd.h)
	dst := m.Pix[: n*3 : n*3]
	mv := uint32(hd.maxval)
	switch {
	case bps == 1 && mv == 255 && hd.channels == 3:
		copy(dst, raster)
	case bps == 1 && mv == 255:
		for i, v := range raster {
			d := dst[i*3 : i*3+3 : i*3+3]
			d[0], d[1], d[2] = v, v, v
		}
	case bps == 1:
		// Scale through a table; samples above maxval are invalid.
		var lut [256]uint8
		for v := uint32(0); v <= mv; v++ {
			lut[v] = uint8((v*255 + mv/2) / mv)
		}
		for i, v := range raster {
			if uint32(v) > mv {
				return nil, pnmSampleError(i, uint32(v), mv)
			}
			s := lut[v]
			if hd.channels == 3 {
				dst[i] = s
			} else {
				d := dst[i*3 : i*3+3 : i*3+3]
				d[0], d[1], d[2] = s, s, s
			}
		}
	default: // two bytes per sample, big-endian
		for i := 0; i < len(raster)/2; i++ {
			v := uint32(raster[2*i])<<8 | uint32(raster[2*i+1])
			if v > mv {
				return nil, pnmSampleError(i, v, mv)
			}
			s := uint8((v*255 + mv/2) / mv) // v*255 < 2^24: no overflow
			if hd.channels == 3 {
				dst[i] = s
			} else {
				d := dst[i*3 : i*3+3 : i*3+3]
				d[0], d[1], d[2] = s, s, s
			}
		}
	}
	return m, nil
}

func pnmSampleError(i int, v, maxval uint32) error {
	return fmt.Errorf("imgio: pnm sample %d is %d, above maxval %d: %w", i, v, maxval, ErrCorrupt)
}

// parsePNMHeader parses and validates a P5/P6 header. Other Netpbm
// variants yield ErrUnsupported, a malformed header ErrCorrupt, and input
// ending inside the header ErrTruncated.
func parsePNMHeader(data []byte) (pnmHeader, error) {
	if !isPNM(data) {
		return pnmHeader{}, fmt.Errorf("imgio: pnm: bad magic %q: %w", prefix(data, 3), ErrCorrupt)
	}
	hd := pnmHeader{}
	switch data[1] {
	case '5':
		hd.channels = 1
	case '6':
		hd.channels = 3
	default:
		return pnmHeader{}, withPlain(fmt.Errorf("imgio: pnm P%c (%s) is not supported, only binary P5 (PGM) and P6 (PPM): %w",
			data[1], pnmKinds[data[1]], ErrUnsupported),
			"the image is a Netpbm %s (P%c), which facegate does not read (binary PGM and PPM only)", pnmKinds[data[1]], data[1])
	}
	p := &pnmParser{data: data, pos: 2}
	var err error
	if hd.w, err = p.field("width", true); err != nil {
		return pnmHeader{}, err
	}
	if hd.h, err = p.field("height", true); err != nil {
		return pnmHeader{}, err
	}
	// Exactly one whitespace byte (not a comment) separates maxval from
	// the raster; field has checked it is there.
	if hd.maxval, err = p.field("maxval", false); err != nil {
		return pnmHeader{}, err
	}
	if hd.maxval < 1 || hd.maxval > 65535 {
		return pnmHeader{}, fmt.Errorf("imgio: pnm maxval %d outside 1..65535: %w", hd.maxval, ErrCorrupt)
	}
	hd.size = p.pos + 1
	return hd, nil
}

// pnmParser reads the numeric header fields of a Netpbm file.
type pnmParser struct {
	data []byte
	pos  int
}

// field skips whitespace and comments, which must be present, then reads
// a decimal number, which must be followed by a whitespace byte or, when
// commentAfter is set, a comment. A value too large for an int yields
// ErrTooLarge for the dimensions and ErrCorrupt for maxval.
func (p *pnmParser) field(name string, commentAfter bool) (int, error) {
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if isPNMSpace(c) {
			p.pos++
		} else if c == '#' {
			for p.pos < len(p.data) && p.data[p.pos] != '\n' && p.data[p.pos] != '\r' {
				p.pos++
			}
		} else {
			break
		}
	}
	if p.pos >= len(p.data) {
		return 0, fmt.Errorf("imgio: pnm header ends before %s: %w", name, ErrTruncated)
	}
	if p.pos == start {
		// Defensive: isPNM and the terminator check below guarantee a
		// separator before every field.
		return 0, fmt.Errorf("imgio: pnm header: missing whitespace before %s: %w", name, ErrCorrupt)
	}
	if c := p.data[p.pos]; c < '0' || c > '9' {
		return 0, fmt.Errorf("imgio: pnm %s: want a decimal number, found %q: %w", name, c, ErrCorrupt)
	}
	digits := p.pos
	v, overflow := 0, false
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		d := int(p.data[p.pos] - '0')
		if overflow || v > (math.MaxInt-d)/10 {
			overflow = true
		} else {
			v = v*10 + d
		}
		p.pos++
	}
	if overflow {
		sentinel := ErrTooLarge
		if name == "maxval" {
			sentinel = ErrCorrupt
		}
		return 0, fmt.Errorf("imgio: pnm %s %s overflows: %w", name, prefix(p.data[digits:p.pos], 40), sentinel)
	}
	if p.pos >= len(p.data) {
		return 0, fmt.Errorf("imgio: pnm header ends after %s: %w", name, ErrTruncated)
	}
	if c := p.data[p.pos]; !isPNMSpace(c) && (c != '#' || !commentAfter) {
		want := "whitespace"
		if !commentAfter {
			want = "exactly one whitespace byte"
		}
		return 0, fmt.Errorf("imgio: pnm %s followed by %q, want %s: %w", name, c, want, ErrCorrupt)
	}
	return v, nil
}
