package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/audit"
	"github.com/facegate/facegate/server"
)

// Attacks on governance (issue 12): repurposing a consented gallery into a watchlist, locking every admin out,
// and oversized or deeply nested names, ids and metadata.

// lastAudit returns the newest audit entry of action.
func lastAudit(t *testing.T, e *env, action string) audit.Entry {
	t.Helper()
	var list api.AuditList
	if code := e.json("GET", "/v1/audit?limit=10000", e.admin, nil, &list); code != 200 {
		t.Fatalf("GET /v1/audit: %d", code)
	}
	for i := len(list.Entries) - 1; i >= 0; i-- {
		if list.Entries[i].Action == action {
			return list.Entries[i]
		}
	}
	t.Fatalf("no audit entry for %s", action)
	return audit.Entry{}
}

// TestAttackAttendanceToWatchlist replays finding 7: an admin PATCHes an attendance gallery, whose people
// consented to time and attendance only, into a watchlist. The change is refused (409 purpose_not_covered,
// saying how many subjects are not covered and what to do), also when the request claims a consent exemption;
// the attempt is audited with old -> new purpose; a later search of one of them raises no alert. Once each
// person has a watch entry (a recorded decision about them), the same change succeeds and is audited.
func TestAttackAttendanceToWatchlist(t *testing.T) {
	e := newEnv(t, server.Config{})
	c := e.client(e.admin)
	ctx := t.Context()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("staff"), Purpose: purpose(facegate.PurposeAttendance)}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range []uint8{71, 72} {
		sub, err := c.CreateSubject(ctx, "staff", api.SubjectRequest{DisplayName: ptr("worker"), Consent: consent("worker")},
			api.EnrolOptions{}, fakePhoto(t, fakeFace{id, 0, 100}))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.Subject.ID)
	}
	toWatchlist := api.GalleryRequest{Purpose: purpose(facegate.PurposeWatchlist), LegalBasis: ptr("decision 2026/1")}
	exempt := toWatchlist
	exempt.ConsentExempt = ptr(true)
	for _, req := range []api.GalleryRequest{toWatchlist, exempt} {
		_, err := c.UpdateGallery(ctx, "staff", req)
		var ae *api.Error
		if !api.IsCode(err, api.CodePurposeNotCovered) || !asAPIError(err, &ae) || ae.Status != http.StatusConflict ||
			!strings.Contains(ae.Message, "2 of the gallery's 2 subjects") || !strings.Contains(ae.Message, "watch entry") {
			t.Fatalf("attendance -> watchlist with subjects who never agreed: %v, want 409 purpose_not_covered with a count and a fix", err)
		}
	}
	entry := lastAudit(t, e, "PATCH /v1/galleries/{g}")
	if entry.Outcome != "rejected" || entry.Details["purpose"] != "attendance -> watchlist" {
		t.Fatalf("the refused change's audit entry: %+v, want outcome rejected, purpose attendance -> watchlist", entry)
	}
	g, err := c.Gallery(ctx, "staff")
	if err != nil || g.Purpose != facegate.PurposeAttendance || g.ConsentExempt || g.LegalBasis != "" {
		t.Fatalf("gallery after the refused change: %+v %v", g, err)
	}
	res, err := c.Search(ctx, "staff", fakePhoto(t, fakeFace{71, 5, 90}), 1)
	if err != nil || len(res.Faces) != 1 || res.Faces[0].Result != api.ResultMatch || res.Faces[0].AlertID != "" {
		t.Fatalf("search of a consenting worker: %+v %v, want a match and no alert", res, err)
	}
	if alerts, err := c.Alerts(ctx, "", ""); err != nil || len(alerts) != 0 {
		t.Fatalf("alerts after searching a worker: %d %v, want none", len(alerts), err)
	}

	// One of them gets a watch entry: one still is not covered.
	if _, err := c.UpdateSubject(ctx, "staff", ids[0], api.SubjectRequest{Watch: watch(30)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateGallery(ctx, "staff", toWatchlist); !api.IsCode(err, api.CodePurposeNotCovered) ||
		!strings.Contains(err.Error(), "1 of the gallery's 2 subjects") {
		t.Fatalf("with one watch entry of two: %v", err)
	}
	// Both: the change is a decision about each person, and goes through.
	if _, err := c.UpdateSubject(ctx, "staff", ids[1], api.SubjectRequest{Watch: watch(30)}); err != nil {
		t.Fatal(err)
	}
	if g, err := c.UpdateGallery(ctx, "staff", toWatchlist); err != nil || g.Purpose != facegate.PurposeWatchlist {
		t.Fatalf("attendance -> watchlist with every subject on a watch entry: %+v %v", g, err)
	}
	entry = lastAudit(t, e, "PATCH /v1/galleries/{g}")
	if entry.Outcome != "ok" || entry.Details["purpose"] != "attendance -> watchlist" {
		t.Fatalf("the change's audit entry: %+v", entry)
	}
}

// TestPurposeChangeNeedsConsent: outside watchlists a purpose change needs every subject's consent in force
// to cover the new purpose; an empty gallery changes freely.
func TestPurposeChangeNeedsConsent(t *testing.T) {
	e := newEnv(t, server.Config{})
	c := e.client(e.admin)
	ctx := t.Context()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("doors")}); err != nil {
		t.Fatal(err)
	}
	both := &api.ConsentRequest{GivenBy: "A", Evidence: "form 1", Purposes: []facegate.Purpose{facegate.PurposeAccessControl, facegate.PurposePayment}}
	a, err := c.CreateSubject(ctx, "doors", api.SubjectRequest{Consent: both}, api.EnrolOptions{}, fakePhoto(t, fakeFace{81, 0, 100}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSubject(ctx, "doors", api.SubjectRequest{Consent: consent("B")}, api.EnrolOptions{}, fakePhoto(t, fakeFace{82, 0, 100})); err != nil {
		t.Fatal(err)
	}
	pay := api.GalleryRequest{Purpose: purpose(facegate.PurposePayment)}
	if _, err := c.UpdateGallery(ctx, "doors", pay); !api.IsCode(err, api.CodePurposeNotCovered) || !strings.Contains(err.Error(), "1 of the gallery's 2 subjects") {
		t.Fatalf("access_control -> payment with one subject who agreed only to doors: %v", err)
	}
	if _, err := c.UpdateGallery(ctx, "doors", api.GalleryRequest{Description: ptr("front door")}); err != nil {
		t.Fatalf("an edit that keeps the purpose: %v", err)
	}
	// The other subject withdraws from the gallery (erased): everyone left agreed to payments.
	list, err := c.Subjects(ctx, "doors", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Subjects {
		if s.ID != a.Subject.ID {
			if err := c.DeleteSubject(ctx, "doors", s.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if g, err := c.UpdateGallery(ctx, "doors", pay); err != nil || g.Purpose != facegate.PurposePayment {
		t.Fatalf("access_control -> payment with every subject's consent: %+v %v", g, err)
	}
	if entry := lastAudit(t, e, "PATCH /v1/galleries/{g}"); entry.Details["purpose"] != "access_control -> payment" {
		t.Fatalf("audit details %v", entry.Details)
	}
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("empty")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateGallery(ctx, "empty", pay); err != nil {
		t.Fatalf("an empty gallery's purpose: %v", err)
	}
}

// TestAttackRevokeLastAdminKey: revoking the only admin key in force (which would leave nobody able to manage
// the deployment) is refused with 409 last_admin_key; with a second admin key the first can go, and then the
// second cannot.
func TestAttackRevokeLastAdminKey(t *testing.T) {
	e := newEnv(t, server.Config{})
	c := e.client(e.admin)
	ctx := t.Context()
	var me api.Me
	if code := e.json("GET", "/v1/me", e.admin, nil, &me); code != 200 {
		t.Fatalf("GET /v1/me: %d", code)
	}
	if _, err := c.CreateKey(ctx, "door", facegate.RoleDevice); err != nil {
		t.Fatal(err)
	}
	err := c.RevokeKey(ctx, me.KeyID)
	var ae *api.Error
	if !api.IsCode(err, api.CodeLastAdminKey) || !asAPIError(err, &ae) || ae.Status != http.StatusConflict || !strings.Contains(ae.Message, "create another admin key first") {
		t.Fatalf("revoking the last admin key: %v, want 409 last_admin_key", err)
	}
	if code := e.json("GET", "/v1/me", e.admin, nil, nil); code != 200 {
		t.Fatalf("the admin key after the refused revocation: %d", code)
	}
	second, err := c.CreateKey(ctx, "second admin", facegate.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeKey(ctx, me.KeyID); err != nil {
		t.Fatalf("revoking one of two admin keys: %v", err)
	}
	if err := e.client(second.Secret).RevokeKey(ctx, second.Key.ID); !api.IsCode(err, api.CodeLastAdminKey) {
		t.Fatalf("revoking the remaining admin key: %v", err)
	}
}

// TestAttackOversizedFields: a 1 MB display name, metadata nested 10,000 deep (as JSON and as a multipart
// field), a long external id, key name, gallery name or consent evidence: each is 400 too_long, and nothing is
// stored.
func TestAttackOversizedFields(t *testing.T) {
	e := newEnv(t, server.Config{})
	c := e.client(e.admin)
	if _, err := c.CreateGallery(t.Context(), api.GalleryRequest{Name: ptr("g"), ConsentExempt: ptr(true), LegalBasis: ptr("test")}); err != nil {
		t.Fatal(err)
	}
	photo := fakePhoto(t, fakeFace{91, 0, 100})
	deep := strings.Repeat(`{"a":`, 10000) + `"x"` + strings.Repeat("}", 10000)
	jsonBody := func(fields string) []byte { return []byte("{" + fields + "}") }
	tables := []string{"subjects", "faces", "consents", "api_keys", "galleries"}
	before := map[string]int{}
	for _, tb := range tables {
		before[tb] = count(t, e.store, tb)
	}
	for _, tc := range []struct {
		name, method, path, ct string
		body                   []byte
	}{
		{"1 MB display_name", "POST", "/v1/galleries/g/subjects", "application/json", jsonBody(`"display_name":"` + strings.Repeat("n", 1<<20) + `"`)},
		{"1 MB display_name with an image", "POST", "/v1/galleries/g/subjects", "", nil}, // multipart, below
		{"10,000-deep metadata", "POST", "/v1/galleries/g/subjects", "application/json", jsonBody(`"metadata":` + deep)},
		{"long external_id", "POST", "/v1/galleries/g/subjects", "application/json", jsonBody(`"external_id":"` + strings.Repeat("e", 257) + `"`)},
		{"metadata over 16 KiB", "POST", "/v1/galleries/g/subjects", "application/json", jsonBody(`"metadata":{"k":"` + strings.Repeat("m", 17<<10) + `"}`)},
		{"long gallery name", "POST", "/v1/galleries", "application/json", jsonBody(`"name":"` + strings.Repeat("g", 201) + `"`)},
		{"long key name", "POST", "/v1/keys", "application/json", jsonBody(`"name":"` + strings.Repeat("k", 201) + `","role":"device"`)},
		{"deep key request", "POST", "/v1/keys", "application/json", jsonBody(`"name":` + deep)},
	} {
		var out apiErr
		var code int
		if tc.ct == "" {
			code = e.image("/v1/galleries/g/subjects", e.admin, photo, map[string]string{"display_name": strings.Repeat("n", 1<<20), "metadata": deep}, &out)
		} else {
			code = e.do(tc.method, tc.path, e.admin, tc.ct, tc.body, &out)
		}
		if code != http.StatusBadRequest || out.Error.Code != api.CodeTooLong || !strings.Contains(out.Error.Message, "limit") &&
			!strings.Contains(out.Error.Message, "deep") {
			t.Errorf("%s: %d %+v, want 400 too_long", tc.name, code, out.Error)
		}
	}
	sub, err := c.CreateSubject(t.Context(), "g", api.SubjectRequest{ExternalID: ptr("ok")}, api.EnrolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before["subjects"]++
	for name, do := range map[string]func() error{
		"update display_name": func() error {
			_, err := c.UpdateSubject(t.Context(), "g", sub.Subject.ID, api.SubjectRequest{DisplayName: ptr(strings.Repeat("n", 1<<20))})
			return err
		},
		"consent evidence": func() error {
			_, err := c.AddConsent(t.Context(), "g", sub.Subject.ID, api.ConsentRequest{GivenBy: "x", Evidence: strings.Repeat("e", 1001)})
			return err
		},
	} {
		if err := do(); !api.IsCode(err, api.CodeTooLong) {
			t.Errorf("%s: %v, want too_long", name, err)
		}
	}
	if s, err := c.Subject(t.Context(), "g", sub.Subject.ID); err != nil || s.Subject.DisplayName != "" {
		t.Errorf("subject after the refused update: %+v %v", s, err)
	}
	for _, tb := range tables {
		if n := count(t, e.store, tb); n != before[tb] {
			t.Errorf("%s: %d rows, want %d: a refused request stored something", tb, n, before[tb])
		}
	}
	var raw bytes.Buffer
	raw.WriteString(deep)
	if n := e.do("POST", "/v1/galleries", e.admin, "application/json", raw.Bytes(), nil); n != http.StatusBadRequest {
		t.Errorf("a 10,000-deep body: %d", n)
	}
}

// asAPIError is errors.As for *api.Error.
func asAPIError(err error, out **api.Error) bool {
	ae, ok := err.(*api.Error)
	if !ok {
		return false
	}
	*out = ae
	return true
}
