package ffmpeg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// ppm returns a P6 frame with header hdr and w*h*3 pixel bytes i%251.
func ppm(hdr string, w, h int) []byte {
	b := []byte(hdr)
	for i := 0; i < w*h*3; i++ {
		b = append(b, byte(i%251))
	}
	return b
}

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name      string
		data      []byte
		maxPixels int
		w, h      int   // expected size when err is nil
		err       error // errors.Is target; nil = success
		msg       string
	}{
		{name: "ffmpeg header", data: ppm("P6\n4 3\n255\n", 4, 3), w: 4, h: 3},
		{name: "spaces", data: ppm("P6 4 3 255 ", 4, 3), w: 4, h: 3},
		{name: "mixed whitespace", data: ppm("P6\t\r\n 4\v\f3\r\n\t255\t", 4, 3), w: 4, h: 3},
		{name: "leading whitespace", data: ppm("\n\n P6\n2 2\n255\n", 2, 2), w: 2, h: 2},
		{name: "comments", data: ppm("P6# made by ffmpeg\n#another\n4 # width\n3\n# maxval next\n255\n", 4, 3), w: 4, h: 3},
		{name: "comment ended by CR", data: ppm("P6\n#c\r4 3\n255\n", 4, 3), w: 4, h: 3},
		{name: "CRLF", data: ppm("P6\r\n4 3\r\n255\r", 4, 3), w: 4, h: 3},
		{name: "1x1", data: ppm("P6\n1 1\n255\n", 1, 1), w: 1, h: 1},
		{name: "leading zeros", data: ppm("P6\n004 0003\n0255\n", 4, 3), w: 4, h: 3},
		{name: "exactly max pixels", data: ppm("P6\n4 4\n255\n", 4, 4), maxPixels: 16, w: 4, h: 4},

		{name: "empty", data: nil, err: io.EOF},
		{name: "only whitespace", data: []byte(" \n\t"), err: io.EOF},
		{name: "P5 magic", data: ppm("P5\n4 3\n255\n", 4, 1), err: ErrBadFrame, msg: "magic"},
		{name: "P3 magic", data: []byte("P3\n1 1\n255\n0 0 0\n"), err: ErrBadFrame, msg: "magic"},
		{name: "garbage", data: []byte("\x89PNG\r\n\x1a\n"), err: ErrBadFrame, msg: "magic"},
		{name: "no space after magic", data: []byte("P64 3\n255\n"), err: ErrBadFrame, msg: "whitespace"},
		{name: "letter in width", data: []byte("P6\n4a 3\n255\n"), err: ErrBadFrame, msg: "width"},
		{name: "negative width", data: []byte("P6\n-4 3\n255\n"), err: ErrBadFrame, msg: "width"},
		{name: "x separator", data: []byte("P6\n640x360\n255\n"), err: ErrBadFrame, msg: "width"},
		{name: "float height", data: []byte("P6\n4 3.5\n255\n"), err: ErrBadFrame, msg: "height"},
		{name: "missing maxval", data: []byte("P6\n4 3\n\n\nx"), err: ErrBadFrame, msg: "maxval"},
		{name: "too many digits", data: []byte("P6\n1234567890 1\n255\n"), err: ErrBadFrame, msg: "too long"},
		{name: "zero width", data: []byte("P6\n0 3\n255\n"), err: ErrBadFrame, msg: "empty"},
		{name: "zero height", data: []byte("P6\n4 0\n255\n"), err: ErrBadFrame, msg: "empty"},
		{name: "maxval 0", data: []byte("P6\n1 1\n0\n\x00\x00\x00"), err: ErrBadFrame, msg: "maxval"},
		{name: "16-bit maxval", data: ppm("P6\n1 1\n65535\n", 2, 1), err: ErrBadFrame, msg: "maxval"},
		{name: "comment right after maxval", data: []byte("P6\n1 1\n255#c\n\x00\x00\x00"), err: ErrBadFrame, msg: "maxval"},
		{name: "huge", data: []byte("P6\n100000 100000\n255\n"), err: ErrFrameTooLarge},
		{name: "over max pixels", data: ppm("P6\n4 4\n255\n", 4, 4), maxPixels: 15, err: ErrFrameTooLarge},
		{name: "EOF after magic", data: []byte("P6"), err: io.ErrUnexpectedEOF},
		{name: "EOF in width", data: []byte("P6\n64"), err: io.ErrUnexpectedEOF},
		{name: "EOF in comment", data: []byte("P6\n# comment"), err: io.ErrUnexpectedEOF},
		{name: "EOF before maxval", data: []byte("P6\n4 3\n"), err: io.ErrUnexpectedEOF},
		{name: "EOF after maxval", data: []byte("P6\n4 3\n255"), err: io.ErrUnexpectedEOF},
		{name: "no pixels", data: []byte("P6\n4 3\n255\n"), err: io.ErrUnexpectedEOF},
		{name: "truncated pixels", data: ppm("P6\n4 3\n255\n", 4, 3)[:20], err: io.ErrUnexpectedEOF, msg: "pixels"},
		{name: "one byte short", data: func() []byte { b := ppm("P6\n4 3\n255\n", 4, 3); return b[:len(b)-1] }(), err: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := ReadFrame(bufio.NewReader(bytes.NewReader(tt.data)), tt.maxPixels)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want one wrapping %v", err, tt.err)
				}
				if tt.err == io.EOF && err != io.EOF {
					t.Fatalf("err = %#v, want io.EOF itself", err)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("err = %q, want it to mention %q", err, tt.msg)
				}
				if img != nil {
					t.Fatalf("image returned with error")
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadFrame: %v", err)
			}
			if img.W != tt.w || img.H != tt.h || len(img.Pix) != tt.w*tt.h*3 {
				t.Fatalf("got %dx%d with %d bytes, want %dx%d", img.W, img.H, len(img.Pix), tt.w, tt.h)
			}
			for i, v := range img.Pix {
				if v != byte(i%251) {
					t.Fatalf("Pix[%d] = %d, want %d", i, v, i%251)
				}
			}
		})
	}
}

func TestReadFrameMaxval(t *testing.T) {
	// maxval 3: samples 0..3 scale to 0, 85, 170, 255; 4 is out of range.
	img, err := ReadFrame(bufio.NewReader(strings.NewReader("P6\n2 1\n3\n\x00\x01\x02\x03\x03\x00")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 85, 170, 255, 255, 0}; !bytes.Equal(img.Pix, want) {
		t.Fatalf("Pix = %v, want %v", img.Pix, want)
	}
	_, err = ReadFrame(bufio.NewReader(strings.NewReader("P6\n1 1\n3\n\x00\x04\x00")), 0)
	if !errors.Is(err, ErrBadFrame) {
		t.Fatalf("sample over maxval: err = %v, want ErrBadFrame", err)
	}
}

// TestReadFrameStream reads consecutive frames of changing sizes, delivered one byte at a time, then io.EOF.
func TestReadFrameStream(t *testing.T) {
	var stream []byte
	sizes := [][2]int{{4, 3}, {4, 3}, {2, 5}, {7, 1}}
	for _, s := range sizes {
		stream = append(stream, ppm(fmt.Sprintf("P6\n%d %d\n255\n", s[0], s[1]), s[0], s[1])...)
	}
	r := bufio.NewReader(iotest.OneByteReader(bytes.NewReader(stream)))
	for i, s := range sizes {
		img, err := ReadFrame(r, 0)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if img.W != s[0] || img.H != s[1] {
			t.Fatalf("frame %d: %dx%d, want %dx%d", i, img.W, img.H, s[0], s[1])
		}
	}
	if _, err := ReadFrame(r, 0); err != io.EOF {
		t.Fatalf("after the last frame: err = %v, want io.EOF", err)
	}
}

// TestReadFrameReadError passes a reader's error on.
func TestReadFrameReadError(t *testing.T) {
	boom := errors.New("boom")
	for _, data := range []string{"", "P6\n4", "P6\n1 1\n255\n\x00"} {
		r := bufio.NewReader(io.MultiReader(strings.NewReader(data), iotest.ErrReader(boom)))
		if _, err := ReadFrame(r, 0); !errors.Is(err, boom) {
			t.Errorf("%q then error: err = %v, want one wrapping boom", data, err)
		}
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte("P6\n2 2\n255\n0123456789ab"))
	f.Add([]byte("P6 1 1 255 abcP6\n1 1\n255\nxyz"))
	f.Add([]byte("P6#c\n2#c\n1#c\n3\n\x00\x01\x02\x03\x00\x01"))
	f.Add([]byte("P6\n64 64\n255\n"))
	f.Add([]byte("P6\n100000 100000\n255\n"))
	f.Add([]byte("P6\n1 1\n65535\n\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte(" \r\nP6\t3\v1\f7\r\x00\x01\x02\x03\x04\x05\x06\x07\x00"))
	f.Add([]byte("P5\n1 1\n255\n\x00"))
	const maxPixels = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for range 64 {
			img, err := ReadFrame(r, maxPixels)
			if err != nil {
				if img != nil {
					t.Fatal("image returned with an error")
				}
				if err != io.EOF && !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrFrameTooLarge) &&
					!errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error class: %v", err)
				}
				return
			}
			if img.W <= 0 || img.H <= 0 || img.W*img.H > maxPixels || len(img.Pix) != img.W*img.H*3 {
				t.Fatalf("bad image %dx%d with %d bytes", img.W, img.H, len(img.Pix))
			}
		}
	})
}
