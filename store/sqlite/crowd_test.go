package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

// crowdAt is a one-minute crowd interval starting at t, with n faces in one heatmap cell.
func crowdAt(stream string, t time.Time, n int) *facegate.CrowdRecord {
	h := facegate.NewHeatmap()
	h.Cells[3] = n
	return &facegate.CrowdRecord{Stream: stream, Event: "evt_" + t.Format("1504"), Crowd: facegate.Crowd{From: t, To: t.Add(time.Minute),
		FacesMax: n, NewTracks: n, Zones: []facegate.ZoneCount{{Name: "door", Entries: 1}}, Heatmap: h}}
}

// TestCrowdHistory stores intervals of two streams and reads them back by stream and period (overlap, open ends,
// limit, order), deletes the old ones, and deletes a stream's history with the stream.
func TestCrowdHistory(t *testing.T) {
	db, dir := openTest(t)
	ctx := context.Background()
	a := &facegate.Stream{Name: "hall", Source: "rtsp://cam/1"}
	b := &facegate.Stream{Name: "gate", Source: "rtsp://cam/2"}
	for _, s := range []*facegate.Stream{a, b} {
		if err := db.CreateStream(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Stored out of order: listings come in the order intervals ended.
	for _, i := range []int{3, 0, 4, 1, 2} {
		if err := db.AddCrowd(ctx, crowdAt(a.ID, t0.Add(time.Duration(i)*time.Minute), i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddCrowd(ctx, crowdAt(b.ID, t0, 9)); err != nil {
		t.Fatal(err)
	}
	if err := db.AddCrowd(ctx, crowdAt("str_nope", t0, 1)); !errors.Is(err, facegate.ErrNotFound) {
		t.Fatalf("a crowd of an unknown stream: %v, want not found", err)
	}
	bad := crowdAt(a.ID, t0, 1)
	bad.To = t0.Add(-time.Second)
	if err := db.AddCrowd(ctx, bad); err == nil {
		t.Fatal("an interval ending before it starts was stored")
	}
	min := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	for _, tc := range []struct {
		name     string
		stream   string
		from, to time.Time
		limit    int
		want     []int // FacesMax of the intervals, in order
	}{
		{"all", a.ID, time.Time{}, time.Time{}, 100, []int{1, 2, 3, 4, 5}},
		{"limit", a.ID, time.Time{}, time.Time{}, 2, []int{1, 2}},
		{"other stream", b.ID, time.Time{}, time.Time{}, 100, []int{9}},
		{"overlap counts whole", a.ID, min(1).Add(30 * time.Second), min(2).Add(time.Second), 100, []int{2, 3}},
		{"touching ends do not overlap", a.ID, min(1), min(2), 100, []int{2}},
		{"open start", a.ID, time.Time{}, min(2), 100, []int{1, 2}},
		{"open end", a.ID, min(4), time.Time{}, 100, []int{5}},
		{"after everything", a.ID, min(5), time.Time{}, 100, nil},
		{"far past and future", a.ID, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 100, []int{1, 2, 3, 4, 5}},
		{"unknown stream", "str_nope", time.Time{}, time.Time{}, 100, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Crowds(ctx, tc.stream, tc.from, tc.to, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d intervals, want %d", len(got), len(tc.want))
			}
			for i, c := range got {
				if c.FacesMax != tc.want[i] || c.Stream != tc.stream || c.Heatmap == nil || c.Heatmap.Cells[3] != tc.want[i] {
					t.Errorf("interval %d: %+v, want faces %d", i, c, tc.want[i])
				}
			}
		})
	}
	// The figures round-trip whole.
	got, err := db.Crowds(ctx, a.ID, time.Time{}, min(1), 1)
	if err != nil || len(got) != 1 {
		t.Fatal(len(got), err)
	}
	if c := got[0]; !c.From.Equal(t0) || !c.To.Equal(min(1)) || c.Event != "evt_1200" || len(c.Zones) != 1 || c.Zones[0].Name != "door" || c.Zones[0].Entries != 1 || c.Heatmap.Total() != 1 {
		t.Errorf("round trip: %+v", c)
	}
	if _, err := db.Crowds(ctx, a.ID, time.Time{}, time.Time{}, 0); err == nil {
		t.Error("limit 0 was accepted")
	}
	// EachCrowd stops at fn's error and returns it.
	stop, n := errors.New("stop"), 0
	if err := db.EachCrowd(ctx, a.ID, time.Time{}, time.Time{}, 100, func(*facegate.CrowdRecord) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("EachCrowd: %v after %d calls, want stop after 1", err, n)
	}

	// Retention: the intervals that ended at or before t go, of every stream.
	if n, err := db.DeleteCrowdsBefore(ctx, min(2)); err != nil || n != 3 {
		t.Fatalf("delete before: %d %v, want 3 (two of hall, one of gate)", n, err)
	}
	if left := count(t, db, "SELECT COUNT(*) FROM crowds"); left != 3 {
		t.Fatalf("%d intervals left, want 3", left)
	}
	// The history survives a reopen, and goes with its stream.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if err := db2.AddCrowd(ctx, crowdAt(b.ID, min(7), 1)); err != nil {
		t.Fatal(err)
	}
	if err := db2.DeleteStream(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db2, "SELECT COUNT(*) FROM crowds WHERE stream_id = ?", a.ID); n != 0 {
		t.Fatalf("%d intervals of the deleted stream left", n)
	}
	if n := count(t, db2, "SELECT COUNT(*) FROM crowds WHERE stream_id = ?", b.ID); n != 1 {
		t.Fatalf("%d intervals of the other stream, want 1", n)
	}
}

// TestCrowdUnreadableRow: a row whose figures do not parse is skipped and named; the others are still listed.
func TestCrowdUnreadableRow(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	s := &facegate.Stream{Name: "hall", Source: "rtsp://cam/1"}
	if err := db.CreateStream(ctx, s); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 2 {
		if err := db.AddCrowd(ctx, crowdAt(s.ID, t0.Add(time.Duration(i)*time.Minute), 1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.write.ExecContext(ctx, "UPDATE crowds SET figures = '{' WHERE from_at = ?", t0.UnixNano()); err != nil {
		t.Fatal(err)
	}
	got, err := db.Crowds(ctx, s.ID, time.Time{}, time.Time{}, 10)
	var bad *facegate.BadRowsError
	if !errors.As(err, &bad) || len(bad.Rows) != 1 || bad.Rows[0].Kind != "crowd" || len(got) != 1 || !got[0].From.Equal(t0.Add(time.Minute)) {
		t.Fatalf("%d intervals, %v", len(got), err)
	}
}
