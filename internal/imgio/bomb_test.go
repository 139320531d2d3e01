package imgio

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"testing"
)

// pngBomb streams a w×h PNG of the given bit depth and colour type whose every sample is zero, without ever
// holding the pixels: a 40-megapixel 16-bit RGBA bomb is about 300 KB and takes well under a second to make.
// A colour type 3 (palette) image gets a one-entry PLTE; extra chunks go right after IHDR.
func pngBomb(t testing.TB, w, h int, depth, colorType byte, interlace bool, extra ...[]byte) []byte {
	return pngBombFiltered(t, w, h, depth, colorType, interlace, 0, extra...)
}

// pngBombFiltered is pngBomb with every row of the (non-interlaced) image using the given filter type: 4 (Paeth)
// makes the decoder do the most arithmetic per byte.
func pngBombFiltered(t testing.TB, w, h int, depth, colorType byte, interlace bool, filter byte, extra ...[]byte) []byte {
	t.Helper()
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	il := byte(0)
	if interlace {
		il = 1
	}
	ihdr = append(ihdr, depth, colorType, 0, 0, il)
	out := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
	for _, c := range extra {
		out = append(out, c...)
	}
	if colorType == 3 {
		out = append(out, pngChunk("PLTE", []byte{10, 20, 30})...)
	}
	bitsPerPixel := int(depth) * map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colorType]
	var raw int // filter byte plus packed samples of every row of every pass
	if interlace {
		for _, p := range interlacing {
			pw := (w - p.x0 + p.dx - 1) / p.dx
			ph := (h - p.y0 + p.dy - 1) / p.dy
			if pw > 0 && ph > 0 {
				raw += ph * (1 + (pw*bitsPerPixel+7)/8)
			}
		}
	} else {
		raw = h * (1 + (w*bitsPerPixel+7)/8)
	}
	var idat bytes.Buffer
	z, err := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	if filter != 0 && !interlace {
		row := make([]byte, raw/h)
		row[0] = filter
		for range h {
			if _, err := z.Write(row); err != nil {
				t.Fatal(err)
			}
		}
		raw = 0
	}
	zeros := make([]byte, 1<<20)
	for raw > 0 {
		n := min(raw, len(zeros))
		if _, err := z.Write(zeros[:n]); err != nil {
			t.Fatal(err)
		}
		raw -= n
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	out = append(out, pngChunk("IDAT", idat.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}

// interlacing is Adam7: each pass's first column and row and its steps.
var interlacing = []struct{ x0, y0, dx, dy int }{
	{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2},
}

// jpegBomb builds a w×h JPEG of uniform grey without holding its pixels: every MCU codes nothing but a zero DC
// difference and an end of block, and a restart marker after each one keeps every MCU byte-aligned, so the file is a
// few bytes an MCU. sampling is "gray", "444" or "420"; a progressive file has only its DC scan, which is
// enough to make a decoder allocate every coefficient of the image.
func jpegBomb(t testing.TB, w, h int, sampling string, progressive bool) []byte {
	t.Helper()
	hv := map[string][]byte{"gray": {0x11}, "444": {0x11, 0x11, 0x11}, "420": {0x22, 0x11, 0x11}}[sampling]
	if hv == nil {
		t.Fatalf("jpegBomb: sampling %q", sampling)
	}
	seg := func(marker byte, body ...byte) []byte {
		return append([]byte{0xFF, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)}, body...)
	}
	out := []byte{0xFF, 0xD8}
	out = append(out, seg(0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)...)...)
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(len(hv))}
	for i, f := range hv {
		sof = append(sof, byte(i+1), f, 0)
	}
	marker := byte(0xC0)
	if progressive {
		marker = 0xC2
	}
	out = append(out, seg(marker, sof...)...)
	// One-code Huffman tables: DC category 0 and AC end-of-block, each coded as the single bit 0.
	oneCode := func(class byte, sym byte) []byte {
		b := []byte{class << 4, 1}
		b = append(b, make([]byte, 15)...)
		return append(b, sym)
	}
	out = append(out, seg(0xC4, append(oneCode(0, 0), oneCode(1, 0)...)...)...)
	out = append(out, seg(0xDD, 0, 1)...) // a restart interval of one MCU
	sos := []byte{byte(len(hv))}
	for i := range hv {
		sos = append(sos, byte(i+1), 0)
	}
	blocks, bitsPerBlock := 0, 2
	for _, f := range hv {
		blocks += int(f>>4) * int(f&15)
	}
	if progressive {
		sos, bitsPerBlock = append(sos, 0, 0, 0), 1 // DC first scan
	} else {
		sos = append(sos, 0, 63, 0)
	}
	out = append(out, seg(0xDA, sos...)...)
	// Zero bits for the codes, padded with one bits to a whole byte (never 0xFF: the codes come first).
	bits := blocks * bitsPerBlock
	mcu := make([]byte, (bits+7)/8)
	if pad := len(mcu)*8 - bits; pad > 0 {
		mcu[len(mcu)-1] = byte(1<<pad - 1)
	}
	hmax, vmax := int(hv[0]>>4), int(hv[0]&15)
	n := ((w + 8*hmax - 1) / (8 * hmax)) * ((h + 8*vmax - 1) / (8 * vmax))
	out = slicesGrow(out, n*(len(mcu)+2)+2)
	for i := 0; i < n; i++ {
		if i > 0 {
			out = append(out, 0xFF, 0xD0+byte((i-1)%8))
		}
		out = append(out, mcu...)
	}
	return append(out, 0xFF, 0xD9)
}

// slicesGrow makes room for n more bytes.
func slicesGrow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}
