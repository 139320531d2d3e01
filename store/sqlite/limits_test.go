package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/facegate/facegate"
)

// TestLengthLimits: the store refuses what is over a length limit (facegate/limits.go) for every caller, the CLI
// included, with ErrTooLong and a sentence, and stores nothing.
func TestLengthLimits(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	sub := mustSubject(t, db, g.ID)
	long := func(n int) string { return strings.Repeat("x", n) }
	before := map[string]int{}
	tables := []string{"galleries", "subjects", "consents", "api_keys", "faces"}
	for _, tb := range tables {
		before[tb] = count(t, db, "SELECT count(*) FROM "+tb)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"gallery name", db.CreateGallery(ctx, &facegate.Gallery{Name: long(facegate.MaxNameLen + 1)})},
		{"gallery legal basis", db.UpdateGallery(ctx, &facegate.Gallery{ID: g.ID, Name: "g", ConsentExempt: true, LegalBasis: long(facegate.MaxLegalBasisLen + 1)})},
		{"display name", db.CreateSubjectWithFaces(ctx, &facegate.Subject{GalleryID: g.ID, DisplayName: long(1 << 20)},
			[]*facegate.FaceRecord{{Template: template(1, facegate.TemplateDim)}})},
		{"external id", db.CreateSubject(ctx, &facegate.Subject{GalleryID: g.ID, ExternalID: long(facegate.MaxExternalIDLen + 1)})},
		{"metadata", db.CreateSubject(ctx, &facegate.Subject{GalleryID: g.ID, Metadata: map[string]string{"k": long(facegate.MaxMetadataBytes)}})},
		{"watch reason", db.UpdateSubject(ctx, &facegate.Subject{ID: sub.ID, GalleryID: g.ID, Watch: &facegate.WatchEntry{Reason: long(facegate.MaxWatchReasonLen + 1)}})},
		{"consent evidence", db.AddConsent(ctx, &facegate.Consent{GalleryID: g.ID, SubjectID: sub.ID, GivenBy: "a", Evidence: long(facegate.MaxConsentFieldLen + 1),
			Purposes: []facegate.Purpose{facegate.PurposeAccessControl}})},
		{"consent purposes", db.AddConsent(ctx, &facegate.Consent{GalleryID: g.ID, SubjectID: sub.ID, GivenBy: "a", Evidence: "e",
			Purposes: slices.Repeat([]facegate.Purpose{facegate.PurposeAccessControl}, len(facegate.Purposes)+1)})},
		{"key name", db.CreateKey(ctx, &facegate.APIKey{Name: long(facegate.MaxNameLen + 1), Role: facegate.RoleDevice, Hash: []byte("h")})},
		{"stream name", db.CreateStream(ctx, &facegate.Stream{Name: long(facegate.MaxNameLen + 1), Source: "clip.mp4"})},
	} {
		wantErr(t, tc.err, facegate.ErrTooLong)
		if msg, _ := facegate.UserMessage(tc.err); !strings.Contains(msg, "the limit is") && !strings.Contains(msg, "at most once") {
			t.Errorf("%s: message %q does not say the limit", tc.name, msg)
		}
	}
	for _, tb := range tables {
		if n := count(t, db, "SELECT count(*) FROM "+tb); n != before[tb] {
			t.Errorf("%s: %d rows, want %d", tb, n, before[tb])
		}
	}
	if s, err := db.Subject(ctx, g.ID, sub.ID); err != nil || s.Watch != nil {
		t.Errorf("subject after the refused update: %+v %v", s, err)
	}
}
