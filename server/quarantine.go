package server

import (
	"context"
	"sync"

	"github.com/facegate/facegate"
)

// quarantine keeps the stored rows the server skipped because they cannot be read (a template that does not
// open or is not a valid template, a stream configuration that does not parse): one bad row must not stop the
// server, and an admin must see it (logs, facegate_quarantined_rows, GET /v1/me).
type quarantine struct {
	mu   sync.Mutex
	rows []facegate.BadRow
}

// quarantine records bad rows, logging each the first time it is seen.
func (s *Server) quarantine(rows ...facegate.BadRow) {
	s.bad.mu.Lock()
	defer s.bad.mu.Unlock()
next:
	for _, r := range rows {
		for _, known := range s.bad.rows {
			if known.Kind == r.Kind && known.ID == r.ID {
				continue next
			}
		}
		s.log.Error("stored row quarantined: skipped until it is repaired or deleted", "kind", r.Kind, "id", r.ID, "reason", r.Reason, "err", r.Err)
		s.bad.rows = append(s.bad.rows, r)
	}
}

// readable passes on what a store returned, quarantining the rows of a *facegate.BadRowsError, so that the
// caller goes on with the readable rows; any other error is returned.
func (s *Server) readable(err error) error {
	bad, err := facegate.Quarantined(err)
	s.quarantine(bad...)
	return err
}

// faces is Store.Faces with unreadable faces quarantined rather than failing the request.
func (s *Server) faces(ctx context.Context, galleryID, subjectID string) ([]facegate.FaceRecord, error) {
	faces, err := s.cfg.Store.Faces(ctx, galleryID, subjectID)
	return faces, s.readable(err)
}

// quarantined returns a copy of the quarantined rows.
func (s *Server) quarantined() []facegate.BadRow {
	s.bad.mu.Lock()
	defer s.bad.mu.Unlock()
	return append([]facegate.BadRow(nil), s.bad.rows...)
}

// quarantineGauge is facegate_quarantined_rows by kind.
func (s *Server) quarantineGauge() map[string]float64 {
	out := map[string]float64{labels("kind", "face"): 0, labels("kind", "stream"): 0}
	for _, r := range s.quarantined() {
		out[labels("kind", r.Kind)]++
	}
	return out
}

// forget drops a row from the quarantine once it is deleted.
func (s *Server) forget(kind, id string) {
	s.bad.mu.Lock()
	defer s.bad.mu.Unlock()
	rows := s.bad.rows[:0]
	for _, r := range s.bad.rows {
		if r.Kind != kind || r.ID != id {
			rows = append(rows, r)
		}
	}
	s.bad.rows = rows
}
