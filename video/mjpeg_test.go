package video_test

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/video"
	"github.com/facegate/facegate/video/ffmpeg"
)

// camera serves the clip's frames as MJPEG (multipart/x-mixed-replace) at 10 fps, the way an IP camera does. The
// first connection to send dieAfter frames dies then, as a failing camera would (the source's content-type probe
// is a connection too, which closes early); later connections go on from where the clip was.
type camera struct {
	frames   [][]byte
	dieAfter int
	next     atomic.Int64 // the next frame to send, across connections
	conns    atomic.Int64
	died     atomic.Bool
}

func (c *camera) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.conns.Add(1)
	const boundary = "camframe"
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+boundary)
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for sent := 0; ; sent++ {
		if sent == c.dieAfter && c.died.CompareAndSwap(false, true) {
			panic(http.ErrAbortHandler) // drop the connection mid-stream
		}
		b := c.frames[int(c.next.Add(1)-1)%len(c.frames)]
		if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", boundary, len(b)); err != nil {
			return
		}
		w.Write(b)
		io.WriteString(w, "\r\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

// clipJPEGs decodes the clip at fps into JPEG frames.
func clipJPEGs(t *testing.T, path string, fps float64) [][]byte {
	t.Helper()
	src, err := ffmpeg.Open(ffmpeg.Options{Source: path, FPS: fps, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go src.Run(ctx)
	var out [][]byte
	for {
		fr, err := src.Next(ctx)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, fr.Img.ToStd(), &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
}

// TestMJPEGCameraReconnects: the clip served over HTTP as MJPEG by the test itself, read live (real time, frames
// dropped when analysis is busy). The camera drops the connection after 3 s; the stream reconnects and goes on,
// and the performer is identified after the reconnect.
func TestMJPEGCameraReconnects(t *testing.T) {
	needFFmpeg(t)
	path := testutil.Shared(t, clip)
	cam := &camera{frames: clipJPEGs(t, path, 10), dieAfter: 30}
	if len(cam.frames) < 90 {
		t.Fatalf("%d frames from the clip", len(cam.frames))
	}
	hs := httptest.NewServer(cam)
	defer hs.Close()
	f := newFixture(t, "lin_manuel_miranda", "obama", "biden")
	st := f.stream(t, facegate.Stream{Name: "ipcam", Source: hs.URL + "/video.mjpg", Gallery: f.gallery.ID, FPS: 5})
	p, err := video.New(video.Config{Stream: st, Engine: testutil.Engine(t), Index: f.index, Store: f.store,
		Publish: f.publish, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := p.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	defer wg.Wait()
	defer cancel()
	var reconnectedAt time.Time
	for {
		for _, e := range f.byType(facegate.EventStreamStatus) {
			if e.Status.State == facegate.StreamReconnecting && reconnectedAt.IsZero() {
				reconnectedAt = e.Time
				t.Logf("reconnecting after %d frames: %s", e.Status.FramesIn, e.Status.LastError)
			}
		}
		if !reconnectedAt.IsZero() {
			for _, e := range f.byType(facegate.EventMatch) {
				if e.Time.After(reconnectedAt) {
					if e.Match.ExternalID != "lin_manuel_miranda" {
						t.Fatalf("match after the reconnect: %s", e.Match.ExternalID)
					}
					s := p.Status()
					t.Logf("matched %s (%.3f) after the reconnect; status %+v", e.Match.ExternalID, e.Match.Score, s)
					if s.Reconnects < 1 || s.Width != 640 || s.Height != 360 {
						t.Errorf("status: %+v", s)
					}
					return
				}
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("no reconnect followed by a match within the deadline; connections %d, status %+v", cam.conns.Load(), p.Status())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
