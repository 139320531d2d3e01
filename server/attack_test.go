package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
)

// Attacks on the review surface by holders of low-privilege keys: routes their role must not reach, a bulk
// review that names an alert twice, and the audit trail of reviews and undone rejections.

// attackAlert enrols a watchlisted person with identity id and raises a pending alert for them with a search of
// a look-alike; it returns the subject and the alert.
func attackAlert(t *testing.T, c *api.Client, id uint8) (string, string) {
	t.Helper()
	sub, err := c.CreateSubject(t.Context(), "wanted", api.SubjectRequest{DisplayName: ptr("Wanted"), Watch: watch(30)}, api.EnrolOptions{},
		fakePhoto(t, fakeFace{id, 0, 100}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Search(t.Context(), "wanted", fakePhoto(t, fakeFace{id, id + 1, 50}), 3)
	if err != nil || len(res.Faces) != 1 || res.Faces[0].AlertID == "" {
		t.Fatalf("search raising an alert: %+v %v", res, err)
	}
	return sub.Subject.ID, res.Faces[0].AlertID
}

// auditDetails returns the details of the newest audit entry of action.
func auditDetails(t *testing.T, e *env, action string) map[string]string {
	t.Helper()
	var list api.AuditList
	if code := e.json("GET", "/v1/audit?limit=10000", e.admin, nil, &list); code != 200 {
		t.Fatalf("GET /v1/audit: %d", code)
	}
	for i := len(list.Entries) - 1; i >= 0; i-- {
		if list.Entries[i].Action == action {
			return list.Entries[i].Details
		}
	}
	t.Fatalf("no audit entry for %s", action)
	return nil
}

// TestAttackReviewRoutesRoles: a device key (search and verify only) reaches none of the review routes, and an
// operator cannot expire overdue entries (an erasure of people: admin).
func TestAttackReviewRoutesRoles(t *testing.T) {
	e, c := decisionEnv(t)
	sid, aid := attackAlert(t, c, 50)
	dev, err := c.CreateKey(t.Context(), "door", facegate.RoleDevice)
	if err != nil {
		t.Fatal(err)
	}
	op := operatorKey(t, e)
	rejections := "/v1/galleries/wanted/subjects/" + sid + "/rejections"
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/alerts", ""},
		{"GET", "/v1/alerts/" + aid, ""},
		{"GET", "/v1/alerts/media?ids=" + aid, ""},
		{"POST", "/v1/alerts/" + aid + "/review", `{"decision":"reject"}`},
		{"POST", "/v1/alerts/review", `{"ids":["` + aid + `"],"decision":"reject"}`},
		{"GET", rejections, ""},
		{"DELETE", rejections + "/neg_x", ""},
		{"GET", "/v1/watchlist/overdue", ""},
		{"POST", "/v1/watchlist/overdue/expire", ""},
	} {
		var out struct{ Error api.Error }
		if st := e.do(tc.method, tc.path, dev.Secret, "application/json", []byte(tc.body), &out); st != http.StatusForbidden {
			t.Errorf("device key: %s %s = %d %+v, want 403", tc.method, tc.path, st, out.Error)
		}
	}
	if st := e.do("POST", "/v1/watchlist/overdue/expire", op, "", nil, nil); st != http.StatusForbidden {
		t.Errorf("operator key: expire overdue = %d, want 403", st)
	}
	// The alert is still pending: nothing above reviewed it.
	if as, err := c.AlertsWhere(t.Context(), facegate.AlertFilter{SubjectID: sid}); err != nil || len(as) != 1 || as[0].Status != facegate.AlertPending {
		t.Fatalf("after the refused requests: %+v %v", as, err)
	}
}

// TestAttackBulkReviewDuplicateIDs: a bulk review that names one alert twice (and one that does not exist)
// reviews it once, leaves one rejection, says per id what happened in plain words, and the audit entry says
// which alerts the request actually reviewed (not just which it named).
func TestAttackBulkReviewDuplicateIDs(t *testing.T) {
	e, c := decisionEnv(t)
	sid, aid := attackAlert(t, c, 52)
	op := e.client(operatorKey(t, e))
	res, err := op.ReviewAlerts(t.Context(), []string{aid, aid, "alr_nope"}, "reject", "not him")
	if err != nil || len(res) != 3 {
		t.Fatalf("bulk review: %+v %v", res, err)
	}
	if res[0].Alert == nil || res[0].Alert.Status != facegate.AlertRejected || res[1].Error == nil || res[1].Error.Code != api.CodeConflict ||
		res[2].Error == nil || res[2].Error.Code != api.CodeNotFound {
		t.Fatalf("per-id results: %+v", res)
	}
	for _, r := range res[1:] {
		if strings.Contains(r.Error.Message, "sqlite") {
			t.Errorf("an internal chain in a per-id error: %q", r.Error.Message)
		}
	}
	if rej, err := c.Rejections(t.Context(), "wanted", sid); err != nil || len(rej) != 1 {
		t.Fatalf("rejections after a bulk review naming the alert twice: %+v %v", rej, err)
	}
	d := auditDetails(t, e, "POST /v1/alerts/review")
	if d["decision"] != string(facegate.AlertRejected) || d["reviewed"] != aid {
		t.Fatalf("the bulk review's audit entry %v: want reviewed=%s", d, aid)
	}
}

// TestAttackUndoRejection: undoing a rejection is audited with the alert whose rejection it was (the rejection
// row is gone afterwards, so the audit entry is the only link), and a rejection cannot be undone through
// another subject's path.
func TestAttackUndoRejection(t *testing.T) {
	e, c := decisionEnv(t)
	victim, aid := attackAlert(t, c, 54)
	other, _ := attackAlert(t, c, 56)
	op := e.client(operatorKey(t, e))
	if _, err := op.ReviewAlert(t.Context(), aid, "reject", "not him"); err != nil {
		t.Fatal(err)
	}
	rej, err := op.Rejections(t.Context(), "wanted", victim)
	if err != nil || len(rej) != 1 {
		t.Fatalf("rejections: %+v %v", rej, err)
	}
	if err := op.UndoRejection(t.Context(), "wanted", other, rej[0].ID); !api.IsCode(err, api.CodeNotFound) {
		t.Fatalf("undo through another subject: %v, want not found", err)
	}
	if after, _ := op.Rejections(t.Context(), "wanted", victim); len(after) != 1 {
		t.Fatal("the rejection was undone through another subject's path")
	}
	if err := op.UndoRejection(t.Context(), "wanted", victim, rej[0].ID); err != nil {
		t.Fatal(err)
	}
	d := auditDetails(t, e, "DELETE /v1/galleries/{g}/subjects/{s}/rejections/{id}")
	if d["alert"] != aid { // written with the change itself: no response status yet
		t.Fatalf("the undo's audit entry %v: want alert=%s", d, aid)
	}
}

// TestAttackReviewDateAudited: moving a watchlist entry's review date (say, to 9999, so it never comes up for
// review) is audited with the new date.
func TestAttackReviewDateAudited(t *testing.T) {
	e, c := decisionEnv(t)
	sid, _ := attackAlert(t, c, 58)
	op := e.client(operatorKey(t, e))
	far := &facegate.WatchEntry{Reason: "warrant 7", ReviewAt: watch(0).ReviewAt.AddDate(7000, 0, 0)}
	if _, err := op.UpdateSubject(t.Context(), "wanted", sid, api.SubjectRequest{Watch: far}); err != nil {
		t.Fatal(err)
	}
	d := auditDetails(t, e, "PATCH /v1/galleries/{g}/subjects/{s}")
	if !strings.HasPrefix(d["review_at"], far.ReviewAt.UTC().Format("2006-01-02")) {
		t.Fatalf("the review date change's audit entry %v: want review_at=%s", d, far.ReviewAt.UTC())
	}
}
