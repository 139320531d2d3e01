package server_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/internal/testutil/jpegbomb"
	"github.com/facegate/facegate/server"
)

// zeroPNG streams a w×h non-interlaced PNG of the given bit depth and colour type (2 RGB, 6 RGBA) whose samples
// are all zero, never holding its pixels: 40 megapixels of 16-bit RGBA make a 400 KB file.
func zeroPNG(t *testing.T, w, h int, depth, colorType byte) []byte {
	t.Helper()
	chunk := func(typ string, data []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		b = append(append(b, typ...), data...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, depth, colorType, 0, 0, 0)
	channels := map[byte]int{2: 3, 6: 4}[colorType]
	row := make([]byte, 1+w*channels*int(depth)/8)
	var idat bytes.Buffer
	z, _ := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	for range h {
		if _, err := z.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	out := append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", ihdr)...)
	out = append(out, chunk("IDAT", idat.Bytes())...)
	return append(out, chunk("IEND", nil)...)
}

// TestAttackImageDecompressionBomb replays issue 12's image bomb: a 400 KB 16-bit RGBA PNG of 40 megapixels, under
// the pixel limit, cost 600 MB and 17 s a request (2.4 GB four at once). Four sent at once are now each refused
// from the header with 413 too_large and a sentence saying what to send, quickly and allocating next to nothing;
// the same picture as an 8-bit PNG is still analysed.
func TestAttackImageDecompressionBomb(t *testing.T) {
	e := newEnv(t, server.Config{})
	bomb := zeroPNG(t, 6320, 6320, 16, 6)
	if len(bomb) > 500<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	refusedAtOnce(t, e, "image/png", [][]byte{bomb, bomb, bomb, bomb},
		"16-bit RGBA PNG of 39.942 megapixels would need 419 MiB of memory to decode; the limit is 320 MiB: send an 8-bit PNG or a smaller image",
		3*time.Second, 32<<20)

	// The same pixels in 8 bits fit the default 320 MiB: decoded and analysed (the fake analyser finds no face).
	var res api.DetectResponse
	if st := e.do("POST", "/v1/detect", e.admin, "image/png", zeroPNG(t, 6320, 6320, 8, 6), &res); st != http.StatusOK || res.Width != 6320 {
		t.Fatalf("8-bit PNG of 40 megapixels: %d %+v", st, res)
	}
	// A lower --max-image-memory refuses it with the limit in the sentence.
	low := newEnv(t, server.Config{MaxImageMemory: 64 << 20})
	var out apiErr
	if st := low.do("POST", "/v1/detect", low.admin, "image/png", zeroPNG(t, 4000, 3000, 8, 2), &out); st != http.StatusRequestEntityTooLarge ||
		out.Error.Code != api.CodeTooLarge || !strings.Contains(out.Error.Message, "the limit is 64 MiB") {
		t.Errorf("12 megapixels under a 64 MiB limit: %d %+v", st, out.Error)
	}
}

// TestAttackJPEGScanBomb replays the red-team review's scan bomb: a 2.2 MB progressive JPEG of 16 megapixels with
// 6,900 scans held an analysis slot for 89 s, past the 30 s timeout, and fifty copies held every slot for 15
// minutes. Sent four at once, plain and with its scans disguised behind 0xFF00 pairs, each is refused with 413
// too_large from its markers, in milliseconds and allocating next to nothing; a progressive JPEG of 10 scans is
// still analysed.
func TestAttackJPEGScanBomb(t *testing.T) {
	e := newEnv(t, server.Config{})
	plain := jpegbomb.Scans(4000, 4000, 6900)
	bombs := [][]byte{plain, jpegbomb.Disguise(plain), plain, jpegbomb.Disguise(plain)}
	refusedAtOnce(t, e, "image/jpeg", bombs,
		"the progressive JPEG of 16 megapixels has 6901 scans, too many to decode in time (at most 40 at this size)",
		2*time.Second, 48<<20) // the four bodies, read and copied
	var res api.DetectResponse
	if st := e.do("POST", "/v1/detect", e.admin, "image/jpeg", jpegbomb.Scans(640, 480, 9), &res); st != http.StatusOK || res.Width != 640 {
		t.Fatalf("progressive JPEG of 10 scans: %d %+v", st, res)
	}
}

// refusedAtOnce sends the bombs to /v1/detect at once and checks that each is refused with 413 too_large and a
// message containing want, all within maxTime and allocating at most maxAlloc bytes in all.
func refusedAtOnce(t *testing.T, e *env, ctype string, bombs [][]byte, want string, maxTime time.Duration, maxAlloc uint64) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	var wg sync.WaitGroup
	for _, bomb := range bombs {
		wg.Go(func() {
			var out apiErr
			st := e.do("POST", "/v1/detect", e.admin, ctype, bomb, &out)
			if st != http.StatusRequestEntityTooLarge || out.Error.Code != api.CodeTooLarge || !strings.Contains(out.Error.Message, want) {
				t.Errorf("bomb: %d %+v", st, out.Error)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if elapsed > maxTime {
		t.Errorf("%d refusals took %v, want < %v", len(bombs), elapsed, maxTime)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > maxAlloc {
		t.Errorf("%d refusals allocated %d MB, want < %d", len(bombs), d>>20, maxAlloc>>20)
	}
}
