package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/server"
)

// decisionEnv is a server with the fake analyser (no models) and a watchlist gallery "wanted".
func decisionEnv(t *testing.T) (*env, *api.Client) {
	t.Helper()
	e := newEnv(t, server.Config{Engine: fakeAnalyser{}})
	c := e.client(e.admin)
	if _, err := c.CreateGallery(t.Context(), api.GalleryRequest{Name: ptr("wanted"), Purpose: purpose(facegate.PurposeWatchlist), LegalBasis: ptr("warrant 7")}); err != nil {
		t.Fatal(err)
	}
	return e, c
}

func watch(days int) *facegate.WatchEntry {
	return &facegate.WatchEntry{Reason: "warrant 7", ReviewAt: time.Now().Add(time.Duration(days) * 24 * time.Hour)}
}

// TestDecisionsDuplicateAndLargest: a face that already matches another subject is refused with 409
// possible_duplicate naming them, unless allow_duplicate; a group photo is refused unless take_largest.
func TestDecisionsDuplicateAndLargest(t *testing.T) {
	_, c := decisionEnv(t)
	ctx := t.Context()
	ada, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{DisplayName: ptr("Ada"), Watch: watch(30)}, api.EnrolOptions{}, fakePhoto(t, fakeFace{10, 0, 100}))
	if err != nil {
		t.Fatal(err)
	}
	// Ada's look-alike photo (0.8) under another name.
	_, err = c.CreateSubject(ctx, "wanted", api.SubjectRequest{DisplayName: ptr("Not Ada"), Watch: watch(30)}, api.EnrolOptions{}, fakePhoto(t, fakeFace{10, 11, 80}))
	var ae *api.Error
	if !api.IsCode(err, api.CodePossibleDuplicate) || !errors.As(err, &ae) || ae.Status != http.StatusConflict ||
		!strings.Contains(ae.Message, "Ada") || !strings.Contains(string(ae.Details), ada.Subject.ID) {
		t.Fatalf("duplicate enrolment: %v", err)
	}
	subs, _ := c.Subjects(ctx, "wanted", "", 0)
	if len(subs.Subjects) != 1 {
		t.Fatalf("%d subjects after a refused duplicate, want 1", len(subs.Subjects))
	}
	if _, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{DisplayName: ptr("Twin"), Watch: watch(30)}, api.EnrolOptions{AllowDuplicate: true},
		fakePhoto(t, fakeFace{10, 11, 80})); err != nil {
		t.Fatalf("allow_duplicate: %v", err)
	}
	// Adding a photo to Ada checks the others only: it matches Twin (enrolled from a look-alike), not "Ada".
	_, err = c.Enrol(ctx, "wanted", ada.Subject.ID, fakePhoto(t, fakeFace{10, 12, 90}), api.EnrolOptions{})
	if !api.IsCode(err, api.CodePossibleDuplicate) || !strings.Contains(err.Error(), "Twin") || strings.Contains(err.Error(), "matches Ada") {
		t.Fatalf("adding a face to Ada: %v", err)
	}
	if _, err := c.Enrol(ctx, "wanted", ada.Subject.ID, fakePhoto(t, fakeFace{10, 13, 99}), api.EnrolOptions{AllowDuplicate: true}); err != nil {
		t.Fatalf("adding a face to Ada with allow_duplicate: %v", err)
	}
	// A group photo: refused, then the largest face enrolled.
	group := fakePhoto(t, fakeFace{20, 0, 100}, fakeFace{21, 0, 100})
	if _, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{DisplayName: ptr("Group"), Watch: watch(30)}, api.EnrolOptions{}, group); !api.IsCode(err, api.CodeQualityRejected) ||
		!strings.Contains(err.Error(), "nothing was stored") {
		t.Fatalf("group photo: %v", err)
	}
	if _, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{DisplayName: ptr("Group"), Watch: watch(30)}, api.EnrolOptions{TakeLargest: true}, group); err != nil {
		t.Fatalf("take_largest: %v", err)
	}
	res, err := c.Search(ctx, "wanted", fakePhoto(t, fakeFace{20, 0, 100}), 1)
	if err != nil || res.Faces[0].Match == nil || res.Faces[0].Match.DisplayName != "Group" {
		t.Fatalf("the largest face was not the one enrolled: %+v %v", res, err)
	}
}

// TestDecisionsScopedRejection: one rejection of a false match stops that look-alike, not the person; the
// suppression is explained, counted in metrics, listed, undone; alerts are grouped.
func TestDecisionsScopedRejection(t *testing.T) {
	e, c := decisionEnv(t)
	ctx := t.Context()
	sub, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{DisplayName: ptr("Wanted"), Watch: watch(30)}, api.EnrolOptions{}, fakePhoto(t, fakeFace{30, 0, 100}))
	if err != nil {
		t.Fatal(err)
	}
	sid := sub.Subject.ID
	// A passer-by who looks like him (0.5): a match, a pending alert; a second sighting joins it.
	passerBy := fakePhoto(t, fakeFace{30, 31, 50})
	res, err := c.Search(ctx, "wanted", passerBy, 3)
	if err != nil || res.Faces[0].Result != api.ResultMatch || res.Faces[0].AlertID == "" || !res.Faces[0].AlertNew {
		t.Fatalf("look-alike search: %+v %v", res, err)
	}
	alertID := res.Faces[0].AlertID
	res2, err := c.Search(ctx, "wanted", fakePhoto(t, fakeFace{30, 31, 50}), 3)
	if err != nil || res2.Faces[0].AlertID != alertID || res2.Faces[0].AlertNew {
		t.Fatalf("second sighting did not join the alert: %+v %v", res2.Faces[0], err)
	}
	if _, err := c.ReviewAlert(ctx, alertID, "reject", "a passer-by"); err != nil {
		t.Fatal(err)
	}
	// The same passer-by again: suppressed, with the rejection named.
	res, err = c.Search(ctx, "wanted", fakePhoto(t, fakeFace{30, 31, 50}), 3)
	if err != nil || res.Faces[0].Result != api.ResultUnknown || res.Faces[0].AlertID != "" {
		t.Fatalf("the rejected look-alike again: %+v %v", res.Faces[0], err)
	}
	cand := res.Faces[0].Candidates[0]
	if !cand.Suppressed || cand.Suppression == nil || cand.Suppression.Alert != alertID || cand.Suppression.Score < 0.99 || cand.Suppression.Enrolled > 0.51 {
		t.Fatalf("suppression not explained: %+v", cand)
	}
	// The wanted man himself (his enrolment photo, and a new photo at 0.7): still alerts.
	for _, p := range [][]byte{fakePhoto(t, fakeFace{30, 0, 100}), fakePhoto(t, fakeFace{30, 32, 70})} {
		res, err := c.Search(ctx, "wanted", p, 3)
		if err != nil || res.Faces[0].Result != api.ResultMatch || res.Faces[0].AlertID == "" || res.Faces[0].AlertID == alertID {
			t.Fatalf("the wanted man after a rejection: %+v %v", res.Faces[0], err)
		}
	}
	// Verification decides the same way.
	if v, err := c.Verify(ctx, "wanted", sid, fakePhoto(t, fakeFace{30, 31, 50})); err != nil || v.Match || v.Suppressed == nil {
		t.Fatalf("verify of the look-alike: %+v %v", v, err)
	}
	// The audit log says which searches and verifications a rejection suppressed, and by which rejection.
	var list api.AuditList
	if code := e.json("GET", "/v1/audit?limit=1000", e.admin, nil, &list); code != 200 {
		t.Fatalf("GET /v1/audit: %d", code)
	}
	audited := map[string]bool{}
	for _, en := range list.Entries {
		if v := en.Details["suppressed"]; v != "" {
			audited[en.Action] = strings.HasPrefix(v, sid+":"+cand.Suppression.Rejection)
		}
	}
	if !audited["POST /v1/galleries/{g}/search"] || !audited["POST /v1/galleries/{g}/subjects/{s}/verify"] {
		t.Fatalf("suppressions in the audit log: %v", audited)
	}
	// Counted in the metrics.
	if m := metricsText(t, e); !strings.Contains(m, `facegate_suppressed_matches_total{gallery="`) || !strings.Contains(m, `outcome="grouped"`) {
		t.Fatalf("metrics lack the suppression or grouping counters")
	}
	// Listed, with who rejected it by name; undone, after which the look-alike matches again.
	rej, err := c.Rejections(ctx, "wanted", sid)
	if err != nil || len(rej) != 1 || rej[0].AlertID != alertID || rej[0].ReviewedByName == "" || rej[0].ExpiresAt.Before(time.Now().Add(80*24*time.Hour)) {
		t.Fatalf("rejections: %+v %v", rej, err)
	}
	if err := c.UndoRejection(ctx, "wanted", sid, rej[0].ID); err != nil {
		t.Fatal(err)
	}
	res, err = c.Search(ctx, "wanted", fakePhoto(t, fakeFace{30, 31, 50}), 3)
	if err != nil || res.Faces[0].Result != api.ResultMatch {
		t.Fatalf("after the undo: %+v %v", res.Faces[0], err)
	}
	// The queue: filters, names, and bulk review.
	pend, err := c.AlertsWhere(ctx, facegate.AlertFilter{Status: facegate.AlertPending, SubjectID: sid})
	if err != nil || len(pend) != 1 || pend[0].SubjectDisplayName != "Wanted" || pend[0].GalleryName != "wanted" || pend[0].Sightings != 3 {
		t.Fatalf("pending: %+v %v", pend, err)
	}
	all, _ := c.AlertsWhere(ctx, facegate.AlertFilter{SubjectID: sid})
	if len(all) != 2 || all[1].ReviewedByName == "" {
		t.Fatalf("all alerts of the subject: %+v", all)
	}
	if r, err := c.ReviewAlerts(ctx, []string{pend[0].ID}, "confirm", ""); err != nil || r[0].Alert == nil || r[0].Alert.ReviewedByName == "" {
		t.Fatalf("bulk confirm: %+v %v", r, err)
	}
}

// TestDecisionsBadReviewRequests: the review routes bound and explain their input.
func TestDecisionsBadReviewRequests(t *testing.T) {
	e, _ := decisionEnv(t)
	many := make([]string, 101)
	for i := range many {
		many[i] = "alr_x"
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/v1/alerts/review", `{"ids":[],"decision":"reject"}`, 400, api.CodeBadRequest},
		{"POST", "/v1/alerts/review", `{"ids":["` + strings.Join(many, `","`) + `"],"decision":"reject"}`, 400, api.CodeBadRequest},
		{"POST", "/v1/alerts/review", `{"ids":["a"],"decision":"maybe"}`, 400, api.CodeBadRequest},
		{"POST", "/v1/alerts/review", `{"ids":["a"],"decision":"reject","note":"` + strings.Repeat("n", 3000) + `"}`, 400, api.CodeTooLong},
		{"GET", "/v1/alerts/media?ids=", "", 400, api.CodeBadRequest},
		{"GET", "/v1/alerts/media?ids=" + strings.Repeat("a", 101), "", 400, api.CodeBadRequest},
		{"POST", "/v1/alerts/review", `{"ids":["` + strings.Repeat("a", 101) + `"],"decision":"reject"}`, 400, api.CodeBadRequest},
		{"POST", "/v1/watchlist/overdue/expire?gallery=nope", "", 404, api.CodeNotFound},
		{"GET", "/v1/alerts/media?ids=" + strings.Join(many, ","), "", 400, api.CodeBadRequest},
		{"GET", "/v1/alerts?status=open", "", 400, api.CodeBadRequest},
		{"GET", "/v1/alerts?stream=" + strings.Repeat("s", 101), "", 400, api.CodeBadRequest},
		{"GET", "/v1/alerts?gallery=nope", "", 404, api.CodeNotFound},
		{"GET", "/v1/galleries/wanted/subjects/nobody/rejections", "", 404, api.CodeNotFound},
		{"GET", "/v1/watchlist/overdue?gallery=nope", "", 404, api.CodeNotFound},
	} {
		var out struct{ Error api.Error }
		if st := e.do(tc.method, tc.path, e.admin, "application/json", []byte(tc.body), &out); st != tc.status || out.Error.Code != tc.code {
			t.Errorf("%s %s: %d %+v, want %d %s", tc.method, tc.path, st, out.Error, tc.status, tc.code)
		}
	}
	// The enrolment flags are booleans: anything else is refused before any face is analysed or stored.
	for _, v := range []string{"maybe", strings.Repeat("1", 5000)} {
		var out struct{ Error api.Error }
		if st := e.image("/v1/galleries/wanted/subjects", e.admin, fakePhoto(t, fakeFace{50, 0, 100}),
			map[string]string{"display_name": "x", "watch": `{"reason":"r","review_at":"2030-01-01T00:00:00Z"}`, "allow_duplicate": v}, &out); st != 400 || out.Error.Code != api.CodeBadRequest {
			t.Errorf("allow_duplicate=%.10q: %d %+v", v, st, out.Error)
		}
	}
	if subs, _ := e.client(e.admin).Subjects(t.Context(), "wanted", "", 0); len(subs.Subjects) != 0 {
		t.Errorf("%d subjects stored by refused requests", len(subs.Subjects))
	}
}

// TestDecisionsOverdueWatch: entries past their review date are listed, and erased on request.
func TestDecisionsOverdueWatch(t *testing.T) {
	e, c := decisionEnv(t)
	ctx := t.Context()
	old, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{DisplayName: ptr("Old"), Watch: &facegate.WatchEntry{Reason: "r", ReviewAt: time.Now().Add(-time.Hour)}},
		api.EnrolOptions{}, fakePhoto(t, fakeFace{40, 0, 100}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{DisplayName: ptr("Current"), Watch: watch(10)}, api.EnrolOptions{}, fakePhoto(t, fakeFace{41, 0, 100})); err != nil {
		t.Fatal(err)
	}
	entries, err := c.OverdueWatch(ctx, "")
	if err != nil || len(entries) != 1 || entries[0].Subject.ID != old.Subject.ID || entries[0].GalleryName != "wanted" ||
		entries[0].Subject.Watch.AddedByName == "" {
		t.Fatalf("overdue: %+v %v", entries, err)
	}
	// An operator, who may not list keys, sees who added the entry by name.
	info, err := e.client(operatorKey(t, e)).Subject(ctx, "wanted", old.Subject.ID)
	if err != nil || info.Subject.Watch == nil || info.Subject.Watch.AddedByName != "initial admin" {
		t.Fatalf("subject for an operator: %+v %v", info, err)
	}
	// Extending the review date takes it off the list.
	if _, err := c.UpdateSubject(ctx, "wanted", old.Subject.ID, api.SubjectRequest{Watch: watch(5)}); err != nil {
		t.Fatal(err)
	}
	if entries, _ := c.OverdueWatch(ctx, "wanted"); len(entries) != 0 {
		t.Fatalf("still overdue after extending: %+v", entries)
	}
	if _, err := c.UpdateSubject(ctx, "wanted", old.Subject.ID, api.SubjectRequest{Watch: &facegate.WatchEntry{Reason: "r", ReviewAt: time.Now().Add(-time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	var out api.ExpireOverdueResponse
	if st := e.do("POST", "/v1/watchlist/overdue/expire?gallery=wanted", e.admin, "", nil, &out); st != 200 || len(out.Erased) != 1 || out.Erased[0].Subject.ID != old.Subject.ID {
		t.Fatalf("expire: %d %+v", st, out)
	}
	if _, err := c.Subject(ctx, "wanted", old.Subject.ID); !api.IsCode(err, api.CodeNotFound) {
		t.Fatalf("the expired entry is still there: %v", err)
	}
	res, err := c.Search(ctx, "wanted", fakePhoto(t, fakeFace{40, 0, 100}), 1)
	if err != nil || res.Faces[0].Result != api.ResultUnknown {
		t.Fatalf("the expired entry still matches: %+v %v", res, err)
	}
}

func metricsText(t *testing.T, e *env) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", e.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// operatorKey creates an operator key and returns its secret.
func operatorKey(t *testing.T, e *env) string {
	t.Helper()
	k, err := e.client(e.admin).CreateKey(t.Context(), "reviewer", facegate.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	return k.Secret
}
