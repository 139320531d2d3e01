package imgio

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Header sniffers for the memory estimate (footprint.go): they read what the standard library's DecodeConfig does
// not report (PNG bit depth, interlacing and transparency; JPEG sampling factors, progressive mode and colour
// transform). They run after DecodeConfig has accepted the header, but parse defensively anyway: FuzzHeaders
// feeds them arbitrary bytes.

// pngHeader is what a PNG's IHDR and the chunks before its first IDAT say about its pixels.
type pngHeader struct {
	w           int
	depth       byte // bits per sample: 1, 2, 4, 8 or 16
	colorType   byte // 0 greyscale, 2 RGB, 3 palette, 4 greyscale+alpha, 6 RGBA
	interlaced  bool // Adam7
	transparent bool // a tRNS chunk: image/png then decodes greyscale and RGB with an alpha channel
}

// parsePNGHeader reads the IHDR chunk (which must come first) and looks for tRNS before the first IDAT.
func parsePNGHeader(data []byte) (pngHeader, error) {
	if len(data) < 33 || string(data[12:16]) != "IHDR" {
		return pngHeader{}, fmt.Errorf("imgio: png: no IHDR chunk first: %w", ErrCorrupt)
	}
	hd := pngHeader{
		w:          int(binary.BigEndian.Uint32(data[16:20]) & 0x7fffffff),
		depth:      data[24],
		colorType:  data[25],
		interlaced: data[28] == 1,
	}
	if hd.channels() == 0 || hd.depth == 0 || hd.depth > 16 {
		return pngHeader{}, fmt.Errorf("imgio: png: colour type %d, bit depth %d: %w", hd.colorType, hd.depth, ErrCorrupt)
	}
	for p := 33; p+8 <= len(data); {
		size := uint64(binary.BigEndian.Uint32(data[p : p+4]))
		switch string(data[p+4 : p+8]) {
		case "IDAT", "IEND":
			return hd, nil
		case "tRNS":
			hd.transparent = true
		}
		if size > uint64(len(data)-p-8) {
			break
		}
		p += 12 + int(size)
	}
	return hd, nil
}

// channels is the number of samples a pixel has, 0 for an invalid colour type.
func (hd pngHeader) channels() int {
	switch hd.colorType {
	case 0, 3:
		return 1
	case 4:
		return 2
	case 2:
		return 3
	case 6:
		return 4
	}
	return 0
}

// rowBytes is the length of one packed row as stored (without its filter byte).
func (hd pngHeader) rowBytes() int64 {
	return (int64(hd.w)*int64(hd.depth)*int64(hd.channels()) + 7) / 8
}

// bytesPerPixel is what image/png's output image takes a pixel: Gray or Paletted 1, Gray16 2, RGBA or NRGBA 4,
// RGBA64 or NRGBA64 8 (readImagePass in image/png; tRNS turns greyscale and RGB into NRGBA or NRGBA64).
func (hd pngHeader) bytesPerPixel() int64 {
	wide := int64(1)
	if hd.depth == 16 {
		wide = 2
	}
	switch {
	case hd.colorType == 3:
		return 1
	case hd.colorType == 0 && !hd.transparent:
		return wide
	}
	return 4 * wide
}

// kind names the image as people do: "16-bit RGBA PNG", "interlaced 8-bit RGB PNG".
func (hd pngHeader) kind() string {
	names := map[byte]string{0: "greyscale", 2: "RGB", 3: "palette", 4: "greyscale+alpha", 6: "RGBA"}
	k := fmt.Sprintf("%d-bit %s PNG", hd.depth, names[hd.colorType])
	if hd.interlaced {
		k = "interlaced " + k
	}
	return k
}

// advice says which cheaper PNG would carry the same picture: 8 bits a sample, no interlacing.
func (hd pngHeader) advice() string {
	switch {
	case hd.depth == 16 && hd.interlaced:
		return "an 8-bit non-interlaced PNG"
	case hd.depth == 16:
		return "an 8-bit PNG"
	case hd.interlaced:
		return "a non-interlaced PNG"
	}
	return ""
}

// jpegHeader is what a JPEG's frame header (SOFn) and the APP segments before its first scan say about decoding it.
type jpegHeader struct {
	w, h        int
	progressive bool
	n           int     // components: 1 grey, 3 YCbCr or RGB, 4 CMYK or YCCK
	hs, vs      [4]int  // sampling factors of each component
	ids         [4]byte // component identifiers
	jfif        bool    // an APP0 JFIF segment
	adobe       bool    // an APP14 Adobe segment ...
	transform   byte    // ... and its colour transform (0: none, i.e. RGB or CMYK)
	scans       int     // start-of-scan segments in the whole file
	scanSamples int64   // samples the scans make a decoder visit: each scan's components' planes, summed
}

// parseJPEGHeader walks the marker segments of the whole file, skipping the entropy-coded data of each scan, to
// read the frame header and count the scans and the samples they cover. It finds every marker image/jpeg and
// libjpeg act on: both skip junk between segments, fill bytes and an 0xFF00 pair there (reading that pair as a
// marker with a length would hide the segments after it), and both stop at EOI. It reads the file once and
// allocates nothing.
func parseJPEGHeader(data []byte) (jpegHeader, error) {
	var hd jpegHeader
	sof := false
	i := 2 // skip SOI
	for i+4 <= len(data) {
		if data[i] != 0xFF || data[i+1] == 0xFF { // junk before a marker (image/jpeg skips it too), or a fill byte
			i++
			continue
		}
		m := data[i+1]
		i += 2
		if m == 0x00 { // 0xFF00 between segments: junk to both decoders
			continue
		}
		if m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7) {
			continue // standalone markers
		}
		if m == 0xD9 { // EOI
			break
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 || n > len(data)-i {
			break
		}
		seg := data[i+2 : i+n]
		i += n
		if m == 0xDA { // SOS: the entropy-coded data runs to the next marker other than RSTn or a stuffed 0xFF00
			hd.scans++
			hd.scanSamples += hd.scanCost(seg)
			i = skipEntropyData(data, i)
			continue
		}
		switch {
		case m == 0xE0 && len(seg) >= 5 && string(seg[:5]) == "JFIF\x00":
			hd.jfif = true
		case m == 0xEE && len(seg) >= 12 && string(seg[:5]) == "Adobe":
			hd.adobe, hd.transform = true, seg[11]
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC && !sof: // SOFn
			if len(seg) < 6 {
				return jpegHeader{}, fmt.Errorf("imgio: jpeg: short frame header: %w", ErrCorrupt)
			}
			hd.h = int(binary.BigEndian.Uint16(seg[1:3]))
			hd.w = int(binary.BigEndian.Uint16(seg[3:5]))
			hd.n = int(seg[5])
			hd.progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE
			if hd.n < 1 || hd.n > 4 || len(seg) < 6+3*hd.n {
				return jpegHeader{}, fmt.Errorf("imgio: jpeg: frame header with %d components: %w", hd.n, ErrUnsupported)
			}
			for c := 0; c < hd.n; c++ {
				hd.ids[c] = seg[6+3*c]
				hd.hs[c], hd.vs[c] = int(seg[7+3*c]>>4), int(seg[7+3*c]&15)
				if hd.hs[c] < 1 || hd.hs[c] > 4 || hd.vs[c] < 1 || hd.vs[c] > 4 {
					return jpegHeader{}, fmt.Errorf("imgio: jpeg: sampling factors %dx%d: %w", hd.hs[c], hd.vs[c], ErrCorrupt)
				}
			}
			sof = true
		}
	}
	if !sof {
		return jpegHeader{}, fmt.Errorf("imgio: jpeg: no frame header before the first scan: %w", ErrCorrupt)
	}
	return hd, nil
}

// scanCost is the samples a scan with header seg makes a decoder visit: the padded plane of each component it names
// (the whole image for one naming no known component; 0 before the frame header: decoders refuse either).
func (hd jpegHeader) scanCost(seg []byte) int64 {
	if hd.n == 0 || len(seg) == 0 {
		return 0
	}
	var cost int64
	for k := 0; k < min(int(seg[0]), 4) && 1+2*k < len(seg); k++ { // decoders refuse a scan of more than 4
		for c := 0; c < hd.n; c++ {
			if hd.ids[c] == seg[1+2*k] {
				cost += hd.plane(c)
				break
			}
		}
	}
	if cost == 0 {
		cost = hd.planes()
	}
	return cost
}

// skipEntropyData returns the offset of the first marker at or after i that ends entropy-coded data: 0xFF followed
// by neither 0x00 (a stuffed 0xFF byte), a restart marker, nor another 0xFF (fill). It returns len(data) if there is
// none.
func skipEntropyData(data []byte, i int) int {
	for {
		k := bytes.IndexByte(data[i:], 0xFF)
		if k < 0 || i+k+1 >= len(data) {
			return len(data)
		}
		i += k
		switch c := data[i+1]; {
		case c == 0x00 || (c >= 0xD0 && c <= 0xD7):
			i += 2
		case c == 0xFF:
			i++
		default:
			return i
		}
	}
}

// webpHasChunk reports whether the RIFF container of a WebP file holds a chunk named fourcc.
func webpHasChunk(data []byte, fourcc string) bool {
	if len(data) < 12 {
		return false
	}
	for p := 12; p+8 <= len(data); {
		if string(data[p:p+4]) == fourcc {
			return true
		}
		size := uint64(binary.LittleEndian.Uint32(data[p+4 : p+8]))
		if size > uint64(len(data)-p-8) {
			return false
		}
		p += 8 + int(size) + int(size&1)
	}
	return false
}

// planes is the total size in bytes of the component planes, each padded to whole MCUs as image/jpeg allocates them
// (one byte a sample).
func (hd jpegHeader) planes() int64 {
	var sum int64
	for c := 0; c < hd.n; c++ {
		sum += hd.plane(c)
	}
	return sum
}

// plane is the size in bytes of component c's plane, padded to whole MCUs.
func (hd jpegHeader) plane(c int) int64 {
	hmax, vmax := 1, 1
	for k := 0; k < hd.n; k++ {
		hmax, vmax = max(hmax, hd.hs[k]), max(vmax, hd.vs[k])
	}
	mxx := int64((hd.w + 8*hmax - 1) / (8 * hmax))
	myy := int64((hd.h + 8*vmax - 1) / (8 * vmax))
	return 8 * int64(hd.hs[c]) * mxx * 8 * int64(hd.vs[c]) * myy
}

// rgb reports whether image/jpeg decodes three components as RGB rather than YCbCr (its isRGB, taken broadly:
// an Adobe transform of 0 counts even with a JFIF segment).
func (hd jpegHeader) rgb() bool {
	return hd.n == 3 && ((hd.adobe && hd.transform == 0) || (hd.ids[0] == 'R' && hd.ids[1] == 'G' && hd.ids[2] == 'B'))
}

// goCost is what image/jpeg allocates for a w×h image: output, its result, and decoder, everything (the component
// planes; 64 int32 coefficients a block of every component for a progressive image; a 4-byte-a-pixel RGBA or
// CMYK image converted from the planes of an RGB, CMYK or YCCK one).
func (hd jpegHeader) goCost(w, h int) (output, decoder int64) {
	planes := hd.planes()
	output, decoder = planes, planes
	if hd.progressive {
		decoder += 4 * planes
	}
	// image/jpeg boxes an error value each time its bit reader runs into a restart marker: a file with a restart
	// after every MCU makes up to half a byte of such garbage a sample.
	decoder += planes / 2
	if hd.n == 4 || hd.rgb() {
		output = 4 * int64(w) * int64(h)
		decoder += output
	}
	return output, decoder
}

// libjpegCost is libjpeg's own (C) memory beyond the Image it writes into: a progressive image's whole coefficient
// buffer (64 2-byte coefficients a block), else a few MCU rows.
func (hd jpegHeader) libjpegCost() int64 {
	if hd.progressive {
		return 2 * hd.planes()
	}
	rows := int64(0)
	for c := 0; c < hd.n; c++ {
		rows += int64(hd.w) * 8 * int64(hd.vs[c]) * 4
	}
	return rows
}

// kind names the image as people do: "progressive JPEG", "CMYK JPEG".
func (hd jpegHeader) kind() string {
	k := "JPEG"
	if hd.n == 4 {
		k = "CMYK JPEG"
	}
	if hd.progressive {
		k = "progressive " + k
	}
	return k
}

// advice says which cheaper JPEG would carry the same picture.
func (hd jpegHeader) advice() string {
	switch {
	case hd.progressive:
		return "a baseline (non-progressive) JPEG"
	case hd.n == 4:
		return "an RGB JPEG"
	}
	return ""
}
