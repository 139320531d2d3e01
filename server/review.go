package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
)

// maxBulk bounds the alerts one bulk review or media request names; maxIDLen the length of each id.
const (
	maxBulk  = 100
	maxIDLen = 100
)

func shortIDs(ids []string) bool {
	for _, id := range ids {
		if len(id) > maxIDLen {
			return false
		}
	}
	return true
}

// listAlerts is GET /v1/alerts?status=&gallery=&stream=&subject=&limit=N: watchlist alerts, newest sighting
// first, with the names a reviewer needs.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := facegate.AlertFilter{Status: facegate.AlertStatus(q.Get("status")), StreamID: q.Get("stream"), SubjectID: q.Get("subject"), Limit: 100}
	switch f.Status {
	case "", facegate.AlertPending, facegate.AlertConfirmed, facegate.AlertRejected:
	default:
		return errf(http.StatusBadRequest, codeBadRequest, "status must be pending, confirmed or rejected")
	}
	if !shortIDs([]string{f.StreamID, f.SubjectID}) {
		return errf(http.StatusBadRequest, codeBadRequest, "stream and subject are ids of at most %d characters", maxIDLen)
	}
	if ref := q.Get("gallery"); ref != "" {
		g, err := s.gallery(r.Context(), ref)
		if err != nil {
			return err
		}
		f.GalleryID = g.ID
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errf(http.StatusBadRequest, codeBadRequest, "limit must be 1..1000")
		}
		f.Limit = n
	}
	as, err := s.cfg.Store.Alerts(r.Context(), f)
	if err != nil {
		return err
	}
	views, err := s.alertViews(r.Context(), as)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.AlertList{Alerts: views})
	return nil
}

// alertViews adds the names of the person, gallery, stream and reviewer to alerts, and the enrolled face to show
// beside the capture. Each name is read once per request.
func (s *Server) alertViews(ctx context.Context, as []facegate.Alert) ([]api.AlertView, error) {
	n := newNamer(s, ctx)
	out := make([]api.AlertView, 0, len(as))
	for _, a := range as {
		v := api.AlertView{Alert: a, GalleryName: n.gallery(a.GalleryID), StreamName: n.stream(a.StreamID), ReviewedByName: n.key(a.ReviewedBy)}
		if sub := n.subject(a.GalleryID, a.SubjectID); sub != nil {
			v.SubjectDisplayName, v.SubjectExternalID = sub.DisplayName, sub.ExternalID
		}
		v.ReferenceFaceID = n.reference(a.GalleryID, a.SubjectID)
		if n.err != nil {
			return nil, n.err
		}
		out = append(out, v)
	}
	return out, nil
}

// namer resolves ids to names for one response, caching each lookup; a missing thing has no name. The first
// store error (other than not found) is kept in err.
type namer struct {
	s         *Server
	ctx       context.Context
	err       error
	galleries map[string]string
	streams   map[string]string
	keys      map[string]string
	subjects  map[string]*facegate.Subject
	refs      map[string]*facegate.FaceRecord
}

func newNamer(s *Server, ctx context.Context) *namer {
	return &namer{s: s, ctx: ctx, galleries: map[string]string{}, streams: map[string]string{}, subjects: map[string]*facegate.Subject{},
		refs: map[string]*facegate.FaceRecord{}}
}

func (n *namer) keep(err error) {
	if err != nil && !errors.Is(err, facegate.ErrNotFound) && n.err == nil {
		n.err = err
	}
}

// memo returns m[k], loading it once per response (a failed or missing load is remembered as the zero value, so
// an alert of a deleted stream costs one lookup, not one per alert).
func memo[V any](n *namer, m map[string]V, k string, load func() (V, error)) V {
	if v, ok := m[k]; ok {
		return v
	}
	v, err := load()
	n.keep(err)
	m[k] = v
	return v
}

func (n *namer) gallery(id string) string {
	if id == "" {
		return ""
	}
	return memo(n, n.galleries, id, func() (string, error) {
		g, err := n.s.cfg.Store.Gallery(n.ctx, id)
		if err != nil {
			return "", err
		}
		return g.Name, nil
	})
}

func (n *namer) stream(id string) string {
	if id == "" {
		return ""
	}
	return memo(n, n.streams, id, func() (string, error) {
		st, err := n.s.cfg.Store.Stream(n.ctx, id)
		if err != nil {
			return "", err
		}
		return st.Name, nil
	})
}

// key names an API key by its id (keys are few: they are listed once).
func (n *namer) key(id string) string {
	if id == "" {
		return ""
	}
	if n.keys == nil {
		n.keys = map[string]string{}
		ks, err := n.s.cfg.Store.Keys(n.ctx)
		n.keep(err)
		for _, k := range ks {
			n.keys[k.ID] = k.Name
		}
	}
	return n.keys[id]
}

func (n *namer) subject(gid, sid string) *facegate.Subject {
	return memo(n, n.subjects, gid+"/"+sid, func() (*facegate.Subject, error) { return n.s.cfg.Store.Subject(n.ctx, gid, sid) })
}

// referenceFace is the subject's enrolled face to show beside a capture: the best by quality with a thumbnail.
func (n *namer) referenceFace(gid, sid string) *facegate.FaceRecord {
	return memo(n, n.refs, gid+"/"+sid, func() (*facegate.FaceRecord, error) {
		faces, err := n.s.faces(n.ctx, gid, sid)
		var best *facegate.FaceRecord
		for i := range faces {
			if len(faces[i].Thumbnail) > 0 && (best == nil || faces[i].Quality.Score > best.Quality.Score) {
				best = &faces[i]
			}
		}
		return best, err
	})
}

func (n *namer) reference(gid, sid string) string {
	if f := n.referenceFace(gid, sid); f != nil {
		return f.ID
	}
	return ""
}

// watcher fills in the name of the key that put sub on a watchlist.
func (n *namer) watcher(sub *facegate.Subject) {
	if sub.Watch != nil {
		sub.Watch.AddedByName = n.key(sub.Watch.AddedBy)
	}
}

// nameWatchers fills in the name of the key that put each subject on a watchlist (the keys are read once).
func (s *Server) nameWatchers(ctx context.Context, subs ...*facegate.Subject) error {
	n := newNamer(s, ctx)
	for _, sub := range subs {
		n.watcher(sub)
	}
	return n.err
}

// getAlert is GET /v1/alerts/{id}.
func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) error {
	a, err := s.cfg.Store.Alert(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	views, err := s.alertViews(r.Context(), []facegate.Alert{*a})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, views[0])
	return nil
}

// decision parses a review decision.
func decision(d string) (facegate.AlertStatus, error) {
	switch d {
	case "confirm":
		return facegate.AlertConfirmed, nil
	case "reject":
		return facegate.AlertRejected, nil
	}
	return "", errf(http.StatusBadRequest, codeBadRequest, `decision must be "confirm" or "reject"`)
}

// reviewAlert is POST /v1/alerts/{id}/review {"decision": "confirm"|"reject", "note": "..."}. A rejection is
// remembered as "not this person" for the subject (Config.NegativeRetention); it suppresses a later match only
// when the probe looks more like the rejected capture than like the subject's own photos (recognize.Suppresses).
func (s *Server) reviewAlert(w http.ResponseWriter, r *http.Request) error {
	var b api.ReviewRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &b); err != nil {
		return err
	}
	status, err := decision(b.Decision)
	if err != nil {
		return err
	}
	if err := facegate.CheckLen("note", b.Note, facegate.MaxNoteLen); err != nil {
		return err
	}
	note(r, "decision", string(status))
	now := time.Now().UTC()
	a, err := s.cfg.Store.ReviewAlert(r.Context(), r.PathValue("id"), status, keyID(r), b.Note, now, now.Add(s.cfg.NegativeRetention))
	if err != nil {
		return err
	}
	views, err := s.alertViews(r.Context(), []facegate.Alert{*a})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, views[0])
	return nil
}

// reviewAlerts is POST /v1/alerts/review {"ids": [...], "decision", "note"}: one decision for up to 100
// alerts. Each alert is reviewed on its own; the response says, per id, the reviewed alert or why not.
func (s *Server) reviewAlerts(w http.ResponseWriter, r *http.Request) error {
	var b api.BulkReviewRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &b); err != nil {
		return err
	}
	status, err := decision(b.Decision)
	if err != nil {
		return err
	}
	switch {
	case len(b.IDs) == 0 || len(b.IDs) > maxBulk:
		return errf(http.StatusBadRequest, codeBadRequest, "ids must name 1..%d alerts", maxBulk)
	case !shortIDs(b.IDs):
		return errf(http.StatusBadRequest, codeBadRequest, "an alert id is at most %d characters", maxIDLen)
	}
	if err := facegate.CheckLen("note", b.Note, facegate.MaxNoteLen); err != nil {
		return err
	}
	note(r, "decision", string(status))
	note(r, "alerts", strings.Join(b.IDs, ","))
	now := time.Now().UTC()
	out := api.BulkReviewResponse{Results: make([]api.BulkReviewResult, 0, len(b.IDs))}
	// The audit entry says which alerts this request decided, not only which it named (some may have been
	// reviewed already, named twice, or not exist).
	var reviewed []string
	defer func() { note(r, "reviewed", strings.Join(reviewed, ",")) }()
	for _, id := range b.IDs {
		res := api.BulkReviewResult{ID: id}
		a, err := s.cfg.Store.ReviewAlert(r.Context(), id, status, keyID(r), b.Note, now, now.Add(s.cfg.NegativeRetention))
		if err == nil {
			reviewed = append(reviewed, id)
			var views []api.AlertView
			if views, err = s.alertViews(r.Context(), []facegate.Alert{*a}); err == nil {
				res.Alert = &views[0]
			}
		}
		if err != nil {
			if r.Context().Err() != nil {
				return err
			}
			ae := toAPIError(err)
			if ae.Status >= http.StatusInternalServerError {
				// The per-id answer points at the log: put the cause there.
				s.log.Error("bulk review of an alert failed", "alert", id, "err", err)
			}
			res.Error = &api.Error{Code: ae.Code, Message: ae.Message}
		}
		out.Results = append(out.Results, res)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// alertMedia is GET /v1/alerts/media?ids=a,b,c: the capture (the best sighting's crop, while kept) and the
// subject's reference photo of up to 100 alerts in one response, so a page of the review queue costs one request.
func (s *Server) alertMedia(w http.ResponseWriter, r *http.Request) error {
	ids := strings.Split(r.URL.Query().Get("ids"), ",")
	if len(ids) == 0 || len(ids) > maxBulk || ids[0] == "" || !shortIDs(ids) {
		return errf(http.StatusBadRequest, codeBadRequest, "ids must name 1..%d alerts (ids of at most %d characters), separated by commas", maxBulk, maxIDLen)
	}
	n := newNamer(s, r.Context())
	out := api.AlertMediaResponse{Media: map[string]api.AlertMedia{}}
	for _, id := range ids {
		if _, dup := out.Media[id]; dup {
			continue
		}
		a, err := s.cfg.Store.Alert(r.Context(), id)
		if errors.Is(err, facegate.ErrNotFound) {
			continue // an unknown or erased alert has no media
		}
		if err != nil {
			return err
		}
		m := api.AlertMedia{CropState: api.CropGone}
		if a.StreamID == "" {
			m.CropState = api.CropNone // raised by a search: probe images are never kept
		}
		if a.EventID != "" {
			c, err := s.cfg.Store.MatchCrop(r.Context(), a.EventID)
			switch {
			case err == nil:
				m.Crop, m.CropState = c.JPEG, api.CropKept
			case !errors.Is(err, facegate.ErrNotFound):
				return err
			}
		}
		if f := n.referenceFace(a.GalleryID, a.SubjectID); f != nil {
			m.Reference, m.ReferenceFaceID = f.Thumbnail, f.ID
		}
		if n.err != nil {
			return n.err
		}
		out.Media[id] = m
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listRejections is GET /v1/galleries/{g}/subjects/{s}/rejections: the subject's remembered "not this person"
// rejections in force.
func (s *Server) listRejections(w http.ResponseWriter, r *http.Request) error {
	g, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	negs, err := s.cfg.Store.Negatives(r.Context(), g.ID, sub.ID, time.Now())
	if err != nil {
		return err
	}
	n := newNamer(s, r.Context())
	out := api.RejectionList{Rejections: make([]api.RejectionView, 0, len(negs))}
	for _, ng := range negs {
		out.Rejections = append(out.Rejections, api.RejectionView{ID: ng.ID, AlertID: ng.AlertID, CreatedAt: ng.CreatedAt,
			ExpiresAt: ng.ExpiresAt, ReviewedBy: ng.ReviewedBy, ReviewedByName: n.key(ng.ReviewedBy), Note: ng.Note, Score: ng.Score})
	}
	if n.err != nil {
		return n.err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// undoRejection is DELETE /v1/galleries/{g}/subjects/{s}/rejections/{id}: the rejection is forgotten and no
// longer suppresses anything.
func (s *Server) undoRejection(w http.ResponseWriter, r *http.Request) error {
	g, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	// The rejection row goes: the audit entry keeps which alert's rejection was undone.
	negs, err := s.cfg.Store.Negatives(r.Context(), g.ID, sub.ID, time.Unix(0, 0)) // expired ones too: they can be undone
	if err != nil {
		return err
	}
	for _, ng := range negs {
		if ng.ID == r.PathValue("id") {
			note(r, "alert", ng.AlertID)
		}
	}
	if err := s.cfg.Store.DeleteNegative(r.Context(), g.ID, sub.ID, r.PathValue("id")); err != nil {
		if errors.Is(err, facegate.ErrNotFound) {
			return errf(http.StatusNotFound, codeNotFound, "subject %s has no rejection %q in force", sub.ID, r.PathValue("id"))
		}
		return err
	}
	s.checkpoint(r.Context())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// overdueEntries lists watchlist entries past their review date (gallery ref "" for every watchlist).
func (s *Server) overdueEntries(ctx context.Context, ref string, limit int) ([]api.OverdueEntry, error) {
	gid := ""
	if ref != "" {
		g, err := s.gallery(ctx, ref)
		if err != nil {
			return nil, err
		}
		gid = g.ID
	}
	subs, err := s.cfg.Store.OverdueWatch(ctx, gid, time.Now(), limit)
	if err != nil {
		return nil, err
	}
	n := newNamer(s, ctx)
	out := make([]api.OverdueEntry, 0, len(subs))
	for _, sub := range subs {
		n.watcher(&sub)
		out = append(out, api.OverdueEntry{GalleryID: sub.GalleryID, GalleryName: n.gallery(sub.GalleryID), Subject: sub})
	}
	return out, n.err
}

// listOverdue is GET /v1/watchlist/overdue?gallery=G: watchlist entries whose review date has passed. Extend
// one with PATCH .../subjects/{s} (watch.review_at), or erase it (DELETE, or POST /v1/watchlist/overdue/expire).
func (s *Server) listOverdue(w http.ResponseWriter, r *http.Request) error {
	entries, err := s.overdueEntries(r.Context(), r.URL.Query().Get("gallery"), 1000)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.OverdueList{Entries: entries})
	return nil
}

// expireOverdue is POST /v1/watchlist/overdue/expire?gallery=G: every watchlist entry past its review date is
// erased (the subject with its faces, alerts, rejections and crops), as DELETE .../subjects/{s} would.
func (s *Server) expireOverdue(w http.ResponseWriter, r *http.Request) error {
	entries, err := s.overdueEntries(r.Context(), r.URL.Query().Get("gallery"), 1000)
	if err != nil {
		return err
	}
	out := api.ExpireOverdueResponse{Erased: []api.OverdueEntry{}}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var ids []string
	now := time.Now()
	for _, e := range entries {
		// Read again under the write lock: an entry extended or erased since the listing is left alone.
		cur, err := s.cfg.Store.Subject(r.Context(), e.GalleryID, e.Subject.ID)
		if errors.Is(err, facegate.ErrNotFound) || (err == nil && (cur.Watch == nil || !cur.Watch.ReviewAt.Before(now))) {
			continue
		}
		if err != nil {
			return err
		}
		if err := s.eraseSubject(r.Context(), e.GalleryID, e.Subject.ID); err != nil {
			if errors.Is(err, facegate.ErrNotFound) {
				continue
			}
			return err
		}
		out.Erased = append(out.Erased, e)
		ids = append(ids, e.Subject.ID)
	}
	note(r, "erased", strings.Join(ids, ","))
	if len(ids) > 0 {
		s.checkpoint(r.Context())
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// observeDecision counts the recognizer's decisions worth watching: suppressed matches and alerts raised or
// grouped.
func (s *Server) observeDecision(what, gallery, source string) {
	switch what {
	case "suppressed":
		s.metrics.inc("facegate_suppressed_matches_total", "Matches stopped because the probe looked more like a rejected capture than like the subject's photos.", "gallery", gallery, "source", source)
	case "alert_new":
		s.metrics.inc("facegate_alerts_total", "Watchlist sightings: a new alert raised, or grouped into an open one.", "gallery", gallery, "source", source, "outcome", "new")
	case "alert_grouped":
		s.metrics.inc("facegate_alerts_total", "Watchlist sightings: a new alert raised, or grouped into an open one.", "gallery", gallery, "source", source, "outcome", "grouped")
	}
}
