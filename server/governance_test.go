package server_test

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/protect"
	"github.com/facegate/facegate/server"
)

func purpose(p facegate.Purpose) *facegate.Purpose { return &p }

// TestGalleryGovernanceRules: purposes, legal bases and the consent default are enforced at creation.
func TestGalleryGovernanceRules(t *testing.T) {
	e := newEnv(t, server.Config{})
	c := e.client(e.admin)
	ctx := context.Background()
	g, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("doors")})
	if err != nil || g.Purpose != facegate.PurposeAccessControl || g.ConsentExempt {
		t.Fatalf("default gallery: %+v %v", g, err)
	}
	wl, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("wanted"), Purpose: purpose(facegate.PurposeWatchlist), LegalBasis: ptr("warrant 2026/77")})
	if err != nil || !wl.ConsentExempt {
		t.Fatalf("a watchlist with a legal basis is exempt from consent by default: %+v %v", wl, err)
	}
	for name, req := range map[string]api.GalleryRequest{
		"unknown purpose":           {Name: ptr("a"), Purpose: purpose("marketing")},
		"watchlist, no legal basis": {Name: ptr("b"), Purpose: purpose(facegate.PurposeWatchlist)},
		"exempt, no legal basis":    {Name: ptr("c"), ConsentExempt: ptr(true)},
		"negative retention":        {Name: ptr("d"), RetentionDays: ptr(-1)},
		"retention overflow":        {Name: ptr("d"), RetentionDays: ptr(1_000_000_000_000)},
	} {
		if _, err := c.CreateGallery(ctx, req); !api.IsCode(err, api.CodeBadRequest) {
			t.Errorf("%s: %v, want bad_request", name, err)
		}
	}
}

// TestConsentLifecycle: enrolment needs a consent covering the gallery's purpose; withdrawing it erases the
// faces in the same request, and the person is then unknown to search.
func TestConsentLifecycle(t *testing.T) {
	e := newEnv(t, server.Config{})
	c := e.client(e.admin)
	ctx := context.Background()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("office")}); err != nil {
		t.Fatal(err)
	}
	photo := fakePhoto(t, fakeFace{1, 0, 100})
	probe := fakePhoto(t, fakeFace{1, 2, 90}) // another photo of the same person
	before := count(t, e.store, "subjects")
	// No consent, or consent to another purpose: refused, nothing stored.
	for _, cr := range []*api.ConsentRequest{nil, {GivenBy: "B. Obama", Evidence: "form 1", Purposes: []facegate.Purpose{facegate.PurposePayment}}} {
		_, err := c.CreateSubject(ctx, "office", api.SubjectRequest{ExternalID: ptr("obama"), Consent: cr}, api.EnrolOptions{}, photo)
		if !api.IsCode(err, api.CodeConsentRequired) {
			t.Fatalf("enrolment with consent %+v: %v, want consent_required", cr, err)
		}
	}
	if n := count(t, e.store, "subjects"); n != before {
		t.Fatalf("refused enrolments stored %d subjects", n-before)
	}
	created, err := c.CreateSubject(ctx, "office", api.SubjectRequest{ExternalID: ptr("obama"),
		Consent: &api.ConsentRequest{GivenBy: "B. Obama", Evidence: "signed form 2026-11-29/1"}}, api.EnrolOptions{}, photo)
	if err != nil {
		t.Fatal(err)
	}
	sid := created.Subject.ID
	cs, err := c.Consents(ctx, "office", sid)
	if err != nil || len(cs) != 1 || cs[0].Purposes[0] != facegate.PurposeAccessControl || cs[0].RecordedBy == "" {
		t.Fatalf("consent records: %+v %v", cs, err)
	}
	res, err := c.Search(ctx, "office", probe, 1)
	if err != nil || len(res.Faces) != 1 || res.Faces[0].Result != api.ResultMatch {
		t.Fatalf("search before withdrawal: %+v %v", res, err)
	}
	w, err := c.WithdrawConsent(ctx, "office", sid, cs[0].ID)
	if err != nil || w.ErasedFaces != 1 || w.Consent.WithdrawnAt.IsZero() {
		t.Fatalf("withdrawal: %+v %v", w, err)
	}
	if n := count(t, e.store, "faces"); n != 0 {
		t.Fatalf("%d faces left after the only consent was withdrawn", n)
	}
	res, err = c.Search(ctx, "office", probe, 1)
	if err != nil || res.Faces[0].Result != api.ResultUnknown {
		t.Fatalf("search after withdrawal: %+v %v", res.Faces, err)
	}
	if _, err := c.Enrol(ctx, "office", sid, photo, api.EnrolOptions{}); !api.IsCode(err, api.CodeConsentRequired) {
		t.Fatalf("enrolment after withdrawal: %v", err)
	}
	// A new consent (recorded separately) allows enrolment again.
	if _, err := c.AddConsent(ctx, "office", sid, api.ConsentRequest{GivenBy: "B. Obama", Evidence: "signed form 2026-11-29/2",
		ExpiresAt: time.Now().Add(365 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enrol(ctx, "office", sid, photo, api.EnrolOptions{}); err != nil {
		t.Fatalf("enrolment with a new consent: %v", err)
	}
	if _, err := c.AddConsent(ctx, "office", sid, api.ConsentRequest{GivenBy: "B. Obama"}); !api.IsCode(err, api.CodeBadRequest) {
		t.Fatalf("consent without evidence: %v", err)
	}
}

// TestMinorsAndWatchlists: a minor's consent must come from a guardian; minors never go on watchlists; a
// watchlist entry records who added it, why, and when to review it.
func TestMinorsAndWatchlists(t *testing.T) {
	e := newEnv(t, server.Config{})
	c := e.client(e.admin)
	ctx := context.Background()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("school")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("wanted"), Purpose: purpose(facegate.PurposeWatchlist), LegalBasis: ptr("warrant 77")}); err != nil {
		t.Fatal(err)
	}
	photo := fakePhoto(t, fakeFace{2, 0, 100})
	_, err := c.CreateSubject(ctx, "school", api.SubjectRequest{ExternalID: ptr("kid"), Minor: ptr(true),
		Consent: &api.ConsentRequest{GivenBy: "kid", Evidence: "form"}}, api.EnrolOptions{}, photo)
	if !api.IsCode(err, api.CodeConsentRequired) {
		t.Fatalf("minor with own consent: %v", err)
	}
	if _, err := c.CreateSubject(ctx, "school", api.SubjectRequest{ExternalID: ptr("kid"), Minor: ptr(true),
		Consent: &api.ConsentRequest{GivenBy: "parent", Guardian: true, Evidence: "form"}}, api.EnrolOptions{}, photo); err != nil {
		t.Fatalf("minor with a guardian's consent: %v", err)
	}
	review := time.Now().Add(90 * 24 * time.Hour).UTC().Round(time.Second)
	entry := &facegate.WatchEntry{Reason: "warrant 77", ReviewAt: review}
	if _, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{ExternalID: ptr("x"), Minor: ptr(true), Watch: entry}, api.EnrolOptions{}, photo); !api.IsCode(err, api.CodeMinorWatchlist) {
		t.Fatalf("minor on a watchlist: %v", err)
	}
	if _, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{ExternalID: ptr("x")}, api.EnrolOptions{}, photo); !api.IsCode(err, api.CodeBadRequest) {
		t.Fatalf("watchlist subject without an entry: %v", err)
	}
	created, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{ExternalID: ptr("x"), Watch: entry}, api.EnrolOptions{}, photo)
	if err != nil {
		t.Fatal(err)
	}
	w := created.Subject.Watch
	if w == nil || w.AddedBy == "" || w.Reason != "warrant 77" || !w.ReviewAt.Equal(review) {
		t.Fatalf("watch entry: %+v", w)
	}
	if _, err := c.UpdateSubject(ctx, "wanted", created.Subject.ID, api.SubjectRequest{Minor: ptr(true)}); !api.IsCode(err, api.CodeMinorWatchlist) {
		t.Fatalf("flagging a watchlist subject as a minor: %v", err)
	}
}

// TestSensitiveInferencesOffByDefault: age, gender and expression run only where the deployment enabled them;
// liveness (a safeguard) always may. (The fake analyser's age is the face's identity: 33 here.)
func TestSensitiveInferencesOffByDefault(t *testing.T) {
	photo := fakePhoto(t, fakeFace{33, 0, 100})
	for _, tc := range []struct {
		enabled []engine.Attribute
		ask     string
		status  int
	}{
		{nil, "age", 403},
		{nil, "gender", 403},
		{nil, "expression", 403},
		{nil, "all", 403},
		{nil, "liveness", 200},
		{[]engine.Attribute{engine.AttrAge}, "age", 200},
		{[]engine.Attribute{engine.AttrAge}, "age,gender", 403},
	} {
		e := newEnv(t, server.Config{Inferences: tc.enabled})
		var out struct {
			api.DetectResponse
			Error struct{ Code string } `json:"error"`
		}
		got := e.do("POST", "/v1/detect?attributes="+tc.ask, e.admin, "image/jpeg", photo, &out)
		if got != tc.status {
			t.Errorf("enabled %v, asking %s: status %d (%s), want %d", tc.enabled, tc.ask, got, out.Error.Code, tc.status)
			continue
		}
		if got == 403 && out.Error.Code != api.CodeInferenceOff {
			t.Errorf("code %q, want %s", out.Error.Code, api.CodeInferenceOff)
		}
		if got == 200 && tc.ask == "age" && (len(out.Faces) != 1 || out.Faces[0].Attributes == nil || out.Faces[0].Attributes.Age == nil ||
			*out.Faces[0].Attributes.Age != 33 || out.Faces[0].Attributes.Gender != "") {
			t.Errorf("enabled age: want age 33 and nothing else in %+v", out.Faces)
		}
		if got == 200 && tc.ask == "liveness" && (len(out.Faces) != 1 || out.Faces[0].Attributes == nil || out.Faces[0].Attributes.Live == nil ||
			out.Faces[0].Attributes.Age != nil) {
			t.Errorf("liveness: want a verdict and no age in %+v", out.Faces)
		}
	}
}

// TestGalleryRetentionSweep: faces older than their gallery's retention_days are deleted by the sweep, from the
// store and from the index (search says unknown).
func TestGalleryRetentionSweep(t *testing.T) {
	e := newEnv(t, server.Config{})
	c := e.client(e.admin)
	ctx := context.Background()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("visitors"), RetentionDays: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSubject(ctx, "visitors", api.SubjectRequest{ExternalID: ptr("v1"), Consent: consent("v1")}, api.EnrolOptions{},
		fakePhoto(t, fakeFace{1, 0, 100})); err != nil {
		t.Fatal(err)
	}
	probe := fakePhoto(t, fakeFace{1, 2, 90})
	if res, err := e.srv.Sweep(ctx, time.Now()); err != nil || res.Faces != 0 {
		t.Fatalf("sweep within the retention: %+v %v", res, err)
	}
	if r, err := c.Search(ctx, "visitors", probe, 1); err != nil || r.Faces[0].Result != api.ResultMatch {
		t.Fatalf("search within the retention: %v", err)
	}
	if res, err := e.srv.Sweep(ctx, time.Now().Add(25*time.Hour)); err != nil || res.Faces != 1 {
		t.Fatalf("sweep after the retention: %+v %v", res, err)
	}
	if r, err := c.Search(ctx, "visitors", probe, 1); err != nil || r.Faces[0].Result != api.ResultUnknown {
		t.Fatalf("search after the retention: %+v %v", r, err)
	}
}

// TestUnlinkableTemplates: with a secret transform, enrolment and search work as before, the stored templates
// are not the engine's (they do not match raw templates of the same face), and a server started on the store
// with another secret, or none, refuses to run rather than silently finding nobody.
func TestUnlinkableTemplates(t *testing.T) {
	secret := []byte("a test secret of at least sixteen bytes")
	tr, err := protect.NewTransform(secret, facegate.TemplateDim)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, server.Config{Transform: tr})
	c := e.client(e.admin)
	ctx := context.Background()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("doors")}); err != nil {
		t.Fatal(err)
	}
	photo := fakePhoto(t, fakeFace{1, 0, 100})
	created, err := c.CreateSubject(ctx, "doors", api.SubjectRequest{ExternalID: ptr("o"), Consent: consent("o")}, api.EnrolOptions{}, photo)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Search(ctx, "doors", fakePhoto(t, fakeFace{1, 2, 90}), 1)
	if err != nil || res.Faces[0].Result != api.ResultMatch {
		t.Fatalf("search under the transform: %+v %v", res, err)
	}
	stored, err := e.store.Faces(ctx, created.Subject.GalleryID, created.Subject.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw := []facegate.Face{fakePrimary(t, photo)}
	if s := facegate.Similarity(stored[0].Template, raw[0].Template); s > 0.3 {
		t.Fatalf("the stored template matches the raw template of the same photo (%.3f): not transformed", s)
	}
	if s := facegate.Similarity(stored[0].Template, tr.Apply(raw[0].Template)); s < 0.99 {
		t.Fatalf("stored vs transformed raw: %.3f", s)
	}
	for _, other := range []*protect.Transform{nil, mustTransform(t, "another secret, also sixteen bytes+")} {
		_, err := server.New(ctx, server.Config{Store: e.store, Engine: fakeAnalyser{}, Index: index.New(facegate.TemplateDim), Transform: other})
		if err == nil || !strings.Contains(err.Error(), "template transform") {
			t.Errorf("a server with transform %q on this store: %v, want a refusal", other.Fingerprint(), err)
		}
	}
}

func mustTransform(t *testing.T, secret string) *protect.Transform {
	t.Helper()
	tr, err := protect.NewTransform([]byte(secret), facegate.TemplateDim)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestProbesNeverStored: a probe that matches nothing leaves no trace in the data directory: neither its
// image's bytes nor its template's (the scan is shown to see an enrolled face's template first).
func TestProbesNeverStored(t *testing.T) {
	e := newEnv(t, server.Config{})
	c := e.client(e.admin)
	ctx := context.Background()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("doors")}); err != nil {
		t.Fatal(err)
	}
	enrolled := noisyFakePhoto(t, 1, fakeFace{1, 0, 100})
	if _, err := c.CreateSubject(ctx, "doors", api.SubjectRequest{ExternalID: ptr("o"), Consent: consent("o")}, api.EnrolOptions{}, enrolled); err != nil {
		t.Fatal(err)
	}
	probe := noisyFakePhoto(t, 2, fakeFace{2, 0, 100}) // another person: unknown
	for _, route := range []string{"search", "verify", "detect", "compare"} {
		var err error
		switch route {
		case "search":
			var res *api.SearchResponse
			res, err = c.Search(ctx, "doors", probe, 1)
			if err == nil && res.Faces[0].Result != api.ResultUnknown {
				t.Fatalf("the probe matched: %+v", res.Faces[0])
			}
		case "verify":
			subs, _ := c.Subjects(ctx, "doors", "", 0)
			_, err = c.Verify(ctx, "doors", subs.Subjects[0].ID, probe)
		case "detect":
			_, err = c.Detect(ctx, probe)
		case "compare":
			_, err = c.Compare(ctx, probe, enrolled)
		}
		if err != nil {
			t.Fatalf("%s: %v", route, err)
		}
	}
	if err := e.store.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	templateOf := func(data []byte) []byte {
		var b []byte
		for _, v := range fakePrimary(t, data).Template[:16] {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		return b
	}
	if tf, _ := scanDir(t, e.dir, templateOf(enrolled)); len(tf) == 0 {
		t.Fatal("the scan does not find the enrolled template: it cannot see templates")
	}
	if tf, _ := scanDir(t, e.dir, templateOf(probe)); len(tf) != 0 {
		t.Errorf("the probe's template is in %v", tf)
	}
	if pf, _ := scanDir(t, e.dir, probe[len(probe)/2:len(probe)/2+64]); len(pf) != 0 {
		t.Errorf("the probe image's bytes are in %v", pf)
	}
}

// TestMe: a key learns its role and what the deployment switched on; unknown API paths stay JSON 404s, and the
// console (when given) gets every other GET.
func TestMe(t *testing.T) {
	console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("console " + r.URL.Path)) })
	e := newEnv(t, server.Config{Inferences: []engine.Attribute{engine.AttrAge}, Console: console})
	var me api.Me
	if code := e.json("GET", "/v1/me", e.admin, nil, &me); code != 200 || me.Role != facegate.RoleAdmin || len(me.Inferences) != 1 || me.KeyID == "" {
		t.Fatalf("me: %d %+v", code, me)
	}
	if code := e.json("GET", "/v1/me", "", nil, nil); code != 401 {
		t.Fatalf("me without a key: %d", code)
	}
	var ae apiErr
	if code := e.json("GET", "/v1/nothing", e.admin, nil, &ae); code != 404 || ae.Error.Code != api.CodeNotFound {
		t.Fatalf("unknown API path: %d %+v", code, ae)
	}
	resp, err := http.Get(e.url + "/galleries/staff")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "console /galleries/staff" {
		t.Fatalf("console path: %d %q", resp.StatusCode, body)
	}
}

// TestInferenceSettings: an admin switches age inference on at run time; the choice is kept across a restart;
// only age, gender and expression can be switched, and only by an admin.
func TestInferenceSettings(t *testing.T) {
	e := newEnv(t, server.Config{})
	photo := fakePhoto(t, fakeFace{2, 0, 100})
	if code := e.do("POST", "/v1/detect?attributes=age", e.admin, "image/jpeg", photo, nil); code != 403 {
		t.Fatalf("age before enabling: %d", code)
	}
	var got api.Settings
	if code := e.json("PUT", "/v1/settings", e.admin, api.Settings{Inferences: []string{"age"}}, &got); code != 200 || len(got.Inferences) != 1 {
		t.Fatalf("enable age: %d %+v", code, got)
	}
	if code := e.do("POST", "/v1/detect?attributes=age", e.admin, "image/jpeg", photo, nil); code != 200 {
		t.Fatalf("age after enabling: %d", code)
	}
	var ae apiErr
	if code := e.json("PUT", "/v1/settings", e.admin, api.Settings{Inferences: []string{"race"}}, &ae); code != 400 {
		t.Fatalf("an inference that does not exist: %d", code)
	}
	op, err := e.client(e.admin).CreateKey(context.Background(), "op", facegate.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	if code := e.json("PUT", "/v1/settings", op.Secret, api.Settings{}, nil); code != 403 {
		t.Fatalf("operator changing settings: %d", code)
	}
	srv2, err := server.New(context.Background(), server.Config{Store: e.store, Engine: fakeAnalyser{}, Index: index.New(facegate.TemplateDim)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	hs := httptest.NewServer(srv2.Handler())
	defer hs.Close()
	c2, _ := api.NewClient(hs.URL, e.admin, nil)
	if d, err := c2.Detect(context.Background(), photo, "age"); err != nil || len(d.Faces) != 1 || d.Faces[0].Attributes == nil || d.Faces[0].Attributes.Age == nil {
		t.Fatalf("age after a restart: %+v %v", d, err)
	}
}
