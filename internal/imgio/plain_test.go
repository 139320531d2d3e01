package imgio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDescribe: every kind of bad input gets one plain sentence, without the package prefix or decoder detail,
// while Error keeps the technical chain.
func TestDescribe(t *testing.T) {
	jpg := encodeJPEG(t, photoLike(64, 48), 90)
	png := encodePNG(t, photoLike(64, 48))
	dir := t.TempDir()
	tests := []struct {
		name string
		data []byte
		lim  Limits
		want string
	}{
		{"empty", nil, Limits{}, "the image is empty (0 bytes)"},
		{"text", []byte("hello, this is text\n"), Limits{}, "not an image"},
		{"truncated jpeg", jpg[:len(jpg)/2], Limits{}, "the JPEG image is truncated"},
		{"truncated png", png[:len(png)-20], Limits{}, "the PNG image is truncated"},
		{"huge png", pngHeaderOnly(50000, 50000), Limits{}, "the image is 50000x50000 pixels; the limit is 40 megapixels"},
		{"over the pixel limit", png, Limits{MaxPixels: 2500}, "the image is 64x48 pixels; the limit is 0.0025 megapixels"},
		{"over the byte limit", png, Limits{MaxBytes: 100}, "the image is " + byteSize(int64(len(png))) + "; the limit is 100 bytes"},
		{"ascii ppm", []byte("P3\n1 1\n255\n0 0 0\n"), Limits{}, "the image is a Netpbm plain (ASCII) PPM pixmap (P3), which facegate does not read (binary PGM and PPM only)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Decode(tt.data, tt.lim)
			if err == nil {
				t.Fatal("Decode succeeded")
			}
			got, ok := Describe(err)
			if !ok || got != tt.want {
				t.Errorf("Describe(%q) = %q, %v; want %q", err, got, ok, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "imgio: ") {
				t.Errorf("Error() = %q lost its package prefix", err)
			}
		})
	}

	text := filepath.Join(dir, "README.txt")
	if err := os.WriteFile(text, []byte("read me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		text:                           "not an image",
		filepath.Join(dir, "none.jpg"): "no such file",
		dir:                            "is a folder, not an image file",
	} {
		_, _, err := DecodeFile(path, Limits{})
		if got, ok := Describe(err); !ok || got != want {
			t.Errorf("DecodeFile(%s): Describe = %q, %v; want %q (error %v)", filepath.Base(path), got, ok, want, err)
		}
	}
	for n, want := range map[int64]string{512: "512 bytes", 37 << 10: "37 KiB", 5 << 19: "2.5 MiB", 32 << 20: "32 MiB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
	if _, ok := Describe(os.ErrClosed); ok {
		t.Error("Describe claims an error that is not the package's")
	}
}
