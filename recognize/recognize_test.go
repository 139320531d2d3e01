package recognize_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/recognize"
	"github.com/facegate/facegate/store/sqlite"
)

// world is a real store and index with one gallery, for the decision rules.
type world struct {
	ctx context.Context
	db  *sqlite.DB
	ix  *index.Index
	g   *facegate.Gallery
	rec *recognize.Recognizer
	rnd *rand.Rand
	now time.Time
}

func newWorld(t *testing.T, purpose facegate.Purpose) *world {
	t.Helper()
	db, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := &world{ctx: t.Context(), db: db, ix: index.New(facegate.TemplateDim), rnd: rand.New(rand.NewPCG(1, 2)),
		now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	w.g = &facegate.Gallery{Name: "g", Threshold: 0.33, Purpose: purpose}
	if purpose == facegate.PurposeWatchlist {
		w.g.LegalBasis, w.g.ConsentExempt = "court order 1", true
	} else {
		w.g.ConsentExempt, w.g.LegalBasis = true, "test"
	}
	if err := db.CreateGallery(w.ctx, w.g); err != nil {
		t.Fatal(err)
	}
	w.rec, err = recognize.New(recognize.Config{Index: w.ix, Store: db, Now: func() time.Time { return w.now }})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) unit() []float32 { return testutil.UnitTemplate(w.rnd, facegate.TemplateDim) }

// mix is a unit vector whose similarity to a is exactly cos (testutil.MixTemplate).
func mix(a, b []float32, cos float64) []float32 { return testutil.MixTemplate(a, b, cos) }

// enrol stores a subject with one face of template tmpl and indexes it.
func (w *world) enrol(t *testing.T, name string, tmpl []float32) *facegate.Subject {
	t.Helper()
	s := &facegate.Subject{GalleryID: w.g.ID, DisplayName: name}
	if w.g.Purpose == facegate.PurposeWatchlist {
		s.Watch = &facegate.WatchEntry{AddedBy: "k", Reason: "wanted", ReviewAt: w.now.Add(24 * time.Hour)}
	}
	f := &facegate.FaceRecord{GalleryID: w.g.ID, Template: tmpl, Quality: facegate.Quality{Score: 0.9}}
	if err := w.db.CreateSubjectWithFaces(w.ctx, s, []*facegate.FaceRecord{f}); err != nil {
		t.Fatal(err)
	}
	if err := w.ix.Add(w.g.ID, s.ID, f.ID, tmpl); err != nil {
		t.Fatal(err)
	}
	return s
}

// reject raises an alert for subject s with probe and rejects it.
func (w *world) reject(t *testing.T, s *facegate.Subject, probe []float32) *facegate.Alert {
	t.Helper()
	out, err := w.rec.Alert(w.ctx, w.g, recognize.Sighting{Match: recognize.Candidate{Subject: s.ID, Score: 0.5, Match: true}, Probe: probe, StreamID: "st", At: w.now})
	if err != nil || out == nil || !out.New {
		t.Fatalf("alert: %+v %v", out, err)
	}
	a, err := w.db.ReviewAlert(w.ctx, out.Alert.ID, facegate.AlertRejected, "k", "not him", w.now, w.now.Add(90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestIdentifyMatchAndUnknown(t *testing.T) {
	w := newWorld(t, facegate.PurposeAccessControl)
	ada := w.unit()
	s := w.enrol(t, "Ada", ada)
	w.enrol(t, "Bob", w.unit())
	id, err := w.rec.Identify(w.ctx, w.g, mix(ada, w.unit(), 0.6), 5, recognize.FromSearch)
	if err != nil {
		t.Fatal(err)
	}
	if id.Match == nil || id.Match.Subject != s.ID || id.Match.DisplayName != "Ada" || len(id.Candidates) != 2 || id.Candidates[1].Match {
		t.Fatalf("identification %+v", id)
	}
	id, err = w.rec.Identify(w.ctx, w.g, w.unit(), 5, recognize.FromSearch)
	if err != nil || id.Match != nil || len(id.Candidates) != 2 {
		t.Fatalf("a stranger: %+v %v", id, err)
	}
	// The threshold is the gallery's: just below it is unknown.
	id, _ = w.rec.Identify(w.ctx, w.g, mix(ada, w.unit(), 0.30), 5, recognize.FromSearch)
	if id.Match != nil {
		t.Fatalf("score %.3f below the threshold 0.33 matched", id.Candidates[0].Score)
	}
	// Outside a watchlist a match raises no alert.
	if out, err := w.rec.Alert(w.ctx, w.g, recognize.Sighting{Match: recognize.Candidate{Subject: s.ID, Score: 0.6, Match: true}}); out != nil || err != nil {
		t.Fatalf("access-control match raised an alert: %+v %v", out, err)
	}
}

// TestScopedRejection is the incident of issue 11: one rejection of a true alert must not silence the person.
func TestScopedRejection(t *testing.T) {
	w := newWorld(t, facegate.PurposeWatchlist)
	var suppressed int
	rec, _ := recognize.New(recognize.Config{Index: w.ix, Store: w.db, Now: func() time.Time { return w.now },
		Observe: func(what, g, src string) {
			if what == "suppressed" {
				suppressed++
			}
		}})
	w.rec = rec
	enrolled := w.unit()
	s := w.enrol(t, "Wanted", enrolled)
	// A look-alike (0.5 to the enrolled photo) matched and a reviewer rejected it.
	lookalike := mix(enrolled, w.unit(), 0.5)
	w.reject(t, s, lookalike)

	// The enrolment photo itself (score 1.0): never suppressed.
	id, err := w.rec.Identify(w.ctx, w.g, enrolled, 5, recognize.FromSearch)
	if err != nil || id.Match == nil || id.Match.Subject != s.ID {
		t.Fatalf("the enrolment photo was not a match after a rejection: %+v %v", id, err)
	}
	// Another true sighting (0.7 to the enrolled photo, about 0.35 to the look-alike): a match.
	if id, _ := w.rec.Identify(w.ctx, w.g, mix(enrolled, w.unit(), 0.7), 5, recognize.FromSearch); id.Match == nil {
		t.Fatalf("a true sighting was suppressed: %+v", id.Candidates)
	}
	// The look-alike again (a new photo of the same person: 0.9 to the rejected capture, ~0.45 to the enrolled
	// photo): suppressed, and the result says by which rejection.
	again := mix(lookalike, w.unit(), 0.9)
	id, err = w.rec.Identify(w.ctx, w.g, again, 5, recognize.FromSearch)
	if err != nil {
		t.Fatal(err)
	}
	if id.Match != nil || len(id.Candidates) == 0 || id.Candidates[0].Suppressed == nil || !(float64(id.Candidates[0].Score) >= w.g.Threshold) {
		t.Fatalf("the rejected look-alike was not suppressed: %+v", id)
	}
	if sup := id.Candidates[0].Suppressed; sup.Subject != s.ID || sup.Score < sup.Enrolled+0.05 || sup.Rejection == "" || sup.Alert == "" {
		t.Fatalf("suppression %+v", sup)
	}
	if suppressed != 1 {
		t.Fatalf("metrics saw %d suppressions, want 1", suppressed)
	}
	// Verification applies the same rule.
	if v, err := w.rec.Verify(w.ctx, w.g, s.ID, again); err != nil || v.Match || v.Suppressed == nil {
		t.Fatalf("verify of the look-alike: %+v %v", v, err)
	}
	if v, err := w.rec.Verify(w.ctx, w.g, s.ID, enrolled); err != nil || !v.Match || v.Suppressed != nil {
		t.Fatalf("verify of the enrolment photo: %+v %v", v, err)
	}
	// Undoing the rejection lifts the suppression.
	negs, _ := w.db.Negatives(w.ctx, w.g.ID, s.ID, w.now)
	if len(negs) != 1 || negs[0].ReviewedBy != "k" || negs[0].Note != "not him" {
		t.Fatalf("rejections %+v", negs)
	}
	if err := w.db.DeleteNegative(w.ctx, w.g.ID, s.ID, negs[0].ID); err != nil {
		t.Fatal(err)
	}
	if id, _ := w.rec.Identify(w.ctx, w.g, again, 5, recognize.FromSearch); id.Match == nil {
		t.Fatalf("still suppressed after the undo: %+v", id.Candidates)
	}
	// Rejections expire.
	w.reject(t, s, lookalike)
	w.now = w.now.Add(91 * 24 * time.Hour)
	if id, _ := w.rec.Identify(w.ctx, w.g, again, 5, recognize.FromSearch); id.Match == nil {
		t.Fatalf("still suppressed after the rejection expired: %+v", id.Candidates)
	}
}

// A suppressed best candidate lets the next one that clears the threshold be the match.
func TestSuppressedCandidateFallsThrough(t *testing.T) {
	w := newWorld(t, facegate.PurposeWatchlist)
	a := w.unit()
	sa := w.enrol(t, "A", a)
	probe := mix(a, w.unit(), 0.5)
	sb := w.enrol(t, "B", mix(probe, w.unit(), 0.45))
	w.reject(t, sa, mix(probe, w.unit(), 0.95))
	id, err := w.rec.Identify(w.ctx, w.g, probe, 5, recognize.FromStream)
	if err != nil {
		t.Fatal(err)
	}
	if id.Candidates[0].Subject != sa.ID || id.Candidates[0].Suppressed == nil || id.Match == nil || id.Match.Subject != sb.ID {
		t.Fatalf("identification %+v", id)
	}
}

func TestDuplicates(t *testing.T) {
	w := newWorld(t, facegate.PurposeAccessControl)
	a := w.unit()
	sa := w.enrol(t, "Ada", a)
	dups, err := w.rec.Duplicates(w.ctx, w.g, mix(a, w.unit(), 0.6), "")
	if err != nil || len(dups) != 1 || dups[0].Subject != sa.ID || dups[0].DisplayName != "Ada" {
		t.Fatalf("duplicates %+v %v", dups, err)
	}
	// Adding a photo to the same subject is not a duplicate; a stranger is not either.
	if dups, _ := w.rec.Duplicates(w.ctx, w.g, mix(a, w.unit(), 0.6), sa.ID); len(dups) != 0 {
		t.Fatalf("own subject reported: %+v", dups)
	}
	if dups, _ := w.rec.Duplicates(w.ctx, w.g, w.unit(), ""); len(dups) != 0 {
		t.Fatalf("stranger reported: %+v", dups)
	}
}

func TestAlertGrouping(t *testing.T) {
	w := newWorld(t, facegate.PurposeWatchlist)
	a := w.unit()
	s := w.enrol(t, "Wanted", a)
	sight := func(stream string, score float32, at time.Time) *recognize.AlertOutcome {
		t.Helper()
		out, err := w.rec.Alert(w.ctx, w.g, recognize.Sighting{Match: recognize.Candidate{Subject: s.ID, Score: score, Match: true},
			Probe: mix(a, w.unit(), float64(score)), StreamID: stream, At: at})
		if err != nil || out == nil {
			t.Fatalf("alert: %+v %v", out, err)
		}
		return out
	}
	t0 := w.now
	first := sight("door", 0.5, t0)
	if !first.New || !first.Best || first.Alert.Sightings != 1 {
		t.Fatalf("first sighting %+v", first)
	}
	// Within the cool-down on the same stream: grouped; a better score becomes the best sighting.
	second := sight("door", 0.4, t0.Add(time.Minute))
	third := sight("door", 0.7, t0.Add(2*time.Minute))
	if second.New || second.Best || third.New || !third.Best || third.Alert.ID != first.Alert.ID || third.Alert.Sightings != 3 {
		t.Fatalf("grouping: second %+v third %+v", second, third)
	}
	// Another stream: its own alert.
	if other := sight("gate", 0.5, t0.Add(3*time.Minute)); !other.New || other.Alert.ID == first.Alert.ID {
		t.Fatalf("another stream joined the door's alert: %+v", other)
	}
	// The cool-down counts from the last sighting: 9 minutes after it still groups, 11 minutes after does not.
	if g := sight("door", 0.5, t0.Add(11*time.Minute)); g.New {
		t.Fatalf("9 min after the last sighting raised a new alert")
	}
	late := sight("door", 0.5, t0.Add(22*time.Minute+time.Second))
	if !late.New {
		t.Fatalf("11 min after the last sighting joined the old alert")
	}
	got, err := w.db.Alert(w.ctx, first.Alert.ID)
	if err != nil || got.Sightings != 4 || got.Score < 0.69 || !got.FirstSeen.Equal(t0) || !got.LastSeen.Equal(t0.Add(11*time.Minute)) {
		t.Fatalf("stored alert %+v %v", got, err)
	}
	// A rejected alert absorbs nothing: the next sighting raises a new one.
	if _, err := w.db.ReviewAlert(w.ctx, late.Alert.ID, facegate.AlertRejected, "k", "", t0.Add(23*time.Minute), t0.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	fresh := sight("door", 0.5, t0.Add(23*time.Minute))
	if !fresh.New {
		t.Fatalf("a sighting joined a rejected alert")
	}
	// A confirmed one keeps counting within the cool-down (the operator already acted).
	if _, err := w.db.ReviewAlert(w.ctx, fresh.Alert.ID, facegate.AlertConfirmed, "k", "", t0.Add(24*time.Minute), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n := sight("door", 0.5, t0.Add(25*time.Minute)); n.New || n.Alert.ID != fresh.Alert.ID || n.Alert.Status != facegate.AlertConfirmed {
		t.Fatalf("a sighting after confirmation: %+v", n)
	}
	// ...but only for one cool-down after the confirmation: the person still around then raises a new alert.
	if n := sight("door", 0.5, t0.Add(34*time.Minute+time.Second)); !n.New {
		t.Fatalf("a confirmed alert absorbed a sighting more than a cool-down after its confirmation: %+v", n)
	}
	// Filters.
	for _, tc := range []struct {
		f    facegate.AlertFilter
		want int
	}{
		{facegate.AlertFilter{}, 5},
		{facegate.AlertFilter{StreamID: "gate"}, 1},
		{facegate.AlertFilter{SubjectID: s.ID, Status: facegate.AlertRejected}, 1},
		{facegate.AlertFilter{Status: facegate.AlertConfirmed}, 1},
		{facegate.AlertFilter{SubjectID: "nobody"}, 0},
	} {
		as, err := w.db.Alerts(w.ctx, tc.f)
		if err != nil || len(as) != tc.want {
			t.Errorf("filter %+v: %d alerts, want %d (%v)", tc.f, len(as), tc.want, err)
		}
	}
}

func TestVerifyWithoutTemplates(t *testing.T) {
	w := newWorld(t, facegate.PurposeAccessControl)
	s := &facegate.Subject{GalleryID: w.g.ID, DisplayName: "empty"}
	if err := w.db.CreateSubject(w.ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := w.rec.Verify(w.ctx, w.g, s.ID, w.unit()); err != recognize.ErrNoTemplates {
		t.Fatalf("err %v, want ErrNoTemplates", err)
	}
}

// A rejection whose template cannot be compared (another length) never suppresses anything.
func TestSuppressesIgnoresIncomparableRejections(t *testing.T) {
	probe := []float32{1, 0, 0}
	for _, tmpl := range [][]float32{nil, {1, 0}, {float32(math.NaN()), 0, 0}} {
		if s := recognize.Suppresses(probe, 0.4, []facegate.Negative{{ID: "n", Template: tmpl}}, 0.3, 0.1); s != nil {
			t.Errorf("template %v suppressed: %+v", tmpl, s)
		}
	}
}
