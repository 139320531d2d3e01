package server_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/server"
)

// runClip creates a stream on the clip against gallery, waits for its end, deletes it, and returns its match
// events.
func runClip(t *testing.T, ctx context.Context, c *api.Client, name, gallery string) []facegate.Event {
	t.Helper()
	info, err := c.CreateStream(ctx, api.StreamRequest{Name: name, Source: testutil.Shared(t, clipPath), Gallery: gallery, NoRealtime: true})
	if err != nil {
		t.Fatal(err)
	}
	waitEnded(t, ctx, c, info.ID)
	evs, err := c.RecentEvents(ctx, api.EventFilter{Streams: []string{info.ID}, Types: []facegate.EventType{facegate.EventMatch}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteStream(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	return evs
}

// watchPerformer creates the watchlist gallery "wanted" with the clip's performer enrolled as "w1".
func watchPerformer(t *testing.T, ctx context.Context, c *api.Client) {
	t.Helper()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("wanted"), Purpose: purpose(facegate.PurposeWatchlist), LegalBasis: ptr("test warrant")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{ExternalID: ptr("w1"),
		Watch: &facegate.WatchEntry{Reason: "test warrant", ReviewAt: time.Now().Add(30 * 24 * time.Hour)}}, api.EnrolOptions{},
		readShared(t, "face_recognition_examples/identity/lin_manuel_miranda/lin-manuel-miranda.png")); err != nil {
		t.Fatal(err)
	}
}

// waitEnded waits until a stream on a file has reached its end.
func waitEnded(t *testing.T, ctx context.Context, c *api.Client, id string) {
	t.Helper()
	for {
		st, err := c.Stream(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status.State == facegate.StreamEnded {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("stream did not end: %+v", st.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWatchlistReview: a match against a watchlist is a pending alert, not an action; the sightings of one
// person on one stream are grouped into one alert; people confirm or reject it; a rejection of a true alert does
// not silence the person. It needs the models: the point is that a rejection scoped by real templates
// (recognize.Suppresses) lets the real performer's next sightings on the real clip through; with the fake
// analyser's exact scores that would prove nothing about real faces.
func TestWatchlistReview(t *testing.T) {
	needFFmpeg(t)
	e := realEnv(t, server.Config{StreamDirs: []string{filepath.Dir(testutil.Shared(t, clipPath))}})
	c := e.client(e.admin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	watchPerformer(t, ctx, c)
	first := runClip(t, ctx, c, "run1", "wanted")
	if len(first) == 0 {
		t.Fatal("no watchlist match on the clip")
	}
	for _, ev := range first {
		if ev.AlertID == "" {
			t.Fatalf("watchlist match %s without an alert", ev.ID)
		}
	}
	// Every match of the one subject on the one stream is a sighting of one alert (grouped within the cool-down).
	pending, err := c.Alerts(ctx, facegate.AlertPending, "wanted")
	if err != nil || len(pending) != 1 || pending[0].Sightings != len(first) || pending[0].SubjectExternalID != "w1" ||
		pending[0].ReferenceFaceID == "" || pending[0].EventID == "" {
		t.Fatalf("pending alerts: %+v (%v), want one with %d sightings", pending, err, len(first))
	}
	for _, ev := range first {
		if ev.AlertID != pending[0].ID {
			t.Fatalf("match %s joined alert %s, not %s", ev.ID, ev.AlertID, pending[0].ID)
		}
	}
	// Reject it.
	for _, a := range pending {
		decision := "reject"
		got, err := c.ReviewAlert(ctx, a.ID, decision, "checked by the test")
		if err != nil || got.ReviewedBy == "" || got.ReviewedAt.IsZero() || string(got.Status) != map[string]string{"confirm": "confirmed", "reject": "rejected"}[decision] {
			t.Fatalf("review %s: %+v %v", decision, got, err)
		}
	}
	if _, err := c.ReviewAlert(ctx, pending[0].ID, "reject", ""); !api.IsCode(err, api.CodeConflict) {
		t.Fatalf("reviewing twice: %v", err)
	}
	if _, err := c.ReviewAlert(ctx, pending[0].ID, "maybe", ""); !api.IsCode(err, api.CodeBadRequest) {
		t.Fatalf("bad decision: %v", err)
	}
	if n := count(t, e.store, "negatives"); n == 0 {
		t.Fatal("a rejection was not remembered")
	}
	// The same person again. The rejection is scoped to captures that look more like the rejected one than like
	// the person's enrolled photo (recognize.Suppresses): the performer IS the enrolled person, so his next true
	// sightings still alert, as a new alert (a rejected alert absorbs nothing). Whatever the rejection did stop
	// is told in the unknown event with the rejection that stopped it.
	second := runClip(t, ctx, c, "run2", "wanted")
	t.Logf("matches: %d before the review, %d after", len(first), len(second))
	if len(second) == 0 {
		t.Fatal("after one rejection the person's true sightings no longer alert")
	}
	for _, ev := range second {
		if ev.AlertID == "" || ev.AlertID == pending[0].ID {
			t.Fatalf("match %s after the rejection: alert %q", ev.ID, ev.AlertID)
		}
	}
	// Erasing the subject erases its alerts and negative exemplars.
	subs, _ := c.Subjects(ctx, "wanted", "", 0)
	if err := c.DeleteSubject(ctx, "wanted", subs.Subjects[0].ID); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"alerts", "negatives"} {
		if n := count(t, e.store, table); n != 0 {
			t.Errorf("%d rows left in %s after erasure", n, table)
		}
	}
}

// TestWatchlistSearchReview: a search that matches a watchlist subject creates a pending alert; once it is
// rejected, the same face no longer matches that subject (suppressed), while the enrolment photo still does;
// the rejection is listed and undone; sightings group; bulk review and the queue's media. The probe is the
// person's look-alike photo (0.8 to the enrolment, fake analyser).
func TestWatchlistSearchReview(t *testing.T) {
	e := newEnv(t, server.Config{})
	c := e.client(e.admin)
	ctx := context.Background()
	own := fakePhoto(t, fakeFace{5, 0, 100}) // the enrolment photo
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("wanted"), Purpose: purpose(facegate.PurposeWatchlist), LegalBasis: ptr("test warrant")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{ExternalID: ptr("w"),
		Watch: &facegate.WatchEntry{Reason: "test", ReviewAt: time.Now().Add(time.Hour)}}, api.EnrolOptions{},
		own); err != nil {
		t.Fatal(err)
	}
	probe := fakePhoto(t, fakeFace{5, 6, 80})
	res, err := c.Search(ctx, "wanted", probe, 1)
	if err != nil || res.Faces[0].Result != api.ResultMatch || res.Faces[0].AlertID == "" {
		t.Fatalf("watchlist search: %+v %v", res, err)
	}
	if _, err := c.ReviewAlert(ctx, res.Faces[0].AlertID, "reject", "not him"); err != nil {
		t.Fatal(err)
	}
	res, err = c.Search(ctx, "wanted", probe, 1)
	if err != nil || res.Faces[0].Result != api.ResultUnknown || !res.Faces[0].Candidates[0].Suppressed || res.Faces[0].AlertID != "" {
		t.Fatalf("search after the rejection: %+v %v", res.Faces[0], err)
	}
	sup := res.Faces[0].Candidates[0].Suppression
	if sup == nil || sup.Rejection == "" || sup.Score < sup.Enrolled || math.Abs(float64(sup.Score)-1) > 1e-3 || math.Abs(float64(sup.Enrolled)-0.8) > 1e-3 {
		t.Fatalf("suppression not explained (want 1.00 to the rejected capture, 0.80 to the enrolment): %+v", sup)
	}
	// The rejection is scoped: the person's own enrolment photo still matches and raises a new alert.
	res, err = c.Search(ctx, "wanted", own, 1)
	if err != nil || res.Faces[0].Result != api.ResultMatch || res.Faces[0].AlertID == "" || !res.Faces[0].AlertNew {
		t.Fatalf("the enrolment photo after the rejection: %+v %v", res.Faces[0], err)
	}
	// A second sighting joins that alert.
	again, err := c.Search(ctx, "wanted", own, 1)
	if err != nil || again.Faces[0].AlertID != res.Faces[0].AlertID || again.Faces[0].AlertNew {
		t.Fatalf("second sighting: %+v %v", again.Faces[0], err)
	}
	// The rejection is listed and can be undone; then the rejected probe matches again.
	subs, _ := c.Subjects(ctx, "wanted", "", 0)
	sid := subs.Subjects[0].ID
	rej, err := c.Rejections(ctx, "wanted", sid)
	if err != nil || len(rej) != 1 || rej[0].ID != sup.Rejection || rej[0].Note != "not him" || rej[0].ReviewedByName == "" {
		t.Fatalf("rejections: %+v %v", rej, err)
	}
	if err := c.UndoRejection(ctx, "wanted", sid, rej[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := c.UndoRejection(ctx, "wanted", sid, rej[0].ID); !api.IsCode(err, api.CodeNotFound) {
		t.Fatalf("undoing twice: %v", err)
	}
	res, err = c.Search(ctx, "wanted", probe, 1)
	if err != nil || res.Faces[0].Result != api.ResultMatch {
		t.Fatalf("search after the undo: %+v %v", res.Faces[0], err)
	}
	// Bulk review and the media of the queue in one request.
	pend, err := c.AlertsWhere(ctx, facegate.AlertFilter{Status: facegate.AlertPending, SubjectID: sid})
	if err != nil || len(pend) != 1 || pend[0].Sightings != 3 {
		t.Fatalf("pending after three sightings: %+v %v", pend, err)
	}
	media, err := c.AlertMedia(ctx, []string{pend[0].ID, "alr_unknown"})
	if err != nil || len(media) != 1 || media[pend[0].ID].CropState != api.CropNone || len(media[pend[0].ID].Reference) == 0 {
		t.Fatalf("media: %+v %v", media, err)
	}
	results, err := c.ReviewAlerts(ctx, []string{pend[0].ID, "alr_unknown"}, "confirm", "seen")
	if err != nil || len(results) != 2 || results[0].Alert == nil || results[0].Alert.Status != facegate.AlertConfirmed ||
		results[1].Error == nil || results[1].Error.Code != api.CodeNotFound {
		t.Fatalf("bulk review: %+v %v", results, err)
	}
}
