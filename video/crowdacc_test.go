package video

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// TestAttackCrowdIntervalMemoryBounded replays the review of issue 13: a stream counting crowd intervals of a day
// (crowd_interval_seconds 86400, the most allowed) in front of a scene that keeps starting new tracks (a panning
// packed crowd started 43 new tracks a frame) kept every track of the interval, each with its 2 KiB template,
// and every dwell, until the interval ended: 60,000 tracks held 130 MB, and a day of such a scene tens of GB.
// Now an interval holds at most maxIntervalTracks tracks and maxDedupTracks templates; the tracks past the bound
// still count, each as a person of its own, once per interval however many frames see it.
func TestAttackCrowdIntervalMemoryBounded(t *testing.T) {
	const tracks = 60_000
	t0 := time.Unix(1e9, 0)
	var c crowdAcc
	c.sameFace = 0.3
	c.reset(t0)
	rng := rand.New(rand.NewPCG(1, 2))
	template := func() []float32 {
		v := make([]float32, 512)
		var n float64
		for i := range v {
			v[i] = float32(rng.NormFloat64())
			n += float64(v[i]) * float64(v[i])
		}
		for i := range v {
			v[i] /= float32(math.Sqrt(n))
		}
		return v
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var last *trackState
	for i := range tracks {
		at := t0.Add(time.Duration(i) * time.Second)
		id := fmt.Sprintf("t%d", i)
		st := &trackState{person: id, tmpl: template()}
		c.seen(id, st, at) // seen in two frames, as a confirmed track is
		c.seen(id, st, at.Add(200*time.Millisecond))
		c.trackEnded(time.Duration(1+i%5) * time.Second)
		last = st
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d tracks in one interval: %d kept, %d templates, %.1f MB held", tracks, len(c.tracks), c.templates, float64(held)/1e6)
	if len(c.tracks) > maxIntervalTracks || c.templates > maxDedupTracks {
		t.Errorf("the interval keeps %d tracks and %d templates, want at most %d and %d", len(c.tracks), c.templates, maxIntervalTracks, maxDedupTracks)
	}
	kept := 0
	for _, ct := range c.tracks {
		if ct.tmpl != nil {
			kept++
		}
	}
	if kept != c.templates {
		t.Errorf("%d tracks hold a template, the count says %d", kept, c.templates)
	}
	if held > 40<<20 {
		t.Errorf("the interval holds %.1f MB for %d tracks, want under 40 MB (each kept template is 2 KiB)", float64(held)/1e6, tracks)
	}
	f := c.figures(t0.Add(tracks * time.Second))
	if f.UniquePeople != tracks || f.EndedTracks != tracks || f.UnembeddedTracks != 0 || f.DwellMaxSeconds != 5 || f.DwellMeanSeconds != 3 {
		t.Errorf("figures: %d people, %d ended, %d unembedded, dwell max %v mean %v; want %d, %d, 0, 5, 3",
			f.UniquePeople, f.EndedTracks, f.UnembeddedTracks, f.DwellMaxSeconds, f.DwellMeanSeconds, tracks, tracks)
	}
	// A track past the bound that goes on into the next interval counts there too, once.
	for range 2 {
		c.seen("t-last", last, t0)
	}
	if got := c.figures(t0).UniquePeople; got != tracks {
		t.Errorf("a track counted past the bound in this interval counted again: %d people", got)
	}
	c.reset(t0)
	c.tracks = make(map[string]*crowdTrack, maxIntervalTracks)
	for i := range maxIntervalTracks {
		c.tracks[fmt.Sprintf("x%d", i)] = &crowdTrack{person: fmt.Sprintf("x%d", i), embedded: true}
	}
	for range 3 {
		c.seen("t-last", last, t0.Add(time.Second))
	}
	if c.overflow != 1 {
		t.Errorf("a track past the bound seen in 3 frames of a new interval counted %d times, want once", c.overflow)
	}
}
