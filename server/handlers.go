package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/draw"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/recognize"
)

func (s *Server) routeTable() []route {
	const (
		admin    = facegate.RoleAdmin
		operator = facegate.RoleOperator
		device   = facegate.RoleDevice
	)
	return []route{
		{"GET /healthz", "", s.healthz, false, false},
		{"GET /readyz", "", s.readyz, false, false},
		{"GET /metrics", operator, s.metricsHandler, false, false},
		{"GET /openapi.json", device, s.openapi, false, false},
		{"GET /v1/me", device, s.me, false, false},
		{"GET /v1/settings", admin, s.getSettings, false, false},
		{"PUT /v1/settings", admin, s.putSettings, false, false},
		{"POST /v1/detect", device, s.detect, false, false},
		{"POST /v1/compare", device, s.compare, false, false},
		{"POST /v1/galleries", admin, s.createGallery, false, false},
		{"GET /v1/galleries", device, s.listGalleries, false, false},
		{"GET /v1/galleries/{g}", device, s.getGallery, false, false},
		{"PATCH /v1/galleries/{g}", admin, s.updateGallery, false, false},
		{"DELETE /v1/galleries/{g}", admin, s.deleteGallery, false, false},
		{"POST /v1/galleries/{g}/subjects", operator, s.createSubject, false, false},
		{"GET /v1/galleries/{g}/subjects", operator, s.listSubjects, false, false},
		{"GET /v1/galleries/{g}/subjects/{s}", operator, s.getSubject, false, false},
		{"PATCH /v1/galleries/{g}/subjects/{s}", operator, s.updateSubject, false, false},
		{"DELETE /v1/galleries/{g}/subjects/{s}", operator, s.deleteSubject, false, false},
		{"GET /v1/galleries/{g}/subjects/{s}/export", operator, s.exportSubject, false, false},
		{"POST /v1/galleries/{g}/datasets", admin, s.exportDataset, false, false},
		{"POST /v1/galleries/{g}/subjects/{s}/consents", operator, s.addConsent, false, false},
		{"GET /v1/galleries/{g}/subjects/{s}/consents", operator, s.listConsents, false, false},
		{"DELETE /v1/galleries/{g}/subjects/{s}/consents/{c}", operator, s.withdrawConsent, false, false},
		{"POST /v1/galleries/{g}/subjects/{s}/faces", operator, s.enrol, false, false},
		{"GET /v1/galleries/{g}/subjects/{s}/faces", operator, s.listFaces, false, false},
		{"GET /v1/galleries/{g}/subjects/{s}/faces/{f}/thumbnail", operator, s.thumbnail, false, false},
		{"DELETE /v1/galleries/{g}/subjects/{s}/faces/{f}", operator, s.deleteFace, false, false},
		{"POST /v1/galleries/{g}/search", device, s.search, false, false},
		{"POST /v1/galleries/{g}/subjects/{s}/verify", device, s.verify, false, false},
		{"POST /v1/keys", admin, s.createKey, false, false},
		{"GET /v1/keys", admin, s.listKeys, false, false},
		{"DELETE /v1/keys/{id}", admin, s.revokeKey, false, false},
		{pattern: "GET /v1/audit", role: admin, handler: s.listAudit},
		{pattern: "GET /v1/audit/verify", role: admin, handler: s.verifyAudit},
		{pattern: "GET /v1/audit/checkpoints", role: admin, handler: s.auditCheckpoints},
		{pattern: "GET /v1/alerts", role: operator, handler: s.listAlerts},
		{pattern: "GET /v1/alerts/media", role: operator, handler: s.alertMedia},
		{pattern: "GET /v1/alerts/{id}", role: operator, handler: s.getAlert},
		{pattern: "POST /v1/alerts/{id}/review", role: operator, handler: s.reviewAlert},
		{pattern: "POST /v1/alerts/review", role: operator, handler: s.reviewAlerts, batch: true},
		{pattern: "GET /v1/galleries/{g}/subjects/{s}/rejections", role: operator, handler: s.listRejections},
		{pattern: "DELETE /v1/galleries/{g}/subjects/{s}/rejections/{id}", role: operator, handler: s.undoRejection},
		{pattern: "GET /v1/watchlist/overdue", role: operator, handler: s.listOverdue},
		{pattern: "POST /v1/watchlist/overdue/expire", role: admin, handler: s.expireOverdue, batch: true},
		{pattern: "POST /v1/streams", role: admin, handler: s.createStream},
		{pattern: "GET /v1/streams", role: operator, handler: s.listStreams},
		{pattern: "GET /v1/streams/{id}", role: operator, handler: s.getStream},
		{pattern: "PUT /v1/streams/{id}", role: admin, handler: s.replaceStream},
		{pattern: "DELETE /v1/streams/{id}", role: admin, handler: s.deleteStream},
		{pattern: "GET /v1/streams/{id}/preview", role: operator, handler: s.preview, long: true},
		{pattern: "GET /v1/streams/{id}/heatmap", role: operator, handler: s.heatmap},
		{pattern: "GET /v1/streams/{id}/crowd", role: operator, handler: s.crowdHistory},
		{pattern: "GET /v1/events", role: operator, handler: s.events, long: true},
		{pattern: "GET /v1/events/recent", role: operator, handler: s.recentEvents},
		{pattern: "GET /v1/events/{id}/crop", role: operator, handler: s.matchCrop},
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	s.metrics.write(w)
	return nil
}

// analyse runs the engine and records per-stage inference time.
func (s *Server) analyse(ctx context.Context, img *imgio.Image, opt engine.Options) ([]facegate.Face, error) {
	var tm engine.Timings
	opt.Timings = &tm
	faces, err := s.cfg.Engine.Analyze(ctx, img, opt)
	for i := range faces {
		faces[i].Template = s.protectTemplate(faces[i].Template)
	}
	for stage, d := range map[string]int64{"detect": int64(tm.Detect), "landmarks": int64(tm.Landmarks), "quality": int64(tm.Quality), "embed": int64(tm.Embed), "attributes": int64(tm.Attributes)} {
		if d > 0 {
			s.metrics.observe("facegate_inference_seconds", "Model inference time per request by stage.", durationNS(d), "stage", stage)
		}
	}
	return faces, err
}

type detectOptions struct {
	Attributes string `json:"attributes"`
	MinFace    int    `json:"min_face"`
	Profile    string `json:"profile"`
}

func (s *Server) detect(w http.ResponseWriter, r *http.Request) error {
	in, err := s.readInput(w, r, "image")
	if err != nil {
		return err
	}
	var o detectOptions
	if err := in.field("attributes", &o.Attributes); err != nil {
		return err
	}
	if err := in.field("min_face", &o.MinFace); err != nil {
		return err
	}
	if err := in.field("profile", &o.Profile); err != nil {
		return err
	}
	if q := r.URL.Query().Get("attributes"); q != "" {
		o.Attributes = q
	}
	attrs, err := engine.ParseAttributes(strings.Split(o.Attributes, ","))
	if err != nil {
		return wrapf(err, http.StatusBadRequest, codeBadRequest, "attributes must be a comma-separated list of age, gender, expression, liveness or all")
	}
	if err := s.inferencesAllowed(attrs); err != nil {
		return err
	}
	if err := engine.CheckMinFace(o.MinFace); err != nil {
		return err
	}
	profile, err := engine.ParseProfile(o.Profile)
	if err != nil {
		return wrapf(err, http.StatusBadRequest, codeBadRequest, "profile must be default or crowd (asked for %q)", o.Profile)
	}
	release, err := s.acquire(r.Context())
	if err != nil {
		return err
	}
	defer release()
	img, err := s.decodeImage(in.images["image"])
	if err != nil {
		return err
	}
	var rep engine.Report
	faces, err := s.analyse(r.Context(), img, engine.Options{Attributes: attrs, MinFaceSize: o.MinFace, Profile: profile, Report: &rep})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.DetectResponse{Width: img.W, Height: img.H, Faces: nonNil(faces),
		FacesFound: rep.FacesFound, FacesTruncated: rep.Truncated, MinFaceUsed: rep.MinFaceUsed})
	return nil
}

func nonNil(f []facegate.Face) []facegate.Face {
	if f == nil {
		return []facegate.Face{}
	}
	return f
}

// primaryTemplate analyses an image and embeds its most prominent face.
func (s *Server) primaryTemplate(ctx context.Context, data []byte, name string) (facegate.Face, int, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return facegate.Face{}, 0, err
	}
	defer release()
	img, err := s.decodeImage(data)
	if err != nil {
		return facegate.Face{}, 0, fmt.Errorf("image %q: %w", name, err)
	}
	faces, err := s.analyse(ctx, img, engine.Options{})
	if err != nil {
		return facegate.Face{}, 0, err
	}
	if len(faces) == 0 {
		return facegate.Face{}, 0, errf(http.StatusUnprocessableEntity, codeNoFace, "no face found in image %q", name)
	}
	f, err := s.cfg.Engine.Embed(ctx, img, faces[engine.Primary(faces, img.W, img.H)])
	f.Template = s.protectTemplate(f.Template)
	return f, len(faces), err
}

func (s *Server) compare(w http.ResponseWriter, r *http.Request) error {
	in, err := s.readInput(w, r, "a", "b")
	if err != nil {
		return err
	}
	thr, fmr := defaultThreshold()
	if err := in.field("threshold", &thr); err != nil {
		return err
	}
	a, na, err := s.primaryTemplate(r.Context(), in.images["a"], "a")
	if err != nil {
		return err
	}
	b, nb, err := s.primaryTemplate(r.Context(), in.images["b"], "b")
	if err != nil {
		return err
	}
	sim := facegate.Similarity(a.Template, b.Template)
	writeJSON(w, http.StatusOK, api.CompareResponse{Similarity: sim, Match: float64(sim) >= thr, Threshold: thr, FMR: fmr,
		FaceA: a, FaceB: b, FacesInA: na, FacesInB: nb})
	return nil
}

// --- galleries ---

// applyGallery applies a gallery request to g.
func applyGallery(b *api.GalleryRequest, g *facegate.Gallery) error {
	if b.Name != nil {
		n := strings.TrimSpace(*b.Name)
		if n == "" {
			return errf(http.StatusBadRequest, codeBadRequest, "name must not be empty")
		}
		g.Name = n
	}
	if b.Description != nil {
		g.Description = *b.Description
	}
	if b.NoThumbnails != nil {
		g.NoThumbnails = *b.NoThumbnails
	}
	if b.Purpose != nil {
		g.Purpose = *b.Purpose
	}
	if b.LegalBasis != nil {
		g.LegalBasis = strings.TrimSpace(*b.LegalBasis)
	}
	if b.ConsentExempt != nil {
		g.ConsentExempt = *b.ConsentExempt
	}
	if b.RetentionDays != nil {
		g.RetentionDays = *b.RetentionDays
	}
	if err := g.Check(); err != nil {
		return err
	}
	switch {
	case b.Threshold != nil:
		if *b.Threshold < -1 || *b.Threshold > 1 {
			return errf(http.StatusBadRequest, codeBadRequest, "threshold must be within [-1, 1]")
		}
		g.Threshold, g.FMR = *b.Threshold, 0
	case b.FMR != nil:
		t, ok := packThreshold(*b.FMR)
		if !ok {
			return errf(http.StatusBadRequest, codeBadRequest, "fmr %g is outside the calibrated range", *b.FMR)
		}
		g.Threshold, g.FMR = t, *b.FMR
	}
	return nil
}

func (s *Server) createGallery(w http.ResponseWriter, r *http.Request) error {
	var b api.GalleryRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &b); err != nil {
		return err
	}
	if b.Name == nil {
		return errf(http.StatusBadRequest, codeBadRequest, "name is required")
	}
	g := &facegate.Gallery{}
	g.Threshold, g.FMR = defaultThreshold()
	// Consent is required by default, except for a watchlist with a recorded legal basis.
	if b.ConsentExempt == nil && b.Purpose != nil && *b.Purpose == facegate.PurposeWatchlist && b.LegalBasis != nil && *b.LegalBasis != "" {
		b.ConsentExempt = ptrTo(true)
	}
	if err := applyGallery(&b, g); err != nil {
		return err
	}
	if err := s.cfg.Store.CreateGallery(r.Context(), g); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, g)
	return nil
}

func (s *Server) listGalleries(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.cfg.Store.Galleries(r.Context())
	if err != nil {
		return err
	}
	out := api.GalleryList{Galleries: []api.GalleryInfo{}}
	for _, g := range gs {
		out.Galleries = append(out.Galleries, s.galleryInfo(&g))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// gallery finds a gallery by id or by name.
func (s *Server) gallery(ctx context.Context, ref string) (*facegate.Gallery, error) {
	g, err := s.cfg.Store.Gallery(ctx, ref)
	if err == nil || !errors.Is(err, facegate.ErrNotFound) {
		return g, err
	}
	gs, lerr := s.cfg.Store.Galleries(ctx)
	if lerr != nil {
		return nil, lerr
	}
	for i := range gs {
		if gs[i].Name == ref {
			return &gs[i], nil
		}
	}
	return nil, errf(http.StatusNotFound, codeNotFound, "gallery %q not found", ref)
}

func (s *Server) galleryInfo(g *facegate.Gallery) api.GalleryInfo {
	return api.GalleryInfo{Gallery: *g, Subjects: s.cfg.Index.Subjects(g.ID), Templates: s.cfg.Index.Len(g.ID)}
}

func (s *Server) getGallery(w http.ResponseWriter, r *http.Request) error {
	g, err := s.gallery(r.Context(), r.PathValue("g"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.galleryInfo(g))
	return nil
}

func (s *Server) updateGallery(w http.ResponseWriter, r *http.Request) error {
	g, err := s.gallery(r.Context(), r.PathValue("g"))
	if err != nil {
		return err
	}
	var b api.GalleryRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &b); err != nil {
		return err
	}
	old := g.Purpose
	if err := applyGallery(&b, g); err != nil {
		return err
	}
	if g.Purpose != old {
		// Who changed what a gallery is for, from what to what (both checked purposes: short). The store refuses
		// a change its subjects are not covered for; the entry records the attempt either way.
		note(r, "purpose", string(old)+" -> "+string(g.Purpose))
	}
	if err := s.cfg.Store.UpdateGallery(r.Context(), g); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *Server) deleteGallery(w http.ResponseWriter, r *http.Request) error {
	g, err := s.gallery(r.Context(), r.PathValue("g"))
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.cfg.Store.DeleteGallery(r.Context(), g.ID); err != nil {
		return err
	}
	s.cfg.Index.RemoveGallery(g.ID)
	s.forgetEvents(g.ID, "")
	s.checkpoint(r.Context())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- subjects ---

func ptrTo[T any](v T) *T { return &v }

// applySubject applies a subject request to sub; by is the calling key, recorded as who added a watchlist entry.
func applySubject(b *api.SubjectRequest, sub *facegate.Subject, by string) {
	if b.Minor != nil {
		sub.Minor = *b.Minor
	}
	if b.Watch != nil {
		w := *b.Watch
		w.AddedBy, w.AddedByName = by, ""
		if sub.Watch != nil && sub.Watch.AddedBy != "" {
			w.AddedBy = sub.Watch.AddedBy
		}
		w.ReviewAt = w.ReviewAt.UTC()
		sub.Watch = &w
	}
	if b.ExternalID != nil {
		sub.ExternalID = *b.ExternalID
	}
	if b.DisplayName != nil {
		sub.DisplayName = *b.DisplayName
	}
	if b.Metadata != nil {
		sub.Metadata = *b.Metadata
	}
}

// subjectFields are the fields subject creation accepts besides images and the enrolment options.
var subjectFields = map[string]bool{"external_id": true, "display_name": true, "metadata": true, "minor": true, "watch": true, "consent": true}

// createSubject creates a subject from JSON, or from multipart (or JSON with "images") together with its first
// faces. With images, the subject and all its faces are stored in one transaction: when any image fails the
// quality gate, nothing is stored and the response lists each image's reasons.
func (s *Server) createSubject(w http.ResponseWriter, r *http.Request) error {
	g, err := s.gallery(r.Context(), r.PathValue("g"))
	if err != nil {
		return err
	}
	in, err := s.readImages(w, r)
	if err != nil {
		return err
	}
	for k := range in.fields {
		if !subjectFields[k] && !enrolFields[k] {
			return errf(http.StatusBadRequest, codeBadRequest, "unknown field %q", k)
		}
	}
	var b api.SubjectRequest
	for name, dst := range map[string]any{"external_id": &b.ExternalID, "display_name": &b.DisplayName, "metadata": &b.Metadata,
		"minor": &b.Minor, "watch": &b.Watch, "consent": &b.Consent} {
		if err := in.field(name, dst); err != nil {
			return err
		}
	}
	sub := &facegate.Subject{GalleryID: g.ID}
	applySubject(&b, sub, keyID(r))
	if err := sub.CheckLimits(); err != nil {
		return err // before any image is analysed
	}
	var consents []*facegate.Consent
	if b.Consent != nil {
		c, err := consentFrom(b.Consent, g, keyID(r))
		if err != nil {
			return err
		}
		consents = append(consents, c)
	}
	o, err := parseEnrolOptions(in)
	if err != nil {
		return err
	}
	var recs []*facegate.FaceRecord
	var failures []map[string]any
	seen := map[string]bool{}
	for i, data := range in.list {
		rec, _, err := s.prepareFace(r.Context(), g, data, o)
		if err != nil {
			ae := toAPIError(err)
			if ae.Status != http.StatusUnprocessableEntity {
				// An unreadable, unsupported or oversized image is an error in the request itself.
				return &apiError{Status: ae.Status, Code: ae.Code, Message: fmt.Sprintf("image %d: %s", i, ae.Message), Details: ae.Details, cause: err}
			}
			failures = append(failures, map[string]any{"image": i, "code": ae.Code, "message": ae.Message, "details": ae.Details})
			continue
		}
		if seen[rec.Source] {
			continue // the same image twice enrols once
		}
		seen[rec.Source] = true
		recs = append(recs, rec)
	}
	if len(failures) > 0 {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeQualityRejected,
			Message: fmt.Sprintf("%d of %d images were not accepted; nothing was stored", len(failures), len(in.list)),
			Details: map[string]any{"images": failures}}
	}
	if err := s.checkDuplicates(r.Context(), g, "", recs, o); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.cfg.Store.CreateSubjectWithConsent(r.Context(), sub, consents, recs); err != nil {
		return err
	}
	for _, rec := range recs {
		if err := s.cfg.Index.Add(g.ID, sub.ID, rec.ID, rec.Template); err != nil {
			return fmt.Errorf("server: indexing face %s: %w", rec.ID, err)
		}
	}
	out := api.SubjectCreated{Subject: *sub, Faces: []facegate.FaceRecord{}}
	for _, rec := range recs {
		out.Faces = append(out.Faces, *rec)
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) listSubjects(w http.ResponseWriter, r *http.Request) error {
	g, err := s.gallery(r.Context(), r.PathValue("g"))
	if err != nil {
		return err
	}
	if ext := r.URL.Query().Get("external_id"); ext != "" {
		sub, err := s.cfg.Store.SubjectByExternalID(r.Context(), g.ID, ext)
		subs := []facegate.Subject{}
		if err == nil {
			subs = append(subs, *sub)
		} else if !errors.Is(err, facegate.ErrNotFound) {
			return err
		}
		writeJSON(w, http.StatusOK, api.SubjectList{Subjects: subs})
		return nil
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errf(http.StatusBadRequest, codeBadRequest, "limit must be 1..1000")
		}
		limit = n
	}
	subs, err := s.cfg.Store.Subjects(r.Context(), g.ID, facegate.Page{After: r.URL.Query().Get("after"), Limit: limit,
		Query: strings.TrimSpace(r.URL.Query().Get("q"))})
	if err != nil {
		return err
	}
	next := ""
	if len(subs) == limit {
		next = subs[len(subs)-1].ID
	}
	if subs == nil {
		subs = []facegate.Subject{}
	}
	ptrs := make([]*facegate.Subject, len(subs))
	for i := range subs {
		ptrs[i] = &subs[i]
	}
	if err := s.nameWatchers(r.Context(), ptrs...); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.SubjectList{Subjects: subs, Next: next})
	return nil
}

func (s *Server) subject(r *http.Request) (*facegate.Gallery, *facegate.Subject, error) {
	g, err := s.gallery(r.Context(), r.PathValue("g"))
	if err != nil {
		return nil, nil, err
	}
	sub, err := s.cfg.Store.Subject(r.Context(), g.ID, r.PathValue("s"))
	if err != nil {
		return nil, nil, err
	}
	return g, sub, nil
}

func (s *Server) getSubject(w http.ResponseWriter, r *http.Request) error {
	_, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	faces, err := s.faces(r.Context(), sub.GalleryID, sub.ID)
	if err != nil {
		return err
	}
	if err := s.nameWatchers(r.Context(), sub); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.SubjectInfo{Subject: *sub, Faces: len(faces)})
	return nil
}

func (s *Server) updateSubject(w http.ResponseWriter, r *http.Request) error {
	_, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	var b api.SubjectRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &b); err != nil {
		return err
	}
	if b.Consent != nil {
		return errf(http.StatusBadRequest, codeBadRequest, "consent is recorded with POST .../consents, not by updating the subject")
	}
	applySubject(&b, sub, keyID(r))
	if err := sub.CheckLimits(); err != nil {
		return err
	}
	if b.Watch != nil {
		note(r, "review_at", sub.Watch.ReviewAt.Format(time.RFC3339)) // who moved a watchlist entry's review date, to when
	}
	if err := s.cfg.Store.UpdateSubject(r.Context(), sub); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sub)
	return nil
}

// eraseSubject deletes a subject with everything about it (faces, consents, crops, alerts, rejections: one store
// transaction), its index entries and the events that name it. The caller holds writeMu and checkpoints after.
func (s *Server) eraseSubject(ctx context.Context, gid, sid string) error {
	if err := s.cfg.Store.DeleteSubject(ctx, gid, sid); err != nil {
		return err
	}
	s.cfg.Index.RemoveSubject(gid, sid)
	s.forgetEvents(gid, sid)
	return nil
}

func (s *Server) deleteSubject(w http.ResponseWriter, r *http.Request) error {
	_, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.eraseSubject(r.Context(), sub.GalleryID, sub.ID); err != nil {
		return err
	}
	s.checkpoint(r.Context())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- faces ---

// enrolFields are the form fields that set the enrolment gate (recognize.EnrolOptions).
var enrolFields = map[string]bool{"take_largest": true, "min_size": true, "min_quality": true, "min_sharpness": true, "max_yaw": true,
	"max_pitch": true, "allow_eyes_closed": true, "require_live": true, "allow_duplicate": true}

func parseEnrolOptions(in *input) (recognize.EnrolOptions, error) {
	o := recognize.DefaultEnrolOptions()
	for name, dst := range map[string]any{"take_largest": &o.TakeLargest, "min_size": &o.MinSize, "min_quality": &o.MinQuality, "min_sharpness": &o.MinSharpness,
		"max_yaw": &o.MaxYaw, "max_pitch": &o.MaxPitch, "allow_eyes_closed": &o.AllowClosed, "require_live": &o.RequireLive,
		"allow_duplicate": &o.AllowDuplicate} {
		if err := in.field(name, dst); err != nil {
			return o, err
		}
	}
	return o, nil
}

// checkDuplicates refuses faces about to be enrolled for subject (empty: a new subject) that already match
// another subject of the gallery, unless the request allows it (allow_duplicate): 409 possible_duplicate with
// the subjects they match, so a client can ask its user.
func (s *Server) checkDuplicates(ctx context.Context, g *facegate.Gallery, subject string, recs []*facegate.FaceRecord, o recognize.EnrolOptions) error {
	if o.AllowDuplicate {
		return nil
	}
	var dups []api.Duplicate
	seen := map[string]bool{}
	for _, rec := range recs {
		cs, err := s.rec.Duplicates(ctx, g, rec.Template, subject)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if !seen[c.Subject] {
				seen[c.Subject] = true
				dups = append(dups, api.Duplicate{SubjectID: c.Subject, ExternalID: c.ExternalID, DisplayName: c.DisplayName, Score: c.Score})
			}
		}
	}
	if len(dups) == 0 {
		return nil
	}
	who := dups[0].DisplayName
	if who == "" {
		who = dups[0].SubjectID
	}
	return &apiError{Status: http.StatusConflict, Code: api.CodePossibleDuplicate,
		Message: fmt.Sprintf("this face already matches %s (score %.2f) in this gallery: check that it is the right person, or send allow_duplicate=true to enrol it anyway", who, dups[0].Score),
		Details: map[string]any{"duplicates": dups}}
}

// sourceOf is how an enrolment image is recognised when sent again: the hash the store keeps of it (keyed when
// the store seals its values, so the database alone cannot confirm a photo was enrolled), else its SHA-256.
func (s *Server) sourceOf(ctx context.Context, data []byte) (string, error) {
	if h, ok := s.cfg.Store.(interface {
		SourceHash(context.Context, []byte) (string, error)
	}); ok {
		return h.SourceHash(ctx, data)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// prepareFace decodes and analyses an enrolment image and applies the quality gate. It returns the face record
// to store (not yet stored) and the number of faces in the image.
func (s *Server) prepareFace(ctx context.Context, g *facegate.Gallery, data []byte, o recognize.EnrolOptions) (*facegate.FaceRecord, int, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer release()
	img, err := s.decodeImage(data)
	if err != nil {
		return nil, 0, err
	}
	opt := engine.Options{Embed: true}
	if o.RequireLive {
		opt.Attributes = []engine.Attribute{engine.AttrLiveness}
	}
	faces, err := s.analyse(ctx, img, opt)
	if err != nil {
		return nil, 0, err
	}
	primary := 0
	if len(faces) > 0 {
		primary = engine.Primary(faces, img.W, img.H)
	}
	i, rej := recognize.ChooseFace(faces, primary, o)
	switch {
	case rej != nil && rej.Code == recognize.CodeNoFace:
		return nil, 0, &apiError{Status: http.StatusUnprocessableEntity, Code: codeNoFace, Message: "no face found",
			Details: map[string]any{"reasons": []api.Rejection{*rej}}}
	case rej != nil:
		return nil, len(faces), &apiError{Status: http.StatusUnprocessableEntity, Code: codeMultipleFaces, Message: fmt.Sprintf("%d faces found; send one face or set take_largest", len(faces)),
			Details: map[string]any{"reasons": []api.Rejection{*rej}, "faces": faces}}
	}
	f := faces[i]
	if reasons := recognize.Gate(f, o); len(reasons) > 0 {
		return nil, len(faces), &apiError{Status: http.StatusUnprocessableEntity, Code: codeQualityRejected, Message: "the face did not pass the enrolment quality gate",
			Details: map[string]any{"reasons": reasons, "quality": f.Quality}}
	}
	source, err := s.sourceOf(ctx, data)
	if err != nil {
		return nil, 0, err
	}
	rec := &facegate.FaceRecord{GalleryID: g.ID, Template: f.Template, Box: f.Box, Quality: finiteQuality(f.Quality), Source: source}
	if !g.NoThumbnails {
		rec.Thumbnail = draw.FaceCrop(img, f.Box, 112)
	}
	return rec, len(faces), nil
}

// finiteQuality replaces NaN and infinite measures (which JSON cannot carry) with zero.
func finiteQuality(q facegate.Quality) facegate.Quality {
	for _, p := range []*float32{&q.Score, &q.Size, &q.InterEye, &q.Sharpness, &q.Brightness, &q.Contrast, &q.Pose.Yaw, &q.Pose.Pitch, &q.Pose.Roll, &q.LeftEyeOpen, &q.RightEyeOpen} {
		if f := float64(*p); math.IsNaN(f) || math.IsInf(f, 0) {
			*p = 0
		}
	}
	return q
}

// enrol adds a face to a subject. Sending an image the subject was already enrolled from returns the existing
// face with "duplicate": true and status 200, so retries and resumed bulk imports never enrol an image twice.
func (s *Server) enrol(w http.ResponseWriter, r *http.Request) error {
	g, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	in, err := s.readInput(w, r, "image")
	if err != nil {
		return err
	}
	o, err := parseEnrolOptions(in)
	if err != nil {
		return err
	}
	data := in.images["image"]
	source, err := s.sourceOf(r.Context(), data)
	if err != nil {
		return err
	}
	if f, ok, err := s.faceFromSource(r.Context(), g.ID, sub.ID, source); err != nil || ok {
		if err == nil {
			writeJSON(w, http.StatusOK, api.Enrolled{Face: *f, Duplicate: true})
		}
		return err
	}
	rec, n, err := s.prepareFace(r.Context(), g, data, o)
	if err != nil {
		return err
	}
	if err := s.checkDuplicates(r.Context(), g, sub.ID, []*facegate.FaceRecord{rec}, o); err != nil {
		return err
	}
	rec.SubjectID = sub.ID
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.cfg.Store.AddFace(r.Context(), rec); err != nil {
		if errors.Is(err, facegate.ErrConflict) {
			if f, ok, ferr := s.faceFromSource(r.Context(), g.ID, sub.ID, rec.Source); ferr == nil && ok {
				writeJSON(w, http.StatusOK, api.Enrolled{Face: *f, Duplicate: true})
				return nil
			}
		}
		return err
	}
	if err := s.cfg.Index.Add(g.ID, sub.ID, rec.ID, rec.Template); err != nil {
		return fmt.Errorf("server: indexing face %s: %w", rec.ID, err)
	}
	writeJSON(w, http.StatusCreated, api.Enrolled{Face: *rec, FacesInImage: n})
	return nil
}

// faceFromSource finds the subject's face enrolled from the image with the given hash.
func (s *Server) faceFromSource(ctx context.Context, gid, sid, source string) (*facegate.FaceRecord, bool, error) {
	faces, err := s.faces(ctx, gid, sid)
	if err != nil {
		return nil, false, err
	}
	for i := range faces {
		if faces[i].Source == source {
			return &faces[i], true, nil
		}
	}
	return nil, false, nil
}

// checkpoint moves the WAL into the database after a deletion, so erased templates and thumbnails do not
// linger in old WAL frames (the database pages themselves are zeroed by secure_delete). Best effort: a busy
// checkpoint is retried by the next deletion.
func (s *Server) checkpoint(ctx context.Context) {
	c, ok := s.cfg.Store.(interface{ Checkpoint(context.Context) error })
	if !ok {
		return
	}
	if err := c.Checkpoint(ctx); err != nil {
		s.log.Warn("checkpoint after deletion", "err", err)
	}
}

func (s *Server) listFaces(w http.ResponseWriter, r *http.Request) error {
	_, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	faces, err := s.faces(r.Context(), sub.GalleryID, sub.ID)
	if err != nil {
		return err
	}
	if faces == nil {
		faces = []facegate.FaceRecord{}
	}
	writeJSON(w, http.StatusOK, api.FaceList{Faces: faces})
	return nil
}

func (s *Server) thumbnail(w http.ResponseWriter, r *http.Request) error {
	_, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	f, err := s.cfg.Store.Face(r.Context(), sub.GalleryID, sub.ID, r.PathValue("f"))
	if err != nil {
		return err
	}
	if len(f.Thumbnail) == 0 {
		return errf(http.StatusNotFound, codeNotFound, "face %s has no thumbnail", f.ID)
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Write(f.Thumbnail)
	return nil
}

func (s *Server) deleteFace(w http.ResponseWriter, r *http.Request) error {
	_, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	id := r.PathValue("f")
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.cfg.Store.DeleteFace(r.Context(), sub.GalleryID, sub.ID, id); err != nil {
		return err
	}
	s.cfg.Index.Remove(id)
	s.checkpoint(r.Context())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- search and verify ---

func (s *Server) search(w http.ResponseWriter, r *http.Request) error {
	g, err := s.gallery(r.Context(), r.PathValue("g"))
	if err != nil {
		return err
	}
	in, err := s.readInput(w, r, "image")
	if err != nil {
		return err
	}
	k := 5
	if err := in.field("top_k", &k); err != nil {
		return err
	}
	if v := r.URL.Query().Get("top_k"); v != "" {
		k, _ = strconv.Atoi(v)
	}
	if k < 1 || k > 100 {
		return errf(http.StatusBadRequest, codeBadRequest, "top_k must be 1..100")
	}
	release, err := s.acquire(r.Context())
	if err != nil {
		return err
	}
	img, err := s.decodeImage(in.images["image"])
	if err != nil {
		release()
		return err
	}
	var rep engine.Report
	faces, err := s.analyse(r.Context(), img, engine.Options{Embed: true, Report: &rep})
	release()
	if err != nil {
		return err
	}
	out := api.SearchResponse{Gallery: g.ID, Threshold: g.Threshold, Width: img.W, Height: img.H, Faces: make([]api.SearchFace, 0, len(faces)),
		FacesFound: rep.FacesFound, FacesTruncated: rep.Truncated}
	var matched, suppressed []string
	matches := make([]*recognize.Candidate, len(faces))
	for i, f := range faces {
		id, err := s.rec.Identify(r.Context(), g, f.Template, k, recognize.FromSearch)
		if err != nil {
			return err
		}
		sf := api.SearchFace{Face: f, Result: api.ResultUnknown, Candidates: make([]api.Candidate, 0, len(id.Candidates))}
		for _, c := range id.Candidates {
			sf.Candidates = append(sf.Candidates, apiCandidate(c))
			if c.Suppressed != nil {
				suppressed = append(suppressed, c.Subject+":"+c.Suppressed.Rejection)
			}
		}
		if id.Match != nil {
			sf.Result = api.ResultMatch
			sf.Match = ptrTo(apiCandidate(*id.Match))
			matched = append(matched, id.Match.Subject)
			matches[i] = id.Match
		}
		out.Faces = append(out.Faces, sf)
	}
	// Who searched for whom: the faces found and the subjects matched (ids only) go to the audit entry, noted
	// before any alert is raised, as the entry is written with the first alert.
	note(r, "faces", strconv.Itoa(len(out.Faces)))
	note(r, "matched", strings.Join(matched, ","))
	if len(suppressed) > 0 {
		note(r, "suppressed", strings.Join(suppressed, ","))
	}
	for i, m := range matches {
		if m == nil {
			continue
		}
		// A watchlist match is never an action by itself: a person reviews the alert.
		ao, err := s.rec.Alert(r.Context(), g, recognize.Sighting{Match: *m, Probe: faces[i].Template})
		if err != nil {
			return err
		}
		if ao != nil {
			out.Faces[i].AlertID, out.Faces[i].AlertNew = ao.Alert.ID, ao.New
		}
	}
	// The probe image is analysed in memory and never stored.
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) error {
	g, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	in, err := s.readInput(w, r, "image")
	if err != nil {
		return err
	}
	probe, n, err := s.primaryTemplate(r.Context(), in.images["image"], "image")
	if err != nil {
		return err
	}
	v, err := s.rec.Verify(r.Context(), g, sub.ID, probe.Template)
	if errors.Is(err, recognize.ErrNoTemplates) {
		return errf(http.StatusUnprocessableEntity, codeNoFace, "subject %s has no enrolled faces: enrol a photo before verifying against it", sub.ID)
	}
	if err != nil {
		return err
	}
	note(r, "match", strconv.FormatBool(v.Match))
	if v.Suppressed != nil {
		note(r, "suppressed", sub.ID+":"+v.Suppressed.Rejection)
	}
	writeJSON(w, http.StatusOK, api.VerifyResponse{SubjectID: sub.ID, Score: v.Score, FaceID: v.Face,
		Match: v.Match, Suppressed: v.Suppressed, Threshold: g.Threshold, Face: probe, FacesInImage: n})
	return nil
}

// apiCandidate is a decision's candidate as the API shows it.
func apiCandidate(c recognize.Candidate) api.Candidate {
	return api.Candidate{SubjectID: c.Subject, FaceID: c.Face, Score: c.Score, Match: c.Match, ExternalID: c.ExternalID,
		DisplayName: c.DisplayName, Suppressed: c.Suppressed != nil, Suppression: c.Suppressed}
}

// --- keys ---

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	var b api.KeyRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &b); err != nil {
		return err
	}
	if !allowed(b.Role, b.Role) {
		return errf(http.StatusBadRequest, codeBadRequest, "role must be admin, operator or device")
	}
	secret := newSecret()
	k := &facegate.APIKey{Name: b.Name, Role: b.Role, Hash: hashKey(secret)}
	if err := s.cfg.Store.CreateKey(r.Context(), k); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, api.KeyCreated{Key: *k, Secret: secret})
	return nil
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	ks, err := s.cfg.Store.Keys(r.Context())
	if err != nil {
		return err
	}
	if ks == nil {
		ks = []facegate.APIKey{}
	}
	writeJSON(w, http.StatusOK, api.KeyList{Keys: ks})
	return nil
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Store.RevokeKey(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// me is GET /v1/me: the calling key's id, name and role, and what the deployment has switched on, so a client
// (the web console) shows what its user may do.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	k, _ := r.Context().Value(keyCtx).(*facegate.APIKey)
	if k == nil {
		return errf(http.StatusUnauthorized, codeUnauthorized, "an API key is required")
	}
	out := api.Me{KeyID: k.ID, Name: k.Name, Role: k.Role, Inferences: []string{}, AuditSigned: s.cfg.AuditKey != nil,
		TemplatesEncrypted: s.cfg.TemplatesEncrypted, UnlinkableTemplates: s.cfg.Transform != nil, Version: facegate.Version}
	for _, a := range s.enabledInferences() {
		out.Inferences = append(out.Inferences, string(a))
	}
	if k.Role == facegate.RoleAdmin {
		out.Quarantined = s.quarantined()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
