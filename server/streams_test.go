package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/events"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/internal/testutil/testenv"
	"github.com/facegate/facegate/server"
)

const clipPath = "face_recognition_examples/video/short_hamilton_clip.mp4"

func needFFmpeg(t *testing.T) {
	t.Helper()
	testenv.FFmpeg(t)
}

// hookReceiver is a webhook endpoint that verifies signatures and fails its first failFirst deliveries.
type hookReceiver struct {
	t         *testing.T
	secret    string
	failFirst int

	mu       sync.Mutex
	attempts int
	got      []facegate.Event
	bad      int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts++
	if err := events.Verify(h.secret, r.Header, body, time.Minute, time.Now()); err != nil {
		h.bad++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if h.attempts <= h.failFirst {
		http.Error(w, "not yet", http.StatusInternalServerError)
		return
	}
	var e facegate.Event
	if err := jsonUnmarshal(body, &e); err != nil {
		h.t.Errorf("webhook body: %v", err)
	}
	h.got = append(h.got, e)
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) events() []facegate.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]facegate.Event(nil), h.got...)
}

// TestStreamEndToEnd: the performer is enrolled from his still photo through the API; a stream on the real clip
// identifies him; the match arrives over SSE and over a signed webhook that fails at first (retried, same id);
// the stored crop is served until the retention sweep deletes it; the stream's status tells what happened. It
// needs the models: the match must come from real detection, tracking and recognition of a person in real video.
func TestStreamEndToEnd(t *testing.T) {
	needFFmpeg(t)
	clip := testutil.Shared(t, clipPath)
	hook := &hookReceiver{t: t, secret: "whsec_test", failFirst: 2}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	// The clip's folder is allowed, and private networks: the webhook receiver is on the loopback.
	e := realEnv(t, server.Config{StreamDirs: []string{filepath.Dir(clip)}, AllowPrivateNetworks: true,
		Webhooks: events.DelivererOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}})
	c := e.client(e.admin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	g, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("stage")})
	if err != nil {
		t.Fatal(err)
	}
	lin, err := c.CreateSubject(ctx, g.ID, api.SubjectRequest{ExternalID: ptr("lin"), DisplayName: ptr("Lin-Manuel Miranda"), Consent: consent("Lin-Manuel Miranda")}, api.EnrolOptions{},
		readShared(t, "face_recognition_examples/identity/lin_manuel_miranda/lin-manuel-miranda.png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSubject(ctx, g.ID, api.SubjectRequest{ExternalID: ptr("obama"), Consent: consent("obama")}, api.EnrolOptions{},
		readShared(t, "face_recognition_examples/identity/obama/obama.jpg")); err != nil {
		t.Fatal(err)
	}
	// Subscribe before the stream starts, so no event is missed.
	evs, evErr, err := c.Events(ctx, api.EventFilter{Types: []facegate.EventType{facegate.EventMatch, facegate.EventTrackEnded, facegate.EventStreamStatus}}, "")
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.CreateStream(ctx, api.StreamRequest{Name: "hamilton", Source: clip, Gallery: "stage", NoRealtime: true,
		Webhook: &facegate.Webhook{URL: hs.URL, Secret: hook.secret}})
	if err != nil {
		t.Fatal(err)
	}
	if info.Webhook == nil || info.Webhook.Secret == hook.secret {
		t.Errorf("the webhook secret is returned: %+v", info.Webhook)
	}
	var match *facegate.Event
	ended := false
	for match == nil || !ended {
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatalf("event stream closed: %v", evErr())
			}
			if ev.Stream != info.ID {
				continue
			}
			switch ev.Type {
			case facegate.EventMatch:
				if ev.Match.Subject != lin.Subject.ID {
					t.Errorf("match with %s (%s), want the performer", ev.Match.Subject, ev.Match.ExternalID)
				}
				if match == nil {
					match = &ev
				}
			case facegate.EventStreamStatus:
				ended = ev.Status.State == facegate.StreamEnded
			}
		case <-ctx.Done():
			t.Fatal("no match event and end of stream within the deadline")
		}
	}
	if match.Match.DisplayName != "Lin-Manuel Miranda" || len(match.Crop) == 0 {
		t.Errorf("match event: name %q, crop %d bytes", match.Match.DisplayName, len(match.Crop))
	}
	// The webhook got the same event (same id), after failing twice.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got *facegate.Event
		for _, ev := range hook.events() {
			if ev.ID == match.ID {
				got = &ev
			}
		}
		if got != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook never received match %s (attempts %d, bad signatures %d)", match.ID, hook.attempts, hook.bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if hook.bad != 0 {
		t.Errorf("%d webhook deliveries failed signature verification", hook.bad)
	}
	st, err := c.Stream(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.State != facegate.StreamEnded || st.Status.FramesAnalysed < 45 {
		t.Errorf("status after the clip: %+v", st.Status)
	}
	// Recent events are served as JSON too.
	if recent, err := c.RecentEvents(ctx, api.EventFilter{Streams: []string{info.ID}, Types: []facegate.EventType{facegate.EventMatch}}, 10); err != nil || len(recent) == 0 || recent[0].ID != match.ID {
		t.Fatalf("recent events: %d %v", len(recent), err)
	}
	// The crop is served, and gone after the retention sweep.
	crop, err := c.MatchCrop(ctx, match.ID)
	if err != nil || !bytes.HasPrefix(crop, []byte{0xff, 0xd8}) {
		t.Fatalf("crop: %d bytes, %v", len(crop), err)
	}
	if _, err := jpeg.Decode(bytes.NewReader(crop)); err != nil {
		t.Fatalf("crop is not a JPEG: %v", err)
	}
	if res, err := e.srv.Sweep(ctx, time.Now().Add(facegate.DefaultCropRetention+time.Hour)); err != nil || res.Crops == 0 || res.Events == 0 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	if _, err := c.MatchCrop(ctx, match.ID); !api.IsCode(err, api.CodeNotFound) {
		t.Fatalf("crop after its retention: %v", err)
	}
	// The sweep a week later also pruned the events (24 h retention).
	recent, err := c.RecentEvents(ctx, api.EventFilter{Streams: []string{info.ID}}, 10)
	if err != nil || len(recent) != 0 {
		t.Fatalf("recent events after the event retention: %d %v: %+v", len(recent), err, recent)
	}
	// Metrics describe the stream.
	var metrics bytes.Buffer
	if code := e.do("GET", "/metrics", e.admin, "", nil, nil); code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	req, _ := http.NewRequest("GET", e.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(&metrics, resp.Body)
	resp.Body.Close()
	for _, want := range []string{`facegate_stream_frames_analysed{stream="` + info.ID + `"}`, `facegate_stream_events_total{stream="` + info.ID + `",type="match"}`,
		`facegate_stream_decision_latency_seconds_count{stream="` + info.ID + `",type="match"}`} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if err := c.DeleteStream(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stream(ctx, info.ID); !api.IsCode(err, api.CodeNotFound) {
		t.Fatalf("deleted stream: %v", err)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestStreamAPIErrors: bad stream requests are refused with the documented codes and store nothing.
func TestStreamAPIErrors(t *testing.T) {
	needFFmpeg(t)
	e := newEnv(t, server.Config{})
	op := e.client(e.admin)
	ctx := context.Background()
	opKey, err := op.CreateKey(ctx, "operator", facegate.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		key    string
		req    any
		status int
		code   string
	}{
		{"no name", e.admin, api.StreamRequest{Source: "/x.mp4"}, 400, api.CodeBadRequest},
		{"unknown scheme", e.admin, api.StreamRequest{Name: "a", Source: "ftp://cam/1"}, 400, api.CodeBadSource},
		{"missing file", e.admin, api.StreamRequest{Name: "a", Source: "/nonexistent/clip.mp4"}, 400, api.CodeBadSource},
		{"unknown gallery", e.admin, api.StreamRequest{Name: "a", Source: "rtsp://127.0.0.1:1/x", Gallery: "nope"}, 404, api.CodeNotFound},
		{"fps", e.admin, api.StreamRequest{Name: "a", Source: "rtsp://127.0.0.1:1/x", FPS: 500}, 400, api.CodeBadRequest},
		{"max_width too large", e.admin, api.StreamRequest{Name: "a", Source: "rtsp://127.0.0.1:1/x", MaxWidth: 100_000}, 400, api.CodeBadRequest},
		{"crop retention overflow", e.admin, api.StreamRequest{Name: "a", Source: "rtsp://127.0.0.1:1/x", CropRetentionHours: 1 << 40}, 400, api.CodeBadRequest},
		{"crowd interval too long", e.admin, api.StreamRequest{Name: "a", Source: "rtsp://127.0.0.1:1/x", CrowdIntervalSeconds: 1e9}, 400, api.CodeBadRequest},
		{"webhook", e.admin, api.StreamRequest{Name: "a", Source: "rtsp://127.0.0.1:1/x", Webhook: &facegate.Webhook{URL: "file:///etc/passwd"}}, 400, api.CodeBadRequest},
		{"unknown field", e.admin, map[string]any{"name": "a", "source": "rtsp://h/x", "sauce": 1}, 400, api.CodeBadRequest},
		{"operator may not configure", opKey.Secret, api.StreamRequest{Name: "a", Source: "rtsp://127.0.0.1:1/x"}, 403, api.CodeForbidden},
		{"no key", "", api.StreamRequest{Name: "a", Source: "rtsp://127.0.0.1:1/x"}, 401, api.CodeUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out apiErr
			if got := e.json("POST", "/v1/streams", tc.key, tc.req, &out); got != tc.status || out.Error.Code != tc.code {
				t.Errorf("status %d code %q (%s), want %d %q", got, out.Error.Code, out.Error.Message, tc.status, tc.code)
			}
		})
	}
	if n := count(t, e.store, "streams"); n != 0 {
		t.Fatalf("%d streams stored by refused requests", n)
	}
	for _, path := range []string{"/v1/streams/nope", "/v1/streams/nope/preview"} {
		var out apiErr
		if got := e.json("GET", path, e.admin, nil, &out); got != 404 || out.Error.Code != api.CodeNotFound {
			t.Errorf("GET %s: %d %q", path, got, out.Error.Code)
		}
	}
	var out apiErr
	if got := e.json("GET", "/v1/events?type=nonsense", e.admin, nil, &out); got != 400 {
		t.Errorf("bad event filter: %d %q", got, out.Error.Code)
	}
}

// TestStreamBadURLStatusAndRestart: a source nobody serves shows why in its status; streams are stored
// configuration and come back when the server restarts.
func TestStreamBadURLStatusAndRestart(t *testing.T) {
	needFFmpeg(t)
	e := newEnv(t, server.Config{AllowPrivateNetworks: true}) // the dead camera is on the loopback
	c := e.client(e.admin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := c.CreateStream(ctx, api.StreamRequest{Name: "dead camera", Source: "http://127.0.0.1:1/mjpeg"})
	if err != nil {
		t.Fatal(err)
	}
	var st *api.StreamInfo
	for {
		st, err = c.Stream(ctx, info.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status.State == facegate.StreamReconnecting && st.Status.LastError != "" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("status never said why: %+v", st.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("status: %s, last error %q", st.Status.State, st.Status.LastError)
	if !strings.Contains(strings.ToLower(st.Status.LastError), "refused") {
		t.Errorf("last error %q does not say the connection was refused", st.Status.LastError)
	}
	// Editing replaces the configuration and restarts the stream; an unchanged webhook keeps its secret.
	if _, err := c.CreateStream(ctx, api.StreamRequest{Name: "other", Source: "http://127.0.0.1:1/b"}); err != nil {
		t.Fatal(err)
	}
	edit := api.StreamRequest{Name: "dead camera", Source: "http://127.0.0.1:1/mjpeg2", FPS: 2,
		Webhook: &facegate.Webhook{URL: "http://127.0.0.1:1/hook", Secret: "first"}}
	if _, err := c.ReplaceStream(ctx, info.ID, edit); err != nil {
		t.Fatal(err)
	}
	edit.Webhook = &facegate.Webhook{URL: "http://127.0.0.1:1/hook"} // as a console would send it back
	edit.FPS = 3
	got, err := c.ReplaceStream(ctx, info.ID, edit)
	if err != nil || got.FPS != 3 || got.Source != edit.Source {
		t.Fatalf("replace: %+v %v", got, err)
	}
	stored, err := e.store.Stream(ctx, info.ID)
	if err != nil || stored.Webhook == nil || stored.Webhook.Secret != "first" {
		t.Fatalf("stored webhook after an edit without the secret: %+v %v", stored.Webhook, err)
	}
	edit.Name = "other"
	if _, err := c.ReplaceStream(ctx, info.ID, edit); !api.IsCode(err, api.CodeConflict) {
		t.Fatalf("rename onto another stream: %v", err)
	}
	if _, err := c.ReplaceStream(ctx, "nope", edit); !api.IsCode(err, api.CodeNotFound) {
		t.Fatalf("replace unknown stream: %v", err)
	}
	info.Source = "http://127.0.0.1:1/mjpeg2"

	// A second server on the same store (a restart) runs the stored streams again.
	srv2, err := server.New(ctx, server.Config{Store: e.store, Engine: fakeAnalyser{}, Index: index.New(facegate.TemplateDim),
		Logger: slog.New(slog.DiscardHandler), AllowPrivateNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	hs2 := httptest.NewServer(srv2.Handler())
	defer hs2.Close()
	c2, _ := api.NewClient(hs2.URL, e.admin, nil)
	list, err := c2.Streams(ctx)
	if err != nil || len(list) != 2 || list[0].ID != info.ID || list[0].Source != info.Source {
		t.Fatalf("streams after restart: %+v %v", list, err)
	}
	for _, st := range list {
		if st.Status.State == facegate.StreamStopped {
			t.Fatalf("stored stream %s was not started again: %+v", st.Name, st.Status)
		}
	}
	srv2.Close()
	// A server whose ffmpeg is missing still starts; its streams say why they are not running.
	srv3, err := server.New(ctx, server.Config{Store: e.store, Engine: fakeAnalyser{}, Index: index.New(facegate.TemplateDim),
		Logger: slog.New(slog.DiscardHandler), FFmpeg: "/nonexistent/ffmpeg", AllowPrivateNetworks: true})
	if err != nil {
		t.Fatalf("a missing ffmpeg stopped the server: %v", err)
	}
	defer srv3.Close()
	hs3 := httptest.NewServer(srv3.Handler())
	defer hs3.Close()
	c3, _ := api.NewClient(hs3.URL, e.admin, nil)
	got3, err := c3.Stream(ctx, info.ID)
	if err != nil || got3.Status.State != facegate.StreamStopped || !strings.Contains(got3.Status.LastError, "ffmpeg") {
		t.Fatalf("status with ffmpeg missing: %+v %v", got3.Status, err)
	}
}

// TestStreamPreview reads the annotated MJPEG preview of a looping stream: real JPEG frames of the stream's size,
// with the stream's counting line drawn where its frame coordinates say. It needs ffmpeg, not the models: the
// stream is a clip of fake photos (fakeClip, 200x160) with one face.
func TestStreamPreview(t *testing.T) {
	clip := fakeClip(t, 2, fakeFace{3, 0, 100})
	e := newEnv(t, server.Config{StreamDirs: []string{filepath.Dir(clip)}})
	c := e.client(e.admin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := c.CreateStream(ctx, api.StreamRequest{Name: "loop", Source: clip, Loop: true, FPS: 5,
		Lines: []facegate.Line{{Name: "door", From: facegate.FramePoint{X: 0.9, Y: 0.05}, To: facegate.FramePoint{X: 0.9, Y: 0.6}}}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/v1/streams/"+info.ID+"/preview", nil)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/x-mixed-replace" {
		t.Fatalf("content type %q: %v", resp.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(bufio.NewReader(resp.Body), params["boundary"])
	for i := 0; i < 3; i++ {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		img, err := jpeg.Decode(part)
		if err != nil {
			t.Fatalf("part %d is not a JPEG: %v", i, err)
		}
		if b := img.Bounds(); b.Dx() != 200 || b.Dy() != 160 {
			t.Fatalf("preview frame %v, want 200x160", b)
		}
		// The line runs down x = 0.9 x 199 = 179 from y 8 to 95, magenta (255, 60, 200) through JPEG.
		for _, y := range []int{30, 60} {
			r, g, b, _ := img.At(179, y).RGBA()
			if r>>8 < 180 || g>>8 > 140 || b>>8 < 130 {
				t.Errorf("part %d: (179, %d) is (%d, %d, %d), want the counting line's magenta", i, y, r>>8, g>>8, b>>8)
			}
		}
	}
	// Deleting the stream ends the preview.
	if err := c.DeleteStream(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		done <- err
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the preview did not end when its stream was deleted")
	}
}
