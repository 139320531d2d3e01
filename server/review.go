package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
)

// listAlerts is GET /v1/alerts?status=pending&gallery=G&limit=N: watchlist alerts, newest first.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	status := facegate.AlertStatus(q.Get("status"))
	switch status {
	case "", facegate.AlertPending, facegate.AlertConfirmed, facegate.AlertRejected:
	default:
		return errf(http.StatusBadRequest, codeBadRequest, "status must be pending, confirmed or rejected")
	}
	gid := ""
	if ref := q.Get("gallery"); ref != "" {
		g, err := s.gallery(r.Context(), ref)
		if err != nil {
			return err
		}
		gid = g.ID
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errf(http.StatusBadRequest, codeBadRequest, "limit must be 1..1000")
		}
		limit = n
	}
	as, err := s.cfg.Store.Alerts(r.Context(), status, gid, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.AlertList{Alerts: as})
	return nil
}

// getAlert is GET /v1/alerts/{id}.
func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) error {
	a, err := s.cfg.Store.Alert(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// reviewAlert is POST /v1/alerts/{id}/review {"decision": "confirm"|"reject", "note": "..."}. A rejection is
// remembered as "not this person" for the subject (Config.NegativeRetention), so the same false match is
// suppressed on later tracks.
func (s *Server) reviewAlert(w http.ResponseWriter, r *http.Request) error {
	var b api.ReviewRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &b); err != nil {
		return err
	}
	var status facegate.AlertStatus
	switch b.Decision {
	case "confirm":
		status = facegate.AlertConfirmed
	case "reject":
		status = facegate.AlertRejected
	default:
		return errf(http.StatusBadRequest, codeBadRequest, `decision must be "confirm" or "reject"`)
	}
	note(r, "decision", string(status))
	now := time.Now().UTC()
	a, err := s.cfg.Store.ReviewAlert(r.Context(), r.PathValue("id"), status, keyID(r), b.Note, now, now.Add(s.cfg.NegativeRetention))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// rejectedBefore reports whether a watchlist match was rejected before as "not this person" (see
// facegate.RejectedBefore); a store error is logged and counts as not rejected.
func (s *Server) rejectedBefore(ctx context.Context, g *facegate.Gallery, subject string, probe []float32) bool {
	ok, err := facegate.RejectedBefore(ctx, s.cfg.Store, g, subject, probe, time.Now())
	if err != nil {
		s.log.Warn("reading negative exemplars failed", "err", err)
	}
	return ok
}
