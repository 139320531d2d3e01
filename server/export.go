package server

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/events"
)

// exportSubject is GET .../subjects/{s}/export: everything facegate stores about one person, for a
// data-subject access request, as a ZIP: subject.json (the subject, its gallery's purpose and legal basis, its
// consent records, its faces with their templates, the match crops kept and the events still held in memory
// that name it) and the images (face thumbnails, match crops).
func (s *Server) exportSubject(w http.ResponseWriter, r *http.Request) error {
	g, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	consents, err := s.cfg.Store.Consents(ctx, g.ID, sub.ID)
	if err != nil {
		return err
	}
	faces, err := s.faces(ctx, g.ID, sub.ID)
	if err != nil {
		return err
	}
	crops, err := s.cfg.Store.MatchCropsOf(ctx, g.ID, sub.ID)
	if err != nil {
		return err
	}
	doc := api.SubjectExport{
		ExportedAt: time.Now().UTC(),
		Gallery:    api.ExportGallery{ID: g.ID, Name: g.Name, Purpose: g.Purpose, LegalBasis: g.LegalBasis, RetentionDays: g.RetentionDays},
		Subject:    *sub, Consents: consents, Faces: []api.ExportFace{}, MatchCrops: []api.ExportCrop{},
		Events: []facegate.Event{},
	}
	for _, e := range s.bus.Recent(events.Filter{}, 0) {
		if e.Match != nil && e.Match.Gallery == g.ID && e.Match.Subject == sub.ID {
			e.Crop = nil // the crop is in crops/ when it is still kept
			doc.Events = append(doc.Events, e)
		}
	}
	type file struct {
		name string
		data []byte
	}
	var files []file
	for _, f := range faces {
		ef := api.ExportFace{FaceRecord: f, Template: f.Template}
		if len(f.Thumbnail) > 0 {
			ef.ThumbnailFile = "faces/" + f.ID + ".jpg"
			files = append(files, file{ef.ThumbnailFile, f.Thumbnail})
		}
		doc.Faces = append(doc.Faces, ef)
	}
	for _, c := range crops {
		ec := api.ExportCrop{MatchCrop: c, File: "crops/" + c.EventID + ".jpg"}
		files = append(files, file{ec.File, c.JPEG})
		doc.MatchCrops = append(doc.MatchCrops, ec)
	}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("server: export: %w", err)
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "facegate-subject-"+sub.ID+".zip"))
	w.Header().Set("Cache-Control", "private, no-store")
	zw := zip.NewWriter(w)
	for _, f := range append([]file{{"subject.json", js}}, files...) {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: doc.ExportedAt})
		if err != nil {
			return nil // the client went away; the status is already sent
		}
		if _, err := fw.Write(f.data); err != nil {
			return nil
		}
	}
	_ = zw.Close()
	return nil
}
