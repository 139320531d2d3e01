package video

import (
	"context"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/draw"
	"github.com/facegate/facegate/video/ffmpeg"
	"github.com/facegate/facegate/video/track"
)

// Appearance: every stream embeds the good views of its tracks. The fused template identifies a track against
// the gallery (when the stream has one), tells whether a track's face is still the same person (a track that
// jumped to another face is split), re-links a track to one that ended moments before, and lets the crowd
// figures count people rather than tracks. Templates live in memory only and go with their track, the re-link
// window or the crowd interval.

const (
	// minLookSize is the smallest face width, in pixels, embedded for a look (a view below MinViewQuality,
	// kept only to tell faces apart); lookBetter the quality gain for which a track's look is embedded again.
	minLookSize = 20
	lookBetter  = 0.1
	// verifyEvery is how often a track's face is embedded to check that it is still the same person when no
	// better view was embedded meanwhile; a frame where the track jumped (was followed by distance rather than
	// overlap) or its face's quality changed by more than qualityJump from the frame before is checked at once.
	// At most verifyPerFrame such checks run per frame (jumps and changes first, then the longest unchecked), so
	// their cost stays bounded however many faces are in view.
	verifyEvery    = 2 * time.Second
	verifyPerFrame = 1
	// splitFMR is the false-match rate whose threshold tells a track's new view is someone else's face (see
	// Pipeline.otherFace).
	splitFMR = 0.02
	// qualityJump is a change of quality score between frames that makes a track's face be checked at once.
	qualityJump = 0.3
)

// embedJob is a face to embed for its track.
type embedJob struct {
	idx    int // the face's index in the frame
	st     *trackState
	f      facegate.Face
	verify bool // only to check the track's face is the same person's
}

// split is a face that is not the person its track followed: it starts a track of its own with view v.
type split struct {
	idx int
	v   view
}

// collectViews embeds, several at a time, the faces that improve their track's best views, the looks of tracks
// with no good view yet, and now and then a face to verify its track. It returns the faces embedded and the
// faces that are someone else than their track's person.
func (p *Pipeline) collectViews(ctx context.Context, fr ffmpeg.Frame, at time.Time, faces []facegate.Face, tracks []*track.Track) (int, []split, error) {
	jobs := p.embedJobs(at, faces, tracks)
	if len(jobs) == 0 {
		return 0, nil, nil
	}
	out := make([]view, len(jobs))
	errs := make([]error, len(jobs))
	// A crop is only encoded when an event may carry it: matches (unless the stream keeps none) or, when the
	// stream asks for them, unknown faces.
	wantCrops := p.st.CropRetention() > 0 || p.st.UnknownCrops
	sem := make(chan struct{}, max(1, runtime.NumCPU()/2))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f, err := p.cfg.Engine.Embed(ctx, fr.Img, j.f)
			if err != nil {
				errs[i] = err
				return
			}
			tmpl := f.Template
			if p.cfg.Transform != nil {
				tmpl = p.cfg.Transform.Apply(tmpl)
			}
			out[i] = view{q: j.f.Quality.Score, tmpl: tmpl, box: j.f.Box}
			if wantCrops {
				out[i].crop = draw.FaceCrop(fr.Img, j.f.Box, 160)
			}
		}()
	}
	wg.Wait()
	var splits []split
	for i, j := range jobs {
		if errs[i] != nil {
			p.log.Warn("embedding failed", "err", errs[i])
			continue
		}
		st := j.st
		if st.tmpl != nil && !p.cfg.NoAppearance {
			st.verified = at
			if track.Cosine(out[i].tmpl, st.tmpl) < p.otherFace {
				splits = append(splits, split{j.idx, out[i]})
				continue
			}
		}
		if !j.verify {
			p.addView(st, out[i])
		}
	}
	return len(jobs), splits, ctx.Err()
}

// embedJobs chooses the faces to embed.
func (p *Pipeline) embedJobs(at time.Time, faces []facegate.Face, tracks []*track.Track) []embedJob {
	var jobs, verify []embedJob
	urgent := map[*trackState]bool{}
	for i, f := range faces {
		q := f.Quality.Score
		// An unconfirmed track may be a false detection, dropped without an end: its state would never be freed.
		if !tracks[i].Confirmed || math.IsNaN(float64(q)) {
			continue
		}
		st := p.state(tracks[i].ID)
		// A sharp change of quality from the track's last face is a hint that it is another face.
		changed := math.Abs(float64(q-st.lastQ)) > qualityJump
		st.lastQ = q
		switch {
		case q >= p.cfg.MinViewQuality:
			if len(st.views) < p.cfg.Views || q > st.views[len(st.views)-1].q+0.02 {
				jobs = append(jobs, embedJob{idx: i, st: st, f: f})
				continue
			}
		case p.cfg.NoAppearance:
			continue
		case f.Box.W() >= minLookSize && len(st.views) == 0 && (st.look.tmpl == nil || q > st.look.q+lookBetter):
			// A track with no view good enough to identify it still needs a template to be told apart.
			jobs = append(jobs, embedJob{idx: i, st: st, f: f})
			continue
		}
		if !p.cfg.NoAppearance && st.tmpl != nil && f.Box.W() >= minLookSize && (tracks[i].Jumped || changed || at.Sub(st.verified) >= verifyEvery) {
			verify = append(verify, embedJob{idx: i, st: st, f: f, verify: true})
			urgent[st] = tracks[i].Jumped || changed
		}
	}
	sort.SliceStable(verify, func(a, b int) bool {
		if ua, ub := urgent[verify[a].st], urgent[verify[b].st]; ua != ub {
			return ua
		}
		return verify[a].st.verified.Before(verify[b].st.verified)
	})
	return append(jobs, verify[:min(len(verify), verifyPerFrame)]...)
}

// addView keeps v among the track's best views, or as its look when it is not good enough to identify.
func (p *Pipeline) addView(st *trackState, v view) {
	if v.q < p.cfg.MinViewQuality {
		st.look, st.tmpl = v, v.tmpl
		return
	}
	st.views = append(st.views, v)
	sort.SliceStable(st.views, func(a, b int) bool { return st.views[a].q > st.views[b].q })
	if len(st.views) > p.cfg.Views {
		st.views = st.views[:p.cfg.Views]
	}
	st.best = st.views[0]
	st.changed = true
	st.tmpl = fuse(st.views)
}

// splitTracks gives each face that is someone else than its track's person a track of its own, and ends the
// track it was taken from (its template waits for that person's return in the re-link window).
func (p *Pipeline) splitTracks(splits []split, assigned []*track.Track) {
	for _, s := range splits {
		old := assigned[s.idx]
		nt := p.track.Split(old)
		if nt == nil {
			continue
		}
		assigned[s.idx] = nt
		p.endTrack(old)
		st := p.state(nt.ID)
		p.addView(st, s.v)
		st.verified = nt.FirstSeen
		p.crowd.newTracks++
		b := nt.Box
		p.publish(facegate.Event{Type: facegate.EventTrackStarted, Track: nt.ID, Box: &b})
		p.log.Debug("track split: another face", "track", old.ID, "new", nt.ID)
	}
}

// relinkTrack tries, while a new track is young and not yet re-linked, whether its face is that of a track
// that ended moments before; if so it continues that person.
func (p *Pipeline) relinkTrack(t *track.Track, st *trackState, at time.Time) {
	if p.cfg.NoAppearance || st.relinked || st.tmpl == nil || p.relink.Pending() == 0 || at.Sub(t.FirstSeen) > p.relink.Window {
		return
	}
	person, sim, ok := p.relink.Relink(st.tmpl, t.FirstSeen, at)
	if !ok {
		return
	}
	st.person, st.relinked = person, true
	p.crowd.relinked++
	p.log.Debug("track re-linked", "track", t.ID, "same_as", person, "similarity", sim)
}
