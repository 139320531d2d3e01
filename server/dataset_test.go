package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/server"
)

// TestDatasetExport: a gallery exported as an annotated dataset holds only the subjects whose consent covers
// the dataset's purpose, under pseudonyms, with aligned faces and 68-point annotations; every image carries the
// export id; the fingerprint in the headers is the manifest's SHA-256 and the audit log recorded both. It needs
// the models: the aligned faces and their 68-point landmarks are the real engine's (the fake analyser has no
// landmarks and does not align).
func TestDatasetExport(t *testing.T) {
	e := realEnv(t, server.Config{})
	c := e.client(e.admin)
	ctx := context.Background()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("office")}); err != nil {
		t.Fatal(err)
	}
	both := []facegate.Purpose{facegate.PurposeAccessControl, facegate.PurposeResearch}
	if _, err := c.CreateSubject(ctx, "office", api.SubjectRequest{ExternalID: ptr("yes"), DisplayName: ptr("Research Volunteer"),
		Consent: &api.ConsentRequest{GivenBy: "Research Volunteer", Evidence: "research form 3", Purposes: both}}, api.EnrolOptions{},
		readShared(t, "face_recognition_examples/identity/obama/obama.jpg"), readShared(t, "face_recognition_examples/identity/obama/obama2.jpg")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSubject(ctx, "office", api.SubjectRequest{ExternalID: ptr("no"), Consent: consent("door only")}, api.EnrolOptions{},
		readShared(t, "face_recognition_examples/identity/biden/biden.jpg")); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", e.url+"/v1/galleries/office/datasets", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+e.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("export: %d %s", resp.StatusCode, body)
	}
	exportID, fingerprint := resp.Header.Get("X-Facegate-Export-Id"), resp.Header.Get("X-Facegate-Export-Fingerprint")
	files := unzip(t, body)
	var man api.DatasetManifest
	if err := json.Unmarshal(files["manifest.json"], &man); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(files["manifest.json"])
	if hex.EncodeToString(sum[:]) != fingerprint || man.ExportID != exportID || exportID == "" {
		t.Fatalf("fingerprint %s / id %s do not match the manifest (%s)", fingerprint, exportID, man.ExportID)
	}
	if len(man.Subjects) != 1 || man.Excluded != 1 || man.Subjects[0].Consent.Evidence != "research form 3" || len(man.Subjects[0].Faces) != 2 {
		t.Fatalf("manifest: %d subjects, %d excluded, %+v", len(man.Subjects), man.Excluded, man.Subjects)
	}
	if strings.Contains(string(files["manifest.json"]), "Research Volunteer") || strings.Contains(string(files["manifest.json"]), `"yes"`) {
		t.Fatal("the manifest names the person")
	}
	for _, f := range man.Subjects[0].Faces {
		if len(f.Landmarks) != 68 || f.Width != 112 || f.Height != 112 {
			t.Errorf("%s: %d landmarks, %dx%d", f.File, len(f.Landmarks), f.Width, f.Height)
		}
		// In an aligned face the eyes sit near the template's places (38.3, 51.7) and (73.5, 51.5).
		if le := f.Points5[0]; le.X < 28 || le.X > 48 || le.Y < 40 || le.Y > 62 {
			t.Errorf("%s: left eye at %v, not where alignment puts it", f.File, le)
		}
		img := files[f.File]
		if !bytes.Contains(img, []byte(server.ExportMarker+exportID)) {
			t.Errorf("%s does not carry the export id", f.File)
		}
		if _, err := jpeg.Decode(bytes.NewReader(img)); err != nil {
			t.Errorf("%s: %v", f.File, err)
		}
	}
	var list api.AuditList
	e.json("GET", "/v1/audit?action="+strings.ReplaceAll("POST /v1/galleries/{g}/datasets", " ", "%20"), e.admin, nil, &list)
	if len(list.Entries) != 1 || list.Entries[0].Details["export_id"] != exportID || list.Entries[0].Details["fingerprint"] != fingerprint {
		t.Fatalf("audit entries for the export: %+v", list.Entries)
	}
}

// unzip returns the files of a ZIP by name.
func unzip(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}
