package sqlite

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

// Attacks on the review store: races on grouping and review, time tricks on grouping, and undoing another
// subject's rejection. Each test says what it attacks and what must hold.

// TestAttackConcurrentSightingsOneAlert: many sightings of one subject on one stream at once (a search burst, or a
// stream and retries) must group into ONE pending alert; two pending alerts would split the sightings and let
// one of them be rejected while the other hides.
func TestAttackConcurrentSightingsOneAlert(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	s := mustSubject(t, db, g.ID)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const n = 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := &facegate.Alert{GalleryID: g.ID, SubjectID: s.ID, StreamID: "st", Score: 0.5 + float32(i)/100,
				Probe: template(uint64(i), facegate.TemplateDim), LastSeen: at.Add(time.Duration(i) * time.Second)}
			c, _, err := db.RecordSighting(ctx, a, 10*time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if c {
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	as, err := db.Alerts(ctx, facegate.AlertFilter{SubjectID: s.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || created != 1 || as[0].Sightings != n || as[0].Score < 0.5+float32(n-1)/100-1e-6 {
		t.Fatalf("%d concurrent sightings: %d alerts (%d created), %+v", n, len(as), created, as)
	}
}

// TestAttackConcurrentReviewOneNegative: the same alert reviewed twice at once (two reviewers, or a bulk list
// that names it twice) is decided once: one review wins, the other is a conflict, and a rejection leaves
// exactly one negative exemplar.
func TestAttackConcurrentReviewOneNegative(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	s := mustSubject(t, db, g.ID)
	a := &facegate.Alert{GalleryID: g.ID, SubjectID: s.ID, Score: 0.5, Probe: template(1, facegate.TemplateDim)}
	if _, _, err := db.RecordSighting(ctx, a, time.Minute); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = db.ReviewAlert(ctx, a.ID, facegate.AlertRejected, "k", "", now, now.Add(time.Hour))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, facegate.ErrConflict):
			t.Fatalf("a losing review: %v, want a conflict", err)
		}
	}
	negs, err := db.Negatives(ctx, g.ID, s.ID, now)
	if ok != 1 || err != nil || len(negs) != 1 {
		t.Fatalf("%d reviews won, %d negatives (%v): want 1 and 1", ok, len(negs), err)
	}
}

// TestAttackSightingBeforeAlertDoesNotJoin: a sighting long BEFORE an open alert began (a stream restarted
// after its media clock ran ahead of the wall clock, or a clock stepped back) must not join that alert: the
// cool-down groups sightings that are close in time, in both directions. Otherwise an alert stamped in the
// future (confirmed, say) absorbs every real sighting until then and nobody is alerted.
func TestAttackSightingBeforeAlertDoesNotJoin(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	s := mustSubject(t, db, g.ID)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	future := &facegate.Alert{GalleryID: g.ID, SubjectID: s.ID, StreamID: "st", Score: 0.6, LastSeen: now.Add(5 * time.Hour)}
	if _, _, err := db.RecordSighting(ctx, future, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ReviewAlert(ctx, future.ID, facegate.AlertConfirmed, "k", "", now, now); err != nil {
		t.Fatal(err)
	}
	real := &facegate.Alert{GalleryID: g.ID, SubjectID: s.ID, StreamID: "st", Score: 0.7, LastSeen: now}
	created, _, err := db.RecordSighting(ctx, real, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !created || real.ID == future.ID || real.Status != facegate.AlertPending {
		t.Fatalf("a sighting 5 h before the alert's first sighting joined it: created %v, %+v", created, real)
	}
	// Within the cool-down before an alert's first sighting, a sighting does join, and first_seen moves back.
	early := &facegate.Alert{GalleryID: g.ID, SubjectID: s.ID, StreamID: "st", Score: 0.5, LastSeen: now.Add(-time.Minute)}
	created, _, err = db.RecordSighting(ctx, early, 10*time.Minute)
	if err != nil || created || early.ID != real.ID || !early.FirstSeen.Equal(now.Add(-time.Minute)) || !early.LastSeen.Equal(now) {
		t.Fatalf("a sighting a minute before the alert: created %v %v, %+v", created, err, early)
	}
}

// TestAttackUndoOtherSubjectsRejection: a rejection is undone only through its own subject (and gallery): naming
// it under another subject is "not found" and leaves it in force.
func TestAttackUndoOtherSubjectsRejection(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	g2 := mustGallery(t, db, "g2")
	victim, other := mustSubject(t, db, g.ID), mustSubject(t, db, g.ID)
	elsewhere := mustSubject(t, db, g2.ID)
	a := &facegate.Alert{GalleryID: g.ID, SubjectID: victim.ID, Score: 0.5, Probe: template(1, facegate.TemplateDim)}
	if _, _, err := db.RecordSighting(ctx, a, time.Minute); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := db.ReviewAlert(ctx, a.ID, facegate.AlertRejected, "k", "", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	negs, _ := db.Negatives(ctx, g.ID, victim.ID, now)
	if len(negs) != 1 {
		t.Fatalf("%d negatives", len(negs))
	}
	for _, where := range [][2]string{{g.ID, other.ID}, {g2.ID, elsewhere.ID}, {g2.ID, victim.ID}} {
		if err := db.DeleteNegative(ctx, where[0], where[1], negs[0].ID); !errors.Is(err, facegate.ErrNotFound) {
			t.Fatalf("undo through %v: %v, want not found", where, err)
		}
	}
	if after, _ := db.Negatives(ctx, g.ID, victim.ID, now); len(after) != 1 {
		t.Fatal("the rejection was undone through another subject")
	}
}

// TestAttackRejectionFloodBounded: an operator who loops "search the person, reject the alert" leaves a
// negative exemplar per loop. Every later match of the subject reads and decrypts all of them, so an unbounded
// number makes each match slower until searches and stream decisions time out and the person raises no alert
// at all. The negatives in force per subject are bounded; rejections beyond the bound are still recorded as
// decisions but remember no capture (so they suppress nothing: the safe side for a watchlist).
func TestAttackRejectionFloodBounded(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	s := mustSubject(t, db, g.ID)
	now := time.Now().UTC()
	for i := range maxNegatives + 5 {
		a := &facegate.Alert{GalleryID: g.ID, SubjectID: s.ID, Score: 0.5, Probe: template(uint64(i), facegate.TemplateDim)}
		if _, _, err := db.RecordSighting(ctx, a, time.Minute); err != nil {
			t.Fatal(err)
		}
		if r, err := db.ReviewAlert(ctx, a.ID, facegate.AlertRejected, "k", "", now, now.Add(time.Hour)); err != nil || r.Status != facegate.AlertRejected {
			t.Fatalf("rejection %d: %+v %v", i, r, err)
		}
	}
	negs, err := db.Negatives(ctx, g.ID, s.ID, now)
	if err != nil || len(negs) != maxNegatives {
		t.Fatalf("%d negatives in force after %d rejections (%v), want %d", len(negs), maxNegatives+5, err, maxNegatives)
	}
	// Expired ones do not count: once they lapse, new rejections are remembered again.
	a := &facegate.Alert{GalleryID: g.ID, SubjectID: s.ID, Score: 0.5, Probe: template(999, facegate.TemplateDim)}
	if _, _, err := db.RecordSighting(ctx, a, time.Minute); err != nil {
		t.Fatal(err)
	}
	later := now.Add(2 * time.Hour)
	if _, err := db.ReviewAlert(ctx, a.ID, facegate.AlertRejected, "k", "", later, later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if negs, _ := db.Negatives(ctx, g.ID, s.ID, later); len(negs) != 1 {
		t.Fatalf("%d negatives in force after the others expired, want 1", len(negs))
	}
}
