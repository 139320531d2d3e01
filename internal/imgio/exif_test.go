package imgio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// blocks returns a 24×16 image of six flat 8×8 blocks with distinct
// colours, so every orientation yields a different image and JPEG (whose
// blocks it aligns with) preserves block centres well.
func blocks() *image.NRGBA {
	cols := []color.NRGBA{
		{230, 20, 20, 255}, {20, 230, 20, 255}, {20, 20, 230, 255},
		{230, 230, 20, 255}, {20, 230, 230, 255}, {240, 240, 240, 255},
	}
	m := image.NewNRGBA(image.Rect(0, 0, 24, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 24; x++ {
			m.SetNRGBA(x, y, cols[(y/8)*3+x/8])
		}
	}
	return m
}

// jpegSegment encodes a marker segment.
func jpegSegment(marker byte, payload []byte) []byte {
	seg := []byte{0xFF, marker}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	return append(seg, payload...)
}

// insertSegments inserts marker segments right after SOI.
func insertSegments(jpg []byte, segs ...[]byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

func TestJPEGOrientationAll(t *testing.T) {
	goJPEG(t)
	src := blocks()
	jpg := encodeJPEG(t, src, 100)
	stdImg, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	stored := FromStd(stdImg) // exactly what Decode sees before orienting
	ideal := expectRGB(src)   // the lossless source
	jfif := jpegSegment(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))
	xmp := jpegSegment(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"))

	for _, bo := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		for o := 1; o <= 8; o++ {
			exif := jpegSegment(0xE1, exifAPP1(tiffWithOrientation(bo, uint16(o))))
			variants := map[string][]byte{
				"exif-first":      insertSegments(jpg, exif),
				"after-jfif+xmp":  insertSegments(jpg, jfif, xmp, exif),
				"fill-bytes":      insertSegments(jpg, []byte{0xFF, 0xFF}, exif),
				"after-comment":   insertSegments(jpg, jpegSegment(0xFE, []byte("hello")), exif),
				"only-first-exif": insertSegments(jpg, exif, jpegSegment(0xE1, exifAPP1(tiffWithOrientation(bo, 3)))),
			}
			for name, data := range variants {
				t.Run(fmt.Sprintf("%v/%d/%s", bo, o, name), func(t *testing.T) {
					m, info, err := Decode(data, Limits{})
					if err != nil {
						t.Fatalf("Decode: %v", err)
					}
					wantW, wantH := 24, 16
					if o >= 5 {
						wantW, wantH = 16, 24
					}
					if info != (Info{Format: JPEG, W: wantW, H: wantH, Orientation: o}) {
						t.Fatalf("info = %+v, want %dx%d orientation %d", info, wantW, wantH, o)
					}
					if d := maxDiff(t, m, transformRef(stored, o)); d != 0 {
						t.Errorf("pixels differ from transformed stored image by %d", d)
					}
					// Block centres must match the transformed source colours.
					want := transformRef(ideal, o)
					for y := 4; y < want.H; y += 8 {
						for x := 4; x < want.W; x += 8 {
							r, g, b := m.At(x, y)
							wr, wg, wb := want.At(x, y)
							if absInt(int(r)-int(wr)) > 12 || absInt(int(g)-int(wg)) > 12 || absInt(int(b)-int(wb)) > 12 {
								t.Errorf("(%d,%d) = %d,%d,%d want ~%d,%d,%d", x, y, r, g, b, wr, wg, wb)
							}
						}
					}
				})
			}
		}
	}
}

func TestPNGOrientation(t *testing.T) {
	src := gradientNRGBA(9, 5)
	data := insertPNGChunk(encodePNG(t, src), pngChunk("eXIf", tiffWithOrientation(binary.BigEndian, 6)))
	m, info, err := Decode(data, Limits{})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if info != (Info{Format: PNG, W: 5, H: 9, Orientation: 6}) {
		t.Errorf("info = %+v", info)
	}
	if d := maxDiff(t, m, transformRef(expectRGB(src), 6)); d != 0 {
		t.Errorf("pixels differ by %d", d)
	}
}

func TestWebPOrientation(t *testing.T) {
	const w, h = 30, 20
	vp8l := riffChunk("VP8L", solidVP8L(w, h, color.NRGBA{5, 6, 7, 255}))
	for name, exif := range map[string][]byte{
		"plain":       tiffWithOrientation(binary.LittleEndian, 8),
		"exif-prefix": exifAPP1(tiffWithOrientation(binary.BigEndian, 8)),
		"odd-length":  append(tiffWithOrientation(binary.LittleEndian, 8), 0xAB),
	} {
		t.Run(name, func(t *testing.T) {
			data := webpFile(vp8xChunk(w, h, 0x08), vp8l, riffChunk("EXIF", exif))
			m, info, err := Decode(data, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if info != (Info{Format: WebP, W: h, H: w, Orientation: 8}) {
				t.Errorf("info = %+v", info)
			}
			if d := maxDiff(t, m, solidImage(h, w, 5, 6, 7)); d != 0 {
				t.Errorf("pixels differ by %d", d)
			}
		})
	}
}

// TestRealRotatedJPEG uses a phone photo stored 640x480 with Orientation=6.
func TestRealRotatedJPEG(t *testing.T) {
	p := sharedFile(t, "antispoof_silentface/image_F1.jpg")
	m, info, err := DecodeFile(p, Limits{})
	if err != nil {
		t.Fatalf("DecodeFile: %v", err)
	}
	if info != (Info{Format: JPEG, W: 480, H: 640, Orientation: 6}) {
		t.Errorf("info = %+v, want jpeg 480x640 orientation 6", info)
	}
	if m.W != 480 || m.H != 640 || len(m.Pix) != 480*640*3 {
		t.Fatalf("image %dx%d", m.W, m.H)
	}
}

func TestMalformedEXIF(t *testing.T) {
	le := binary.LittleEndian
	good := tiffWithOrientation(le, 6)
	mutate := func(f func(b []byte) []byte) []byte {
		return f(append([]byte{}, good...))
	}
	// Layout of tiffWithOrientation: header 0..8, count 8..10, entry 1
	// 10..22, Orientation entry 22..34 (type 24..26, count 26..30, value
	// 30..34), next-IFD 34..38.
	tests := map[string][]byte{
		"empty":            {},
		"short-header":     []byte("II*\x00\x08"),
		"bad-byte-order":   mutate(func(b []byte) []byte { b[0], b[1] = 'X', 'X'; return b }),
		"bad-magic":        mutate(func(b []byte) []byte { b[2] = 43; return b }),
		"ifd-past-end":     mutate(func(b []byte) []byte { le.PutUint32(b[4:], 1000); return b }),
		"ifd-max-offset":   mutate(func(b []byte) []byte { le.PutUint32(b[4:], 0xFFFFFFFF); return b }),
		"ifd-in-header":    mutate(func(b []byte) []byte { le.PutUint32(b[4:], 2); return b }),
		"ifd-at-last-byte": mutate(func(b []byte) []byte { le.PutUint32(b[4:], uint32(len(b)-1)); return b }),
		"count-too-big":    mutate(func(b []byte) []byte { le.PutUint16(b[8:], 0xFFFF); return b[:22] }),
		"truncated-entry":  good[:30],
		"value-zero":       mutate(func(b []byte) []byte { le.PutUint16(b[30:], 0); return b }),
		"value-nine":       mutate(func(b []byte) []byte { le.PutUint16(b[30:], 9); return b }),
		"value-ffff":       mutate(func(b []byte) []byte { le.PutUint16(b[30:], 0xFFFF); return b }),
		"type-ascii":       mutate(func(b []byte) []byte { le.PutUint16(b[24:], 2); return b }),
		"count-zero":       mutate(func(b []byte) []byte { le.PutUint32(b[26:], 0); return b }),
		"no-orientation":   mutate(func(b []byte) []byte { le.PutUint16(b[22:], 0x0110); return b }),
		// IFD0's next pointer refers back to IFD0: a loop for a parser that
		// follows chains; ours never does.
		"self-loop": mutate(func(b []byte) []byte {
			le.PutUint16(b[22:], 0x0110)
			le.PutUint32(b[34:], 8)
			return b
		}),
	}
	src := blocks()
	jpg := encodeJPEG(t, src, 90)
	for name, tiff := range tests {
		t.Run(name, func(t *testing.T) {
			if o := tiffOrientation(tiff); o != 1 {
				t.Errorf("tiffOrientation = %d, want 1", o)
			}
			data := insertSegments(jpg, jpegSegment(0xE1, exifAPP1(tiff)))
			m, info, err := Decode(data, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if info.Orientation != 1 || m.W != 24 || m.H != 16 {
				t.Errorf("info = %+v", info)
			}
		})
	}
}

func TestTIFFOrientationTypes(t *testing.T) {
	be := binary.BigEndian
	b := tiffWithOrientation(be, 0)
	be.PutUint16(b[24:], tiffTypeLong)
	be.PutUint32(b[30:], 7)
	if o := tiffOrientation(b); o != 7 {
		t.Errorf("LONG orientation = %d, want 7", o)
	}
	be.PutUint16(b[24:], tiffTypeByte)
	b[30] = 4
	if o := tiffOrientation(b); o != 4 {
		t.Errorf("BYTE orientation = %d, want 4", o)
	}
}

// TestContainerScannersMalformed feeds broken containers straight to the
// metadata scanners, which run on data the decoders may reject later.
func TestContainerScannersMalformed(t *testing.T) {
	exifSeg := jpegSegment(0xE1, exifAPP1(tiffWithOrientation(binary.LittleEndian, 6)))
	soi := []byte{0xFF, 0xD8}
	jpegCases := map[string][]byte{
		"soi-only":           soi,
		"segment-overruns":   append(append([]byte{}, soi...), exifSeg[:len(exifSeg)-3]...),
		"length-below-two":   append(append([]byte{}, soi...), 0xFF, 0xE1, 0x00, 0x01, 0, 0),
		"lost-sync":          append(append([]byte{}, soi...), 0x12, 0x34, 0x56, 0x78),
		"sos-before-exif":    append(append(append([]byte{}, soi...), 0xFF, 0xDA, 0x00, 0x02), exifSeg...),
		"all-fill-bytes":     append(append([]byte{}, soi...), bytes.Repeat([]byte{0xFF}, 1000)...),
		"rst-then-exif-trim": append(append([]byte{}, soi...), 0xFF, 0xD0, 0xFF),
	}
	for name, data := range jpegCases {
		if o := jpegOrientation(data); o != 1 {
			t.Errorf("jpeg %s: orientation %d, want 1", name, o)
		}
	}
	if o := jpegOrientation(append(append([]byte{}, soi...), exifSeg...)); o != 6 {
		t.Errorf("jpeg sanity: orientation %d, want 6", o)
	}

	exifChunk := riffChunk("EXIF", tiffWithOrientation(binary.LittleEndian, 6))
	webpCases := map[string][]byte{
		"short": []byte("RIFF\x00\x00\x00\x00WEB"),
		"chunk-overrun": func() []byte {
			b := webpFile(exifChunk)
			return b[:len(b)-4]
		}(),
		"riff-size-excludes-exif": func() []byte {
			b := webpFile(riffChunk("VP8L", []byte{1, 2}), exifChunk)
			binary.LittleEndian.PutUint32(b[4:], 4+10)
			return b
		}(),
		"huge-chunk-size": append([]byte("RIFF\xff\xff\xff\xffWEBPVP8L\xff\xff\xff\xff"), exifChunk...),
	}
	for name, data := range webpCases {
		if o := webpOrientation(data); o != 1 {
			t.Errorf("webp %s: orientation %d, want 1", name, o)
		}
	}
	if o := webpOrientation(webpFile(riffChunk("VP8L", []byte{1, 2, 3}), exifChunk)); o != 6 {
		t.Errorf("webp sanity (odd chunk padding): orientation %d, want 6", o)
	}

	sig := []byte("\x89PNG\r\n\x1a\n")
	exifPNG := pngChunk("eXIf", tiffWithOrientation(binary.BigEndian, 6))
	pngCases := map[string][]byte{
		"sig-only":     sig,
		"overrun":      append(append([]byte{}, sig...), exifPNG[:len(exifPNG)-1]...),
		"after-iend":   append(append(append([]byte{}, sig...), pngChunk("IEND", nil)...), exifPNG...),
		"huge-length":  append(append([]byte{}, sig...), 0xFF, 0xFF, 0xFF, 0xFF, 'e', 'X', 'I', 'f', 0, 0, 0, 0),
		"garbage-tiff": append(append([]byte{}, sig...), pngChunk("eXIf", []byte("garbage!!"))...),
	}
	for name, data := range pngCases {
		if o := pngOrientation(data); o != 1 {
			t.Errorf("png %s: orientation %d, want 1", name, o)
		}
	}
	if o := pngOrientation(append(append([]byte{}, sig...), exifPNG...)); o != 6 {
		t.Errorf("png sanity: orientation %d, want 6", o)
	}
	if o := exifOrientation(GIF, []byte("GIF89a")); o != 1 {
		t.Errorf("gif orientation %d, want 1", o)
	}
}
