package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
)

// DefaultMaxCrowdIntervals is how many stored crowd intervals one heatmap sums at most (Config.MaxCrowdIntervals):
// about two weeks of a stream at the default 60 s interval.
const DefaultMaxCrowdIntervals = 20_000

// Limits of GET /v1/streams/{id}/crowd's limit parameter.
const (
	defaultCrowdLimit = 100
	maxCrowdLimit     = 1000
)

// crowdStoreTimeout bounds the store write of one crowd interval, so that a slow disk cannot hold a stream's
// pipeline for long.
const crowdStoreTimeout = 5 * time.Second

// storeCrowd keeps a published crowd event's figures in the crowd history. A store error is logged and counted
// (facegate_crowd_unstored_total); the event itself has been delivered already.
func (s *Server) storeCrowd(e facegate.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), crowdStoreTimeout)
	defer cancel()
	if err := s.cfg.Store.AddCrowd(ctx, &facegate.CrowdRecord{Stream: e.Stream, Event: e.ID, Crowd: *e.Crowd}); err != nil {
		s.log.Error("crowd interval not stored in the history", "stream", e.Stream, "event", e.ID, "err", err)
		s.metrics.inc("facegate_crowd_unstored_total", "Crowd intervals left out of the stored history because the store refused them (the events were delivered).", "stream", e.Stream)
	}
}

// period reads the from and to parameters of a crowd history request (RFC 3339; either may be absent, leaving
// that end open); to must be after from. It is the one check of the period for the heatmap and the crowd list.
func period(q url.Values) (from, to time.Time, err error) {
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			if *p.dst, err = time.Parse(time.RFC3339, v); err != nil {
				return from, to, errf(http.StatusBadRequest, codeBadRequest, "%s must be an RFC 3339 time, such as 2026-01-02T15:04:05Z", p.name)
			}
		}
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return from, to, errf(http.StatusBadRequest, codeBadRequest, "to must be after from")
	}
	return from, to, nil
}

// queryLimit reads a listing's limit parameter: def when absent, else 1..most.
func queryLimit(q url.Values, def, most int) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return 0, errf(http.StatusBadRequest, codeBadRequest, "limit must be 1..%d", most)
	}
	return n, nil
}

// errTooManyIntervals is the answer to a heatmap whose period holds more stored intervals than it may sum.
func (s *Server) errTooManyIntervals() error {
	return errf(http.StatusBadRequest, api.CodePeriodTooLong,
		"the period holds more than %d crowd intervals, the most one heatmap sums: narrow from and to (or sum shorter periods one by one)", s.cfg.MaxCrowdIntervals)
}

// crowdHistory lists a stream's stored crowd intervals over a period, oldest first:
// GET /v1/streams/{id}/crowd?from=&to=&limit=. An interval is listed when it overlaps the period; More says
// limit left some out (ask again from the last interval's to). It runs in an analysis slot of the key's share.
func (s *Server) crowdHistory(w http.ResponseWriter, r *http.Request) error {
	st, err := s.stream(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	from, to, err := period(q)
	if err != nil {
		return err
	}
	limit, err := queryLimit(q, defaultCrowdLimit, maxCrowdLimit)
	if err != nil {
		return err
	}
	// A page of up to 1,000 intervals, and a period the store scans up to its end, take an analysis slot of the
	// key's share, as the heatmap does.
	release, err := s.acquire(r.Context())
	if err != nil {
		return err
	}
	defer release()
	recs, err := s.cfg.Store.Crowds(r.Context(), st.ID, from, to, limit+1)
	if err := s.readable(err); err != nil {
		return err
	}
	out := api.StreamCrowds{Stream: st.ID, Intervals: make([]facegate.Crowd, 0, min(len(recs), limit))}
	if len(recs) > limit {
		recs, out.More = recs[:limit], true
	}
	for i := range recs {
		out.Intervals = append(out.Intervals, recs[i].Crowd)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
