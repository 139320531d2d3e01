package video_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/video"
)

// TestZonesOnClip runs the real clip with a zone over the whole frame and a line down its middle: the zone holds
// every confirmed track, so it never counts more tracks than faces and each track enters it once; the heatmap
// counts exactly the faces the frames found; the dwell histogram counts every ended track.
func TestZonesOnClip(t *testing.T) {
	needFFmpeg(t)
	f := newFixture(t)
	st := f.stream(t, facegate.Stream{Name: "zones", Source: testutil.Shared(t, clip), FPS: 5, NoRealtime: true,
		CrowdIntervalSeconds: 5,
		Zones:                []facegate.Zone{{Name: "all", Points: []facegate.FramePoint{{X: 0, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 1}, {X: 0, Y: 1}}}},
		Lines:                []facegate.Line{{Name: "middle", From: facegate.FramePoint{X: 0.5, Y: 0}, To: facegate.FramePoint{X: 0.5, Y: 1}}}})
	var mu sync.Mutex
	faceFrames, frames := 0, 0
	p, err := video.New(video.Config{Stream: st, Engine: testutil.Engine(t), Index: f.index, Store: f.store,
		Publish: f.publish, Logger: slog.New(slog.DiscardHandler), OnFrame: func(s video.FrameStats) {
			mu.Lock()
			faceFrames += s.Faces
			frames++
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	crowd := f.byType(facegate.EventCrowd)
	started, ended := f.byType(facegate.EventTrackStarted), f.byType(facegate.EventTrackEnded)
	if len(crowd) < 2 || faceFrames == 0 {
		t.Fatalf("%d crowd events, %d faces over %d frames: want >= 2 events and faces", len(crowd), faceFrames, frames)
	}
	heat := facegate.NewHeatmap()
	entries, crossings, dwelled := 0, 0, 0
	for _, e := range crowd {
		c := e.Crowd
		if len(c.Zones) != 1 || len(c.Lines) != 1 || c.Heatmap == nil || len(c.DwellHistogram) != len(facegate.DwellBucketBounds)+1 {
			t.Fatalf("crowd figures without the zone, line, heatmap or dwell histogram: %+v", *c)
		}
		z, l := c.Zones[0], c.Lines[0]
		t.Logf("%s–%s faces max %d mean %.2f | zone max %d mean %.2f entries %d | line %d→ %d← | heat %d | dwell %+v",
			c.From.Format("05.0"), c.To.Format("05.0"), c.FacesMax, c.FacesMean, z.TracksMax, z.TracksMean, z.Entries,
			l.LeftToRight, l.RightToLeft, c.Heatmap.Total(), c.DwellHistogram)
		if z.TracksMax > c.FacesMax || z.TracksMean > c.FacesMean+1e-9 {
			t.Errorf("zone counts %d tracks at most (mean %.2f) but the frames held %d faces at most (mean %.2f)", z.TracksMax, z.TracksMean, c.FacesMax, c.FacesMean)
		}
		if l.LeftToRight < 0 || l.RightToLeft < 0 {
			t.Errorf("negative crossings %+v", l)
		}
		if !heat.Add(c.Heatmap) {
			t.Fatalf("heatmap grid %dx%d", c.Heatmap.Cols, c.Heatmap.Rows)
		}
		entries += z.Entries
		crossings += l.LeftToRight + l.RightToLeft
		for _, b := range c.DwellHistogram {
			dwelled += b.Tracks
		}
	}
	if heat.Total() != faceFrames {
		t.Errorf("heatmap counts %d face-frames, the frames found %d faces", heat.Total(), faceFrames)
	}
	if entries != len(started) {
		t.Errorf("the whole-frame zone counted %d entries; %d tracks started (each enters once)", entries, len(started))
	}
	if dwelled != len(ended) {
		t.Errorf("dwell histogram counts %d tracks; %d ended", dwelled, len(ended))
	}
	t.Logf("%d frames, %d face-frames, %d tracks, %d crossings of the middle line", frames, faceFrames, len(started), crossings)
}
