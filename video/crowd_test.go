package video_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/video"
)

// clipLabels are the hand labels of the clip (testdata/hamilton_clip_labels.json): who is in view when.
type clipLabels struct {
	Duration float64 `json:"duration_seconds"`
	People   []struct {
		ID     string `json:"id"`
		Ranges []struct {
			From float64    `json:"from"`
			To   float64    `json:"to"`
			Box  [4]float32 `json:"box"`
		} `json:"ranges"`
	} `json:"people"`
}

func readLabels(t *testing.T) clipLabels {
	t.Helper()
	b, err := os.ReadFile("testdata/hamilton_clip_labels.json")
	if err != nil {
		t.Fatal(err)
	}
	var l clipLabels
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// The pipeline's media time of the looped clip at 5 fps (measured: ffmpeg's scene filter and the tracks the
// pipeline reports): the clip's first video frame has the timestamp firstFrame, which media time counts from 0,
// and ffmpeg -stream_loop starts the clip again every loopPeriod seconds (45 or 46 frames).
const (
	firstFrame = 0.852
	loopPeriod = 9.1
)

// clipTime is the time in the clip (the labels' time) of media time mt; negative before the first frame.
func clipTime(mt float64) float64 {
	if mt < firstFrame {
		return -1
	}
	return math.Mod(mt-firstFrame, loopPeriod)
}

// cutMargin leaves out the frames this close to a labelled range's ends, where a frame may belong to either shot.
const cutMargin = 0.3

// at returns the labelled person whose box (widened by 30 px) holds the centre of b at clip time ct, nearest
// centre first; "" when none, and ok false when ct is too close to a range's end to say.
func (l clipLabels) at(ct float64, b facegate.Box) (id string, ok bool) {
	cx, cy := float64(b.X1+b.X2)/2, float64(b.Y1+b.Y2)/2
	best := math.Inf(1)
	for _, p := range l.People {
		for _, r := range p.Ranges {
			if math.Abs(ct-r.From) < cutMargin || math.Abs(ct-r.To) < cutMargin || math.Abs(ct-loopPeriod) < cutMargin {
				return "", false
			}
			if ct < r.From || ct > r.To {
				continue
			}
			const pad = 30
			if cx < float64(r.Box[0])-pad || cx > float64(r.Box[2])+pad || cy < float64(r.Box[1])-pad || cy > float64(r.Box[3])+pad {
				continue
			}
			d := math.Hypot(cx-float64(r.Box[0]+r.Box[2])/2, cy-float64(r.Box[1]+r.Box[3])/2)
			if d < best {
				best, id = d, p.ID
			}
		}
	}
	return id, true
}

// inView is the number of labelled people in view at some time between media times from and to (seconds).
func (l clipLabels) inView(from, to float64) int {
	n := 0
	for _, p := range l.People {
		seen := false
		for _, r := range p.Ranges {
			for k := math.Floor((from - firstFrame) / loopPeriod); firstFrame+k*loopPeriod < to && !seen; k++ {
				a, b := firstFrame+k*loopPeriod+r.From, firstFrame+k*loopPeriod+r.To
				seen = a < to && b > from
			}
		}
		if seen {
			n++
		}
	}
	return n
}

// sighting is a labelled person's track in one frame.
type sighting struct {
	at            float64
	track, person string
}

// switches counts, over a labelled person's sightings in time order, the changes of id between sightings at
// most gap seconds apart (a longer absence is a new appearance, which may start a new id).
func switches(ss []sighting, gap float64, id func(sighting) string) int {
	n := 0
	for i := 1; i < len(ss); i++ {
		if ss[i].at-ss[i-1].at <= gap && id(ss[i]) != id(ss[i-1]) {
			n++
		}
	}
	return n
}

// TestLoopedClipCountsPeople runs the real clip looped for 60 s of video (5 fps, no gallery: detect, track and
// count) and measures the tracker against the hand labels: id switches of tracks and of re-linked persons, and
// unique_people per 30 s crowd interval against the labelled number, which it must be within 20% of.
func TestLoopedClipCountsPeople(t *testing.T) {
	needFFmpeg(t)
	if testing.Short() {
		t.Skip("analyses 300 frames")
	}
	labels := readLabels(t)
	f := newFixture(t)
	st := f.stream(t, facegate.Stream{Name: "crowd", Source: testutil.Shared(t, clip), NoRealtime: true, Loop: true,
		FPS: 5, CrowdIntervalSeconds: 30})
	const frames = 300 // 60 s at 5 fps
	runCtx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var mu sync.Mutex
	byPerson := map[string][]sighting{}
	unlabelled, frameTracks := 0, 0
	p, err := video.New(video.Config{Stream: st, Engine: testutil.Engine(t), Publish: f.publish,
		Logger: slog.New(slog.DiscardHandler), OnFrame: func(fs video.FrameStats) {
			mu.Lock()
			defer mu.Unlock()
			mt := float64(fs.Seq) / 5
			ct := clipTime(mt)
			for _, tr := range fs.Tracks {
				id, ok := labels.at(ct, tr.Box)
				if !ok {
					continue
				}
				frameTracks++
				if id == "" {
					unlabelled++
					continue
				}
				byPerson[id] = append(byPerson[id], sighting{mt, tr.ID, tr.Person})
				if os.Getenv("DBG") != "" {
					t.Logf("DBG %.1f %s %s %s %v", mt, id, tr.ID, tr.Person, tr.Box)
				}
			}
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
	mu.Lock()
	defer mu.Unlock()
	var ids []string
	for id := range byPerson {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	trackSwitches, personSwitches := 0, 0
	for _, id := range ids {
		ss := byPerson[id]
		tracks, persons := map[string]bool{}, map[string]bool{}
		for _, s := range ss {
			tracks[s.track], persons[s.person] = true, true
		}
		// 5 s: the re-link window; a person back within it should keep the id.
		ts := switches(ss, 5, func(s sighting) string { return s.track })
		ps := switches(ss, 5, func(s sighting) string { return s.person })
		trackSwitches += ts
		personSwitches += ps
		t.Logf("%s: %d frames, %d tracks (%d switches), %d persons after re-linking (%d switches)", id, len(ss),
			len(tracks), ts, len(persons), ps)
	}
	t.Logf("track boxes in labelled frames: %d, on no labelled person: %d", frameTracks, unlabelled)
	t.Logf("id switches: %d between tracks, %d between re-linked persons", trackSwitches, personSwitches)
	if personSwitches > trackSwitches {
		t.Errorf("re-linking added id switches: %d > %d", personSwitches, trackSwitches)
	}
	crowd := f.byType(facegate.EventCrowd)
	if len(crowd) < 2 {
		t.Fatalf("%d crowd events, want 2", len(crowd))
	}
	origin := crowd[0].Crowd.From
	for _, e := range crowd {
		c := e.Crowd
		from, to := c.From.Sub(origin).Seconds(), c.To.Sub(origin).Seconds()
		if to-from < 20 {
			t.Logf("crowd %.1f-%.1f s (partial, not checked): %+v", from, to, *c)
			continue
		}
		truth := labels.inView(from, to)
		t.Logf("crowd %.1f-%.1f s: unique_people %d (labelled %d), new_tracks %d, relinked_tracks %d, unembedded_tracks %d",
			from, to, c.UniquePeople, truth, c.NewTracks, c.RelinkedTracks, c.UnembeddedTracks)
		if math.Abs(float64(c.UniquePeople-truth)) > 0.2*float64(truth) {
			t.Errorf("crowd %.1f-%.1f s: unique_people %d, labelled %d: more than 20%% off", from, to, c.UniquePeople, truth)
		}
		if c.RelinkedTracks > c.NewTracks {
			t.Errorf("crowd %.1f-%.1f s: %d re-linked of %d new tracks", from, to, c.RelinkedTracks, c.NewTracks)
		}
	}
}
