package server

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
)

// ExportMarker prefixes the JPEG comment that every image of a dataset export carries: the export's id, so a
// copy found elsewhere can be traced to its export in the audit log ('facegate audit trace').
const ExportMarker = "facegate-dataset-export:"

// exportDataset is POST /v1/galleries/{g}/datasets: the gallery as an annotated dataset (aligned 112x112 faces
// with 68-point landmarks, five points, pose, quality and, where the deployment enables it, expression) with a
// consent manifest, for the subjects whose consent in force covers the dataset's purpose (research_dataset by
// default) and nobody else. Subjects appear under per-export pseudonyms. The export's id is written into
// every image and the manifest, its fingerprint (SHA-256 of the manifest) is returned in headers, and both go
// to the audit log.
func (s *Server) exportDataset(w http.ResponseWriter, r *http.Request) error {
	g, err := s.gallery(r.Context(), r.PathValue("g"))
	if err != nil {
		return err
	}
	var b api.DatasetRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &b); err != nil {
		return err
	}
	purpose := facegate.PurposeResearch
	if b.Purpose != "" {
		purpose = b.Purpose
	}
	if !purpose.Valid() {
		return errf(http.StatusBadRequest, codeBadRequest, "unknown purpose %q", purpose)
	}
	if g.NoThumbnails {
		return errf(http.StatusConflict, codeConflict, "gallery %q keeps no face images (no_thumbnails), so no dataset can be made from it", g.Name)
	}
	ctx := r.Context()
	idb := make([]byte, 8)
	_, _ = rand.Read(idb)
	exportID := "dsx_" + hex.EncodeToString(idb)
	man := api.DatasetManifest{ExportID: exportID, CreatedAt: time.Now().UTC(), CreatedBy: keyID(r), Gallery: g.Name,
		Purpose: purpose, Subjects: []api.DatasetSubject{}}
	attrs := []engine.Attribute{}
	if slices.Contains(s.enabledInferences(), engine.AttrExpression) {
		attrs = append(attrs, engine.AttrExpression)
	}
	type file struct {
		name string
		data []byte
	}
	var files []file
	now := time.Now()
	after := ""
	for {
		subs, err := s.cfg.Store.Subjects(ctx, g.ID, facegate.Page{After: after, Limit: 200})
		if err != nil {
			return err
		}
		if len(subs) == 0 {
			break
		}
		after = subs[len(subs)-1].ID
		for _, sub := range subs {
			consents, err := s.cfg.Store.Consents(ctx, g.ID, sub.ID)
			if err != nil {
				return err
			}
			var covering *facegate.Consent
			for i := range consents {
				if consents[i].Covers(purpose, sub.Minor, now) {
					covering = &consents[i]
					break
				}
			}
			if covering == nil {
				man.Excluded++
				continue
			}
			faces, err := s.faces(ctx, g.ID, sub.ID)
			if err != nil {
				return err
			}
			ds := api.DatasetSubject{ID: fmt.Sprintf("s%05d", len(man.Subjects)+1), Minor: sub.Minor,
				Consent: api.DatasetConsent{Purposes: covering.Purposes, Evidence: covering.Evidence, Guardian: covering.Guardian,
					GivenAt: covering.GivenAt, ExpiresAt: covering.ExpiresAt}, Faces: []api.DatasetFace{}}
			for _, f := range faces {
				df, jpg, err := s.annotate(ctx, f.Thumbnail, attrs, exportID)
				if err != nil {
					man.SkippedFaces++
					continue
				}
				df.File = fmt.Sprintf("faces/%s/%02d.jpg", ds.ID, len(ds.Faces)+1)
				ds.Faces = append(ds.Faces, df)
				files = append(files, file{df.File, jpg})
			}
			if len(ds.Faces) > 0 {
				man.Subjects = append(man.Subjects, ds)
				man.Faces += len(ds.Faces)
			}
		}
	}
	js, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return fmt.Errorf("server: dataset manifest: %w", err)
	}
	sum := sha256.Sum256(js)
	fingerprint := hex.EncodeToString(sum[:])
	note(r, "export_id", exportID)
	note(r, "fingerprint", fingerprint)
	note(r, "purpose", string(purpose))
	note(r, "subjects", strconv.Itoa(len(man.Subjects)))
	note(r, "faces", strconv.Itoa(man.Faces))
	note(r, "excluded_no_consent", strconv.Itoa(man.Excluded))
	if err := s.auditBeforeStreaming(w, r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", exportID+".zip"))
	w.Header().Set("X-Facegate-Export-Id", exportID)
	w.Header().Set("X-Facegate-Export-Fingerprint", fingerprint)
	zw := zip.NewWriter(w)
	zw.SetComment(ExportMarker + exportID)
	for _, f := range append([]file{{"manifest.json", js}}, files...) {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: man.CreatedAt})
		if err != nil {
			return nil
		}
		if _, err := fw.Write(f.data); err != nil {
			return nil
		}
	}
	_ = zw.Close()
	return nil
}

// annotate makes one dataset face from a stored thumbnail: the aligned face (a JPEG carrying the export id in
// a comment) and its annotations, measured on the aligned face itself.
func (s *Server) annotate(ctx context.Context, thumb []byte, attrs []engine.Attribute, exportID string) (api.DatasetFace, []byte, error) {
	img, _, err := imgio.Decode(thumb, imgio.DefaultLimits)
	if err != nil {
		return api.DatasetFace{}, nil, err
	}
	faces, err := s.cfg.Engine.Analyze(ctx, img, engine.Options{PrimaryOnly: true, MinFaceSize: 24})
	if err != nil || len(faces) == 0 {
		return api.DatasetFace{}, nil, fmt.Errorf("no face in the thumbnail: %v", err)
	}
	aligned, err := s.cfg.Engine.AlignedImage(img, faces[0])
	if err != nil {
		return api.DatasetFace{}, nil, err
	}
	af, err := s.cfg.Engine.Analyze(ctx, aligned, engine.Options{PrimaryOnly: true, MinFaceSize: 24, Attributes: attrs})
	if err != nil || len(af) == 0 {
		return api.DatasetFace{}, nil, fmt.Errorf("no face in the aligned image: %v", err)
	}
	f := af[0]
	df := api.DatasetFace{Width: aligned.W, Height: aligned.H, Box: f.Box, Landmarks: f.Landmarks, Points5: f.Points5,
		Pose: f.Quality.Pose, Quality: f.Quality.Score, Sharpness: f.Quality.Sharpness}
	if f.Attributes != nil && f.Attributes.Expression != "" {
		df.Expression = f.Attributes.Expression
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, aligned.ToStd(), &jpeg.Options{Quality: 92}); err != nil {
		return df, nil, err
	}
	return df, withComment(buf.Bytes(), ExportMarker+exportID), nil
}

// withComment inserts a JPEG COM segment right after the SOI marker.
func withComment(jpg []byte, comment string) []byte {
	if len(jpg) < 2 || len(comment) > 60000 {
		return jpg
	}
	seg := []byte{0xff, 0xfe, byte((len(comment) + 2) >> 8), byte(len(comment) + 2)}
	out := make([]byte, 0, len(jpg)+len(seg)+len(comment))
	out = append(out, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, comment...)
	return append(out, jpg[2:]...)
}
