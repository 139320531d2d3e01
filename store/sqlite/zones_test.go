package sqlite

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/facegate/facegate"
)

// TestStreamZonesStored: a stream's zones and lines are kept with its configuration across a reopen, and the
// store refuses ones that cannot be counted (for the CLI and every caller, not only the API).
func TestStreamZonesStored(t *testing.T) {
	db, dir := openTest(t)
	ctx := context.Background()
	s := &facegate.Stream{Name: "hall", Source: "rtsp://cam/1",
		Zones: []facegate.Zone{{Name: "queue", Points: []facegate.FramePoint{{X: 0.1, Y: 0.2}, {X: 0.5, Y: 0.2}, {X: 0.3, Y: 0.9}}}},
		Lines: []facegate.Line{{Name: "door", From: facegate.FramePoint{X: 0.5, Y: 0}, To: facegate.FramePoint{X: 0.5, Y: 1}}}}
	if err := db.CreateStream(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	got, err := db2.Stream(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Zones, s.Zones) || !reflect.DeepEqual(got.Lines, s.Lines) {
		t.Fatalf("after a reopen: zones %+v lines %+v, want %+v %+v", got.Zones, got.Lines, s.Zones, s.Lines)
	}
	got.Zones[0].Points = got.Zones[0].Points[:2]
	if err := db2.UpdateStream(ctx, got); !errors.Is(err, facegate.ErrInvalid) {
		t.Fatalf("a two-point zone stored: %v", err)
	}
}
