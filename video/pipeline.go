// Package video watches a stream: it takes frames from an ffmpeg source (video/ffmpeg), finds the faces in each
// analysed frame, follows them with a tracker (video/track), identifies each track once it has a good enough view
// against a gallery's index, and publishes events: tracks started and ended, matches, unknown faces, stream
// status and crowd figures.
//
// Appearance (appearance.go): every stream embeds its tracks' good views, so that a track that jumped to
// another face is split, a track broken for a moment is re-linked to the one before (track.Relinker), and the
// crowd figures count people rather than tracks (people.go).
//
// Identification is per track, not per frame. A track keeps its best few views (by the quality score, which
// folds in pose, sharpness, size and open eyes); a view is embedded only when it beats the worst one kept, so a
// face that stays in view costs one embedding now and then rather than one per frame. The kept templates are
// fused (quality-weighted mean, renormalised) and searched; the track is "matched" as soon as the fused template
// clears the gallery's threshold, and "unknown" once it has enough views without doing so. A better view later
// can still turn an unknown track into a match, or move a match to another subject; each change is an event.
//
// Privacy: frames and face crops live in memory only. A match event carries a crop of the best view, which is
// also stored for the stream's crop retention; faces that match nothing are never written anywhere and their
// views are dropped when their track ends.
package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/internal/modelpack"
	"github.com/facegate/facegate/protect"
	"github.com/facegate/facegate/recognize"
	"github.com/facegate/facegate/video/ffmpeg"
	"github.com/facegate/facegate/video/track"
)

// Config configures a Pipeline.
type Config struct {
	Stream facegate.Stream
	// Engine analyses frames: *engine.Engine, or a deterministic analyser in tests.
	Engine engine.Analyzer
	// Index holds the gallery's templates; Store resolves the gallery's threshold and subjects' names and keeps
	// match crops and alerts. Both may be nil when the stream has no gallery (detect, track and count only).
	Index *index.Index
	Store facegate.Store
	// Recognizer decides who a track is and raises watchlist alerts; the server passes its own, so streams and
	// the API share one decision path (and one alert cool-down). Nil: one is made from Index and Store.
	Recognizer *recognize.Recognizer
	// Publish delivers an event and returns it with its ID set (events.Bus.Publish, say), or with an empty ID
	// when it was not delivered (the server drops a match it cannot audit). Required.
	Publish func(facegate.Event) facegate.Event
	// Transform is the deployment's secret template transform (nil: none); the gallery's templates were made
	// with it, so a track's views must be too.
	Transform *protect.Transform
	// NoCropStore delivers match crops in events without storing them (facegate watch, which has no stored
	// stream).
	NoCropStore bool
	// FFmpeg is the ffmpeg binary (default: from PATH).
	FFmpeg string
	// Access limits what the source may reach (ffmpeg.Options.Access): the server sets it for every stream an
	// API client configures; nil (facegate watch, run by the host's operator) sets no limit.
	Access *ffmpeg.Access
	Logger *slog.Logger

	// OnFrame, when set, is called after each analysed frame with what it cost (for metrics and benchmarks).
	OnFrame func(FrameStats)

	// Views is the number of best views fused per track (default 3). MinViewQuality is the quality score a
	// view needs to be embedded at all (default 0.25). UnknownAfter is the number of views after which a track
	// that matched nothing is declared unknown (default 3).
	Views          int
	MinViewQuality float32
	UnknownAfter   int
	// NoAppearance tracks by position and motion only, as before appearance was used: no face is embedded on a
	// stream without a gallery, no track is split or re-linked, and unique_people merges only tracks of one
	// matched subject (for comparison and measurement).
	NoAppearance bool
}

// FrameStats describes the analysis of one frame.
type FrameStats struct {
	Seq     uint64
	Arrived time.Time     // when the frame was read from the decoder
	Latency time.Duration // from Arrived to the end of its analysis, events included
	Faces   int
	Embeds  int // faces embedded (new or better views)
	// DetectorRuns are the detector windows and second looks the frame's analysis took (engine.Report).
	DetectorRuns int
	// Tracks are the confirmed tracks seen in the frame (for measuring the tracker against labels).
	Tracks []FrameTrack
}

// FrameTrack is a confirmed track in one frame.
type FrameTrack struct {
	ID string
	// Person is the first track of the same face: ID itself unless the track was re-linked.
	Person string
	Box    facegate.Box
}

// CrowdSweepParts is how many frames a crowd profile stream takes to search every fine detector window once
// (engine.Sweep): each frame searches the whole frame coarsely, a quarter of the fine windows in turn and the
// windows around the faces it tracks. A face that walks in is found within 4 frames (0.8 s at 5 fps); a face
// tracked is searched every frame. docs/performance.md has the cost per frame with and without the sweep.
const CrowdSweepParts = 4

// Pipeline runs one stream. Create it with New, run it with Run.
type Pipeline struct {
	cfg    Config
	st     facegate.Stream
	log    *slog.Logger
	src    *ffmpeg.Source
	track  *track.Tracker
	relink *track.Relinker
	// sameFace is the cosine similarity at which two tracks' templates are one person (re-linking and the crowd
	// count): the model's calibrated threshold.
	sameFace float32
	// otherFace is the similarity below which a track's new view is someone else's face: the threshold of a 2%
	// false-match rate at the model's calibration (98% of pairs of different people's faces fall below it).
	otherFace float32

	mu          sync.Mutex
	status      facegate.StreamStatus
	analysedWin []time.Time // analysis times over the last few seconds, for FPSAnalysed
	states      map[string]*trackState
	gallery     *facegate.Gallery
	galleryAt   time.Time
	previews    map[chan []byte]struct{}
	final       *facegate.StreamStatus // the source's last state, published by finish

	start time.Time // wall time of the first frame; media time is start + Seq/FPS
	// sweep spreads a crowd profile stream's fine detector windows over CrowdSweepParts frames (nil for the
	// default profile, which searches every window of every frame).
	sweep *engine.Sweep
	crowd crowdAcc
	zones *zoneAcc // zone, line, dwell and heatmap figures of the crowd interval (zones.go)
}

// trackState is what the pipeline knows about a track beyond its geometry.
type trackState struct {
	views    []view
	best     view
	frames   int
	decision facegate.EventType // "", EventMatch or EventUnknown
	match    *facegate.Match
	probe    []float32 // the fused template that matched (for a watchlist alert)
	// suppressed is the rejection that stopped the track's best match, told in its unknown event.
	suppressed *facegate.Suppression
	changed    bool // views changed since the last decision
	// tmpl is the fused template of the views (nil until one is embedded); person the first track of the same
	// face (the track itself unless re-linked); relinked whether it was.
	tmpl     []float32
	person   string
	relinked bool
	// look is a view below MinViewQuality embedded only to tell the face apart (re-linking, counting) while
	// the track has no view good enough to identify it.
	look view
	// verified is when the track's face was last embedded (to check it is still the same person).
	verified time.Time
	lastQ    float32 // the quality of its face in the latest frame
	// overflowIn is the crowd interval (crowdAcc.interval) that counted the track past maxIntervalTracks.
	overflowIn int
}

type view struct {
	q    float32
	tmpl []float32
	box  facegate.Box
	crop []byte
}

// New checks the configuration and opens the source (ffmpeg is not started until Run).
func New(cfg Config) (*Pipeline, error) {
	if cfg.Engine == nil || cfg.Publish == nil {
		return nil, errors.New("video: Engine and Publish are required")
	}
	if cfg.Stream.Gallery != "" && (cfg.Index == nil || cfg.Store == nil) {
		return nil, errors.New("video: a stream with a gallery needs Index and Store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Stream.Gallery != "" && cfg.Recognizer == nil {
		rec, err := recognize.New(recognize.Config{Index: cfg.Index, Store: cfg.Store, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("video: %w", err)
		}
		cfg.Recognizer = rec
	}
	if cfg.Views <= 0 {
		cfg.Views = 3
	}
	if cfg.MinViewQuality <= 0 {
		cfg.MinViewQuality = 0.25
	}
	if cfg.UnknownAfter <= 0 {
		cfg.UnknownAfter = 3
	}
	st := cfg.Stream
	if st.FPS <= 0 {
		st.FPS = facegate.DefaultStreamFPS
	}
	if st.MaxWidth <= 0 {
		st.MaxWidth = facegate.DefaultStreamMaxWidth
	}
	if err := engine.CheckMinFace(st.MinFace); err != nil {
		return nil, fmt.Errorf("video: stream %q: %w", st.Name, err)
	}
	profile, err := engine.ParseProfile(st.Profile)
	if err != nil {
		return nil, fmt.Errorf("video: stream %q: %w", st.Name, err)
	}
	st.Profile = string(profile)
	if st.MinFace <= 0 && profile == engine.ProfileDefault {
		st.MinFace = engine.DefaultMinFace
	}
	if st.CrowdIntervalSeconds <= 0 {
		st.CrowdIntervalSeconds = int(facegate.DefaultCrowdInterval / time.Second)
	}
	src, err := ffmpeg.Open(ffmpeg.Options{
		Source: st.Source, FPS: st.FPS, MaxWidth: st.MaxWidth, Loop: st.Loop,
		Realtime: !st.NoRealtime, DropFrames: !st.NoRealtime, FFmpeg: cfg.FFmpeg, Access: cfg.Access,
		Logger: cfg.Logger.With("stream", st.ID),
	})
	if err != nil {
		return nil, fmt.Errorf("video: stream %q: %w", st.Name, err)
	}
	sameFace := float32(modelpack.Manifest().Threshold.Value)
	otherFace, ok := modelpack.Manifest().ThresholdFor(splitFMR)
	if !ok {
		return nil, fmt.Errorf("video: the model pack has no threshold for a false-match rate of %g", splitFMR)
	}
	p := &Pipeline{cfg: cfg, st: st, log: cfg.Logger.With("stream", st.ID), src: src, track: track.New(),
		relink: track.NewRelinker(sameFace), sameFace: sameFace, otherFace: float32(otherFace),
		states: map[string]*trackState{}, previews: map[chan []byte]struct{}{}, zones: newZoneAcc(&st)}
	p.crowd.sameFace, p.crowd.noAppearance = sameFace, cfg.NoAppearance
	if profile == engine.ProfileCrowd {
		p.sweep = &engine.Sweep{Parts: CrowdSweepParts, Phase: -1}
	}
	p.status = facegate.StreamStatus{State: facegate.StreamStarting, Since: time.Now()}
	src.OnState(func(s facegate.StreamStatus) {
		if s.State == facegate.StreamEnded || s.State == facegate.StreamStopped {
			// Published by finish, after the last tracks ended and the last crowd figures: the final state is
			// the stream's last event.
			p.mu.Lock()
			p.final = &s
			p.mu.Unlock()
			return
		}
		p.publish(facegate.Event{Type: facegate.EventStreamStatus, Status: p.merge(s)})
	})
	return p, nil
}

// Stream is the configuration the pipeline runs with (defaults applied).
func (p *Pipeline) Stream() facegate.Stream { return p.st }

// Status is the stream's state and counters now.
func (p *Pipeline) Status() facegate.StreamStatus { return *p.merge(p.src.Status()) }

// merge combines the source's status with the pipeline's counters.
func (p *Pipeline) merge(s facegate.StreamStatus) *facegate.StreamStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.FramesAnalysed = p.status.FramesAnalysed
	s.FacesInView = p.status.FacesInView
	s.Tracks = p.status.Tracks
	cut := time.Now().Add(-5 * time.Second)
	n := 0
	for _, t := range p.analysedWin {
		if t.After(cut) {
			n++
		}
	}
	if n > 1 {
		s.FPSAnalysed = float64(n) / 5
	}
	return &s
}

func (p *Pipeline) publish(e facegate.Event) facegate.Event {
	e.Stream = p.st.ID
	return p.cfg.Publish(e)
}

// Run analyses frames until ctx ends or a file source ends (without Loop). It ends every open track before it
// returns.
func (p *Pipeline) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		runErr = p.src.Run(ctx)
	}()
	var err error
	for {
		var fr ffmpeg.Frame
		fr, err = p.src.Next(ctx)
		if err != nil {
			break
		}
		if err = p.analyse(ctx, fr); err != nil {
			break
		}
	}
	cancel()
	wg.Wait()
	p.finish()
	if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
		err = nil
	}
	return errors.Join(err, runErr)
}

// media is the stream time of frame seq: frames come out of ffmpeg at st.FPS, so frame n is n/FPS seconds in.
// Tracking and dwell use it, so a file read faster than real time is tracked as if it played.
func (p *Pipeline) media(seq uint64) time.Time {
	return p.start.Add(time.Duration(float64(seq) / p.st.FPS * float64(time.Second)))
}

func (p *Pipeline) analyse(ctx context.Context, fr ffmpeg.Frame) error {
	if p.start.IsZero() {
		p.start = fr.At.Add(-time.Duration(float64(fr.Seq) / p.st.FPS * float64(time.Second)))
		p.crowd.reset(p.media(fr.Seq))
	}
	at := p.media(fr.Seq)
	// Frames are analysed under the engine's limits; the crowd figures count every face found, also those of a
	// crowd beyond the faces analysed (engine.DefaultMaxFaces, the largest).
	var rep engine.Report
	if p.sweep != nil {
		p.sweep.Phase++
	}
	faces, err := p.cfg.Engine.Analyze(ctx, fr.Img, engine.Options{MinFaceSize: p.st.MinFace, Profile: engine.Profile(p.st.Profile),
		Report: &rep, Sweep: p.sweep})
	if err != nil {
		// One bad frame is not the end of the stream.
		p.log.Warn("frame analysis failed", "seq", fr.Seq, "err", err)
		return nil
	}
	boxes := make([]facegate.Box, len(faces))
	for i, f := range faces {
		boxes[i] = f.Box
	}
	res := p.track.Step(at, boxes)
	if p.sweep != nil {
		// The next frame's focus: this frame's faces, and the live tracks a missed detection has not ended (a
		// track seen in this frame has its face's box, already in boxes).
		p.sweep.Focus = append(p.sweep.Focus[:0], boxes...)
		for _, t := range p.track.Live() {
			if t.LastSeen.Before(at) {
				p.sweep.Focus = append(p.sweep.Focus, t.Box)
			}
		}
	}
	for _, t := range res.Started {
		p.crowd.newTracks++
		b := t.Box // events own their data: the track moves on
		p.publish(facegate.Event{Type: facegate.EventTrackStarted, Track: t.ID, Box: &b})
	}
	// Every stream embeds the good views of its tracks: the templates re-link broken tracks and count people,
	// and identify them when the stream has a gallery.
	var embeds int
	if !p.cfg.NoAppearance || p.st.Gallery != "" {
		var splits []split
		if embeds, splits, err = p.collectViews(ctx, fr, at, faces, res.Assigned); err != nil {
			return err
		}
		p.splitTracks(splits, res.Assigned)
	}
	if p.st.Gallery != "" {
		p.decide(ctx, fr, res.Assigned)
	}
	for _, t := range res.Assigned {
		if t.Confirmed {
			st := p.state(t.ID)
			st.frames++
			p.relinkTrack(t, st, at)
			p.crowd.seen(t.ID, st, at)
		}
	}
	for _, t := range res.Ended {
		p.endTrack(t)
	}
	p.crowd.frame(at, max(len(faces), rep.FacesFound))
	p.zones.frame(fr.Img.W, fr.Img.H, boxes, confirmedIDs(res.Assigned))
	p.mu.Lock()
	p.status.FramesAnalysed++
	p.status.FacesInView = len(faces)
	p.status.Tracks = len(p.track.Live())
	now := time.Now()
	p.analysedWin = append(p.analysedWin, now)
	if len(p.analysedWin) > 256 || (len(p.analysedWin) > 0 && now.Sub(p.analysedWin[0]) > 10*time.Second) {
		cut := 0
		for cut < len(p.analysedWin) && now.Sub(p.analysedWin[cut]) > 5*time.Second {
			cut++
		}
		p.analysedWin = append(p.analysedWin[:0], p.analysedWin[cut:]...)
	}
	watching := len(p.previews) > 0
	p.mu.Unlock()
	if watching {
		p.sendPreview(fr, faces, res.Assigned)
	}
	if at.Sub(p.crowd.from) >= time.Duration(p.st.CrowdIntervalSeconds)*time.Second {
		p.emitCrowd(at)
	}
	if p.cfg.OnFrame != nil {
		fs := FrameStats{Seq: fr.Seq, Arrived: fr.At, Latency: time.Since(fr.At), Faces: len(faces), Embeds: embeds,
			DetectorRuns: rep.DetectorRuns}
		for i, t := range res.Assigned {
			if t.Confirmed {
				fs.Tracks = append(fs.Tracks, FrameTrack{ID: t.ID, Person: p.state(t.ID).person, Box: boxes[i]})
			}
		}
		p.cfg.OnFrame(fs)
	}
	return nil
}

func (p *Pipeline) state(id string) *trackState {
	st := p.states[id]
	if st == nil {
		st = &trackState{person: id}
		p.states[id] = st
	}
	return st
}

// galleryNow returns the stream's gallery, re-read at most every 5 s (its threshold may change).
func (p *Pipeline) galleryNow(ctx context.Context) *facegate.Gallery {
	if p.gallery != nil && time.Since(p.galleryAt) < 5*time.Second {
		return p.gallery
	}
	g, err := p.cfg.Store.Gallery(ctx, p.st.Gallery)
	if err != nil {
		if p.gallery == nil {
			p.log.Warn("stream gallery unavailable", "gallery", p.st.Gallery, "err", err)
		}
		p.gallery = nil
		return nil
	}
	p.gallery, p.galleryAt = g, time.Now()
	return g
}

// decide identifies the confirmed tracks whose views changed in this frame.
func (p *Pipeline) decide(ctx context.Context, fr ffmpeg.Frame, tracks []*track.Track) {
	g := p.galleryNow(ctx)
	if g == nil {
		return
	}
	for _, t := range tracks {
		if !t.Confirmed {
			continue
		}
		st := p.states[t.ID]
		if st == nil || !st.changed || len(st.views) == 0 {
			continue
		}
		st.changed = false
		fused := st.tmpl
		id, err := p.cfg.Recognizer.Identify(ctx, g, fused, 3, recognize.FromStream)
		if err != nil {
			p.log.Warn("identifying a track failed", "track", t.ID, "err", err)
			continue
		}
		if h := id.Match; h != nil {
			if st.decision == facegate.EventMatch && st.match.Subject == h.Subject {
				st.match.Score = max(st.match.Score, h.Score)
				continue
			}
			m := &facegate.Match{Gallery: g.ID, Subject: h.Subject, Score: h.Score, Threshold: g.Threshold,
				ExternalID: h.ExternalID, DisplayName: h.DisplayName}
			st.decision, st.match, st.suppressed = facegate.EventMatch, m, nil
			st.probe = fused
			p.emitDecision(ctx, fr, t, st, g)
			continue
		}
		if len(id.Candidates) > 0 && id.Candidates[0].Suppressed != nil {
			st.suppressed = id.Candidates[0].Suppressed
		}
		if st.decision == "" && (len(st.views) >= p.cfg.UnknownAfter || t.Dwell() >= unknownAfterDwell) {
			st.decision = facegate.EventUnknown
			p.emitDecision(ctx, fr, t, st, g)
		}
	}
}

func (p *Pipeline) emitDecision(ctx context.Context, fr ffmpeg.Frame, t *track.Track, st *trackState, g *facegate.Gallery) {
	best := st.best
	q := best.q
	e := facegate.Event{Type: st.decision, Track: t.ID, DwellSeconds: t.Dwell().Seconds(), Box: &best.box, Quality: &q}
	retention := p.st.CropRetention()
	if st.decision == facegate.EventMatch {
		m := *st.match // a copy: the track's match is updated later
		e.Match = &m
		if retention > 0 {
			e.Crop = best.crop
		}
	} else if p.st.UnknownCrops {
		e.Crop = best.crop
	}
	e.LatencyMS = float64(time.Since(fr.At).Microseconds()) / 1000
	var ao *recognize.AlertOutcome
	if st.decision == facegate.EventMatch {
		// A watchlist match is never an action: it raises a pending alert for a person to review, or joins the
		// subject's open alert on this stream.
		var err error
		ao, err = p.cfg.Recognizer.Alert(ctx, g, recognize.Sighting{Match: recognize.Candidate{Subject: st.match.Subject,
			Score: st.match.Score, Match: true}, Probe: st.probe, StreamID: p.st.ID, Track: t.ID, At: p.media(fr.Seq)})
		switch {
		case err != nil:
			p.log.Warn("storing the watchlist alert failed", "err", err)
		case ao != nil:
			e.AlertID, e.AlertNew, e.AlertSightings = ao.Alert.ID, ao.New, ao.Alert.Sightings
		}
	} else {
		e.Suppressed = st.suppressed
	}
	e = p.publish(e)
	if e.ID == "" {
		return // not delivered (the server could not audit it): nothing may refer to it
	}
	if ao != nil && ao.Best {
		if err := p.cfg.Store.SetAlertEvent(ctx, ao.Alert.ID, e.ID); err != nil {
			p.log.Warn("linking the alert to its event failed", "err", err)
		}
	}
	if st.decision == facegate.EventMatch && retention > 0 && len(best.crop) > 0 && !p.cfg.NoCropStore {
		c := &facegate.MatchCrop{EventID: e.ID, StreamID: p.st.ID, GalleryID: st.match.Gallery, SubjectID: st.match.Subject,
			JPEG: best.crop, CreatedAt: e.Time, ExpiresAt: e.Time.Add(retention)}
		if err := p.cfg.Store.AddMatchCrop(ctx, c); err != nil && !errors.Is(err, context.Canceled) {
			p.log.Warn("storing the match crop failed", "event", e.ID, "err", err)
		}
	}
}

// unknownAfterDwell declares a track unknown once it has been in view this long with at least one view that
// matched nothing, even with fewer than UnknownAfter views.
const unknownAfterDwell = 2 * time.Second

// fuse is the quality-weighted mean of the views' templates, renormalised.
func fuse(vs []view) []float32 {
	out := make([]float32, len(vs[0].tmpl))
	for _, v := range vs {
		for i, x := range v.tmpl {
			out[i] += v.q * x
		}
	}
	var n float64
	for _, x := range out {
		n += float64(x) * float64(x)
	}
	if n > 0 {
		inv := float32(1 / math.Sqrt(n))
		for i := range out {
			out[i] *= inv
		}
	}
	return out
}

// endTrack publishes a track's end and forgets its views and crops.
func (p *Pipeline) endTrack(t *track.Track) {
	// A track that ends undecided is unknown: every track gets an answer.
	if st := p.states[t.ID]; p.st.Gallery != "" && st != nil && st.decision == "" {
		st.decision = facegate.EventUnknown
		b := t.Box
		e := facegate.Event{Type: facegate.EventUnknown, Track: t.ID, DwellSeconds: t.Dwell().Seconds(), Box: &b, Suppressed: st.suppressed}
		if len(st.views) > 0 {
			q := st.best.q
			bb := st.best.box
			e.Box, e.Quality = &bb, &q
			if p.st.UnknownCrops {
				e.Crop = st.best.crop
			}
		}
		p.publish(e)
	}
	p.crowd.trackEnded(t.Dwell())
	p.zones.ended(t.ID, t.Dwell())
	e := facegate.Event{Type: facegate.EventTrackEnded, Track: t.ID, DwellSeconds: t.Dwell().Seconds()}
	if st := p.states[t.ID]; st != nil {
		if st.relinked {
			e.SameAs = st.person
		}
		// The template waits a few seconds for the face to come back, then is dropped.
		p.relink.Lost(st.person, st.tmpl, t.LastSeen)
	}
	p.publish(e)
	delete(p.states, t.ID)
}

// finish ends the open tracks and publishes the last crowd figures.
func (p *Pipeline) finish() {
	for _, t := range p.track.EndAll() {
		p.endTrack(t)
	}
	clear(p.states)
	p.relink.Clear()
	if !p.start.IsZero() && p.crowd.frames > 0 {
		p.emitCrowd(p.crowd.last)
	}
	p.mu.Lock()
	for ch := range p.previews {
		close(ch)
		delete(p.previews, ch)
	}
	final := p.final
	p.mu.Unlock()
	if final == nil {
		st := p.src.Status()
		final = &st
	}
	p.publish(facegate.Event{Type: facegate.EventStreamStatus, Status: p.merge(*final)})
}

func (p *Pipeline) emitCrowd(to time.Time) {
	c := p.crowd.figures(to)
	p.zones.fill(&c)
	p.publish(facegate.Event{Type: facegate.EventCrowd, Crowd: &c})
	p.crowd.reset(to)
	p.zones.reset()
}
