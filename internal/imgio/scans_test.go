package imgio

import (
	"bytes"
	"errors"
	"image/jpeg"
	"runtime"
	"testing"
	"time"

	"github.com/facegate/facegate/internal/testutil/jpegbomb"
)

// TestJPEGScanBombRefusedCheaply replays the red-team review's scan bomb: a progressive JPEG of 16 megapixels with
// thousands of scans held an analysis slot for 89 s (libjpeg spent 26 s, then failed and image/jpeg decoded every
// scan again). It is refused in milliseconds, allocating next to nothing, however its scans are disguised: 0xFF00
// between segments, which both decoders skip as junk, used to make the scan counter read a length and jump over
// the scans.
func TestJPEGScanBombRefusedCheaply(t *testing.T) {
	plain := jpegbomb.Scans(4000, 4000, 6900)
	disguised := jpegbomb.Disguise(plain)
	for name, bomb := range map[string][]byte{"plain": plain, "disguised": disguised} {
		t.Run(name, func(t *testing.T) {
			if hd, err := parseJPEGHeader(bomb); err != nil || hd.scans != 6901 {
				t.Fatalf("%d scans counted, %v; want 6901", hd.scans, err)
			}
			if a := testing.AllocsPerRun(3, func() { _, _ = parseJPEGHeader(bomb) }); a != 0 {
				t.Errorf("the scan counter allocates %v times", a)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, _, err := Decode(bomb, Limits{})
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			msg, _ := Describe(err)
			const want = "the progressive JPEG of 16 megapixels has 6901 scans, too many to decode in time (at most 40 at this size): send a baseline (non-progressive) JPEG or a smaller image"
			if !errors.Is(err, ErrTooLarge) || msg != want {
				t.Fatalf("error %v, Describe %q; want ErrTooLarge, %q", err, msg, want)
			}
			if elapsed > 200*time.Millisecond {
				t.Errorf("refusal took %v", elapsed)
			}
			if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
				t.Errorf("refusal allocated %d bytes", d)
			}
		})
	}
	// The disguise is really read past: image/jpeg decodes the disguised scans of a small image.
	small := jpegbomb.Disguise(jpegbomb.DCScans(64, 48, 3, 3))
	if _, err := jpeg.Decode(bytes.NewReader(small)); err != nil {
		t.Fatalf("image/jpeg on disguised scans: %v", err)
	}
	if hd, err := parseJPEGHeader(small); err != nil || hd.scans != 3 || hd.scanSamples != 3*3*64*48 {
		t.Fatalf("disguised small JPEG: %d scans covering %d samples, %v", hd.scans, hd.scanSamples, err)
	}
}

// TestJPEGScanCap: whatever its size, a JPEG of more than maxScans (500) scans is refused, and one of 500 decodes.
func TestJPEGScanCap(t *testing.T) {
	if _, _, err := Decode(jpegbomb.Scans(16, 16, maxScans-1), Limits{}); err != nil {
		t.Fatalf("%d scans of 16x16: %v", maxScans, err)
	}
	_, _, err := Decode(jpegbomb.Scans(16, 16, maxScans), Limits{})
	msg, _ := Describe(err)
	const want = "the progressive JPEG of 16x16 pixels has 501 scans, too many to decode in time (at most 500 at this size): send a baseline (non-progressive) JPEG or a smaller image"
	if !errors.Is(err, ErrTooLarge) || msg != want {
		t.Fatalf("%d scans of 16x16: %v, Describe %q; want %q", maxScans+1, err, msg, want)
	}
}

// TestJPEGWorstAcceptedScans measures the costliest scans the bound admits, decoded by both decoders one after the
// other (what Decode does when libjpeg gives up): grey end-of-band scans and 3-component interleaved DC scans
// covering just under maxScanSamples. The figures go to docs/api.md ("JPEG scans"):
// go test -tags libjpeg ./internal/imgio -run TestJPEGWorstAcceptedScans -v. It times decoders, so make test runs
// it without the race detector (SLOW).
func TestJPEGWorstAcceptedScans(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 1.3 billion samples")
	}
	for name, j := range map[string][]byte{
		"grey 40 MP, 16 end-of-band scans": jpegbomb.Scans(6320, 6320, 15),
		"4:4:4 16 MP, 13 DC scans":         jpegbomb.DCScans(4000, 4000, 3, 13),
	} {
		hd, err := parseJPEGHeader(j)
		if err != nil || checkScans(hd, int64(hd.w)*int64(hd.h)) != nil {
			t.Fatalf("%s: %+v %v; want accepted", name, hd, err)
		}
		var native time.Duration
		if fastJPEG != nil {
			start := time.Now()
			if _, ok := fastJPEG(j, hd.w, hd.h); !ok {
				t.Errorf("%s: libjpeg failed", name)
			}
			native = time.Since(start)
		}
		start := time.Now()
		if _, err := jpeg.Decode(bytes.NewReader(j)); err != nil {
			t.Fatalf("%s: image/jpeg: %v", name, err)
		}
		std := time.Since(start)
		t.Logf("%s (%d samples): libjpeg %v, image/jpeg %v, both %v", name, hd.scanSamples, native.Round(time.Millisecond), std.Round(time.Millisecond), (native + std).Round(time.Millisecond))
		// Generous for a loaded machine: about 1.5 s on 2 cores; 1000 such scans took 77 s.
		if native+std > 8*time.Second {
			t.Errorf("%s: both decoders took %v", name, native+std)
		}
	}
}
