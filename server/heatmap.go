package server

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/internal/draw"
)

// heatmapCell is the side, in pixels, of a grid cell in the heatmap's PNG (640×360 for the 32×18 grid).
const heatmapCell = 20

// heatmap sums the density heatmaps of a stream's stored crowd intervals over a period:
// GET /v1/streams/{id}/heatmap?from=&to=&format=png. A crowd interval counts, whole, when it overlaps the
// period; without from (to) the period is open at that end. Any period the crowd history still holds can be
// asked for (serve --crowd-retention), up to Config.MaxCrowdIntervals intervals: beyond, 400 period_too_long.
// It runs in an analysis slot of the key's share (503 busy when none frees before the request ends).
func (s *Server) heatmap(w http.ResponseWriter, r *http.Request) error {
	st, err := s.stream(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	from, to, err := period(q)
	if err != nil {
		return err
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "png" {
		return errf(http.StatusBadRequest, codeBadRequest, "format must be json (the default) or png")
	}
	// Summing a period reads and parses up to MaxCrowdIntervals stored intervals (3.3 s of CPU for 20,000 with
	// 16 zones and 16 lines): it takes an analysis slot of the key's share, like an analysis, so that one key's
	// heatmaps in parallel cannot hold more CPU than its share.
	release, err := s.acquire(r.Context())
	if err != nil {
		return err
	}
	defer release()
	out := api.StreamHeatmap{Stream: st.ID, Heatmap: *facegate.NewHeatmap()}
	read := 0
	err = s.cfg.Store.EachCrowd(r.Context(), st.ID, from, to, s.cfg.MaxCrowdIntervals+1, func(c *facegate.CrowdRecord) error {
		if read++; read > s.cfg.MaxCrowdIntervals {
			return s.errTooManyIntervals()
		}
		if c.Heatmap == nil || !out.Heatmap.Add(c.Heatmap) {
			return nil // none, or another grid: not this version's
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
		return nil
	})
	if err := s.readable(err); err != nil {
		return err
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
