package server_test

import (
	"context"
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

// TestWatchlistReview: a match against a watchlist is a pending alert, not an action; people confirm or reject
// it; a rejection ("not this person") suppresses the same false match on later tracks.
func TestWatchlistReview(t *testing.T) {
	needFFmpeg(t)
	e := newEnv(t, server.Config{})
	c := e.client(e.admin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("wanted"), Purpose: purpose(facegate.PurposeWatchlist), LegalBasis: ptr("test warrant")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{ExternalID: ptr("w1"),
		Watch: &facegate.WatchEntry{Reason: "test warrant", ReviewAt: time.Now().Add(30 * 24 * time.Hour)}}, api.EnrolOptions{},
		readShared(t, "face_recognition_examples/identity/lin_manuel_miranda/lin-manuel-miranda.png")); err != nil {
		t.Fatal(err)
	}
	first := runClip(t, ctx, c, "run1", "wanted")
	if len(first) == 0 {
		t.Fatal("no watchlist match on the clip")
	}
	for _, ev := range first {
		if ev.AlertID == "" {
			t.Fatalf("watchlist match %s without an alert", ev.ID)
		}
	}
	pending, err := c.Alerts(ctx, facegate.AlertPending, "wanted")
	if err != nil || len(pending) != len(first) {
		t.Fatalf("pending alerts: %d (%v), want %d", len(pending), err, len(first))
	}
	// Confirm one, reject the others.
	for i, a := range pending {
		decision := "reject"
		if i == 0 && len(pending) > 1 {
			decision = "confirm"
		}
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
	// The same faces again: the rejected false match is suppressed.
	second := runClip(t, ctx, c, "run2", "wanted")
	t.Logf("matches: %d before the review, %d after", len(first), len(second))
	if len(second) >= len(first) {
		t.Fatalf("after rejecting, %d matches again (was %d): not suppressed", len(second), len(first))
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
// rejected, the same face no longer matches that subject (suppressed).
func TestWatchlistSearchReview(t *testing.T) {
	e := newEnv(t, server.Config{})
	c := e.client(e.admin)
	ctx := context.Background()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("wanted"), Purpose: purpose(facegate.PurposeWatchlist), LegalBasis: ptr("test warrant")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSubject(ctx, "wanted", api.SubjectRequest{ExternalID: ptr("w"),
		Watch: &facegate.WatchEntry{Reason: "test", ReviewAt: time.Now().Add(time.Hour)}}, api.EnrolOptions{},
		readShared(t, "face_recognition_examples/identity/obama/obama.jpg")); err != nil {
		t.Fatal(err)
	}
	probe := readShared(t, "face_recognition_examples/identity/obama/obama2.jpg")
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
}
