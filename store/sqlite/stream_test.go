package sqlite

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

func TestStreamCRUD(t *testing.T) {
	db, dir := openTest(t)
	ctx := context.Background()
	s := &facegate.Stream{Name: "gate", Source: "rtsp://cam/1", Gallery: "gal_x", FPS: 4, Loop: true,
		CropRetentionHours: 24, Webhook: &facegate.Webhook{URL: "http://hook", Secret: "s"}}
	if err := db.CreateStream(ctx, s); err != nil {
		t.Fatal(err)
	}
	if s.ID == "" || s.CreatedAt.IsZero() {
		t.Fatalf("id/time not set: %+v", s)
	}
	if err := db.CreateStream(ctx, &facegate.Stream{Name: "gate", Source: "x"}); !errors.Is(err, facegate.ErrConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	got, err := db.Stream(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, s)
	}
	s.FPS, s.Source = 2, "/video.mp4"
	if err := db.UpdateStream(ctx, s); err != nil {
		t.Fatal(err)
	}
	// Streams survive a reopen: they are stored configuration.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	all, err := db2.Streams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].FPS != 2 || all[0].Source != "/video.mp4" || all[0].Webhook == nil || all[0].Webhook.Secret != "s" {
		t.Fatalf("after reopen: %+v", all)
	}
	if err := db2.DeleteStream(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		db2.DeleteStream(ctx, s.ID),
		db2.UpdateStream(ctx, s),
		func() error { _, err := db2.Stream(ctx, s.ID); return err }(),
	} {
		if !errors.Is(err, facegate.ErrNotFound) {
			t.Errorf("after delete: %v, want ErrNotFound", err)
		}
	}
	// reopen for openTest's cleanup, which closes db
	db3, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db.write, db.read = db3.write, db3.read
}

func TestMatchCrops(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	sub := mustSubject(t, db, g.ID)
	other := mustSubject(t, db, g.ID)
	st := &facegate.Stream{Name: "cam", Source: "/v.mp4", Gallery: g.ID}
	if err := db.CreateStream(ctx, st); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	add := func(ev, subject string, expires time.Time) {
		t.Helper()
		c := &facegate.MatchCrop{EventID: ev, StreamID: st.ID, GalleryID: g.ID, SubjectID: subject, JPEG: []byte{0xff, 0xd8, 1}, ExpiresAt: expires}
		if err := db.AddMatchCrop(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	add("e1", sub.ID, t0.Add(time.Hour))
	add("e2", sub.ID, t0.Add(2*time.Hour))
	add("e3", other.ID, t0.Add(3*time.Hour))
	if err := db.AddMatchCrop(ctx, &facegate.MatchCrop{EventID: "e9", StreamID: "nope", JPEG: []byte{1}}); !errors.Is(err, facegate.ErrNotFound) {
		t.Fatalf("crop of unknown stream: %v", err)
	}
	c, err := db.MatchCrop(ctx, "e1")
	if err != nil || c.SubjectID != sub.ID || len(c.JPEG) != 3 {
		t.Fatalf("MatchCrop: %+v %v", c, err)
	}
	n, err := db.DeleteExpiredCrops(ctx, t0.Add(90*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("expired: %d %v, want 1", n, err)
	}
	if _, err := db.MatchCrop(ctx, "e1"); !errors.Is(err, facegate.ErrNotFound) {
		t.Fatalf("expired crop still there: %v", err)
	}
	// Deleting the subject deletes its crops, not the others'.
	if err := db.DeleteSubject(ctx, g.ID, sub.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MatchCrop(ctx, "e2"); !errors.Is(err, facegate.ErrNotFound) {
		t.Fatalf("crop of deleted subject still there: %v", err)
	}
	if _, err := db.MatchCrop(ctx, "e3"); err != nil {
		t.Fatalf("other subject's crop: %v", err)
	}
	// Deleting the stream deletes the rest.
	if err := db.DeleteStream(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MatchCrop(ctx, "e3"); !errors.Is(err, facegate.ErrNotFound) {
		t.Fatalf("crop of deleted stream still there: %v", err)
	}
}
