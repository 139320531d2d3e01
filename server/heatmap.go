package server

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/events"
	"github.com/facegate/facegate/internal/draw"
)

// heatmapCell is the side, in pixels, of a grid cell in the heatmap's PNG (640×360 for the 32×18 grid).
const heatmapCell = 20

// heatmap sums the density heatmaps of a stream's crowd events held in memory over a period:
// GET /v1/streams/{id}/heatmap?from=&to=&format=png. A crowd interval counts, whole, when it overlaps the
// period; without from (to) the period is open at that end. Only what the events ring still holds is summed
// (the ring of the newest events of every kind, GET /v1/events/recent).
func (s *Server) heatmap(w http.ResponseWriter, r *http.Request) error {
	st, err := s.stream(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var from, to time.Time
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := q.Get(name); v != "" {
			if *dst, err = time.Parse(time.RFC3339, v); err != nil {
				return errf(http.StatusBadRequest, codeBadRequest, "%s must be an RFC 3339 time, such as 2026-01-02T15:04:05Z", name)
			}
		}
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return errf(http.StatusBadRequest, codeBadRequest, "to must be after from")
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "png" {
		return errf(http.StatusBadRequest, codeBadRequest, "format must be json (the default) or png")
	}
	out := api.StreamHeatmap{Stream: st.ID, Heatmap: *facegate.NewHeatmap()}
	for _, e := range s.bus.Recent(events.Filter{Streams: []string{st.ID}, Types: []facegate.EventType{facegate.EventCrowd}}, 0) {
		c := e.Crowd
		if c == nil || c.Heatmap == nil || (!from.IsZero() && !c.To.After(from)) || (!to.IsZero() && !c.From.Before(to)) {
			continue
		}
		if !out.Heatmap.Add(c.Heatmap) {
			continue // another grid: not this version's
		}
		out.Intervals++
		if out.From == nil || c.From.Before(*out.From) {
			f := c.From
			out.From = &f
		}
		if out.To == nil || c.To.After(*out.To) {
			t := c.To
			out.To = &t
		}
	}
	out.Total, out.Max = out.Heatmap.Total(), out.Heatmap.Max()
	if format != "png" {
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	var b bytes.Buffer
	if err := png.Encode(&b, draw.Heatmap(&out.Heatmap, heatmapCell)); err != nil {
		return fmt.Errorf("server: heatmap png: %w", err)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(b.Bytes())
	return nil
}
