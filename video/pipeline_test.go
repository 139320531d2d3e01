package video_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/internal/modelpack"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/internal/testutil/testenv"
	"github.com/facegate/facegate/store/sqlite"
	"github.com/facegate/facegate/video"
)

const clip = "face_recognition_examples/video/short_hamilton_clip.mp4"

func needFFmpeg(t testing.TB) {
	t.Helper()
	testenv.FFmpeg(t)
}

// fixture is a store with a gallery, an index in step with it and a recorder of events.
type fixture struct {
	store   *sqlite.DB
	dir     string
	index   *index.Index
	gallery *facegate.Gallery
	people  map[string]string // subject id -> name

	mu     sync.Mutex
	events []facegate.Event
	seq    int
}

// newFixture enrols one photo of each named identity folder of face_recognition_examples in a research gallery.
func newFixture(t *testing.T, names ...string) *fixture {
	t.Helper()
	return newPurposeFixture(t, facegate.PurposeResearch, names...)
}

// newPurposeFixture is newFixture with a gallery of the given purpose; on a watchlist every subject gets a watch
// entry, as the store requires.
func newPurposeFixture(t *testing.T, purpose facegate.Purpose, names ...string) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	thr := modelpack.Manifest().Threshold.Value
	g := &facegate.Gallery{Name: "watch", Threshold: thr, Purpose: purpose, ConsentExempt: true,
		LegalBasis: "evaluation on public example photos (ageitgey/face_recognition, MIT)"}
	if err := st.CreateGallery(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: st, dir: dir, index: index.New(facegate.TemplateDim), gallery: g, people: map[string]string{}}
	photos := map[string]string{
		"lin_manuel_miranda": "identity/lin_manuel_miranda/lin-manuel-miranda.png",
		"obama":              "identity/obama/obama.jpg",
		"biden":              "identity/biden/biden.jpg",
		"alex_lacamoire":     "identity/alex_lacamoire/img1.jpg",
		"kit_harington":      "identity/kit_harington/john1.jpeg",
		"rose_leslie":        "identity/rose_leslie/img1.jpg",
	}
	for _, name := range names {
		faces := []facegate.Face{testutil.PrimaryFace(t, testutil.ReadShared(t, "face_recognition_examples/"+photos[name]))}
		sub := &facegate.Subject{GalleryID: g.ID, ExternalID: name, DisplayName: strings.ReplaceAll(name, "_", " ")}
		if purpose == facegate.PurposeWatchlist {
			sub.Watch = &facegate.WatchEntry{AddedBy: "test", Reason: "test warrant", ReviewAt: time.Now().Add(24 * time.Hour)}
		}
		rec := &facegate.FaceRecord{Template: faces[0].Template, Box: faces[0].Box}
		if err := st.CreateSubjectWithFaces(context.Background(), sub, []*facegate.FaceRecord{rec}); err != nil {
			t.Fatal(err)
		}
		if err := f.index.Add(g.ID, sub.ID, rec.ID, rec.Template); err != nil {
			t.Fatal(err)
		}
		f.people[sub.ID] = name
	}
	return f
}

func (f *fixture) publish(e facegate.Event) facegate.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	e.ID = fmt.Sprintf("ev%06d", f.seq)
	e.Time = time.Now()
	f.events = append(f.events, e)
	return e
}

func (f *fixture) byType(typ facegate.EventType) []facegate.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []facegate.Event
	for _, e := range f.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func (f *fixture) stream(t *testing.T, st facegate.Stream) facegate.Stream {
	t.Helper()
	if err := f.store.CreateStream(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (f *fixture) run(t *testing.T, st facegate.Stream) *video.Pipeline {
	t.Helper()
	p, err := video.New(video.Config{Stream: st, Engine: testutil.Engine(t), Index: f.index, Store: f.store,
		Publish: f.publish, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHamiltonClip runs the real clip with the performer enrolled from his still photo among five other people:
// a match event names him, his track keeps one id while he is in view, and the counts add up.
func TestHamiltonClip(t *testing.T) {
	needFFmpeg(t)
	path := testutil.Shared(t, clip)
	f := newFixture(t, "lin_manuel_miranda", "obama", "biden", "alex_lacamoire", "kit_harington", "rose_leslie")
	st := f.stream(t, facegate.Stream{Name: "hamilton", Source: path, Gallery: f.gallery.ID, FPS: 5, NoRealtime: true,
		CrowdIntervalSeconds: 5})
	p := f.run(t, st)

	status := p.Status()
	t.Logf("status: %+v", status)
	if status.FramesAnalysed < 45 || status.FramesDropped != 0 {
		t.Errorf("analysed %d frames, dropped %d; want ~50 and none (no_realtime)", status.FramesAnalysed, status.FramesDropped)
	}
	matches := f.byType(facegate.EventMatch)
	started := f.byType(facegate.EventTrackStarted)
	ended := f.byType(facegate.EventTrackEnded)
	unknown := f.byType(facegate.EventUnknown)
	for _, e := range matches {
		t.Logf("match: track %s %s score %.3f dwell %.1fs latency %.0fms crop %d bytes", e.Track, e.Match.ExternalID, e.Match.Score, e.DwellSeconds, e.LatencyMS, len(e.Crop))
	}
	for _, e := range ended {
		t.Logf("ended: track %s dwell %.1fs", e.Track, e.DwellSeconds)
	}
	t.Logf("%d tracks started, %d ended, %d matches, %d unknown", len(started), len(ended), len(matches), len(unknown))

	var lin []facegate.Event
	for _, e := range matches {
		if e.Match.ExternalID == "lin_manuel_miranda" {
			lin = append(lin, e)
		} else {
			t.Errorf("false match: track %s as %s (%.3f)", e.Track, e.Match.ExternalID, e.Match.Score)
		}
	}
	if len(lin) == 0 {
		t.Fatal("no match event for the performer")
	}
	if len(lin[0].Crop) == 0 || lin[0].Crop[0] != 0xff || lin[0].Crop[1] != 0xd8 {
		t.Error("the match event has no JPEG crop")
	}
	// Stable ids: the performer's track lasts; every started track ends exactly once.
	dwell := map[string]float64{}
	for _, e := range ended {
		if _, dup := dwell[e.Track]; dup {
			t.Errorf("track %s ended twice", e.Track)
		}
		dwell[e.Track] = e.DwellSeconds
	}
	if len(ended) != len(started) {
		t.Errorf("%d tracks started but %d ended", len(started), len(ended))
	}
	best := 0.0
	for _, e := range lin {
		best = max(best, dwell[e.Track])
	}
	if best < 2 {
		t.Errorf("the performer's longest matched track lasted %.1fs; want a track that holds for >= 2 s", best)
	}
	// The crop of each match is stored until the stream's retention ends.
	c, err := f.store.MatchCrop(context.Background(), lin[0].ID)
	if err != nil {
		t.Fatalf("match crop not stored: %v", err)
	}
	if d := c.ExpiresAt.Sub(c.CreatedAt); d != facegate.DefaultCropRetention {
		t.Errorf("crop kept for %v, want %v", d, facegate.DefaultCropRetention)
	}
	ctx := context.Background()
	if err := f.store.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if files := jpegFiles(t, f.dir); len(files) == 0 {
		t.Error("no match crop found by the data-directory scan (the scan would miss stored faces)")
	}
	// When the retention has passed, the sweep deletes them and nothing is left on disk.
	if n, err := f.store.DeleteExpiredCrops(ctx, time.Now().Add(facegate.DefaultCropRetention+time.Minute)); err != nil || n != len(lin) {
		t.Errorf("expired crops deleted: %d %v, want %d", n, err, len(lin))
	}
	if err := f.store.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if files := jpegFiles(t, f.dir); len(files) != 0 {
		t.Errorf("face crops left on disk after their retention: %v", files)
	}
	crowd := f.byType(facegate.EventCrowd)
	if len(crowd) < 2 {
		t.Fatalf("%d crowd events over a 10 s clip at 5 s intervals, want >= 2", len(crowd))
	}
	newTracks := 0
	for _, e := range crowd {
		t.Logf("crowd: %+v", *e.Crowd)
		newTracks += e.Crowd.NewTracks
		if e.Crowd.UniquePeople > e.Crowd.NewTracks+len(f.people) && e.Crowd.UniquePeople > 20 {
			t.Errorf("implausible unique people %d", e.Crowd.UniquePeople)
		}
	}
	if newTracks != len(started) {
		t.Errorf("crowd figures count %d new tracks, events %d", newTracks, len(started))
	}
}

// TestUnknownFacesLeaveNothing runs the clip against a gallery without the performer: nothing matches, so
// nothing about any face may be written. The data directory is scanned for JPEG data afterwards.
func TestUnknownFacesLeaveNothing(t *testing.T) {
	needFFmpeg(t)
	path := testutil.Shared(t, clip)
	f := newFixture(t, "kit_harington", "rose_leslie")
	st := f.stream(t, facegate.Stream{Name: "hamilton", Source: path, Gallery: f.gallery.ID, FPS: 5, NoRealtime: true})
	f.run(t, st)
	if m := f.byType(facegate.EventMatch); len(m) != 0 {
		t.Fatalf("%d unexpected matches", len(m))
	}
	unknown := f.byType(facegate.EventUnknown)
	if len(unknown) == 0 {
		t.Fatal("no unknown-face event")
	}
	for _, e := range unknown {
		if len(e.Crop) != 0 {
			t.Fatalf("unknown event %s carries a crop without unknown_crops", e.ID)
		}
	}
	if err := f.store.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if files := jpegFiles(t, f.dir); len(files) != 0 {
		t.Fatalf("face images written to the data directory: %v", files)
	}
}

// jpegFiles lists the files under dir that hold a JPEG start-of-image marker followed by a JFIF, EXIF or
// quantisation-table segment: face crops would be stored as JPEG, inside SQLite's pages or anywhere else.
func jpegFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i := 0; i+3 < len(data); i++ {
			if data[i] == 0xff && data[i+1] == 0xd8 && data[i+2] == 0xff && (data[i+3] == 0xe0 || data[i+3] == 0xdb || data[i+3] == 0xe1) {
				out = append(out, filepath.Base(p))
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}
