package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/internal/modelpack"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/server"
	"github.com/facegate/facegate/store/sqlite"
)

func testEngine(t testing.TB) *engine.Engine { return testutil.Engine(t) }

// env is a running test server with an admin key.
type env struct {
	t     *testing.T
	url   string
	admin string
	store *sqlite.DB
	dir   string
	srv   *server.Server
}

// newEnv starts a test server on a fresh store. Its analyser is the fake one (fake_test.go) unless cfg.Engine
// is set: most tests are about HTTP, governance and decisions, not models, and run without the model pack.
// Tests of recognition on real photos use realEnv.
func newEnv(t *testing.T, cfg server.Config) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if cfg.Engine == nil {
		cfg.Engine = fakeAnalyser{}
	}
	cfg.Store, cfg.Index = st, index.New(facegate.TemplateDim)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := srv.EnsureAdminKey(context.Background(), "")
	if err != nil || secret == "" {
		t.Fatalf("admin key: %q %v", secret, err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	// Runs before hs.Close: it ends long-lived responses (SSE) that hs.Close would otherwise wait for.
	t.Cleanup(func() { srv.Close() })
	return &env{t: t, url: hs.URL, admin: secret, store: st, dir: dir, srv: srv}
}

// realEnv is newEnv with the real engine: a missing model pack skips the test (fails it under CI=true).
func realEnv(t *testing.T, cfg server.Config) *env {
	t.Helper()
	cfg.Engine = testEngine(t)
	return newEnv(t, cfg)
}

// client is an API client for the test server with the given key.
func (e *env) client(key string) *api.Client {
	c, err := api.NewClient(e.url, key, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// do sends a request and decodes a JSON response into out (if not nil); it returns the status.
func (e *env) do(method, path, key, contentType string, body []byte, out any) int {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: status %d, body %q: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

func (e *env) json(method, path, key string, in, out any) int {
	e.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	return e.do(method, path, key, "application/json", body, out)
}

// image posts an image as multipart/form-data with extra fields.
func (e *env) image(path, key string, img []byte, fields map[string]string, out any) int {
	e.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("image", "probe.jpg")
	fw.Write(img)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	mw.Close()
	return e.do("POST", path, key, mw.FormDataContentType(), b.Bytes(), out)
}

type apiErr struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

func readShared(t *testing.T, rel string) []byte { return testutil.ReadShared(t, rel) }

func readNPM(t *testing.T, name string) []byte { return testutil.ReadNPMImage(t, name) }

func TestAuthAndRoles(t *testing.T) {
	e := newEnv(t, server.Config{})
	var ae apiErr
	if st := e.json("GET", "/v1/galleries", "", nil, &ae); st != 401 || ae.Error.Code != "unauthorized" {
		t.Errorf("no key: %d %+v", st, ae)
	}
	if st := e.json("GET", "/v1/galleries", "fg_wrong", nil, &ae); st != 401 {
		t.Errorf("wrong key: %d", st)
	}
	if st := e.json("GET", "/healthz", "", nil, nil); st != 200 {
		t.Errorf("healthz without key: %d", st)
	}
	var created struct {
		Secret string          `json:"secret"`
		Key    facegate.APIKey `json:"key"`
	}
	if st := e.json("POST", "/v1/keys", e.admin, map[string]string{"name": "door", "role": "device"}, &created); st != 201 || created.Secret == "" {
		t.Fatalf("create device key: %d %+v", st, created)
	}
	if st := e.json("POST", "/v1/galleries", created.Secret, map[string]string{"name": "x"}, &ae); st != 403 || ae.Error.Code != "forbidden" {
		t.Errorf("device key creating a gallery: %d %+v", st, ae)
	}
	if st := e.json("GET", "/v1/galleries", created.Secret, nil, nil); st != 200 {
		t.Errorf("device key listing galleries: %d", st)
	}
	if st := e.json("DELETE", "/v1/keys/"+created.Key.ID, e.admin, nil, nil); st != 204 {
		t.Errorf("revoke: %d", st)
	}
	if st := e.json("GET", "/v1/galleries", created.Secret, nil, nil); st != 401 {
		t.Errorf("revoked key still works: %d", st)
	}
	// Keys are stored hashed: the secret appears nowhere in the data directory.
	filepath.Walk(e.dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			data, _ := os.ReadFile(p)
			if bytes.Contains(data, []byte(created.Secret)) || bytes.Contains(data, []byte(e.admin)) {
				t.Errorf("%s contains an API key secret in clear", p)
			}
		}
		return nil
	})
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, server.Config{RatePerSecond: 1, Burst: 3})
	codes := map[int]int{}
	for i := 0; i < 6; i++ {
		codes[e.json("GET", "/v1/galleries", e.admin, nil, nil)]++
	}
	if codes[200] != 3 || codes[429] != 3 {
		t.Errorf("statuses %v, want 3x200 then 3x429", codes)
	}
	req, _ := http.NewRequest("GET", e.url+"/v1/galleries", nil)
	req.Header.Set("X-API-Key", e.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestOpenAPIAndMetrics(t *testing.T) {
	e := newEnv(t, server.Config{})
	var doc map[string]any
	if st := e.json("GET", "/openapi.json", e.admin, nil, &doc); st != 200 || doc["openapi"] != "3.0.3" {
		t.Fatalf("openapi: %d %v", st, doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/v1/detect", "/v1/compare", "/v1/galleries/{g}/search", "/v1/galleries/{g}/subjects/{s}/faces", "/v1/galleries/{g}/subjects/{s}/verify"} {
		if paths[p] == nil {
			t.Errorf("openapi lacks %s", p)
		}
	}
	req, _ := http.NewRequest("GET", e.url+"/metrics", nil)
	req.Header.Set("X-API-Key", e.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`facegate_http_requests_total{route="GET /openapi.json",status="200"} 1`, "facegate_http_request_duration_seconds_bucket"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

// TestBadInputLeavesStoreUnchanged sends bad requests to every image route and checks the documented error and
// that nothing was stored; a good image on the same route is the control.
func TestBadInputLeavesStoreUnchanged(t *testing.T) {
	e := newEnv(t, server.Config{MaxBodyBytes: 1 << 20})
	var g facegate.Gallery
	if st := e.json("POST", "/v1/galleries", e.admin, map[string]string{"name": "staff"}, &g); st != 201 {
		t.Fatalf("gallery: %d", st)
	}
	var created api.SubjectCreated
	if st := e.json("POST", "/v1/galleries/staff/subjects", e.admin, map[string]string{"external_id": "e1", "display_name": "One"}, &created); st != 201 {
		t.Fatalf("subject: %d", st)
	}
	sub := created.Subject
	black := pngBlack(t)
	huge := bytes.Repeat([]byte{0xFF}, 2<<20)
	tests := []struct {
		name, path, ctype string
		body              []byte
		status            int
		code              string
	}{
		{"text as image", "/v1/detect", "image/jpeg", []byte("not an image at all"), 415, "unsupported_media_type"},
		{"empty image", "/v1/detect", "image/jpeg", nil, 400, "empty_image"},
		{"truncated jpeg", "/v1/detect", "image/jpeg", truncatedJPEG(t), 400, "truncated_image"},
		{"huge body", "/v1/detect", "image/jpeg", huge, 413, "too_large"},
		{"wrong content type", "/v1/detect", "text/plain", []byte("x"), 415, "unsupported_media_type"},
		{"bad base64", "/v1/detect", "application/json", []byte(`{"image": "!!!"}`), 400, "bad_image"},
		{"no face enrol", "/v1/galleries/staff/subjects/" + sub.ID + "/faces", "image/png", black, 422, "no_face"},
		{"no face search", "/v1/galleries/staff/search", "image/png", black, 200, ""},
		{"unknown gallery", "/v1/galleries/nope/search", "image/png", black, 404, "not_found"},
		{"unknown subject", "/v1/galleries/staff/subjects/sub_nope/faces", "image/png", black, 404, "not_found"},
		{"missing image", "/v1/compare", "application/json", []byte(`{"a": ""}`), 400, "bad_request"},
	}
	for _, tc := range tests {
		var ae apiErr
		st := e.do("POST", tc.path, e.admin, tc.ctype, tc.body, &ae)
		if st != tc.status || (tc.code != "" && ae.Error.Code != tc.code) {
			t.Errorf("%s: %d %q, want %d %q (%s)", tc.name, st, ae.Error.Code, tc.status, tc.code, ae.Error.Message)
		}
	}
	faces, err := e.store.Faces(context.Background(), g.ID, sub.ID)
	if err != nil || len(faces) != 0 {
		t.Errorf("bad requests stored %d faces (%v)", len(faces), err)
	}
	// The control: the same routes answer a good image (as multipart/form-data).
	var dr api.DetectResponse
	if st := e.image("/v1/detect", e.admin, fakePhoto(t, fakeFace{3, 0, 100}, fakeFace{4, 0, 100}), nil, &dr); st != 200 || len(dr.Faces) != 2 {
		t.Errorf("detect of a two-face photo: %d, %d faces", st, len(dr.Faces))
	}
	var sr api.SearchResponse
	if st := e.image("/v1/galleries/staff/search", e.admin, fakePhoto(t, fakeFace{3, 0, 100}), map[string]string{"top_k": "2"}, &sr); st != 200 ||
		len(sr.Faces) != 1 || sr.Faces[0].Result != api.ResultUnknown {
		t.Errorf("search of a one-face photo in a gallery without faces: %d %+v", st, sr.Faces)
	}
}

// TestBadInputEveryImageRoute sends each kind of bad input to every route that takes an image and checks the
// status, the error code, and that the store and the index are unchanged.
func TestBadInputEveryImageRoute(t *testing.T) {
	e := newEnv(t, server.Config{MaxBodyBytes: 1 << 20})
	ctx := context.Background()
	c := e.client(e.admin)
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("staff")}); err != nil {
		t.Fatal(err)
	}
	created, err := c.CreateSubject(ctx, "staff", api.SubjectRequest{ExternalID: ptr("e1"), Consent: consent("e1")}, api.EnrolOptions{TakeLargest: true},
		fakePhoto(t, fakeFace{1, 0, 100}, fakeFace{2, 0, 100}))
	if err != nil {
		t.Fatal(err)
	}
	sid := created.Subject.ID
	routes := map[string]string{ // route -> image part name
		"/v1/detect":                 "image",
		"/v1/galleries/staff/search": "image",
		"/v1/galleries/staff/subjects/" + sid + "/verify": "image",
		"/v1/galleries/staff/subjects/" + sid + "/faces":  "image",
		"/v1/galleries/staff/subjects":                    "image",
	}
	black := pngBlack(t)
	huge := bytes.Repeat([]byte{0xFF}, 2<<20)
	bodies := []struct {
		name   string
		data   []byte
		status int
		code   string
	}{
		{"corrupt", []byte("\x89PNG\r\n\x1a\nbut not really a PNG"), 400, ""},
		{"text", []byte("hello, this is text"), 415, "unsupported_media_type"},
		{"empty", []byte{}, 400, "empty_image"},
		{"huge", huge, 413, "too_large"},
		{"no face", black, 422, "no_face"},
	}
	multipartOf := func(part string, data []byte) (string, []byte) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile(part, "x")
		fw.Write(data)
		mw.Close()
		return mw.FormDataContentType(), b.Bytes()
	}
	for route, part := range routes {
		for _, bd := range bodies {
			status, code := bd.status, bd.code
			if bd.name == "no face" && (strings.HasSuffix(route, "/detect") || strings.HasSuffix(route, "/search")) {
				status, code = 200, "" // no face is an answer there: an empty list
			}
			if bd.name == "no face" && strings.HasSuffix(route, "/subjects") {
				code = "quality_rejected" // subject creation reports each image's failure
			}
			ct, body := multipartOf(part, bd.data)
			var ae apiErr
			st := e.do("POST", route, e.admin, ct, body, &ae)
			if st != status || (code != "" && ae.Error.Code != code) || (status >= 400 && ae.Error.Message == "") {
				t.Errorf("%s %s: %d %q, want %d %q (%s)", route, bd.name, st, ae.Error.Code, status, code, ae.Error.Message)
			}
		}
		ct, body := multipartOf(part, black)
		if st := e.do("POST", route, "", ct, body, nil); st != 401 {
			t.Errorf("%s without a key: %d", route, st)
		}
		wrong := strings.Replace(route, "/staff/", "/nope/", 1)
		if wrong != route {
			var ae apiErr
			if st := e.do("POST", wrong, e.admin, ct, body, &ae); st != 404 || ae.Error.Code != "not_found" {
				t.Errorf("%s: %d %q, want 404 not_found", wrong, st, ae.Error.Code)
			}
		}
	}
	// compare takes two images.
	for _, bd := range bodies {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("a", "a")
		fw.Write(bd.data)
		fw, _ = mw.CreateFormFile("b", "b")
		fw.Write(fakePhoto(t, fakeFace{1, 0, 100})[:min(len(bd.data)+1, 10)])
		mw.Close()
		var ae apiErr
		if st := e.do("POST", "/v1/compare", e.admin, mw.FormDataContentType(), b.Bytes(), &ae); st < 400 || st >= 500 || ae.Error.Code == "" {
			t.Errorf("compare %s: %d %+v", bd.name, st, ae)
		}
	}
	if n := count(t, e.store, "faces"); n != 1 {
		t.Errorf("bad requests changed the store: %d faces, want 1", n)
	}
	if n := count(t, e.store, "subjects"); n != 1 {
		t.Errorf("bad requests changed the store: %d subjects, want 1", n)
	}
	if info, err := c.Gallery(ctx, "staff"); err != nil || info.Templates != 1 || info.Subjects != 1 {
		t.Errorf("bad requests changed the index: %+v %v", info, err)
	}
}

// pngBlack is a valid 64x64 black PNG: it decodes and has no face.
func pngBlack(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEndToEndRecognition enrols people from the shared datasets through the HTTP API with the Go client,
// searches a different photo of each, verifies, deletes a subject and gets "unknown". It needs the models: it is
// the one test that the real engine, the calibrated threshold and the whole HTTP path recognise real people in
// real photos (a group photo among them), and tell them apart.
func TestEndToEndRecognition(t *testing.T) {
	e := realEnv(t, server.Config{})
	ctx := context.Background()
	c := e.client(e.admin)
	people := map[string][2]string{ // enrol photo, probe photo
		"obama":         {"face_recognition_examples/identity/obama/obama.jpg", "face_recognition_examples/identity/obama/obama2.jpg"},
		"biden":         {"face_recognition_examples/identity/biden/biden.jpg", "face_recognition_examples/identity/biden/biden2.jpg"},
		"rose_leslie":   {"face_recognition_examples/identity/rose_leslie/img1.jpg", "face_recognition_examples/identity/rose_leslie/img2.jpg"},
		"kit_harington": {"face_recognition_examples/identity/kit_harington/john1.jpeg", "face_recognition_examples/identity/kit_harington/john2.jpeg"},
	}
	for _, p := range people {
		readShared(t, p[0])
	}
	fmr := 0.001
	g, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("vip"), FMR: &fmr})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := modelpack.Manifest().ThresholdFor(fmr); g.Threshold != want {
		t.Errorf("gallery threshold %v, want the calibrated %v", g.Threshold, want)
	}
	ids := map[string]string{}
	for name, p := range people {
		created, err := c.CreateSubject(ctx, "vip", api.SubjectRequest{ExternalID: ptr(name), DisplayName: ptr(name), Consent: consent(name)}, api.EnrolOptions{TakeLargest: true}, readShared(t, p[0]))
		if err != nil {
			t.Fatalf("subject %s: %v", name, err)
		}
		if len(created.Faces) != 1 || created.Faces[0].Source == "" {
			t.Fatalf("subject %s created with faces %+v", name, created.Faces)
		}
		ids[name] = created.Subject.ID
	}
	// The multi-face photo enrols only with take_largest, and then as a second face of Obama.
	duo := readShared(t, "face_recognition_examples/multi_face/obama_and_biden.jpg")
	if _, err := c.Enrol(ctx, "vip", ids["obama"], duo, api.EnrolOptions{}); !api.IsCode(err, api.CodeMultipleFaces) {
		t.Errorf("two-face enrolment: %v, want %s", err, api.CodeMultipleFaces)
	}
	info, err := c.Gallery(ctx, "vip")
	if err != nil || info.Subjects != len(people) || info.Templates != len(people) {
		t.Errorf("gallery info %+v, %v", info, err)
	}
	for name, p := range people {
		sr, err := c.Search(ctx, "vip", readShared(t, p[1]), 3)
		if err != nil || len(sr.Faces) == 0 {
			t.Fatalf("search %s: %v %+v", name, err, sr)
		}
		top := sr.Faces[0]
		if top.Result != api.ResultMatch || top.Candidates[0].ExternalID != name {
			t.Errorf("search %s: %+v", name, top.Candidates)
		}
		for _, cand := range top.Candidates[1:] {
			if cand.Match {
				t.Errorf("search %s: second candidate %s also matches (%.3f)", name, cand.ExternalID, cand.Score)
			}
		}
		vr, err := c.Verify(ctx, "vip", ids[name], readShared(t, p[1]))
		if err != nil || !vr.Match {
			t.Errorf("verify %s: %v %+v", name, err, vr)
		}
	}
	// Both people in the two-face photo are identified.
	sr, err := c.Search(ctx, "vip", duo, 1)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, f := range sr.Faces {
		if f.Result == api.ResultMatch {
			found[f.Candidates[0].ExternalID] = true
		}
	}
	if !found["obama"] || !found["biden"] || len(found) != 2 {
		t.Errorf("two-face search found %v", found)
	}
	// A different person's photo does not verify as obama.
	if vr, err := c.Verify(ctx, "vip", ids["obama"], readShared(t, people["biden"][1])); err != nil || vr.Match {
		t.Errorf("biden verified as obama: %v %+v", err, vr)
	}
	if err := c.DeleteSubject(ctx, "vip", ids["obama"]); err != nil {
		t.Fatal(err)
	}
	sr, err = c.Search(ctx, "vip", readShared(t, people["obama"][1]), 5)
	if err != nil || len(sr.Faces) == 0 || sr.Faces[0].Result != api.ResultUnknown {
		t.Errorf("deleted subject still matches: %v %+v", err, sr)
	} else {
		for _, cand := range sr.Faces[0].Candidates {
			if cand.SubjectID == ids["obama"] {
				t.Errorf("deleted subject among candidates")
			}
		}
	}
	if _, err := e.store.Faces(ctx, g.ID, ids["obama"]); !errors.Is(err, facegate.ErrNotFound) {
		t.Errorf("deleted subject's faces: %v", err)
	}
	if n := count(t, e.store, "faces"); n != len(people)-1 {
		t.Errorf("%d faces in the store after deleting one of %d subjects", n, len(people))
	}
	if _, err := c.Verify(ctx, "vip", ids["obama"], readShared(t, people["obama"][1])); !api.IsCode(err, api.CodeNotFound) {
		t.Errorf("verify against a deleted subject: %v", err)
	}
}

// TestEnrolIdempotentAndAtomic checks that re-sending an image does not enrol it twice, that a subject created
// with images is stored with all of them or none, and that external IDs are unique and can be looked up.
func TestEnrolIdempotentAndAtomic(t *testing.T) {
	e := newEnv(t, server.Config{})
	ctx := context.Background()
	c := e.client(e.admin)
	// a: a group photo (the larger face is person 1); b: another photo of person 1.
	a, b := fakePhoto(t, fakeFace{1, 0, 100}, fakeFace{2, 0, 100}), fakePhoto(t, fakeFace{1, 3, 85})
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("g")}); err != nil {
		t.Fatal(err)
	}
	before := count(t, e.store, "subjects")
	// One good image and one without a face: 422 listing the bad image, and nothing stored.
	_, err := c.CreateSubject(ctx, "g", api.SubjectRequest{ExternalID: ptr("p1"), Consent: consent("p1")}, api.EnrolOptions{TakeLargest: true}, a, pngBlack(t))
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != 422 || !strings.Contains(string(ae.Details), `"image": 1`) {
		t.Fatalf("mixed images: %v %s", err, detailsOf(ae))
	}
	if n := count(t, e.store, "subjects"); n != before {
		t.Errorf("a rejected subject creation stored a subject")
	}
	created, err := c.CreateSubject(ctx, "g", api.SubjectRequest{ExternalID: ptr("p1"), Metadata: &map[string]string{"team": "red"}, Consent: consent("p1")}, api.EnrolOptions{TakeLargest: true, MinQuality: ptr[float32](0)}, a)
	if err != nil {
		t.Fatal(err)
	}
	sid := created.Subject.ID
	if _, err := c.CreateSubject(ctx, "g", api.SubjectRequest{ExternalID: ptr("p1")}, api.EnrolOptions{}); !api.IsCode(err, api.CodeConflict) {
		t.Errorf("duplicate external ID: %v", err)
	}
	got, err := c.SubjectByExternalID(ctx, "g", "p1")
	if err != nil || got.ID != sid || got.Metadata["team"] != "red" {
		t.Errorf("by external ID: %+v %v", got, err)
	}
	if _, err := c.SubjectByExternalID(ctx, "g", "p2"); !api.IsCode(err, api.CodeNotFound) {
		t.Errorf("missing external ID: %v", err)
	}
	// The same image again returns the existing face, 200 and duplicate.
	again, err := c.Enrol(ctx, "g", sid, a, api.EnrolOptions{TakeLargest: true, MinQuality: ptr[float32](0)})
	if err != nil || !again.Duplicate || again.Face.ID != created.Faces[0].ID {
		t.Errorf("re-enrol: %+v %v", again, err)
	}
	second, err := c.Enrol(ctx, "g", sid, b, api.EnrolOptions{TakeLargest: true, MinQuality: ptr[float32](0)})
	if err != nil || second.Duplicate {
		var ae *api.Error
		errors.As(err, &ae)
		t.Fatalf("second image: %+v %v %v", second, err, ae.Reasons())
	}
	faces, err := c.Faces(ctx, "g", sid)
	if err != nil || len(faces) != 2 {
		t.Errorf("%d faces, %v", len(faces), err)
	}
	info, _ := c.Gallery(ctx, "g")
	if info.Templates != 2 || info.Subjects != 1 {
		t.Errorf("index out of step: %+v", info)
	}
	if err := c.DeleteFace(ctx, "g", sid, second.Face.ID); err != nil {
		t.Fatal(err)
	}
	if info, _ := c.Gallery(ctx, "g"); info.Templates != 1 {
		t.Errorf("templates after deleting a face: %d", info.Templates)
	}
	if err := c.DeleteGallery(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, e.store, "faces"); n != 0 {
		t.Errorf("%d faces after deleting the gallery", n)
	}
}

func detailsOf(e *api.Error) string {
	if e == nil {
		return ""
	}
	return string(e.Details)
}

func ptr[T any](v T) *T { return &v }

// consent is the consent record a test subject is created with (the galleries of these tests require consent).
func consent(who string) *api.ConsentRequest {
	return &api.ConsentRequest{GivenBy: who, Evidence: "test consent form " + who}
}

// count returns the number of rows in a table of the test store.
func count(t *testing.T, st *sqlite.DB, table string) int {
	t.Helper()
	n, err := st.Count(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
