package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/server"
)

// slowAnalyser is the fake analyser with an expensive case: an image analysed with min_face at the engine's
// floor (what issue 12's attack sends) runs until release is closed or, when stopsOnCtx, until its context
// ends, as the engine does (within one model call). It counts the expensive analyses running, and their peak.
type slowAnalyser struct {
	fakeAnalyser
	release       chan struct{}
	stopsOnCtx    bool
	running, peak atomic.Int32
}

func (a *slowAnalyser) Analyze(ctx context.Context, img *imgio.Image, opt engine.Options) ([]facegate.Face, error) {
	if opt.MinFaceSize == engine.MinFaceFloor {
		n := a.running.Add(1)
		defer a.running.Add(-1)
		for p := a.peak.Load(); n > p && !a.peak.CompareAndSwap(p, n); p = a.peak.Load() {
		}
		var done <-chan struct{}
		if a.stopsOnCtx {
			done = ctx.Done()
		}
		select {
		case <-a.release:
		case <-done:
			return nil, fmt.Errorf("slow analyser: %w", ctx.Err())
		}
	}
	return a.fakeAnalyser.Analyze(ctx, img, opt)
}

// newKey creates an API key of role device and returns its secret.
func (e *env) newKey(name string) string {
	e.t.Helper()
	var created struct {
		Secret string `json:"secret"`
	}
	if st := e.json("POST", "/v1/keys", e.admin, map[string]string{"name": name, "role": "device"}, &created); st != 201 {
		e.t.Fatalf("creating key %s: %d", name, st)
	}
	return created.Secret
}

// detectCall posts img to /v1/detect with min_face (0: not sent) under ctx, and returns the status and the
// error code (ok is false when the request failed on the client side, as when ctx ended). Safe in goroutines.
func (e *env) detectCall(ctx context.Context, key string, img []byte, minFace int) (status int, code string, ok bool) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("image", "probe.png")
	fw.Write(img)
	if minFace != 0 {
		mw.WriteField("min_face", fmt.Sprint(minFace))
	}
	mw.Close()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.url+"/v1/detect", &b)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", false
	}
	defer resp.Body.Close()
	var ae apiErr
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &ae)
	return resp.StatusCode, ae.Error.Code, true
}

// waitFor polls cond every 10 ms for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// metric reads one line's value of /metrics ("" when absent).
func (e *env) metric(prefix string) string {
	e.t.Helper()
	for _, line := range strings.Split(e.metricsText(), "\n") {
		if strings.HasPrefix(line, prefix+" ") {
			return strings.TrimPrefix(line, prefix+" ")
		}
	}
	return ""
}

// metricsText is GET /metrics with the admin key.
func (e *env) metricsText() string {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url+"/metrics", nil)
	req.Header.Set("X-API-Key", e.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// TestAttackOneKeyCannotHoldAllSlots replays issue 12's flood: one key sends many expensive detections at once
// (four of them held every analysis slot for 115 s, and other keys got 503). Now the key holds at most its
// share (MaxAnalysesPerKey, default half of MaxAnalyses), its other requests wait for its own slots, and another
// key is served at once. When the flooding clients give up, their requests end and every slot is free again.
func TestAttackOneKeyCannotHoldAllSlots(t *testing.T) {
	slow := &slowAnalyser{release: make(chan struct{}), stopsOnCtx: true}
	e := newEnv(t, server.Config{Engine: slow, MaxAnalyses: 4, RequestTimeout: 20 * time.Second})
	flooder, other := e.newKey("flooder"), e.newKey("other")
	img := fakePhoto(t, fakeFace{id: 7, cos: 100})

	ctx, giveUp := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.detectCall(ctx, flooder, img, engine.MinFaceFloor)
		}()
	}
	waitFor(t, "the flooding key's analyses to start", func() bool { return slow.running.Load() == 2 })
	time.Sleep(200 * time.Millisecond) // time for any further request to take a slot, as it could before
	if p := slow.peak.Load(); p != 2 {
		t.Errorf("the flooding key ran %d analyses at once; its share of 4 slots is 2", p)
	}
	start := time.Now()
	if st, code, ok := e.detectCall(t.Context(), other, img, 0); !ok || st != 200 {
		t.Fatalf("another key during the flood: %d %s", st, code)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("another key waited %v during the flood", took)
	}
	giveUp()
	wg.Wait()
	waitFor(t, "every slot to be free once the flooding clients left", func() bool {
		return slow.running.Load() == 0 && e.metric("facegate_analyses_in_progress") == "0"
	})
}

// TestAttackClientGoneFreesSlot: a client that leaves frees what its request held, whether it was being
// analysed (the analysis stops with the request's context) or waiting for a slot (it stops waiting, answered
// 503 busy in the log). With one slot, the next request is served at once.
func TestAttackClientGoneFreesSlot(t *testing.T) {
	var logBuf syncBuffer
	slow := &slowAnalyser{release: make(chan struct{}), stopsOnCtx: true}
	e := newEnv(t, server.Config{Engine: slow, MaxAnalyses: 1, RequestTimeout: 20 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	key := e.newKey("leaver")
	img := fakePhoto(t, fakeFace{id: 7, cos: 100})

	// One request analysed, one waiting for the slot; the waiting one's client leaves first, then the other's.
	analysed, leaveAnalysed := context.WithCancel(t.Context())
	waiting, leaveWaiting := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, ctx := range []context.Context{analysed, waiting} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.detectCall(ctx, key, img, engine.MinFaceFloor)
		}()
		if ctx == analysed {
			waitFor(t, "the first analysis to start", func() bool { return slow.running.Load() == 1 })
		}
	}
	time.Sleep(100 * time.Millisecond) // the second is queued by now
	leaveWaiting()
	waitFor(t, "the waiting request to end", func() bool {
		return e.metric(`facegate_http_requests_total{route="POST /v1/detect",status="503"}`) == "1"
	})
	if !strings.Contains(logBuf.String(), "code=busy") {
		t.Errorf("the request that waited for a slot was not answered busy:\n%s", logBuf.String())
	}
	if slow.peak.Load() != 1 {
		t.Errorf("%d analyses ran at once on one slot", slow.peak.Load())
	}
	leaveAnalysed()
	wg.Wait()
	waitFor(t, "the analysed request to end", func() bool {
		return e.metric(`facegate_http_requests_total{route="POST /v1/detect",status="503"}`) == "2"
	})
	start := time.Now()
	if st, code, ok := e.detectCall(t.Context(), key, img, 0); !ok || st != 200 {
		t.Fatalf("the next request: %d %s", st, code)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the next request waited %v for the slot", took)
	}
}

// TestSlotWaitEndsAtRequestTimeout: a request that finds its key's share in use for longer than the request
// timeout gets 503 busy, with a sentence that says why, and the slot logic recovers when the holder ends.
func TestSlotWaitEndsAtRequestTimeout(t *testing.T) {
	slow := &slowAnalyser{release: make(chan struct{})} // a model call that does not stop early
	e := newEnv(t, server.Config{Engine: slow, MaxAnalyses: 2, MaxAnalysesPerKey: 1, RequestTimeout: 500 * time.Millisecond})
	key := e.newKey("busy")
	img := fakePhoto(t, fakeFace{id: 7, cos: 100})
	held := make(chan int, 1)
	go func() {
		st, _, _ := e.detectCall(t.Context(), key, img, engine.MinFaceFloor)
		held <- st
	}()
	waitFor(t, "the first analysis to start", func() bool { return slow.running.Load() == 1 })
	st, code, ok := e.detectCall(t.Context(), key, img, 0)
	if !ok || st != 503 || code != "busy" {
		t.Errorf("second request of a key over its share: %d %q, want 503 busy", st, code)
	}
	close(slow.release)
	<-held
	if st, code, _ := e.detectCall(t.Context(), key, img, 0); st != 200 {
		t.Errorf("after the holder ended: %d %s", st, code)
	}
}

// TestAttackMinFaceFloor replays issue 12's cheap attack: min_face=1 (4,521 detector runs for a 640x480 image,
// about 700,000 for 6240x6240). The API refuses it before taking a slot, with a code and the floor; at the
// floor the response says what was searched and found. Stream settings are held to the same floor.
func TestAttackMinFaceFloor(t *testing.T) {
	e := newEnv(t, server.Config{})
	img := fakePhoto(t, fakeFace{id: 7, cos: 100}, fakeFace{id: 8, cos: 100})
	for _, mf := range []string{"1", "9", "-3"} {
		var ae apiErr
		st := e.image("/v1/detect", e.admin, img, map[string]string{"min_face": mf}, &ae)
		want := "min_face_too_small"
		if st != 400 || ae.Error.Code != want || !strings.Contains(ae.Error.Message, fmt.Sprint(engine.MinFaceFloor)) {
			t.Errorf("min_face=%s: %d %+v, want 400 %s naming the floor", mf, st, ae.Error, want)
		}
	}
	var res api.DetectResponse
	if st := e.image("/v1/detect", e.admin, img, map[string]string{"min_face": fmt.Sprint(engine.MinFaceFloor)}, &res); st != 200 {
		t.Fatalf("min_face at the floor: %d", st)
	}
	if res.MinFaceUsed != engine.MinFaceFloor || res.FacesFound != 2 || res.FacesTruncated || len(res.Faces) != 2 {
		t.Errorf("at the floor: min_face_used %d, faces_found %d, truncated %v, %d faces", res.MinFaceUsed, res.FacesFound, res.FacesTruncated, len(res.Faces))
	}
	// Search reports the same counts.
	if st := e.json("POST", "/v1/galleries", e.admin, map[string]string{"name": "staff"}, nil); st != 201 {
		t.Fatalf("create gallery: %d", st)
	}
	var sr api.SearchResponse
	if st := e.image("/v1/galleries/staff/search", e.admin, img, nil, &sr); st != 200 || sr.FacesFound != 2 || sr.FacesTruncated || len(sr.Faces) != 2 {
		t.Errorf("search: %d, faces_found %d, truncated %v, %d faces", st, sr.FacesFound, sr.FacesTruncated, len(sr.Faces))
	}
	var ae apiErr
	if st := e.json("POST", "/v1/streams", e.admin, map[string]any{"name": "cam", "source": "clip.mp4", "min_face": 5}, &ae); st != 400 || ae.Error.Code != "min_face_too_small" {
		t.Errorf("stream with min_face 5: %d %+v", st, ae.Error)
	}
}

// TestAttackMinFaceRealEngine: the same through the real engine on a 1920x1537 group photo. At the floor its
// tiling would take more than the engine's detector-run budget, so it searches 12 px faces and says so, and
// still finds the four people.
func TestAttackMinFaceRealEngine(t *testing.T) {
	e := realEnv(t, server.Config{})
	img := readNPM(t, "sample6.jpg")
	var ae apiErr
	if st := e.image("/v1/detect", e.admin, img, map[string]string{"min_face": "1"}, &ae); st != 400 || ae.Error.Code != "min_face_too_small" {
		t.Errorf("min_face=1: %d %+v", st, ae.Error)
	}
	var res api.DetectResponse
	start := time.Now()
	if st := e.image("/v1/detect", e.admin, img, map[string]string{"min_face": fmt.Sprint(engine.MinFaceFloor)}, &res); st != 200 {
		t.Fatalf("min_face at the floor: %d", st)
	}
	t.Logf("1920x1537 at min_face %d: %v, min_face_used %d, %d faces", engine.MinFaceFloor, time.Since(start), res.MinFaceUsed, res.FacesFound)
	if res.MinFaceUsed != 12 || res.FacesFound != 4 || res.FacesTruncated || len(res.Faces) != 4 {
		t.Errorf("min_face_used %d, faces_found %d, truncated %v, %d faces; want 12, 4, false, 4", res.MinFaceUsed, res.FacesFound, res.FacesTruncated, len(res.Faces))
	}
}

// TestAttackWaitingRequestsBounded: requests waiting for a slot hold their bodies in memory, so one key may keep
// only so many waiting (4 times its share, at least 8). A key that floods with slow requests gets the excess
// refused at once (503 busy) instead of pinning one body per request, and another key is still served.
func TestAttackWaitingRequestsBounded(t *testing.T) {
	slow := &slowAnalyser{release: make(chan struct{}), stopsOnCtx: true}
	e := newEnv(t, server.Config{Engine: slow, MaxAnalyses: 2, RequestTimeout: 20 * time.Second})
	flooder, other := e.newKey("flooder"), e.newKey("other")
	img := fakePhoto(t, fakeFace{id: 7, cos: 100})
	const share, waiting, sent = 1, 8, 12 // MaxAnalyses 2: a key's share is 1

	ctx, giveUp := context.WithCancel(t.Context())
	defer giveUp()
	type answer struct {
		status int
		code   string
	}
	answers := make(chan answer, sent)
	var wg sync.WaitGroup
	for range sent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, code, ok := e.detectCall(ctx, flooder, img, engine.MinFaceFloor)
			if ok {
				answers <- answer{st, code}
			}
		}()
	}
	for range sent - share - waiting {
		select {
		case a := <-answers:
			if a.status != http.StatusServiceUnavailable || a.code != "busy" {
				t.Errorf("a request over the key's waiting room: %d %s, want 503 busy", a.status, a.code)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("requests over the key's waiting room were not refused at once")
		}
	}
	select {
	case a := <-answers:
		t.Errorf("more requests refused than the waiting room's excess: %d %s", a.status, a.code)
	case <-time.After(200 * time.Millisecond):
	}
	if st, code, ok := e.detectCall(t.Context(), other, img, 0); !ok || st != 200 {
		t.Fatalf("another key during the flood: %d %s", st, code)
	}
	giveUp()
	wg.Wait()
}
