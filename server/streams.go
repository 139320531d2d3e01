package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/audit"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/events"
	"github.com/facegate/facegate/internal/netguard"
	"github.com/facegate/facegate/video"
	"github.com/facegate/facegate/video/ffmpeg"
)

// streams runs the configured video streams: one pipeline each, started when the server starts or the stream is
// created, stopped when it is deleted or the server stops.
type streams struct {
	mu  sync.Mutex
	run map[string]*runningStream
	// failed says why a stored stream could not be started (ffmpeg missing, file gone), for its status.
	failed map[string]string
	wg     sync.WaitGroup
}

type runningStream struct {
	p      *video.Pipeline
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// startStreams starts every stored stream.
func (s *Server) startStreams(ctx context.Context) error {
	all, err := s.cfg.Store.Streams(ctx)
	// A stream whose stored configuration is unreadable is reported, the others start.
	if err := s.readable(err); err != nil {
		return fmt.Errorf("server: loading streams: %w", err)
	}
	for i := range all {
		if err := s.startStream(&all[i]); err != nil {
			// A stream whose source cannot even be opened (ffmpeg gone, file deleted) must not stop the server:
			// it is reported in the logs and in its status.
			s.log.Error("stream not started", "stream", all[i].ID, "name", all[i].Name, "err", err)
			s.streams.mu.Lock()
			s.streams.failed[all[i].ID] = sourceProblem(err)
			s.streams.mu.Unlock()
		}
	}
	return nil
}

func (s *Server) startStream(st *facegate.Stream) error {
	id := st.ID
	p, err := video.New(video.Config{Stream: *st, Engine: s.cfg.Engine, Index: s.cfg.Index, Store: s.cfg.Store, Recognizer: s.rec, Transform: s.cfg.Transform,
		Publish: s.publish, FFmpeg: s.cfg.FFmpeg, Access: s.sourceAccess(), Logger: s.log,
		OnFrame: func(f video.FrameStats) {
			s.metrics.observe("facegate_stream_frame_latency_seconds", "Time from a frame's arrival to the end of its analysis.", f.Latency, "stream", id)
			s.metrics.add("facegate_stream_faces_total", "Faces detected in analysed frames.", float64(f.Faces), "stream", id)
			s.metrics.add("facegate_stream_embeddings_total", "Faces embedded for identification (new or better views of a track).", float64(f.Embeds), "stream", id)
		}})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(s.bg)
	rs := &runningStream{p: p, cancel: cancel, done: make(chan struct{})}
	s.streams.mu.Lock()
	s.streams.run[st.ID] = rs
	delete(s.streams.failed, st.ID)
	s.streams.mu.Unlock()
	s.streams.wg.Add(1)
	go func() {
		defer s.streams.wg.Done()
		defer close(rs.done)
		rs.err = p.Run(ctx)
		if rs.err != nil {
			s.log.Error("stream stopped", "stream", st.ID, "err", rs.err)
		}
	}()
	return nil
}

// stopStream stops a stream's pipeline and waits for it.
func (s *Server) stopStream(id string) {
	s.streams.mu.Lock()
	rs := s.streams.run[id]
	delete(s.streams.run, id)
	delete(s.streams.failed, id)
	s.streams.mu.Unlock()
	if rs != nil {
		rs.cancel()
		<-rs.done
	}
}

func (s *Server) running(id string) *runningStream {
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	return s.streams.run[id]
}

// publish is how pipelines deliver events: to the bus (SSE), to the stream's webhook, and to the metrics.
func (s *Server) publish(e facegate.Event) facegate.Event {
	if e.Status != nil && e.Status.LastError != "" { // a decoder's error may name the source: no credentials in events
		if rs := s.running(e.Stream); rs != nil {
			st := *e.Status
			st.LastError = facegate.MaskIn(st.LastError, rs.p.Stream().Source)
			e.Status = &st
		}
	}
	if e.Type == facegate.EventMatch && e.Match != nil {
		// A stream identified somebody: that is a search too, audited like one, and like a search's result the
		// match is delivered (SSE, replay, webhook) only once its entry is written. When it cannot be, the
		// match is dropped: nobody learns of an identification the audit log does not record.
		var err error
		e, err = s.bus.PublishIf(e, func(ev facegate.Event) error {
			d := map[string]string{"event": ev.ID, "track": ev.Track, "score": strconv.FormatFloat(float64(ev.Match.Score), 'f', 4, 32)}
			if ev.AlertID != "" {
				d["alert"] = ev.AlertID
			}
			return s.auditAppend(s.bg, &audit.Entry{Actor: "stream/" + ev.Stream, Action: "stream.match",
				Target: "galleries/" + ev.Match.Gallery + "/subjects/" + ev.Match.Subject, Outcome: "match", Details: d})
		})
		if err != nil {
			s.log.Error("stream match not delivered: its audit entry could not be written", "stream", e.Stream, "err", err)
			s.metrics.inc("facegate_stream_matches_unaudited_total", "Stream matches dropped because their audit entry could not be written.", "stream", e.Stream)
			e.ID = ""
			return e
		}
	} else {
		e = s.bus.Publish(e)
	}
	s.metrics.inc("facegate_stream_events_total", "Stream events by stream and type.", "stream", e.Stream, "type", string(e.Type))
	if e.Type == facegate.EventCrowd && e.Crowd != nil {
		s.storeCrowd(e)
	}
	if e.Type == facegate.EventMatch || e.Type == facegate.EventUnknown {
		s.metrics.observe("facegate_stream_decision_latency_seconds", "Time from the arrival of the deciding frame to the match or unknown event.",
			time.Duration(e.LatencyMS*float64(time.Millisecond)), "stream", e.Stream, "type", string(e.Type))
	}
	if rs := s.running(e.Stream); rs != nil {
		if wh := rs.p.Stream().Webhook; wh != nil && wh.URL != "" {
			s.hooks.Send(*wh, e)
		}
	}
	return e
}

// streamGauges exports each stream's counters.
func (s *Server) streamGauges() {
	each := func(fn func(st facegate.StreamStatus) float64) func() map[string]float64 {
		return func() map[string]float64 {
			out := map[string]float64{}
			s.streams.mu.Lock()
			defer s.streams.mu.Unlock()
			for id, rs := range s.streams.run {
				out[labels("stream", id)] = fn(rs.p.Status())
			}
			return out
		}
	}
	s.metrics.gauge("facegate_stream_fps_in", "Frames per second arriving from each stream's decoder.", each(func(st facegate.StreamStatus) float64 { return st.FPSIn }))
	s.metrics.gauge("facegate_stream_fps_analysed", "Frames per second analysed on each stream.", each(func(st facegate.StreamStatus) float64 { return st.FPSAnalysed }))
	s.metrics.gauge("facegate_stream_frames_in", "Frames read from each stream since it started.", each(func(st facegate.StreamStatus) float64 { return float64(st.FramesIn) }))
	s.metrics.gauge("facegate_stream_frames_analysed", "Frames analysed on each stream since it started.", each(func(st facegate.StreamStatus) float64 { return float64(st.FramesAnalysed) }))
	s.metrics.gauge("facegate_stream_frames_dropped", "Frames dropped on each stream because analysis was busy.", each(func(st facegate.StreamStatus) float64 { return float64(st.FramesDropped) }))
	s.metrics.gauge("facegate_stream_reconnects", "Reconnections of each stream's source.", each(func(st facegate.StreamStatus) float64 { return float64(st.Reconnects) }))
	s.metrics.gauge("facegate_stream_faces_in_view", "Faces in the last analysed frame of each stream.", each(func(st facegate.StreamStatus) float64 { return float64(st.FacesInView) }))
	s.metrics.gauge("facegate_stream_up", "1 when the stream's source delivers frames.", each(func(st facegate.StreamStatus) float64 {
		if st.State == facegate.StreamRunning {
			return 1
		}
		return 0
	}))
}

// sweepLoop runs Sweep every interval until ctx ends.
func (s *Server) sweepLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Error("retention sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepResult is what one retention sweep deleted.
type SweepResult struct {
	Crops  int `json:"crops"`  // match crops past their stream's retention
	Faces  int `json:"faces"`  // enrolled faces past their gallery's retention_days
	Events int `json:"events"` // events older than the event retention, from the replay ring
	Crowds int `json:"crowds"` // crowd intervals older than the crowd retention, from the crowd history
}

// Sweep applies every retention rule at time now: expired match crops, enrolled faces and crowd intervals are
// deleted from the store (and faces from the index), old events from the replay ring; the WAL is checkpointed
// when crops or faces were deleted, so the bytes are overwritten on disk (secure_delete). The server runs it
// every CropSweepInterval.
func (s *Server) Sweep(ctx context.Context, now time.Time) (SweepResult, error) {
	var res SweepResult
	var err error
	if res.Crops, err = s.cfg.Store.DeleteExpiredCrops(ctx, now); err != nil {
		return res, err
	}
	s.writeMu.Lock()
	faces, err := s.cfg.Store.DeleteExpiredFaces(ctx, now)
	for _, f := range faces {
		s.cfg.Index.Remove(f.ID)
	}
	s.writeMu.Unlock()
	if err != nil {
		return res, err
	}
	res.Faces = len(faces)
	res.Events = s.bus.Prune(now.Add(-s.cfg.EventRetention))
	// A failure here must not skip the audit entry of the faces deleted above: it is returned at the end.
	res.Crowds, err = s.cfg.Store.DeleteCrowdsBefore(ctx, now.Add(-s.cfg.CrowdRetention))
	crowdErr := err
	if crowdErr != nil {
		crowdErr = fmt.Errorf("server: crowd retention: %w", err)
	}
	if res.Crops+res.Faces > 0 {
		s.checkpoint(ctx)
	}
	if res.Crops+res.Faces > 0 {
		s.auditAppend(ctx, &audit.Entry{Actor: "system", Action: "retention.sweep", Outcome: "ok",
			Details: map[string]string{"match_crops": strconv.Itoa(res.Crops), "faces": strconv.Itoa(res.Faces)}})
	}
	s.checkpointAudit(ctx)
	if res.Crops+res.Faces+res.Events+res.Crowds > 0 {
		s.log.Info("retention sweep", "crops", res.Crops, "faces", res.Faces, "events", res.Events, "crowds", res.Crowds)
		s.metrics.add("facegate_retention_deleted_total", "Items deleted by the retention sweeper.", float64(res.Crops), "kind", "match_crop")
		s.metrics.add("facegate_retention_deleted_total", "Items deleted by the retention sweeper.", float64(res.Faces), "kind", "face")
		s.metrics.add("facegate_retention_deleted_total", "Items deleted by the retention sweeper.", float64(res.Events), "kind", "event")
		s.metrics.add("facegate_retention_deleted_total", "Items deleted by the retention sweeper.", float64(res.Crowds), "kind", "crowd")
	}
	return res, crowdErr
}

// redacted stands for a webhook secret in responses.
const redacted = "********"

// redact is a stream as responses show it: the source's credentials masked (facegate.MaskSource), the webhook
// secret replaced by redacted. Credentials are write-only.
func redact(st facegate.Stream) facegate.Stream {
	st.Source = facegate.MaskSource(st.Source)
	if st.Webhook != nil {
		wh := *st.Webhook
		if wh.Secret != "" {
			wh.Secret = redacted
		}
		st.Webhook = &wh
	}
	return st
}

func (s *Server) streamInfo(st *facegate.Stream) api.StreamInfo {
	info := api.StreamInfo{Stream: redact(*st), HasCredentials: facegate.HasCredentials(st.Source),
		Status: facegate.StreamStatus{State: facegate.StreamStopped}}
	if rs := s.running(st.ID); rs != nil {
		info.Status = rs.p.Status()
	} else {
		s.streams.mu.Lock()
		info.Status.LastError = s.streams.failed[st.ID]
		s.streams.mu.Unlock()
	}
	info.Status.LastError = facegate.MaskIn(info.Status.LastError, st.Source)
	return info
}

// streamFromRequest validates a stream request into a configuration (gallery resolved, source checked).
func (s *Server) streamFromRequest(r *http.Request, req *api.StreamRequest) (*facegate.Stream, error) {
	if req.Name == "" || req.Source == "" {
		return nil, errf(http.StatusBadRequest, codeBadRequest, "name and source are required")
	}
	switch {
	case req.FPS < 0 || req.FPS > 30:
		return nil, errf(http.StatusBadRequest, codeBadRequest, "fps must be 0 (default %g) .. 30", facegate.DefaultStreamFPS)
	case req.MaxWidth < 0 || req.MinFace < 0 || req.CrowdIntervalSeconds < 0:
		return nil, errf(http.StatusBadRequest, codeBadRequest, "max_width, min_face and crowd_interval_seconds must not be negative")
	case req.MaxWidth > maxStreamWidth || req.CrowdIntervalSeconds > 86400 || req.CropRetentionHours > facegate.MaxCropRetentionHours:
		return nil, errf(http.StatusBadRequest, codeBadRequest, "max_width may be at most %d, crowd_interval_seconds at most 86400 (a day) and crop_retention_hours at most %d (10 years)",
			maxStreamWidth, facegate.MaxCropRetentionHours)
	case engine.CheckMinFace(req.MinFace) != nil:
		return nil, engine.CheckMinFace(req.MinFace)
	}
	if _, err := engine.ParseProfile(req.Profile); err != nil {
		return nil, wrapf(err, http.StatusBadRequest, codeBadRequest, "profile must be default or crowd (asked for %q)", req.Profile)
	}
	switch {
	case req.Webhook != nil && !validWebhook(req.Webhook.URL):
		return nil, errf(http.StatusBadRequest, codeBadRequest, "webhook url must be an http:// or https:// URL")
	}
	st := &facegate.Stream{Name: req.Name, Source: req.Source, FPS: req.FPS, MaxWidth: req.MaxWidth, MinFace: req.MinFace, Profile: req.Profile,
		Loop: req.Loop, NoRealtime: req.NoRealtime, CropRetentionHours: req.CropRetentionHours, UnknownCrops: req.UnknownCrops,
		CrowdIntervalSeconds: req.CrowdIntervalSeconds, Webhook: req.Webhook, Zones: req.Zones, Lines: req.Lines}
	if err := st.CheckLimits(); err != nil {
		return nil, err
	}
	if req.Gallery != "" {
		g, err := s.gallery(r.Context(), req.Gallery)
		if err != nil {
			return nil, err
		}
		st.Gallery = g.ID
	}
	// Check the source before storing anything: a pipeline is opened (not started) to validate it.
	if _, err := video.New(video.Config{Stream: *st, Engine: s.cfg.Engine, Index: s.cfg.Index, Store: s.cfg.Store,
		Publish: func(e facegate.Event) facegate.Event { return e }, FFmpeg: s.cfg.FFmpeg, Access: s.sourceAccess(), Logger: s.log}); err != nil {
		return nil, wrapf(err, http.StatusBadRequest, codeBadSource, "%s", facegate.MaskIn(sourceProblem(err), st.Source))
	}
	if req.Webhook != nil {
		// Said now; the deliverer refuses such addresses at every connection anyway.
		if err := netguard.CheckURL(r.Context(), req.Webhook.URL, "the webhook URL", s.cfg.AllowPrivateNetworks); err != nil {
			msg, _ := facegate.UserMessage(err)
			return nil, wrapf(err, http.StatusBadRequest, codeBadRequest, "%s", msg)
		}
	}
	return st, nil
}

// sourceAccess is what the streams API clients configure may reach: Config.StreamDirs and
// Config.AllowPrivateNetworks.
func (s *Server) sourceAccess() *ffmpeg.Access {
	return &ffmpeg.Access{FileDirs: s.cfg.StreamDirs, PrivateNetworks: s.cfg.AllowPrivateNetworks}
}

func (s *Server) createStream(w http.ResponseWriter, r *http.Request) error {
	var req api.StreamRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	st, err := s.streamFromRequest(r, &req)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.cfg.Store.CreateStream(r.Context(), st); err != nil {
		if errors.Is(err, facegate.ErrConflict) {
			return errf(http.StatusConflict, codeConflict, "a stream named %q exists", st.Name)
		}
		return err
	}
	if err := s.startStream(st); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.streamInfo(st))
	return nil
}

// replaceStream is PUT /v1/streams/{id}: the whole configuration is replaced and the stream restarted with it.
// A webhook with the same URL and an empty or redacted secret keeps its stored secret, and a source sent with
// its credentials masked as GET shows them keeps the stored ones (facegate.RestoreSource; same scheme, user and
// host only): GET never returns either.
func (s *Server) replaceStream(w http.ResponseWriter, r *http.Request) error {
	old, err := s.stream(r)
	if err != nil {
		return err
	}
	var req api.StreamRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if wh := req.Webhook; wh != nil && old.Webhook != nil && wh.URL == old.Webhook.URL && (wh.Secret == "" || wh.Secret == redacted) {
		wh.Secret = old.Webhook.Secret
	}
	req.Source = facegate.RestoreSource(req.Source, old.Source)
	st, err := s.streamFromRequest(r, &req)
	if err != nil {
		return err
	}
	st.ID = old.ID
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.cfg.Store.UpdateStream(r.Context(), st); err != nil {
		if errors.Is(err, facegate.ErrConflict) {
			return errf(http.StatusConflict, codeConflict, "a stream named %q exists", st.Name)
		}
		if errors.Is(err, facegate.ErrNotFound) {
			return errf(http.StatusNotFound, codeNotFound, "no stream %q", old.ID)
		}
		return err
	}
	s.stopStream(st.ID)
	if err := s.startStream(st); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.streamInfo(st))
	return nil
}

// maxStreamWidth is the widest frame a stream may ask ffmpeg for: a frame is at most ffmpeg.DefaultMaxPixels.
const maxStreamWidth = 8192

func validWebhook(u string) bool {
	return len(u) > 8 && (u[:7] == "http://" || u[:8] == "https://")
}

func (s *Server) listStreams(w http.ResponseWriter, r *http.Request) error {
	all, err := s.cfg.Store.Streams(r.Context())
	if err := s.readable(err); err != nil { // a bad row is quarantined: the list shows the others
		return err
	}
	out := api.StreamList{Streams: make([]api.StreamInfo, 0, len(all))}
	for i := range all {
		out.Streams = append(out.Streams, s.streamInfo(&all[i]))
	}
	sort.Slice(out.Streams, func(i, j int) bool { return out.Streams[i].Name < out.Streams[j].Name })
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) stream(r *http.Request) (*facegate.Stream, error) {
	id := r.PathValue("id")
	st, err := s.cfg.Store.Stream(r.Context(), id)
	if errors.Is(err, facegate.ErrNotFound) {
		return nil, errf(http.StatusNotFound, codeNotFound, "no stream %q", id)
	}
	return st, err
}

func (s *Server) getStream(w http.ResponseWriter, r *http.Request) error {
	st, err := s.stream(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.streamInfo(st))
	return nil
}

func (s *Server) deleteStream(w http.ResponseWriter, r *http.Request) error {
	st, err := s.stream(r)
	if bad := (*facegate.BadRowsError)(nil); errors.As(err, &bad) {
		st, err = &facegate.Stream{ID: r.PathValue("id")}, nil // a quarantined stream can be deleted
	}
	if err != nil {
		return err
	}
	s.stopStream(st.ID)
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.cfg.Store.DeleteStream(r.Context(), st.ID); err != nil && !errors.Is(err, facegate.ErrNotFound) {
		return err
	}
	s.forget("stream", st.ID)
	s.checkpoint(r.Context())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// events streams events as Server-Sent Events: GET /v1/events?stream=ID&type=match,...
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	f, err := events.ParseFilter(r.URL.Query())
	if err != nil {
		return filterError()
	}
	return events.ServeSSE(w, r, s.bus, f)
}

// recentEvents returns the newest events kept in memory as JSON: GET /v1/events/recent?limit=N&stream=...
func (s *Server) recentEvents(w http.ResponseWriter, r *http.Request) error {
	f, err := events.ParseFilter(r.URL.Query())
	if err != nil {
		return filterError()
	}
	n, err := queryLimit(r.URL.Query(), 100, 1000)
	if err != nil {
		return err
	}
	evs := s.bus.Recent(f, n)
	if evs == nil {
		evs = []facegate.Event{}
	}
	writeJSON(w, http.StatusOK, api.EventList{Events: evs})
	return nil
}

// matchCrop serves the stored crop of a match event until it expires: GET /v1/events/{id}/crop.
func (s *Server) matchCrop(w http.ResponseWriter, r *http.Request) error {
	c, err := s.cfg.Store.MatchCrop(r.Context(), r.PathValue("id"))
	if errors.Is(err, facegate.ErrNotFound) {
		return errf(http.StatusNotFound, codeNotFound, "no stored crop for event %q (none kept, expired or erased)", r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(c.JPEG)
	return nil
}

// preview serves a stream's annotated preview as MJPEG (multipart/x-mixed-replace) until the client leaves.
func (s *Server) preview(w http.ResponseWriter, r *http.Request) error {
	st, err := s.stream(r)
	if err != nil {
		return err
	}
	rs := s.running(st.ID)
	if rs == nil {
		return errf(http.StatusConflict, codeConflict, "stream %q is not running", st.ID)
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		return errors.New("server: preview: response cannot stream")
	}
	frames, cancel := rs.p.Preview()
	defer cancel()
	const boundary = "facegateframe"
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+boundary)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case jpg, ok := <-frames:
			if !ok {
				return nil
			}
			if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", boundary, len(jpg)); err != nil {
				return nil
			}
			if _, err := w.Write(append(jpg, '\r', '\n')); err != nil {
				return nil
			}
			fl.Flush()
		}
	}
}

// sourceProblem is the sentence a client sees for a stream source that cannot be opened: the one the video
// layer gave (it names the source as sent, never a path of the server's own), else a fixed one. The chain is
// logged by the request wrapper.
func sourceProblem(err error) string {
	if msg, ok := facegate.UserMessage(err); ok {
		return msg
	}
	return "the source cannot be opened: give a video file on the server, an rtsp://, rtsps://, http:// or https:// URL, or device:/dev/videoN"
}

// filterError is the answer to an event filter naming an unknown type (the only error of events.ParseFilter).
func filterError() error {
	valid := make([]string, len(facegate.EventTypes))
	for i, t := range facegate.EventTypes {
		valid[i] = string(t)
	}
	return errf(http.StatusBadRequest, codeBadRequest, "unknown event type in type=: use %s", strings.Join(valid, ", "))
}
