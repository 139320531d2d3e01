package video

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/internal/testutil/testenv"
)

func TestCountPeople(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	span := func(from, to float64) (time.Time, time.Time) {
		return t0.Add(time.Duration(from * float64(time.Second))), t0.Add(time.Duration(to * float64(time.Second)))
	}
	a, b := []float32{1, 0, 0}, []float32{0, 1, 0}
	aa := []float32{0.9, 0.1, 0} // like a
	tr := func(person, subject string, tmpl []float32, from, to float64) *crowdTrack {
		f, l := span(from, to)
		return &crowdTrack{person: person, subject: subject, tmpl: tmpl, first: f, last: l}
	}
	for _, tc := range []struct {
		name   string
		tracks map[string]*crowdTrack
		want   int
	}{
		{"empty", nil, 0},
		{"two faces", map[string]*crowdTrack{"t1": tr("t1", "", a, 0, 1), "t2": tr("t2", "", b, 0, 1)}, 2},
		{"a re-appearance", map[string]*crowdTrack{"t1": tr("t1", "", a, 0, 1), "t2": tr("t2", "", aa, 10, 11)}, 1},
		{"alike but in view together", map[string]*crowdTrack{"t1": tr("t1", "", a, 0, 5), "t2": tr("t2", "", aa, 4, 6)}, 2},
		{"re-linked", map[string]*crowdTrack{"t1": tr("t1", "", a, 0, 1), "t2": tr("t1", "", b, 2, 3)}, 1},
		{"one subject", map[string]*crowdTrack{"t1": tr("t1", "s1", a, 0, 1), "t2": tr("t2", "s1", b, 2, 3)}, 1},
		{"no template: a person each", map[string]*crowdTrack{"t1": tr("t1", "", nil, 0, 1), "t2": tr("t2", "", nil, 2, 3)}, 2},
		{"the most alike merge first", map[string]*crowdTrack{
			"t1": tr("t1", "", a, 0, 1), "t2": tr("t2", "", aa, 0, 1), "t3": tr("t3", "", a, 5, 6)}, 2},
	} {
		if got := countPeople(tc.tracks, 0.5); got != tc.want {
			t.Errorf("%s: %d people, want %d", tc.name, got, tc.want)
		}
	}
}

// TestTemplatesGoWithTheStream runs the real clip without a gallery: faces were embedded (the re-linker and the
// crowd count had templates), and when the stream ends no template is left in the tracks, the re-link window
// or the crowd interval.
func TestTemplatesGoWithTheStream(t *testing.T) {
	testenv.FFmpeg(t)
	var mu sync.Mutex
	embeds := 0
	var last facegate.Crowd
	p, err := New(Config{Stream: facegate.Stream{ID: "s", Name: "clip",
		Source: testutil.Shared(t, "face_recognition_examples/video/short_hamilton_clip.mp4"), FPS: 5, NoRealtime: true},
		Engine: testutil.Engine(t), Logger: slog.New(slog.DiscardHandler),
		Publish: func(e facegate.Event) facegate.Event {
			if e.Crowd != nil {
				mu.Lock()
				last = *e.Crowd
				mu.Unlock()
			}
			return e
		},
		OnFrame: func(fs FrameStats) { mu.Lock(); embeds += fs.Embeds; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if embeds == 0 || last.UniquePeople == 0 || last.UnembeddedTracks == last.NewTracks {
		t.Fatalf("no faces embedded on a stream without a gallery: %d embeddings, crowd %+v", embeds, last)
	}
	if len(p.states) != 0 || p.relink.Pending() != 0 || len(p.crowd.tracks) != 0 {
		t.Fatalf("templates outlived the stream: %d track states, %d in the re-link window, %d in the crowd interval",
			len(p.states), p.relink.Pending(), len(p.crowd.tracks))
	}
}
