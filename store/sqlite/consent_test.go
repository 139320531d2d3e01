package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

func consentGallery(t *testing.T, db *DB, purpose facegate.Purpose) *facegate.Gallery {
	t.Helper()
	g := &facegate.Gallery{Name: string(purpose), Threshold: 0.4, Purpose: purpose}
	if purpose == facegate.PurposeWatchlist {
		g.LegalBasis = "court order 12/2026"
	}
	if err := db.CreateGallery(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	return g
}

func face(g, s string, seed uint64) *facegate.FaceRecord {
	return &facegate.FaceRecord{GalleryID: g, SubjectID: s, Template: template(seed, facegate.TemplateDim)}
}

func TestConsentGatesEnrolment(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := consentGallery(t, db, facegate.PurposeAccessControl)
	now := time.Now()
	for _, tc := range []struct {
		name    string
		minor   bool
		consent *facegate.Consent
		ok      bool
	}{
		{"no consent", false, nil, false},
		{"other purpose", false, &facegate.Consent{GivenBy: "A", Evidence: "f1", Purposes: []facegate.Purpose{facegate.PurposePayment}}, false},
		{"covering", false, &facegate.Consent{GivenBy: "A", Evidence: "f1", Purposes: []facegate.Purpose{facegate.PurposePayment, facegate.PurposeAccessControl}}, true},
		{"expired", false, &facegate.Consent{GivenBy: "A", Evidence: "f1", Purposes: []facegate.Purpose{facegate.PurposeAccessControl},
			GivenAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(-time.Hour)}, false},
		{"not yet expired", false, &facegate.Consent{GivenBy: "A", Evidence: "f1", Purposes: []facegate.Purpose{facegate.PurposeAccessControl},
			ExpiresAt: now.Add(time.Hour)}, true},
		{"minor, own consent", true, &facegate.Consent{GivenBy: "kid", Evidence: "f1", Purposes: []facegate.Purpose{facegate.PurposeAccessControl}}, false},
		{"minor, guardian", true, &facegate.Consent{GivenBy: "parent", Guardian: true, Evidence: "f1", Purposes: []facegate.Purpose{facegate.PurposeAccessControl}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &facegate.Subject{GalleryID: g.ID, Minor: tc.minor}
			if err := db.CreateSubject(ctx, s); err != nil {
				t.Fatal(err)
			}
			if tc.consent != nil {
				c := *tc.consent
				c.GalleryID, c.SubjectID = g.ID, s.ID
				if err := db.AddConsent(ctx, &c); err != nil {
					t.Fatal(err)
				}
			}
			err := db.AddFace(ctx, face(g.ID, s.ID, 1))
			if tc.ok && err != nil {
				t.Fatalf("AddFace: %v", err)
			}
			if !tc.ok && !errors.Is(err, facegate.ErrConsent) {
				t.Fatalf("AddFace: %v, want ErrConsent", err)
			}
			// Creating a subject with faces obeys the same rule, atomically.
			var cs []*facegate.Consent
			if tc.consent != nil {
				c := *tc.consent
				c.ID = ""
				cs = append(cs, &c)
			}
			s2 := &facegate.Subject{GalleryID: g.ID, Minor: tc.minor, ExternalID: "x-" + tc.name}
			err = db.CreateSubjectWithConsent(ctx, s2, cs, []*facegate.FaceRecord{face("", "", 2)})
			if tc.ok != (err == nil) {
				t.Fatalf("CreateSubjectWithConsent: %v (want ok %v)", err, tc.ok)
			}
			if !tc.ok {
				if _, err := db.SubjectByExternalID(ctx, g.ID, s2.ExternalID); !errors.Is(err, facegate.ErrNotFound) {
					t.Fatalf("a refused subject was stored: %v", err)
				}
			}
		})
	}
}

func TestWithdrawConsentErasesFaces(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := consentGallery(t, db, facegate.PurposeAccessControl)
	s := &facegate.Subject{GalleryID: g.ID}
	c1 := &facegate.Consent{GivenBy: "A", Evidence: "form 1", Purposes: []facegate.Purpose{facegate.PurposeAccessControl}}
	c2 := &facegate.Consent{GivenBy: "A", Evidence: "form 2", Purposes: []facegate.Purpose{facegate.PurposeAccessControl}}
	if err := db.CreateSubjectWithConsent(ctx, s, []*facegate.Consent{c1, c2}, []*facegate.FaceRecord{face("", "", 1), face("", "", 2)}); err != nil {
		t.Fatal(err)
	}
	// Withdrawing one of two covering consents keeps the faces.
	erased, err := db.WithdrawConsent(ctx, g.ID, s.ID, c1.ID, time.Now())
	if err != nil || len(erased) != 0 {
		t.Fatalf("first withdrawal: erased %v, %v", erased, err)
	}
	// Withdrawing the last one erases them in the same transaction.
	erased, err = db.WithdrawConsent(ctx, g.ID, s.ID, c2.ID, time.Now())
	if err != nil || len(erased) != 2 {
		t.Fatalf("last withdrawal: erased %v, %v", erased, err)
	}
	if faces, _ := db.Faces(ctx, g.ID, s.ID); len(faces) != 0 {
		t.Fatalf("%d faces left after consent was withdrawn", len(faces))
	}
	// The record remains, marked withdrawn; withdrawing again is harmless; new faces are refused.
	cs, err := db.Consents(ctx, g.ID, s.ID)
	if err != nil || len(cs) != 2 || cs[1].WithdrawnAt.IsZero() {
		t.Fatalf("consents: %+v %v", cs, err)
	}
	if _, err := db.WithdrawConsent(ctx, g.ID, s.ID, c2.ID, time.Now()); err != nil {
		t.Fatalf("second withdrawal of the same consent: %v", err)
	}
	if err := db.AddFace(ctx, face(g.ID, s.ID, 3)); !errors.Is(err, facegate.ErrConsent) {
		t.Fatalf("enrolment after withdrawal: %v", err)
	}
	if _, err := db.WithdrawConsent(ctx, g.ID, s.ID, "con_missing", time.Now()); !errors.Is(err, facegate.ErrNotFound) {
		t.Fatalf("unknown consent: %v", err)
	}
	// Deleting the subject deletes its consent records.
	if err := db.DeleteSubject(ctx, g.ID, s.ID); err != nil {
		t.Fatal(err)
	}
	if cs, _ := db.Consents(ctx, g.ID, s.ID); len(cs) != 0 {
		t.Fatalf("%d consent records outlived their subject", len(cs))
	}
}

func TestConsentRecordChecks(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := consentGallery(t, db, facegate.PurposeAccessControl)
	s := mustSubject(t, db, g.ID)
	for _, c := range []facegate.Consent{
		{GivenBy: "", Evidence: "e", Purposes: []facegate.Purpose{facegate.PurposeAccessControl}},
		{GivenBy: "A", Evidence: "", Purposes: []facegate.Purpose{facegate.PurposeAccessControl}},
		{GivenBy: "A", Evidence: "e"},
		{GivenBy: "A", Evidence: "e", Purposes: []facegate.Purpose{"marketing"}},
		{GivenBy: "A", Evidence: "e", Purposes: []facegate.Purpose{facegate.PurposeAccessControl}, GivenAt: time.Now(), ExpiresAt: time.Now().Add(-time.Hour)},
	} {
		c.GalleryID, c.SubjectID = g.ID, s.ID
		if err := db.AddConsent(ctx, &c); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
	if err := db.AddConsent(ctx, &facegate.Consent{GalleryID: g.ID, SubjectID: "sub_missing", GivenBy: "A", Evidence: "e",
		Purposes: []facegate.Purpose{facegate.PurposeAccessControl}}); !errors.Is(err, facegate.ErrNotFound) {
		t.Errorf("consent of a missing subject: %v", err)
	}
}

func TestWatchlistRules(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	if err := db.CreateGallery(ctx, &facegate.Gallery{Name: "wl", Purpose: facegate.PurposeWatchlist}); err == nil {
		t.Fatal("a watchlist without a legal basis was created")
	}
	if err := db.CreateGallery(ctx, &facegate.Gallery{Name: "ex", ConsentExempt: true}); err == nil {
		t.Fatal("a consent-exempt gallery without a legal basis was created")
	}
	if err := db.CreateGallery(ctx, &facegate.Gallery{Name: "bad", Purpose: "marketing"}); err == nil {
		t.Fatal("unknown purpose accepted")
	}
	wl := &facegate.Gallery{Name: "wl", Purpose: facegate.PurposeWatchlist, LegalBasis: "court order", ConsentExempt: true}
	if err := db.CreateGallery(ctx, wl); err != nil {
		t.Fatal(err)
	}
	entry := &facegate.WatchEntry{AddedBy: "key_1", Reason: "warrant 77", ReviewAt: time.Now().Add(30 * 24 * time.Hour).UTC().Round(0)}
	for _, tc := range []struct {
		name string
		s    facegate.Subject
		want error
	}{
		{"minor", facegate.Subject{Minor: true, Watch: entry}, facegate.ErrMinorOnWatchlist},
		{"no entry", facegate.Subject{}, facegate.ErrInvalid},
		{"no reason", facegate.Subject{Watch: &facegate.WatchEntry{ReviewAt: entry.ReviewAt}}, facegate.ErrInvalid},
		{"ok", facegate.Subject{Watch: entry}, nil},
	} {
		s := tc.s
		s.GalleryID = wl.ID
		err := db.CreateSubjectWithFaces(ctx, &s, []*facegate.FaceRecord{face("", "", 5)})
		if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if tc.want == nil {
			got, err := db.Subject(ctx, wl.ID, s.ID)
			if err != nil || got.Watch == nil || got.Watch.Reason != entry.Reason || !got.Watch.ReviewAt.Equal(entry.ReviewAt) {
				t.Errorf("stored entry: %+v %v", got, err)
			}
			got.Minor = true
			if err := db.UpdateSubject(ctx, got); !errors.Is(err, facegate.ErrMinorOnWatchlist) {
				t.Errorf("flagging a watchlist subject as a minor: %v", err)
			}
		}
	}
	// A gallery with a minor cannot become a watchlist.
	ac := consentGallery(t, db, facegate.PurposeAccessControl)
	if err := db.CreateSubject(ctx, &facegate.Subject{GalleryID: ac.ID, Minor: true}); err != nil {
		t.Fatal(err)
	}
	ac.Purpose, ac.LegalBasis = facegate.PurposeWatchlist, "order"
	if err := db.UpdateGallery(ctx, ac); !errors.Is(err, facegate.ErrMinorOnWatchlist) {
		t.Fatalf("turning a gallery with a minor into a watchlist: %v", err)
	}
}

func TestGalleryRetention(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	keep := mustGallery(t, db, "keep")
	short := &facegate.Gallery{Name: "short", RetentionDays: 30, ConsentExempt: true, LegalBasis: "fixture"}
	if err := db.CreateGallery(ctx, short); err != nil {
		t.Fatal(err)
	}
	a, b := mustSubject(t, db, keep.ID), mustSubject(t, db, short.ID)
	for _, f := range []*facegate.FaceRecord{face(keep.ID, a.ID, 1), face(short.ID, b.ID, 2), face(short.ID, b.ID, 3)} {
		if err := db.AddFace(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := db.DeleteExpiredFaces(ctx, time.Now().Add(29*24*time.Hour)); err != nil || len(got) != 0 {
		t.Fatalf("before the retention: %v %v", got, err)
	}
	got, err := db.DeleteExpiredFaces(ctx, time.Now().Add(31*24*time.Hour))
	if err != nil || len(got) != 2 || got[0].GalleryID != short.ID || got[0].SubjectID != b.ID {
		t.Fatalf("after the retention: %+v %v", got, err)
	}
	if fs, _ := db.Faces(ctx, keep.ID, a.ID); len(fs) != 1 {
		t.Fatalf("a gallery without retention lost faces: %d left", len(fs))
	}
}

func TestSubjectsQuery(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	for _, s := range []facegate.Subject{{DisplayName: "Ada Lovelace", ExternalID: "e1"}, {DisplayName: "Alan Turing", ExternalID: "e2"},
		{DisplayName: "Grace Hopper", ExternalID: "ada"}} {
		s.GalleryID = g.ID
		if err := db.CreateSubject(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]int{"": 3, "ADA": 1, "ada": 2, "turing": 1, "e2": 1, "nobody": 0, "a": 3} {
		got, err := db.Subjects(ctx, g.ID, facegate.Page{Query: q})
		if err != nil || len(got) != want {
			t.Errorf("query %q: %d subjects (%v), want %d", q, len(got), err, want)
		}
	}
}
