package imgio

import "encoding/binary"

// This file holds a deliberately small EXIF reader: it extracts only the
// Orientation tag (0x0112) from IFD0. The input is untrusted, so every
// offset is bounds-checked, every loop advances by at least one byte or is
// bounded by a count, and IFD chains are never followed (so offset cycles
// cannot cause loops). Anything unexpected yields orientation 1.

const (
	tagOrientation = 0x0112

	tiffTypeByte  = 1
	tiffTypeShort = 3
	tiffTypeLong  = 4
)

// exifOrientation returns the EXIF orientation (1..8) embedded in data of
// the given format, or 1 when there is none or it cannot be parsed.
func exifOrientation(f Format, data []byte) int {
	switch f {
	case JPEG:
		return jpegOrientation(data)
	case WebP:
		return webpOrientation(data)
	case PNG:
		return pngOrientation(data)
	}
	return 1
}

// jpegOrientation walks the JPEG marker segments preceding the first scan
// and parses the first APP1 segment that carries an "Exif\0\0" header.
func jpegOrientation(data []byte) int {
	const (
		markerSOI  = 0xD8
		markerEOI  = 0xD9
		markerSOS  = 0xDA
		markerAPP1 = 0xE1
		markerTEM  = 0x01
	)
	i := 2 // skip SOI
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return 1 // lost sync: not a well-formed marker sequence
		}
		m := data[i+1]
		if m == 0xFF { // fill byte before a marker
			i++
			continue
		}
		i += 2
		switch {
		case m == markerSOI || m == markerTEM || (m >= 0xD0 && m <= 0xD7):
			continue // standalone markers carry no length
		case m == markerEOI || m == markerSOS:
			return 1 // metadata segments precede the first scan
		}
		// i+2 <= len(data) holds because i+4 <= len(data) before i += 2.
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 || n > len(data)-i {
			return 1
		}
		seg := data[i+2 : i+n]
		if m == markerAPP1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += n
	}
	return 1
}

// webpOrientation scans the RIFF chunks of a WebP file for an "EXIF" chunk.
func webpOrientation(data []byte) int {
	if len(data) < 12 {
		return 1
	}
	end := len(data)
	if riff := uint64(binary.LittleEndian.Uint32(data[4:8])) + 8; riff < uint64(end) {
		end = int(riff)
	}
	p := 12
	for p+8 <= end {
		fourcc := string(data[p : p+4])
		size := uint64(binary.LittleEndian.Uint32(data[p+4 : p+8]))
		p += 8
		if size > uint64(end-p) {
			return 1
		}
		if fourcc == "EXIF" {
			return tiffOrientation(stripExifPrefix(data[p : p+int(size)]))
		}
		p += int(size) + int(size&1) // chunks are padded to even length
	}
	return 1
}

// pngOrientation scans PNG chunks for an "eXIf" chunk (PNG 1.5 extension).
func pngOrientation(data []byte) int {
	p := 8 // skip signature
	for p+12 <= len(data) {
		size := uint64(binary.BigEndian.Uint32(data[p : p+4]))
		typ := string(data[p+4 : p+8])
		if size > uint64(len(data)-p-12) {
			return 1
		}
		switch typ {
		case "eXIf":
			return tiffOrientation(stripExifPrefix(data[p+8 : p+8+int(size)]))
		case "IEND":
			return 1
		}
		p += 12 + int(size)
	}
	return 1
}

// stripExifPrefix removes the "Exif\0\0" APP1 header that some writers
// (incorrectly) copy into WebP and PNG EXIF chunks.
func stripExifPrefix(b []byte) []byte {
	if len(b) >= 6 && string(b[:6]) == "Exif\x00\x00" {
		return b[6:]
	}
	return b
}

// tiffOrientation parses a TIFF header and its IFD0, returning the
// Orientation tag's value if it is present and within 1..8, else 1.
func tiffOrientation(b []byte) int {
	if len(b) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := uint64(bo.Uint32(b[4:8]))
	if off < 8 || off+2 > uint64(len(b)) {
		return 1
	}
	count := int(bo.Uint16(b[off:]))
	entries := b[off+2:]
	if count > len(entries)/12 {
		count = len(entries) / 12 // tolerate a truncated directory
	}
	for k := 0; k < count; k++ {
		e := entries[k*12 : k*12+12]
		if bo.Uint16(e[0:2]) != tagOrientation {
			continue
		}
		if bo.Uint32(e[4:8]) < 1 {
			return 1
		}
		var v uint32
		switch bo.Uint16(e[2:4]) {
		case tiffTypeShort:
			v = uint32(bo.Uint16(e[8:10]))
		case tiffTypeLong:
			v = bo.Uint32(e[8:12])
		case tiffTypeByte:
			v = uint32(e[8])
		default:
			return 1
		}
		if v >= 1 && v <= 8 {
			return int(v)
		}
		return 1
	}
	return 1
}
