package video_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/video"
)

// TestLoopedClipGroupsAlerts runs the real clip looped for 60 s of video against a watchlist: every sighting of
// the performer on the stream joins one pending alert (the default cool-down is 10 minutes), whose sighting count
// is the number of match events, instead of one alert per appearance.
func TestLoopedClipGroupsAlerts(t *testing.T) {
	needFFmpeg(t)
	f := newPurposeFixture(t, facegate.PurposeWatchlist, "lin_manuel_miranda", "obama", "biden")
	ctx := context.Background()
	g := *f.gallery
	st := f.stream(t, facegate.Stream{Name: "loop", Source: testutil.Shared(t, clip), Gallery: g.ID, NoRealtime: true, Loop: true})
	const frames = 300 // 60 s at 5 fps
	runCtx, cancel := context.WithTimeout(ctx, 8*time.Minute)
	defer cancel()
	p, err := video.New(video.Config{Stream: st, Engine: testutil.Engine(t), Index: f.index, Store: f.store, Publish: f.publish,
		Logger: slog.New(slog.DiscardHandler), OnFrame: func(fs video.FrameStats) {
			if fs.Seq+1 >= frames {
				cancel()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(runCtx); err != nil && runCtx.Err() == nil {
		t.Fatal(err)
	}
	matches := f.byType(facegate.EventMatch)
	perSubject := map[string]int{}
	alertOf := map[string]string{}
	for _, m := range matches {
		perSubject[m.Match.Subject]++
		if m.AlertID == "" {
			t.Fatalf("watchlist match %s without an alert", m.ID)
		}
		if prev, ok := alertOf[m.Match.Subject]; ok && prev != m.AlertID {
			t.Fatalf("%s: a second alert %s within the cool-down (first %s)", f.people[m.Match.Subject], m.AlertID, prev)
		}
		alertOf[m.Match.Subject] = m.AlertID
	}
	alerts, err := f.store.Alerts(ctx, facegate.AlertFilter{StreamID: st.ID})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames, %d match events, %d alerts: %v", frames, len(matches), len(alerts), perSubject)
	if len(alerts) != len(perSubject) || len(alerts) == 0 {
		t.Fatalf("%d alerts for %d matched people, want one each", len(alerts), len(perSubject))
	}
	for _, a := range alerts {
		if a.Status != facegate.AlertPending || a.Sightings != perSubject[a.SubjectID] || a.EventID == "" || !a.LastSeen.After(a.FirstSeen) {
			t.Errorf("alert of %s: %+v, want %d sightings", f.people[a.SubjectID], a, perSubject[a.SubjectID])
		}
	}
	if perSubject[subjectOf(f, "lin_manuel_miranda")] < 4 {
		t.Errorf("the performer was matched %d times in 6 loops, want at least 4", perSubject[subjectOf(f, "lin_manuel_miranda")])
	}
}

func subjectOf(f *fixture, name string) string {
	for id, n := range f.people {
		if n == name {
			return id
		}
	}
	return ""
}
