package imgio

import (
	"bytes"
	"encoding/binary"
	"github.com/facegate/facegate/internal/testutil/testenv"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"path/filepath"
	"testing"
)

// gradientNRGBA returns an opaque, asymmetric test pattern: red grows to the
// right, green grows downwards, blue is a checkerboard.
func gradientNRGBA(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var b uint8 = 40
			if (x/4+y/4)%2 == 0 {
				b = 210
			}
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / max(w-1, 1)), uint8(y * 255 / max(h-1, 1)), b, 255})
		}
	}
	return m
}

// photoLike returns a smooth, slightly noisy image that compresses like a
// photograph (used by benchmarks and JPEG tests).
func photoLike(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	seed := uint32(12345)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			seed = seed*1664525 + 1013904223
			n := int(seed>>28) - 8
			dx, dy := x-w/2, y-h/2
			r := 128 + 100*dx/max(w, 1) + n
			g := 100 + (dx*dx+dy*dy)*120/max(w*w/4+h*h/4, 1) + n
			b := 60 + 150*y/max(h, 1) - n
			m.SetRGBA(x, y, color.RGBA{clamp8(r), clamp8(g), clamp8(b), 255})
		}
	}
	return m
}

func clamp8(v int) uint8 {
	return uint8(min(max(v, 0), 255))
}

// encodePNG / encodeJPEG are test conveniences that fail the test on error.
func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatalf("png.Encode: %v", err)
	}
	return buf.Bytes()
}

func encodeJPEG(t testing.TB, m image.Image, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatalf("jpeg.Encode: %v", err)
	}
	return buf.Bytes()
}

// tiffWithOrientation builds a minimal TIFF structure (header + IFD0) as
// found in an EXIF block, with one extra tag before Orientation so the
// parser has to scan.
func tiffWithOrientation(bo binary.AppendByteOrder, orientation uint16) []byte {
	var b []byte
	if bo == binary.LittleEndian {
		b = append(b, 'I', 'I', 42, 0)
	} else {
		b = append(b, 'M', 'M', 0, 42)
	}
	b = bo.AppendUint32(b, 8) // IFD0 offset
	b = bo.AppendUint16(b, 2) // entry count
	// ImageDescription-like ASCII tag pointing nowhere in particular.
	b = bo.AppendUint16(b, 0x010E)
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint32(b, 4)
	b = append(b, 'a', 'b', 'c', 0)
	// Orientation, SHORT, count 1, value left-justified in the 4-byte field.
	b = bo.AppendUint16(b, tagOrientation)
	b = bo.AppendUint16(b, tiffTypeShort)
	b = bo.AppendUint32(b, 1)
	b = bo.AppendUint16(b, orientation)
	b = bo.AppendUint16(b, 0)
	b = bo.AppendUint32(b, 0) // next IFD: none
	return b
}

// exifAPP1 wraps TIFF bytes in the "Exif\0\0" APP1 header.
func exifAPP1(tiff []byte) []byte {
	return append([]byte("Exif\x00\x00"), tiff...)
}

// pngChunk encodes one PNG chunk with a correct CRC.
func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	return binary.BigEndian.AppendUint32(b, crc.Sum32())
}

// pngHeaderOnly returns a PNG signature plus an IHDR claiming w×h 8-bit RGB,
// with nothing after it.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // depth 8, colour type RGB
	return append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
}

// insertPNGChunk inserts a chunk right after IHDR.
func insertPNGChunk(p []byte, chunk []byte) []byte {
	const afterIHDR = 8 + 8 + 13 + 4
	out := append([]byte{}, p[:afterIHDR]...)
	out = append(out, chunk...)
	return append(out, p[afterIHDR:]...)
}

// bitWriter packs little-endian bit fields as used by VP8L.
type bitWriter struct {
	buf   []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) write(v uint64, n uint) {
	w.acc |= v << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	if w.nbits > 0 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc, w.nbits = 0, 0
	}
	return w.buf
}

// solidVP8L encodes a w×h lossless WebP bitstream of one colour: every
// Huffman tree is a "simple" single-symbol code, so pixels cost zero bits.
func solidVP8L(w, h int, c color.NRGBA) []byte {
	var bw bitWriter
	bw.write(0x2f, 8)
	bw.write(uint64(w-1), 14)
	bw.write(uint64(h-1), 14)
	bw.write(0, 1) // alpha hint
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A, 0} {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // 8-bit symbol
		bw.write(uint64(sym), 8)
	}
	return bw.bytes()
}

// riffChunk encodes one RIFF chunk, padded to even length.
func riffChunk(fourcc string, data []byte) []byte {
	b := append([]byte(fourcc), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// webpFile wraps chunks in a RIFF/WEBP container.
func webpFile(chunks ...[]byte) []byte {
	var body []byte
	body = append(body, "WEBP"...)
	for _, c := range chunks {
		body = append(body, c...)
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	return append(out, body...)
}

// vp8xChunk builds an extended-format header chunk.
func vp8xChunk(w, h int, flags byte) []byte {
	d := []byte{flags, 0, 0, 0}
	d = append(d, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
	d = append(d, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	return riffChunk("VP8X", d)
}

// transformRef computes the upright image for an EXIF orientation using
// the "destination pulls from source" formulation, independent of Orient.
func transformRef(m *Image, o int) *Image {
	w, h := m.W, m.H
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	out := NewImage(dw, dh)
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			var sx, sy int
			switch o {
			case 1:
				sx, sy = x, y
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			r, g, b := m.At(sx, sy)
			i := (y*dw + x) * 3
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = r, g, b
		}
	}
	return out
}

// maxDiff returns the largest per-channel difference between two images of
// equal size; it fails the test if the sizes differ.
func maxDiff(t testing.TB, a, b *Image) int {
	t.Helper()
	if a.W != b.W || a.H != b.H || len(a.Pix) != len(b.Pix) {
		t.Fatalf("size mismatch: %dx%d (%d) vs %dx%d (%d)", a.W, a.H, len(a.Pix), b.W, b.H, len(b.Pix))
	}
	d := 0
	for i := range a.Pix {
		d = max(d, absInt(int(a.Pix[i])-int(b.Pix[i])))
	}
	return d
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// sharedFile returns the path of a file under ../shared/datasets relative to
// the repository root, skipping the test if it is not present.
func sharedFile(t *testing.T, rel string) string {
	t.Helper()
	return testenv.Shared(t, filepath.FromSlash(rel))
}

// goJPEG makes Decode use image/jpeg for the rest of the test, for tests that compare against the Go decoder's
// exact output. (Builds with the libjpeg tag otherwise decode JPEG natively; TestLibjpegMatchesGo covers that.)
// Tests in this package do not run in parallel, so swapping the hook is safe.
func goJPEG(t *testing.T) {
	saved := fastJPEG
	fastJPEG = nil
	t.Cleanup(func() { fastJPEG = saved })
}
