package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/protect"
	"github.com/facegate/facegate/server"
	"github.com/facegate/facegate/store/sqlite"
)

// sealedServer starts a server on the store in dir, opened with the keyring and sealed as 'facegate serve'
// does; logs go to log. The admin key is created on the first start and given back in admin after.
func sealedServer(t *testing.T, dir string, k *protect.Keyring, admin *string, log io.Writer) (*env, func()) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	st.SetKeyring(k)
	if _, err := st.SealStore(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, server.Config{Store: st, Engine: fakeAnalyser{}, Index: index.New(facegate.TemplateDim),
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})), TemplatesEncrypted: true})
	if err != nil {
		t.Fatal(err)
	}
	if *admin == "" {
		if *admin, err = srv.EnsureAdminKey(ctx, ""); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewServer(srv.Handler())
	stop := func() { srv.Close(); hs.Close(); st.Close() }
	t.Cleanup(stop)
	return &env{t: t, url: hs.URL, admin: *admin, store: st, dir: dir, srv: srv}, stop
}

// sealedDir is a new data directory and a new template keyring for sealedServer.
func sealedDir(t *testing.T) (string, *protect.Keyring) {
	t.Helper()
	k, err := protect.ParseKeyring(mustKeyLine(t))
	if err != nil {
		t.Fatal(err)
	}
	return t.TempDir(), k
}

// rawDB opens the database file directly, as someone with access to the disk (and not the key) would.
func rawDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func rawBody(t *testing.T, e *env, method, path string, body any) (int, string) {
	t.Helper()
	var in []byte
	if body != nil {
		in, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, e.url+path, bytes.NewReader(in))
	req.Header.Set("Authorization", "Bearer "+e.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// TestAttackPlaintextTemplateSwap replays finding 4 end to end: with the server stopped, someone with the
// database file but not the key replaces the victim's sealed template by the attacker's own template in clear.
// The restarted server refuses that row (it is quarantined: logged, counted, listed in /v1/me for admins) and
// serves the rest; the attacker's photo matches the attacker, never the victim.
func TestAttackPlaintextTemplateSwap(t *testing.T) {
	dir, k := sealedDir(t)
	var admin string
	var log syncBuffer
	e, stop := sealedServer(t, dir, k, &admin, &log)
	ctx := context.Background()
	c := e.client(e.admin)
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("doors")}); err != nil {
		t.Fatal(err)
	}
	victim, err := c.CreateSubject(ctx, "doors", api.SubjectRequest{ExternalID: ptr("victim"), Consent: consent("Victim")}, api.EnrolOptions{},
		fakePhoto(t, fakeFace{1, 0, 100}))
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := c.CreateSubject(ctx, "doors", api.SubjectRequest{ExternalID: ptr("attacker"), Consent: consent("Attacker")}, api.EnrolOptions{},
		fakePhoto(t, fakeFace{2, 0, 100}))
	if err != nil {
		t.Fatal(err)
	}
	stop()

	var plain []byte
	for _, v := range unitFor(2) { // the attacker's own template, as the public model computes it from a photo
		plain = binary.LittleEndian.AppendUint32(plain, math.Float32bits(v))
	}
	if _, err := rawDB(t, dir).Exec("UPDATE faces SET template = ? WHERE id = ?", plain, victim.Faces[0].ID); err != nil {
		t.Fatal(err)
	}

	e, _ = sealedServer(t, dir, k, &admin, &log)
	c = e.client(e.admin)
	res, err := c.Search(ctx, "doors", fakePhoto(t, fakeFace{2, 0, 100}), 5)
	if err != nil || len(res.Faces) != 1 {
		t.Fatalf("search: %+v %v", res, err)
	}
	for _, cand := range res.Faces[0].Candidates {
		if cand.SubjectID == victim.Subject.ID {
			t.Fatalf("the attacker's photo is a candidate for the victim (score %.3f): the planted row was used", cand.Score)
		}
	}
	if m := res.Faces[0].Match; m == nil || m.SubjectID != attacker.Subject.ID {
		t.Fatalf("the attacker's photo should match the attacker (the rest of the gallery is served): %+v", res.Faces[0])
	}
	var me api.Me
	if st := e.json("GET", "/v1/me", e.admin, nil, &me); st != 200 || len(me.Quarantined) != 1 || me.Quarantined[0].ID != victim.Faces[0].ID ||
		!strings.Contains(me.Quarantined[0].Reason, "in clear") {
		t.Fatalf("/v1/me: %d %+v", st, me.Quarantined)
	}
	if !strings.Contains(log.String(), "stored row quarantined") || !strings.Contains(log.String(), victim.Faces[0].ID) {
		t.Fatal("the quarantined row is not in the log")
	}
	_, metrics := rawBody(t, e, "GET", "/metrics", nil)
	if !strings.Contains(metrics, `facegate_quarantined_rows{kind="face"} 1`) {
		t.Fatal("facegate_quarantined_rows does not count the row")
	}
	// An operator does not see the list.
	op, err := c.CreateKey(ctx, "op", facegate.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	var opMe api.Me
	if e.json("GET", "/v1/me", op.Secret, nil, &opMe); opMe.Quarantined != nil {
		t.Fatalf("an operator sees quarantined rows: %+v", opMe.Quarantined)
	}
}

func mustKeyLine(t *testing.T) string {
	t.Helper()
	line, err := protect.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// TestAttackStreamCredentials replays finding 8: a camera's password (in the user information and in a token
// parameter) never comes back from the API (create, get, list, replace: raw bodies checked), nor in the logs,
// and is not in the database files in clear; replacing the stream with the source as shown keeps it, and
// sending the mask towards another host does not carry it there.
func TestAttackStreamCredentials(t *testing.T) {
	const password, token = "Zq7-pass-w0rd", "T0ken-abcdef99"
	src := "rtsp://admin:" + password + "@127.0.0.1:1/live?token=" + token
	dir, k := sealedDir(t)
	var admin string
	var log syncBuffer
	e, _ := sealedServer(t, dir, k, &admin, &log)
	leaks := func(what, s string) {
		t.Helper()
		if strings.Contains(s, password) || strings.Contains(s, token) {
			t.Fatalf("%s shows the camera's credentials: %s", what, s)
		}
	}
	st, body := rawBody(t, e, "POST", "/v1/streams", api.StreamRequest{Name: "door", Source: src, FPS: 2})
	if st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	leaks("POST /v1/streams", body)
	var info api.StreamInfo
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		t.Fatal(err)
	}
	if !info.HasCredentials || info.Source != "rtsp://admin:***@127.0.0.1:1/live?token=***" {
		t.Fatalf("the source as shown: %q (has_credentials %v)", info.Source, info.HasCredentials)
	}
	_, body = rawBody(t, e, "GET", "/v1/streams/"+info.ID, nil)
	leaks("GET /v1/streams/{id}", body)
	_, body = rawBody(t, e, "GET", "/v1/streams", nil)
	leaks("GET /v1/streams", body)

	// Replace it with the source as shown and another frame rate: the stored credentials stay.
	st, body = rawBody(t, e, "PUT", "/v1/streams/"+info.ID, api.StreamRequest{Name: "door", Source: info.Source, FPS: 3})
	if st != 200 {
		t.Fatalf("replace: %d %s", st, body)
	}
	leaks("PUT /v1/streams/{id}", body)
	stored, err := e.store.Stream(context.Background(), info.ID)
	if err != nil || stored.Source != src || stored.FPS != 3 {
		t.Fatalf("stored after a replace with the masked source: %q fps %v %v", stored.Source, stored.FPS, err)
	}
	// The mask sent with another host is taken literally: the password does not follow it.
	st, body = rawBody(t, e, "PUT", "/v1/streams/"+info.ID, api.StreamRequest{Name: "door", Source: strings.Replace(info.Source, "127.0.0.1:1", "127.0.0.2:1", 1), FPS: 3})
	if st != 200 {
		t.Fatalf("replace with another host: %d %s", st, body)
	}
	if stored, _ = e.store.Stream(context.Background(), info.ID); strings.Contains(stored.Source, password) || strings.Contains(stored.Source, token) {
		t.Fatalf("the stored password went with the mask to another host: %q", stored.Source)
	}
	// Put the real source back, give ffmpeg a moment to fail on it, then look at the logs and the files.
	if st, body = rawBody(t, e, "PUT", "/v1/streams/"+info.ID, api.StreamRequest{Name: "door", Source: src, FPS: 2}); st != 200 {
		t.Fatalf("replace: %d %s", st, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(log.String(), "ffmpeg source failed") {
		time.Sleep(50 * time.Millisecond)
	}
	_, body = rawBody(t, e, "GET", "/v1/streams/"+info.ID, nil)
	leaks("GET /v1/streams/{id} after a failure", body)
	_, body = rawBody(t, e, "GET", "/v1/events/recent?stream="+info.ID, nil)
	if !strings.Contains(body, "stream_status") {
		t.Fatalf("no stream status event to look at: %s", body)
	}
	leaks("GET /v1/events/recent", body)
	if !strings.Contains(log.String(), "ffmpeg source failed") {
		t.Fatal("ffmpeg did not fail on the source: the log check would see nothing")
	}
	leaks("the log", log.String())
	if err := e.store.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, needle := range []string{password, token} {
		if files, _ := scanDir(t, dir, []byte(needle)); len(files) > 0 {
			t.Fatalf("%q is in clear in %v", needle, files)
		}
	}
}

// TestCorruptStreamRowQuarantined: a stream row whose configuration does not parse does not stop the server:
// the other streams run and are listed, the bad one is reported.
func TestCorruptStreamRowQuarantined(t *testing.T) {
	dir, k := sealedDir(t)
	var admin string
	var log syncBuffer
	e, stop := sealedServer(t, dir, k, &admin, &log)
	c := e.client(e.admin)
	ctx := context.Background()
	good, err := c.CreateStream(ctx, api.StreamRequest{Name: "good", Source: "rtsp://127.0.0.1:1/a"})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := c.CreateStream(ctx, api.StreamRequest{Name: "bad", Source: "rtsp://127.0.0.1:1/b"})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := rawDB(t, dir).Exec("UPDATE streams SET config = '{not json' WHERE id = ?", bad.ID); err != nil {
		t.Fatal(err)
	}
	e, _ = sealedServer(t, dir, k, &admin, &log)
	c = e.client(e.admin)
	list, err := c.Streams(ctx)
	if err != nil || len(list) != 1 || list[0].ID != good.ID || list[0].Status.State == facegate.StreamStopped {
		t.Fatalf("streams with a corrupt row: %+v %v", list, err)
	}
	var me api.Me
	if e.json("GET", "/v1/me", e.admin, nil, &me); len(me.Quarantined) != 1 || me.Quarantined[0].Kind != "stream" || me.Quarantined[0].ID != bad.ID {
		t.Fatalf("/v1/me: %+v", me.Quarantined)
	}
	// The bad stream answers with a sentence, and can be deleted.
	var apiErr struct{ Error api.Error }
	if st := e.json("GET", "/v1/streams/"+bad.ID, e.admin, nil, &apiErr); st != http.StatusConflict || !strings.Contains(apiErr.Error.Message, "cannot be read") {
		t.Fatalf("GET of the bad stream: %d %+v", st, apiErr)
	}
	if err := c.DeleteStream(ctx, bad.ID); err != nil {
		t.Fatalf("deleting the bad stream: %v", err)
	}
	var after api.Me
	if e.json("GET", "/v1/me", e.admin, nil, &after); len(after.Quarantined) != 0 {
		t.Fatalf("/v1/me after deleting the bad stream: %+v", after.Quarantined)
	}
}

// TestEnrolmentImageHashKeyed: with a template key the database keeps a keyed hash of each enrolment image, not
// its SHA-256, so whoever holds the database and a photo cannot confirm the photo was enrolled; the server still
// recognises the same image sent again.
func TestEnrolmentImageHashKeyed(t *testing.T) {
	dir, k := sealedDir(t)
	var admin string
	e, _ := sealedServer(t, dir, k, &admin, io.Discard)
	c := e.client(e.admin)
	ctx := context.Background()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("doors")}); err != nil {
		t.Fatal(err)
	}
	photo := fakePhoto(t, fakeFace{4, 0, 100})
	created, err := c.CreateSubject(ctx, "doors", api.SubjectRequest{Consent: consent("Someone")}, api.EnrolOptions{}, photo)
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := rawDB(t, dir).QueryRow("SELECT source FROM faces WHERE id = ?", created.Faces[0].ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(photo)
	if stored == "" || stored == hex.EncodeToString(sum[:]) {
		t.Fatalf("the stored image hash %q is the photo's plain SHA-256", stored)
	}
	again, err := c.Enrol(ctx, "doors", created.Subject.ID, photo, api.EnrolOptions{})
	if err != nil || !again.Duplicate || again.Face.ID != created.Faces[0].ID {
		t.Fatalf("the same image sent again: %+v %v", again, err)
	}
}

// TestCorruptTemplateRowsQuarantined: a template that does not decode (a length that is not whole float32s) or
// is not a valid template (wrong dimension) does not stop a server on a store without a key: the other faces
// are searched, the two rows are reported.
func TestCorruptTemplateRowsQuarantined(t *testing.T) {
	e := newEnv(t, server.Config{})
	c := e.client(e.admin)
	ctx := context.Background()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("doors")}); err != nil {
		t.Fatal(err)
	}
	var ids, subjects []string
	for i := range 3 {
		s, err := c.CreateSubject(ctx, "doors", api.SubjectRequest{Consent: consent("Someone")}, api.EnrolOptions{}, fakePhoto(t, fakeFace{uint8(10 + i), 0, 100}))
		if err != nil {
			t.Fatal(err)
		}
		ids, subjects = append(ids, s.Faces[0].ID), append(subjects, s.Subject.ID)
	}
	second, err := c.Enrol(ctx, "doors", subjects[0], fakePhoto(t, fakeFace{20, 0, 100}), api.EnrolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, e.dir)
	for id, tmpl := range map[string][]byte{ids[0]: {1, 2, 3, 4, 5, 6, 7}, ids[1]: make([]byte, 4*16)} {
		if _, err := raw.Exec("UPDATE faces SET template = ? WHERE id = ?", tmpl, id); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := server.New(ctx, server.Config{Store: e.store, Engine: fakeAnalyser{}, Index: index.New(facegate.TemplateDim),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("corrupt rows stopped the server: %v", err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	e2 := &env{t: t, url: hs.URL, admin: e.admin, store: e.store, dir: e.dir, srv: srv}
	res, err := e2.client(e.admin).Search(ctx, "doors", fakePhoto(t, fakeFace{12, 0, 100}), 1)
	if err != nil || len(res.Faces) != 1 || res.Faces[0].Match == nil || res.Faces[0].Match.FaceID != ids[2] {
		t.Fatalf("the intact face is not served: %+v %v", res, err)
	}
	var me api.Me
	e2.json("GET", "/v1/me", e.admin, nil, &me)
	got := map[string]bool{}
	for _, r := range me.Quarantined {
		got[r.ID] = r.Kind == "face"
	}
	if len(me.Quarantined) != 2 || !got[ids[0]] || !got[ids[1]] {
		t.Fatalf("/v1/me quarantined: %+v", me.Quarantined)
	}
	// The subject with the bad face is still served: its readable face is listed and verifies, the bad one
	// answers 409 with what to do (never a 500), and the person can still be erased.
	c2 := e2.client(e.admin)
	if info, err := c2.Subject(ctx, "doors", subjects[0]); err != nil || info.Faces != 1 {
		t.Fatalf("subject with a quarantined face: %+v %v", info, err)
	}
	if faces, err := c2.Faces(ctx, "doors", subjects[0]); err != nil || len(faces) != 1 || faces[0].ID != second.Face.ID {
		t.Fatalf("faces of a subject with a quarantined face: %+v %v", faces, err)
	}
	if v, err := c2.Verify(ctx, "doors", subjects[0], fakePhoto(t, fakeFace{20, 0, 100})); err != nil || !v.Match {
		t.Fatalf("verification with the readable face: %+v %v", v, err)
	}
	var ae apiErr
	if code := e2.json("GET", "/v1/galleries/doors/subjects/"+subjects[0]+"/faces/"+ids[0]+"/thumbnail", e.admin, nil, &ae); code != 409 ||
		ae.Error.Code != "conflict" || !strings.Contains(ae.Error.Message, ids[0]) {
		t.Fatalf("the quarantined face itself: %d %+v, want 409 conflict naming it", code, ae)
	}
	if err := c2.DeleteSubject(ctx, "doors", subjects[0]); err != nil {
		t.Fatalf("erasing a subject with a quarantined face: %v", err)
	}
	e2.json("GET", "/v1/me", e.admin, nil, &me)
	if len(me.Quarantined) > 2 {
		t.Fatalf("a bad row is reported again on every request: %+v", me.Quarantined)
	}
}
